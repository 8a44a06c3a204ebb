/**
 * The emulator's control API: accounts, key usage, the clock, faults (as the
 * real SDK's retry policy sees them) and request counts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { handleControl, type ControlDependencies } from '../../emulator/azure/control.js';
import type { AzureEmulator, EmulatorState } from '../../emulator/azure/index.js';
import {
  SUBSCRIPTION_ID,
  TEST_START,
  accountPath,
  armClient,
  control,
  cosmosClient,
  secretClient,
  startTestEmulator,
} from '../helpers/emulator.js';

let emulator: AzureEmulator;

beforeEach(async () => {
  emulator = await startTestEmulator();
});

afterEach(async () => {
  await emulator.close();
});

const validAccount = { subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' };

function errorMessage(body: unknown): string {
  return (body as { error: { message: string } }).error.message;
}

describe('accounts', () => {
  it('when an account is created, then it gets its resource ID, its own data-plane endpoint and four distinct random keys', async () => {
    const response = await control(emulator, 'POST', '/accounts', {
      ...validAccount,
      location: 'North Europe',
      capabilities: ['EnableKeyCheckBeforeRegenerationPreview'],
      regenerationSeconds: 120,
      usageLagSeconds: 30,
      disableLocalAuth: false,
    });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: accountPath('rg-app', 'orders'),
      documentEndpoint: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/$/),
      regionalEndpoints: [{ location: 'North Europe', documentEndpoint: (response.body as { documentEndpoint: string }).documentEndpoint }],
    });
    const account = emulator.state().accounts[accountPath('rg-app', 'orders').toLowerCase()]!;
    expect(account).toMatchObject({ location: 'North Europe', regenerationSeconds: 120, usageLagSeconds: 30 });
    expect(new Set(Object.values(account.keys).map((key) => key.value)).size).toBe(4);
    expect(Object.values(account.keys).every((key) => key.generationTime === TEST_START)).toBe(true);
    expect(`https://127.0.0.1:${account.dataPlanePort}/`).toBe((response.body as { documentEndpoint: string }).documentEndpoint);
  });

  it('when two accounts are created, then each has its own data-plane port', async () => {
    const first = await emulator.createAccount(validAccount);
    const second = await emulator.createAccount({ ...validAccount, name: 'billing' });

    expect(first.documentEndpoint).not.toBe(second.documentEndpoint);
  });

  it('when the same account is created twice, then the second gets 409', async () => {
    await control(emulator, 'POST', '/accounts', validAccount);

    const again = await control(emulator, 'POST', '/accounts', { ...validAccount, resourceGroup: 'RG-APP' });

    expect(again.status).toBe(409);
    expect(errorMessage(again.body)).toContain('already exists');
  });

  it.each([
    [{ ...validAccount, subscriptionId: 'sub1' }, 'subscriptionId'],
    [{ ...validAccount, resourceGroup: '' }, 'resourceGroup'],
    [{ ...validAccount, name: 'Orders_DB' }, 'name'],
    [{ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app' }, 'name'],
    [{ ...validAccount, capabilities: 'EnableKeyCheckBeforeRegenerationPreview' }, 'capabilities'],
    [{ ...validAccount, regenerationSeconds: -1 }, 'regenerationSeconds'],
    [{ ...validAccount, usageLagSeconds: '5' }, 'usageLagSeconds'],
    [{ ...validAccount, disableLocalAuth: 'yes' }, 'disableLocalAuth'],
    [{ ...validAccount, regenrationSeconds: 5 }, 'regenrationSeconds'],
  ])('when account input %j is wrong, then 400 names %s', async (input, field) => {
    const response = await control(emulator, 'POST', '/accounts', input);

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain(field);
    expect(emulator.state().accounts).toEqual({});
  });

  it('when the body is not JSON, then 400 says so', async () => {
    const response = await control(emulator, 'POST', '/accounts', '{"name":');

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain('not valid JSON');
  });

  it('when a key use is recorded, then ARM reports it as the last use of that key', async () => {
    await emulator.createAccount(validAccount);

    const response = await control(emulator, 'POST', '/key-usage', {
      accountId: accountPath('rg-app', 'orders'),
      keyKind: 'secondary',
      at: '2026-05-01T06:00:00.000Z',
    });
    const account = await armClient(emulator).databaseAccounts.get('rg-app', 'orders');

    expect(response.status).toBe(200);
    expect((account.keysMetadata?.secondaryMasterKey as { approximateLastUsageTime?: string }).approximateLastUsageTime).toBe(
      '2026-05-01T06:00:00.000Z',
    );
  });

  it('when a key use is recorded in the future or for an unknown account, then 400 explains', async () => {
    await emulator.createAccount(validAccount);

    const future = await control(emulator, 'POST', '/key-usage', {
      accountId: accountPath('rg-app', 'orders'),
      keyKind: 'primary',
      at: '2026-05-02T00:00:00.000Z',
    });
    const unknown = await control(emulator, 'POST', '/key-usage', { accountId: accountPath('rg-app', 'nope'), keyKind: 'primary' });

    expect(future.status).toBe(400);
    expect(errorMessage(future.body)).toContain('after the emulator');
    expect(unknown.status).toBe(400);
    expect(errorMessage(unknown.body)).toContain('no account');
  });
});

describe('state', () => {
  it('when the state is read, then it holds the accounts with their key values and the operations in flight', async () => {
    await emulator.createAccount(validAccount);
    await armClient(emulator).databaseAccounts.beginRegenerateKey('rg-app', 'orders', { keyKind: 'primary' });

    const response = await control(emulator, 'GET', '/state');

    const state = response.body as EmulatorState;
    expect(response.status).toBe(200);
    expect(state.schemaVersion).toBe(1);
    expect(state.clock).toEqual({ mode: 'manual', nowIso: TEST_START });
    expect(Object.values(state.accounts)[0]!.keys.primary.value).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(Object.values(state.operations)).toEqual([
      expect.objectContaining({ kind: 'regenerateKey', keyKind: 'primary', status: 'InProgress', completesAt: '2026-05-01T08:01:00.000Z' }),
    ]);
    expect(state.keyVault).toEqual({ secrets: {}, deleted: {} });
  });

  it('when the in-process state is changed by the caller, then the emulator is not', async () => {
    await emulator.createAccount(validAccount);
    const copy = emulator.state();

    copy.accounts[accountPath('rg-app', 'orders').toLowerCase()]!.keys.primary.value = 'tampered';

    expect(emulator.state().accounts[accountPath('rg-app', 'orders').toLowerCase()]!.keys.primary.value).not.toBe('tampered');
  });
});

describe('clock', () => {
  it('when the clock is read, set and advanced, then every call reports the new time', async () => {
    const read = await control(emulator, 'GET', '/clock');
    const set = await control(emulator, 'PUT', '/clock', { now: '2026-05-02T00:00:00Z' });
    const advanced = await control(emulator, 'POST', '/clock/advance', { seconds: 90 });

    expect(read.body).toEqual({ now: TEST_START, mode: 'manual' });
    expect(set.body).toEqual({ now: '2026-05-02T00:00:00.000Z', mode: 'manual' });
    expect(advanced.body).toEqual({ now: '2026-05-02T00:01:30.000Z', mode: 'manual' });
    expect(emulator.clock.now().toISOString()).toBe('2026-05-02T00:01:30.000Z');
  });

  it('when the clock is advanced past a regeneration, then the operation completes without any ARM call', async () => {
    await emulator.createAccount(validAccount);
    await armClient(emulator).databaseAccounts.beginRegenerateKey('rg-app', 'orders', { keyKind: 'primary' });

    await control(emulator, 'POST', '/clock/advance', { seconds: 60 });

    const [operation] = Object.values(emulator.state().operations);
    expect(operation?.status).toBe('Succeeded');
  });

  it.each([
    ['PUT', '/clock', { now: '2026-04-01T00:00:00Z' }, 'cannot go back'],
    ['PUT', '/clock', { now: 'tomorrow' }, 'now must be'],
    ['POST', '/clock/advance', { seconds: -5 }, 'seconds must be'],
    ['POST', '/clock/advance', { minutes: 5 }, 'seconds must be'],
  ])('when %s %s gets %j, then 400 says what is wrong', async (method, path, body, text) => {
    const response = await control(emulator, method, path, body);

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain(text);
    expect(emulator.clock.now().toISOString()).toBe(TEST_START);
  });
});

describe('faults', () => {
  beforeEach(async () => {
    await emulator.createAccount(validAccount);
  });

  it('when the next two ARM reads answer 503 with Retry-After, then the SDK retries and succeeds on the third', async () => {
    const added = await control(emulator, 'POST', '/faults', {
      service: 'arm',
      method: 'GET',
      pathPattern: '/databaseAccounts/orders$',
      status: 503,
      retryAfterSeconds: 0,
      times: 2,
    });

    const account = await armClient(emulator).databaseAccounts.get('rg-app', 'orders');

    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ id: expect.any(String), service: 'arm', status: 503, times: 2 });
    expect(account.name).toBe('orders');
    expect(emulator.stats().arm.getAccount).toBe(3);
    expect((await control(emulator, 'GET', '/faults')).body).toEqual({ faults: [] });
  });

  it('when Key Vault answers 503 twice, then the SecretClient retries and reads the secret', async () => {
    const secrets = secretClient(emulator);
    await secrets.setSecret('orders-key', 'value');
    await control(emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 503, retryAfterSeconds: 0, times: 2 });
    emulator.resetStats();

    const secret = await secrets.getSecret('orders-key');

    expect(secret.value).toBe('value');
    expect(emulator.stats().keyvault).toEqual({ getSecret: 3 });
  });

  it('when the Cosmos DB data plane throttles once, then @azure/cosmos backs off and retries', async () => {
    const keys = await armClient(emulator).databaseAccounts.listKeys('rg-app', 'orders');
    const { documentEndpoint } = await armClient(emulator).databaseAccounts.get('rg-app', 'orders');
    await control(emulator, 'POST', '/faults', { service: 'cosmos', method: 'GET', pathPattern: '^/dbs$', status: 429, retryAfterSeconds: 0, times: 1 });

    const { resources } = await cosmosClient(documentEndpoint!, keys.primaryMasterKey!, emulator).databases.readAll().fetchAll();

    expect(resources).toEqual([]);
    expect(emulator.stats().cosmos.listDatabases).toBe(2);
  });

  it('when a fault does not retry (400), then the SDK surfaces it in the ARM error shape', async () => {
    await control(emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'listKeys', status: 400, times: 1 });

    const failed = await armClient(emulator).databaseAccounts.listKeys('rg-app', 'orders').catch((error: unknown) => error);
    const next = await armClient(emulator).databaseAccounts.listKeys('rg-app', 'orders');

    expect(failed).toMatchObject({ name: 'RestError', statusCode: 400, code: 'BadRequest' });
    expect((failed as Error).message).toContain('Injected fault');
    expect(next.primaryMasterKey).toBeTruthy();
  });

  it('when a fault only matches another method or path, then requests pass untouched', async () => {
    await control(emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey', status: 500, times: 3 });

    await armClient(emulator).databaseAccounts.get('rg-app', 'orders');

    expect((await control(emulator, 'GET', '/faults')).body).toMatchObject({ faults: [{ times: 3 }] });
  });

  it('when a delay is injected, then the request is answered no sooner', async () => {
    const delayMs = 40;
    const client = armClient(emulator);
    // A first call pays for the TLS handshake; warm, an undelayed read takes a few milliseconds.
    await client.databaseAccounts.get('rg-app', 'orders');
    await control(emulator, 'POST', '/faults', { service: 'arm', delayMs, times: 1 });

    const startedMs = performance.now();
    await client.databaseAccounts.get('rg-app', 'orders');

    // Node's timers count whole milliseconds, so a timer may fire up to 1 ms before performance.now() says it is due.
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(delayMs - 1);
  });

  it('when faults are deleted, then none remain', async () => {
    await control(emulator, 'POST', '/faults', { service: 'keyvault', status: 429, retryAfterSeconds: 1, times: 5 });

    const deleted = await control(emulator, 'DELETE', '/faults');

    expect(deleted.body).toEqual({ removed: 1 });
    expect(emulator.state().faults).toEqual([]);
  });

  it.each([
    [{ service: 'queue', status: 503, times: 1 }, 'service'],
    [{ service: 'arm', status: 200, times: 1 }, 'status'],
    [{ service: 'arm', status: 503, times: 0 }, 'times'],
    [{ service: 'arm', times: 1 }, 'status, a delayMs'],
    [{ service: 'arm', status: 503, pathPattern: '(', times: 1 }, 'pathPattern'],
    [{ service: 'arm', status: 503, retryAfterSeconds: -1, times: 1 }, 'retryAfterSeconds'],
    [{ service: 'arm', delayMs: 1e9, times: 1 }, 'delayMs'],
    [{ service: 'arm', status: 503, times: 1, once: true }, 'once'],
  ])('when fault %j is wrong, then 400 names %s', async (input, field) => {
    const response = await control(emulator, 'POST', '/faults', input);

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain(field);
  });
});

describe('stats', () => {
  it('when ARM is called, then requests are counted per operation and can be reset', async () => {
    await emulator.createAccount(validAccount);
    const client = armClient(emulator);
    await client.databaseAccounts.get('rg-app', 'orders');
    await client.databaseAccounts.get('rg-app', 'orders');
    await client.databaseAccounts.listKeys('rg-app', 'orders');

    const counted = await control(emulator, 'GET', '/stats');
    const reset = await control(emulator, 'DELETE', '/stats');

    expect(counted.body).toEqual({ arm: { getAccount: 2, listKeys: 1 }, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} });
    expect(reset.body).toEqual({ arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} });
  });

  it('when an unknown control path is called, then 404 says so', async () => {
    const response = await control(emulator, 'GET', '/nothing-here');

    expect(response.status).toBe(404);
    expect(errorMessage(response.body)).toContain('GET /nothing-here');
  });
});

describe('who may call the control API', () => {
  const request = { method: 'GET', url: new URL('https://127.0.0.1/_emulator/clock'), headers: {}, body: Buffer.alloc(0) };

  function dependencies(): ControlDependencies {
    const untouched = (): never => {
      throw new Error('a refused caller must not reach the emulator');
    };
    return {
      clock: new VirtualClock('manual', TEST_START),
      state: untouched,
      createAccount: untouched,
      changeAccount: untouched,
      deleteAccount: untouched,
      recordKeyUse: untouched,
      addFault: untouched,
      clearFaults: untouched,
      stats: untouched,
      resetStats: untouched,
      addOperationFailure: untouched,
      clearOperationFailures: untouched,
      failOperation: untouched,
      setRbac: untouched,
      throttling: untouched,
      setThrottling: untouched,
    };
  }

  it.each([['10.0.0.7'], ['192.168.1.20'], ['::ffff:10.0.0.7'], ['fe80::1'], [undefined]])(
    'when the caller\'s address is %s, then the control API answers 403',
    async (remoteAddress) => {
      const response = await handleControl(request, remoteAddress, dependencies());

      expect(response.status).toBe(403);
      expect(errorMessage(response.body)).toContain('loopback');
    },
  );

  it.each([['127.0.0.1'], ['::1'], ['::ffff:127.0.0.1']])('when the caller\'s address is loopback %s, then it is served', async (remoteAddress) => {
    const response = await handleControl(request, remoteAddress, dependencies());

    expect(response).toEqual({ status: 200, body: { now: TEST_START, mode: 'manual' } });
  });
});
