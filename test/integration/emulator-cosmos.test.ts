/**
 * The emulated Cosmos DB data plane seen through the real @azure/cosmos client
 * (and raw HTTPS where the SDK cannot show what a consumer would meet):
 * master-key auth with all four keys, key usage as ARM reports it, and the
 * resources an app reads and writes.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureEmulator, KeyKind } from '../../emulator/azure/index.js';
import { armClient, cosmosClient, httpsRequest, startTestEmulator, SUBSCRIPTION_ID } from '../helpers/emulator.js';

const RESOURCE_GROUP = 'rg-data';

let emulator: AzureEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

interface TestAccount {
  id: string;
  name: string;
  endpoint: string;
  keys: Record<KeyKind, string>;
}

async function createAccount(name: string, options: { usageLagSeconds?: number; disableLocalAuth?: boolean } = {}): Promise<TestAccount> {
  const created = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, name, ...options });
  return { id: created.id, name, endpoint: created.documentEndpoint, keys: await keysOf(name) };
}

async function keysOf(name: string): Promise<Record<KeyKind, string>> {
  const keys = await armClient(emulator).databaseAccounts.listKeys(RESOURCE_GROUP, name);
  return {
    primary: keys.primaryMasterKey!,
    secondary: keys.secondaryMasterKey!,
    primaryReadonly: keys.primaryReadonlyMasterKey!,
    secondaryReadonly: keys.secondaryReadonlyMasterKey!,
  };
}

async function lastUsageTimes(name: string): Promise<Record<KeyKind, string | undefined>> {
  const account = await armClient(emulator).databaseAccounts.get(RESOURCE_GROUP, name);
  const metadata = account.keysMetadata!;
  // The SDK's model lacks approximateLastUsageTime, but the field survives deserialisation.
  const usage = (key: unknown): string | undefined => {
    const time = (key as { approximateLastUsageTime?: unknown } | undefined)?.approximateLastUsageTime;
    return time === undefined || time === null ? undefined : new Date(String(time)).toISOString();
  };
  return {
    primary: usage(metadata.primaryMasterKey),
    secondary: usage(metadata.secondaryMasterKey),
    primaryReadonly: usage(metadata.primaryReadonlyMasterKey),
    secondaryReadonly: usage(metadata.secondaryReadonlyMasterKey),
  };
}

/** A request signed the way @azure/cosmos signs, for what the SDK would not send. */
function signedHeaders(key: string, options: { verb: string; resourceType: string; resourceLink: string; date: Date }): Record<string, string> {
  const date = options.date.toUTCString();
  const payload = `${options.verb.toLowerCase()}\n${options.resourceType}\n${options.resourceLink}\n${date.toLowerCase()}\n\n`;
  const signature = createHmac('sha256', Buffer.from(key, 'base64')).update(payload).digest('base64');
  return { authorization: encodeURIComponent(`type=master&ver=1.0&sig=${signature}`), 'x-ms-date': date, 'x-ms-version': '2020-07-15' };
}

function statusOf(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

describe('Cosmos DB data plane: keys', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await createAccount('keys-acct');
  });

  it('when a consumer signs with any of the four keys, then reads succeed', async () => {
    for (const keyKind of ['primary', 'secondary', 'primaryReadonly', 'secondaryReadonly'] as const) {
      const client = cosmosClient(account.endpoint, account.keys[keyKind], emulator);
      const { resources } = await client.databases.readAll().fetchAll();
      expect(resources, keyKind).toEqual([]);
    }
  });

  it('when a read-only key writes, then it is refused with 403, yet it can still read and query', async () => {
    const writer = cosmosClient(account.endpoint, account.keys.secondary, emulator);
    const { container } = await writer.databases.createIfNotExists({ id: 'app' }).then(({ database }) =>
      database.containers.createIfNotExists({ id: 'orders', partitionKey: { paths: ['/customer'] } }),
    );
    await container.items.create({ id: 'o1', customer: 'ada' });

    const reader = cosmosClient(account.endpoint, account.keys.primaryReadonly, emulator);
    const readOnlyContainer = reader.database('app').container('orders');
    const refused = await readOnlyContainer.items.create({ id: 'o2', customer: 'bob' }).catch((error: unknown) => error);
    expect(statusOf(refused)).toBe(403);
    const refusedDelete = await reader.database('app').delete().catch((error: unknown) => error);
    expect(statusOf(refusedDelete)).toBe(403);

    const { resource } = await readOnlyContainer.item('o1', 'ada').read();
    expect(resource).toMatchObject({ id: 'o1', customer: 'ada' });
    const { resources } = await readOnlyContainer.items.query('SELECT * FROM c').fetchAll();
    expect(resources.map((item) => item.id)).toEqual(['o1']);
  });

  it('when a request is signed with a key the account does not have, then it gets 401 Unauthorized without any key in the answer', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const refused = await cosmosClient(account.endpoint, wrongKey, emulator).databases.readAll().fetchAll().catch((error: unknown) => error);
    expect(statusOf(refused)).toBe(401);
    expect((refused as { body?: { code?: string } }).body?.code).toBe('Unauthorized');

    const raw = await httpsRequest(`${account.endpoint}dbs`, {
      ca: emulator.caCertPem,
      headers: signedHeaders(wrongKey, { verb: 'GET', resourceType: 'dbs', resourceLink: '', date: new Date() }),
    });
    expect(raw.status).toBe(401);
    expect(raw.body).toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('wrong key') });
    const text = JSON.stringify(raw.body);
    for (const key of Object.values(account.keys)) expect(text).not.toContain(key);
  });

  it('when the signed date is missing or more than 15 minutes away, then the request gets 401 even with a right key', async () => {
    const get = (headers: Record<string, string>) => httpsRequest(`${account.endpoint}dbs`, { ca: emulator.caCertPem, headers });
    const now = new Date();
    const fresh = await get(signedHeaders(account.keys.primary, { verb: 'GET', resourceType: 'dbs', resourceLink: '', date: now }));
    expect(fresh.status).toBe(200);

    const { 'x-ms-date': _date, ...withoutDate } = signedHeaders(account.keys.primary, { verb: 'GET', resourceType: 'dbs', resourceLink: '', date: now });
    expect((await get(withoutDate)).status).toBe(401);

    for (const offsetInMinutes of [-20, 20]) {
      const date = new Date(now.getTime() + offsetInMinutes * 60_000);
      const stale = await get(signedHeaders(account.keys.primary, { verb: 'GET', resourceType: 'dbs', resourceLink: '', date }));
      expect(stale.status, `${offsetInMinutes} minutes`).toBe(401);
      expect(stale.body).toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('not valid at the current time') });
    }
  });

  it('when a signature is made for another resource than the one requested, then it gets 401', async () => {
    const headers = signedHeaders(account.keys.primary, { verb: 'GET', resourceType: 'dbs', resourceLink: '', date: new Date() });
    const response = await httpsRequest(`${account.endpoint}dbs/app`, { ca: emulator.caCertPem, headers });
    expect(response.status).toBe(401);
  });
});

describe('Cosmos DB data plane: regeneration', () => {
  it('when a regeneration of the primary key completes, then the old primary key gets 401 and the new one works', async () => {
    const account = await createAccount('regen-acct');
    const oldClient = cosmosClient(account.endpoint, account.keys.primary, emulator);
    await oldClient.databases.readAll().fetchAll();

    const poller = await armClient(emulator).databaseAccounts.beginRegenerateKey(RESOURCE_GROUP, account.name, { keyKind: 'primary' }, { updateIntervalInMs: 10 });
    // Until the operation completes, the old key still works.
    await expect(oldClient.databases.readAll().fetchAll()).resolves.toBeDefined();
    emulator.clock.advance(61_000);
    await poller.pollUntilDone();

    const refused = await oldClient.databases.readAll().fetchAll().catch((error: unknown) => error);
    expect(statusOf(refused)).toBe(401);

    const newKeys = await keysOf(account.name);
    expect(newKeys.primary).not.toBe(account.keys.primary);
    await expect(cosmosClient(account.endpoint, newKeys.primary, emulator).databases.readAll().fetchAll()).resolves.toBeDefined();
    // The other keys did not change and still work.
    expect(newKeys.secondary).toBe(account.keys.secondary);
    await expect(cosmosClient(account.endpoint, account.keys.secondary, emulator).databases.readAll().fetchAll()).resolves.toBeDefined();
  });
});

describe('Cosmos DB data plane: key usage', () => {
  it('when a key signs data-plane requests, then ARM reports its last use at the emulator time of the latest one', async () => {
    const account = await createAccount('usage-acct');
    expect(await lastUsageTimes(account.name)).toEqual({ primary: undefined, secondary: undefined, primaryReadonly: undefined, secondaryReadonly: undefined });

    const firstUse = emulator.clock.now().toISOString();
    await cosmosClient(account.endpoint, account.keys.secondary, emulator).databases.readAll().fetchAll();
    emulator.clock.advance(3_600_000);
    const secondUse = emulator.clock.now().toISOString();
    await cosmosClient(account.endpoint, account.keys.primaryReadonly, emulator).databases.readAll().fetchAll();

    expect(await lastUsageTimes(account.name)).toEqual({
      primary: undefined,
      secondary: firstUse,
      primaryReadonly: secondUse,
      secondaryReadonly: undefined,
    });

    emulator.clock.advance(3_600_000);
    const thirdUse = emulator.clock.now().toISOString();
    await cosmosClient(account.endpoint, account.keys.secondary, emulator).databases.readAll().fetchAll();
    expect((await lastUsageTimes(account.name)).secondary).toBe(thirdUse);
  });

  it('when a key is refused (wrong signature), then no usage is recorded for any key', async () => {
    const account = await createAccount('refused-usage-acct');
    const wrongKey = Buffer.alloc(64, 9).toString('base64');
    await cosmosClient(account.endpoint, wrongKey, emulator).databases.readAll().fetchAll().catch(() => undefined);
    expect(Object.values(await lastUsageTimes(account.name)).every((time) => time === undefined)).toBe(true);
  });

  it('when the account has a usage lag, then a use shows in ARM only once the lag has passed', async () => {
    const account = await createAccount('lagged-acct', { usageLagSeconds: 600 });
    const useTime = emulator.clock.now().toISOString();
    await cosmosClient(account.endpoint, account.keys.primary, emulator).databases.readAll().fetchAll();

    emulator.clock.advance(599_000);
    expect((await lastUsageTimes(account.name)).primary).toBeUndefined();
    emulator.clock.advance(1_000);
    expect((await lastUsageTimes(account.name)).primary).toBe(useTime);
  });
});

describe('Cosmos DB data plane: local auth disabled', () => {
  it('when the account has disableLocalAuth, then every key is refused with 401 and substatus 5202', async () => {
    const account = await createAccount('no-keys-acct', { disableLocalAuth: true });
    for (const keyKind of ['primary', 'secondaryReadonly'] as const) {
      const refused = await cosmosClient(account.endpoint, account.keys[keyKind], emulator).databases.readAll().fetchAll().catch((error: unknown) => error);
      expect(statusOf(refused), keyKind).toBe(401);
      expect((refused as { substatus?: number }).substatus).toBe(5202);
      expect((refused as Error).message).toContain('Local Authorization is disabled');
    }
    expect((await lastUsageTimes(account.name)).primary).toBeUndefined();
  });
});

describe('Cosmos DB data plane: resources', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await createAccount('crud-acct');
  });

  it('when the account is read, then it points at its own endpoint with one region and Session consistency', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    const { resource } = await client.getDatabaseAccount();
    expect(resource?.writableLocations).toEqual([{ name: 'West US', databaseAccountEndpoint: account.endpoint }]);
    expect(resource?.readableLocations).toEqual([{ name: 'West US', databaseAccountEndpoint: account.endpoint }]);
    expect(resource?.consistencyPolicy).toBe('Session');
  });

  it('when an app creates a database and a container, then both can be read and listed, and a second create conflicts', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    const { resource: database, statusCode } = await client.databases.create({ id: 'shop' });
    expect(statusCode).toBe(201);
    expect(database).toMatchObject({ id: 'shop', _ts: Math.floor(emulator.clock.nowMs() / 1000) });
    expect(database?._rid).toMatch(/^[A-Za-z0-9+=-]{8}$/);
    expect(database?._self).toBe(`dbs/${database!._rid}/`);

    const duplicate = await client.databases.create({ id: 'shop' }).catch((error: unknown) => error);
    expect(statusOf(duplicate)).toBe(409);

    const { resource: container } = await client.database('shop').containers.create({ id: 'carts', partitionKey: '/userId' });
    expect(container?.partitionKey).toMatchObject({ paths: ['/userId'], kind: 'Hash' });
    expect(container?._self).toBe(`dbs/${database!._rid}/colls/${container!._rid}/`);

    const { resource: readBack } = await client.database('shop').container('carts').read();
    expect(readBack?.id).toBe('carts');
    const { resources: databases } = await client.databases.readAll().fetchAll();
    expect(databases.map((d) => d.id)).toContain('shop');
    const { resources: containers } = await client.database('shop').containers.readAll().fetchAll();
    expect(containers.map((c) => c.id)).toEqual(['carts']);
  });

  it('when a database or container does not exist, then reading it gets 404 NotFound', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    const missingDatabase = await client.database('nope').read().catch((error: unknown) => error);
    expect(statusOf(missingDatabase)).toBe(404);
    expect((missingDatabase as { body?: { code?: string } }).body?.code).toBe('NotFound');
    const missingContainer = await client.database('shop').container('nope').read().catch((error: unknown) => error);
    expect(statusOf(missingContainer)).toBe(404);
  });

  it('when an app writes, reads, queries, replaces, patches, upserts and deletes items, then each step shows the previous one', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    const { container } = await client.database('shop').containers.createIfNotExists({ id: 'items', partitionKey: '/userId' });

    const { resource: created, statusCode } = await container.items.create({ id: 'a', userId: 'u1', total: 10 });
    expect(statusCode).toBe(201);
    expect(created).toMatchObject({ id: 'a', userId: 'u1', total: 10 });
    expect(created?._etag).toMatch(/^".+"$/);
    await container.items.create({ id: 'b', userId: 'u1', total: 25 });
    await container.items.create({ id: 'a', userId: 'u2', total: 5 });
    const duplicate = await container.items.create({ id: 'a', userId: 'u1' }).catch((error: unknown) => error);
    expect(statusOf(duplicate)).toBe(409);

    const { resource: read } = await container.item('a', 'u2').read();
    expect(read).toMatchObject({ id: 'a', userId: 'u2', total: 5 });
    const { resource: missing, statusCode: missingStatus } = await container.item('zzz', 'u1').read();
    expect(missing).toBeUndefined();
    expect(missingStatus).toBe(404);

    const { resources: all } = await container.items.readAll().fetchAll();
    expect(all.map((item) => `${item.userId}/${item.id}`).sort()).toEqual(['u1/a', 'u1/b', 'u2/a']);
    const { resources: big } = await container.items
      .query({ query: 'SELECT * FROM c WHERE c.userId = @user AND c.total > @min ORDER BY c.total DESC', parameters: [{ name: '@user', value: 'u1' }, { name: '@min', value: 1 }] })
      .fetchAll();
    expect(big.map((item) => item.id)).toEqual(['b', 'a']);
    const { resources: ids } = await container.items.query('SELECT VALUE c.id FROM c WHERE c.userId = "u2"').fetchAll();
    expect(ids).toEqual(['a']);
    const { resources: inPartition } = await container.items.query('SELECT * FROM c', { partitionKey: 'u2' }).fetchAll();
    expect(inPartition.map((item) => item.total)).toEqual([5]);

    const { resource: replaced } = await container.item('a', 'u1').replace({ id: 'a', userId: 'u1', total: 11 });
    expect(replaced?.total).toBe(11);
    expect(replaced?._etag).not.toBe(created?._etag);
    const stale = await container.item('a', 'u1').replace({ id: 'a', userId: 'u1', total: 12 }, { accessCondition: { type: 'IfMatch', condition: created!._etag } }).catch((error: unknown) => error);
    expect(statusOf(stale)).toBe(412);

    const { resource: patched } = await container.item('a', 'u2').patch([
      { op: 'incr', path: '/total', value: 2 },
      { op: 'set', path: '/status', value: 'paid' },
    ]);
    expect(patched).toMatchObject({ id: 'a', userId: 'u2', total: 7, status: 'paid' });

    const { resource: upserted, statusCode: upsertStatus } = await container.items.upsert({ id: 'c', userId: 'u3' });
    expect(upsertStatus).toBe(201);
    expect(upserted?.id).toBe('c');
    const { statusCode: upsertAgain } = await container.items.upsert({ id: 'c', userId: 'u3', note: 'again' });
    expect(upsertAgain).toBe(200);

    await container.item('b', 'u1').delete();
    const { statusCode: afterDelete } = await container.item('b', 'u1').read();
    expect(afterDelete).toBe(404);
  });

  it('when a query is not valid, then the app gets 400 BadRequest that says why', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    const container = client.database('shop').container('items');
    const failed = await container.items.query('SELECT * FROM c WHERE').fetchAll().catch((error: unknown) => error);
    expect(statusOf(failed)).toBe(400);
    expect((failed as Error).message).toContain('Syntax error');
  });

  it('when a database is deleted, then it and its containers are gone', async () => {
    const client = cosmosClient(account.endpoint, account.keys.primary, emulator);
    await client.databases.create({ id: 'temp' });
    await client.database('temp').containers.create({ id: 'c', partitionKey: '/id' });
    await client.database('temp').delete();
    const missing = await client.database('temp').container('c').read().catch((error: unknown) => error);
    expect(statusOf(missing)).toBe(404);
  });
});

describe('Cosmos DB data plane: persistence', () => {
  it('when the emulator restarts with a data directory, then databases, containers and items are still there, with the same system properties', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emulator-cosmos-'));
    try {
      const first = await startTestEmulator({ dataDir });
      const created = await first.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, name: 'kept-acct' });
      const key = first.state().accounts[created.id.toLowerCase()]!.keys.primary.value;
      const { container } = await cosmosClient(created.documentEndpoint, key, first)
        .databases.createIfNotExists({ id: 'kept' })
        .then(({ database }) => database.containers.createIfNotExists({ id: 'things', partitionKey: '/kind' }));
      const { resource: written } = await container.items.create({ id: 'one', kind: 'demo' });
      await first.close();

      const second = await startTestEmulator({ dataDir });
      try {
        const { resource: read } = await cosmosClient(created.documentEndpoint, key, second).database('kept').container('things').item('one', 'demo').read();
        expect(read).toEqual(written);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
