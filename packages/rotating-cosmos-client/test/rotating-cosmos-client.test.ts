/**
 * createRotatingCosmosClient against the project's emulator, with the real
 * @azure/cosmos and @azure/keyvault-secrets clients: the key the app uses
 * follows Key Vault on a timer, on an event, and on a 401.
 */
import { inspect } from 'node:util';
import type { PluginConfig } from '@azure/cosmos';
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from '@azure/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control } from '../../../test/helpers/emulator.js';
import { CONNECTION_STRING_CONTENT_TYPE, DEFAULT_REFRESH_INTERVAL_IN_MS, SecretFormatError, type RotatingCosmosClient } from '../src/index.js';
import { readSeed, SECRET_NAME, startLibraryFixture, type LibraryFixture } from './fixture.js';

let fixture: LibraryFixture;

beforeEach(async () => {
  fixture = await startLibraryFixture();
});

afterEach(async () => {
  await fixture.close();
});

/** The usual rotation: the standby key is published, then the old active key is regenerated. */
async function rotateToSecondary(): Promise<string> {
  const version = await fixture.publishKey('secondary');
  await fixture.regenerate('primary');
  return version;
}

describe('reading the secret', () => {
  it('when the app starts, then the client uses the published key and says which version and key kind it holds', async () => {
    const version = await fixture.publishKey('primary');

    const handle = await fixture.open();

    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'primary', secretForm: 'key', endpoint: fixture.account.documentEndpoint });
    expect((await readSeed(handle)).statusCode).toBe(200);
  });

  it('when the secret is a connection string, then its endpoint and key are used without an endpoint option', async () => {
    const connectionString = `AccountEndpoint=${fixture.account.documentEndpoint};AccountKey=${fixture.keyValue('primary')};`;
    await fixture.publish(connectionString, { contentType: CONNECTION_STRING_CONTENT_TYPE, tags: { keyKind: 'primary' } });

    const handle = await fixture.open({ endpoint: undefined });

    expect(handle).toMatchObject({ secretForm: 'connectionString', keyKind: 'primary', endpoint: fixture.account.documentEndpoint });
    expect((await readSeed(handle)).statusCode).toBe(200);
  });

  it('when a connection string is stored by hand without a content type, then its shape is recognised', async () => {
    await fixture.publish(`AccountKey=${fixture.keyValue('secondary')};AccountEndpoint=${fixture.account.documentEndpoint}`, { contentType: null, tags: {} });

    const handle = await fixture.open({ endpoint: undefined });

    expect(handle).toMatchObject({ secretForm: 'connectionString', keyKind: null });
    expect((await readSeed(handle)).statusCode).toBe(200);
  });

  it('when the secret is a bare key and no endpoint is given, then start-up fails naming the endpoint option', async () => {
    await fixture.publishKey('primary');
    await expect(fixture.open({ endpoint: undefined })).rejects.toThrow(/bare account key.*`endpoint`/);
  });

  it('when a connection string lacks its key, then start-up fails naming the secret and version, not the value', async () => {
    const version = await fixture.publish(`AccountEndpoint=${fixture.account.documentEndpoint};`, { contentType: CONNECTION_STRING_CONTENT_TYPE });
    const error = await fixture.open({ endpoint: undefined }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as Error).message).toBe(`Key Vault secret ${SECRET_NAME} (version ${version}) is a connection string without AccountKey: expected "AccountEndpoint=https://...;AccountKey=...;"`);
  });
});

describe('timer refresh', () => {
  it('when the timer fires after a rotation published a new version, then the client moves to the new key and disposes the old client', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const before = handle.client;
    // Jittered: 90-100 % of the hour (random 0.5 here), never later than the interval.
    expect(fixture.timers.onlyDelayInMs()).toBe(DEFAULT_REFRESH_INTERVAL_IN_MS * 0.95);

    const version = await fixture.publishKey('secondary');
    await fixture.timers.fireNext();

    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'secondary' });
    expect(handle.client).not.toBe(before);
    expect(fixture.telemetry).toContainEqual({ type: 'clientDisposed', secretVersion: expect.any(String) });
    await fixture.regenerate('primary');
    expect((await readSeed(handle)).statusCode).toBe(200);
    expect(fixture.telemetry.filter((event) => event.type === 'unauthorized')).toEqual([]);
    expect(fixture.timers.onlyDelayInMs()).toBe(DEFAULT_REFRESH_INTERVAL_IN_MS * 0.95);
  });

  it('when the timer fires and nothing changed, then the same client stays in use', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open({ refreshIntervalInMs: 600_000, random: () => 1 });
    const before = handle.client;
    expect(fixture.timers.onlyDelayInMs()).toBe(540_000);

    await fixture.timers.fireNext();

    expect(handle.client).toBe(before);
    expect(fixture.telemetry.at(-1)).toMatchObject({ type: 'keyLoaded', reason: 'timer', changed: false });
  });
});

describe('event-driven refresh', () => {
  /**
   * Shapes from Microsoft Learn, "Azure Key Vault as Event Grid source": the
   * Event Grid schema carries eventType, topic (the vault's resource ID), subject
   * (the secret name) and data {Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP};
   * the CloudEvents schema the same data under type, source and subject.
   */
  function secretNewVersionCreated(version: string, options: { secretName?: string; vaultName?: string } = {}) {
    const secretName = options.secretName ?? SECRET_NAME;
    const vaultName = options.vaultName ?? 'orders-vault';
    return {
      id: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
      topic: `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/apps/providers/Microsoft.KeyVault/vaults/${vaultName}`,
      subject: secretName,
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      eventTime: '2026-05-01T08:10:00.0000000Z',
      data: {
        Id: `https://${vaultName}.vault.azure.net/secrets/${secretName}/${version}`,
        VaultName: vaultName,
        ObjectType: 'Secret',
        ObjectName: secretName,
        Version: version,
        NBF: null,
        EXP: 1785000000,
      },
      dataVersion: '1',
      metadataVersion: '1',
    };
  }

  it('when Key Vault reports a new version of the secret, then the client moves to it at once', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const version = await fixture.publishKey('secondary');

    const result = await handle.handleEvent([secretNewVersionCreated(version)]);

    expect(result).toEqual({ matched: 1, refreshed: true });
    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'secondary' });
    expect(fixture.telemetry.at(-1)).toMatchObject({ type: 'keyLoaded', reason: 'event', changed: true });
  });

  it('when the event arrives in the CloudEvents schema, then it is understood the same way', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const version = await fixture.publishKey('secondary');
    const { eventType, topic, eventTime, data, id, subject } = secretNewVersionCreated(version);

    await handle.handleEvent({ specversion: '1.0', type: eventType, source: topic, subject, id, time: eventTime, data });

    expect(handle.secretVersion).toBe(version);
  });

  it('when the rotator announces newKeyPublished for this secret, then the client moves to it at once, and a resend of the same event reads nothing', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const version = await fixture.publishKey('secondary');
    const event = {
      specversion: '1.0',
      id: 'orders-20260501T080000Z/001-newKeyPublished',
      type: 'CosmosKeyRotation.newKeyPublished',
      source: '/cosmos-key-rotation',
      data: { secretName: SECRET_NAME, secretVersion: version, keyKind: 'secondary' },
    };

    expect(await handle.handleEvent(event)).toEqual({ matched: 1, refreshed: true });
    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'secondary' });
    fixture.emulator.resetStats();
    expect(await handle.handleEvent(event)).toEqual({ matched: 1, refreshed: false });
    expect(fixture.keyVaultReads()).toBe(0);
  });

  it('when events name another secret, another vault, or the version already in use, then Key Vault is not read', async () => {
    const version = await fixture.publishKey('primary');
    const handle = await fixture.open({ keyVaultUrl: fixture.emulator.keyVaultUrl });
    fixture.emulator.resetStats();

    const result = await handle.handleEvent([
      secretNewVersionCreated('0123456789abcdef', { secretName: 'billing-key' }),
      secretNewVersionCreated(version),
      { eventType: 'Microsoft.KeyVault.SecretNearExpiry', subject: SECRET_NAME, data: { ObjectName: SECRET_NAME } },
    ]);

    expect(result).toEqual({ matched: 1, refreshed: false });
    expect(fixture.keyVaultReads()).toBe(0);
  });

  it('when Event Grid validates a webhook subscription, then the handler gives back the validation code', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();

    const result = await handle.handleEvent([
      { id: 'x', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' } },
    ]);

    expect(result.validationResponse).toBe('512d38b6-c7b8-40c8-89fe-f46f9e9622b6');
  });

  it('when refresh() is called, then the secret is read now', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const version = await fixture.publishKey('secondary');

    expect(await handle.refresh()).toEqual({ changed: true, secretVersion: version, keyKind: 'secondary' });
  });
});

describe('a 401 from Cosmos DB', () => {
  it('when the key in hand was regenerated, then one Key Vault read brings the new key and the request is retried with it', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const version = await rotateToSecondary();
    fixture.emulator.resetStats();

    const response = await readSeed(handle);

    expect(response.statusCode).toBe(200);
    expect(fixture.keyVaultReads()).toBe(1);
    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'secondary' });
    expect(fixture.telemetry).toContainEqual(expect.objectContaining({ type: 'keyLoaded', reason: 'unauthorized', changed: true }));
    expect(fixture.telemetry).toContainEqual({ type: 'unauthorized', outcome: 'retriedWithNewKey', secretVersion: version });
  });

  it('when a thousand requests get 401 at once, then Key Vault is read once and every request succeeds', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const container = handle.client.database('app').container('items');
    await rotateToSecondary();
    fixture.emulator.resetStats();

    const responses = await Promise.all(Array.from({ length: 1000 }, () => container.item('seed', 'orders').read()));

    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    expect(fixture.keyVaultReads()).toBe(1);
    // Each request went twice: with the old key (401), then re-signed with the new one.
    expect(fixture.emulator.stats().cosmos).toEqual({ readItem: 2000 });
  });

  it('when a client kept from before the swap is used, then its requests are signed with the current key', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    const kept = handle.client.database('app').container('items');
    await rotateToSecondary();
    await handle.refresh();
    fixture.telemetry.length = 0;

    const response = await kept.items.query('SELECT * FROM c').fetchAll();

    expect(response.resources.map((item: { id: string }) => item.id)).toEqual(['seed']);
    expect(fixture.telemetry.filter((event) => event.type === 'unauthorized')).toEqual([]);
  });

  it('when Key Vault still holds the refused key, then the 401 surfaces and the next 401 soon after reads Key Vault no more', async () => {
    await fixture.publishKey('primary');
    const handle = await fixture.open();
    await fixture.regenerate('primary');
    fixture.emulator.resetStats();

    await expect(readSeed(handle)).rejects.toMatchObject({ code: 401 });
    await expect(readSeed(handle)).rejects.toMatchObject({ code: 401 });

    expect(fixture.keyVaultReads()).toBe(1);
    expect(fixture.telemetry.filter((event) => event.type === 'unauthorized')).toEqual([
      { type: 'unauthorized', outcome: 'noNewKey', secretVersion: handle.secretVersion },
      { type: 'unauthorized', outcome: 'noNewKey', secretVersion: handle.secretVersion },
    ]);
    fixture.emulator.clock.advance(30_000);
    await expect(readSeed(handle)).rejects.toMatchObject({ code: 401 });
    expect(fixture.keyVaultReads()).toBe(2);
  });
});

describe('swapping clients', () => {
  it('when the key changes while a request is in flight, then that request completes and the old client is disposed only after it', async () => {
    await fixture.publishKey('primary');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holdNext = true;
    // An app's own request plugin runs before the library's: here it holds one request until released.
    const holdOne: PluginConfig = {
      on: 'request',
      plugin: async (context, _diagnostics, next) => {
        if (holdNext) {
          holdNext = false;
          await held;
        }
        return next(context);
      },
    };
    const handle = await fixture.open({ cosmosOptions: { agent: fixture.agent, plugins: [holdOne], connectionPolicy: { enableEndpointDiscovery: false } } as never });
    const inFlight = readSeed(handle);

    const version = await fixture.publishKey('secondary');
    await handle.refresh();
    expect(handle.secretVersion).toBe(version);
    expect(fixture.telemetry.some((event) => event.type === 'clientDisposed')).toBe(false);

    release();
    expect((await inFlight).statusCode).toBe(200);
    expect(fixture.telemetry.filter((event) => event.type === 'clientDisposed')).toHaveLength(1);
  });
});

describe('Key Vault down during a refresh', () => {
  it('when Key Vault fails, then the current key stays in use and the read is retried with growing backoff until it succeeds', async () => {
    const first = await fixture.publishKey('primary');
    const handle = await fixture.open();
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 503, times: 2 });
    const version = await fixture.publishKey('secondary');

    await fixture.timers.fireNext();
    expect(handle.secretVersion).toBe(first);
    expect((await readSeed(handle)).statusCode).toBe(200);
    // 5 s, then 10 s (times 0.75 for random 0.5): short waits, not an hour.
    expect(fixture.timers.onlyDelayInMs()).toBe(3_750);
    await fixture.timers.fireNext();
    expect(fixture.timers.onlyDelayInMs()).toBe(7_500);
    await fixture.timers.fireNext();

    expect(handle).toMatchObject({ secretVersion: version, keyKind: 'secondary' });
    expect(fixture.timers.onlyDelayInMs()).toBe(DEFAULT_REFRESH_INTERVAL_IN_MS * 0.95);
    expect(fixture.telemetry.filter((event) => event.type === 'keyReadFailed')).toEqual([
      expect.objectContaining({ reason: 'timer', attempt: 1, retryInMs: 3_750, error: expect.objectContaining({ statusCode: 503 }) }),
      expect.objectContaining({ reason: 'retry', attempt: 2, retryInMs: 7_500 }),
    ]);
  });

  it('when Key Vault fails during a 401 refresh, then the 401 surfaces and the key in hand is kept', async () => {
    const first = await fixture.publishKey('primary');
    const handle = await fixture.open();
    await rotateToSecondary();
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 503, times: 1 });

    await expect(readSeed(handle)).rejects.toMatchObject({ code: 401 });

    expect(handle.secretVersion).toBe(first);
    await fixture.timers.fireNext();
    expect(handle.keyKind).toBe('secondary');
    expect((await readSeed(handle)).statusCode).toBe(200);
  });

  it('when refresh() is called while Key Vault is down, then it rejects and the key in hand stays', async () => {
    const first = await fixture.publishKey('primary');
    const handle = await fixture.open();
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 500, times: 1 });

    await expect(handle.refresh()).rejects.toMatchObject({ statusCode: 500 });
    expect(handle.secretVersion).toBe(first);
  });
});

describe('no key in any log line', () => {
  let sdkLines: string[];
  let levelBefore: AzureLogLevel | undefined;
  const logBefore = AzureLogger.log;

  beforeEach(() => {
    // The Azure SDKs' own logging, at its most talkative, is searched too.
    sdkLines = [];
    levelBefore = getLogLevel();
    AzureLogger.log = (...args: unknown[]) => sdkLines.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 4 }))).join(' '));
    setLogLevel('verbose');
  });

  afterEach(() => {
    AzureLogger.log = logBefore;
    // No level turns logging off again.
    setLogLevel(levelBefore);
  });

  it('when a whole rotation, a 401, a Key Vault outage and bad secrets happen, then no log line of the library or the SDKs, telemetry event, error or inspection shows a key', async () => {
    await fixture.publishKey('primary');
    const handle: RotatingCosmosClient = await fixture.open();
    const errors: string[] = [];
    await rotateToSecondary();
    await readSeed(handle);
    await handle.client.database('app').container('items').items.query('SELECT * FROM c').fetchAll();
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 503, times: 1 });
    await fixture.timers.fireNext();
    await fixture.publish(`AccountEndpoint=${fixture.account.documentEndpoint};AccountKey=${fixture.keyValue('secondary')};Bad`, { contentType: 'application/vnd.cosmos-key' });
    await handle.refresh().catch((error: Error) => errors.push(`${error.name}: ${error.message}`));
    await fixture.regenerate('secondary');
    await readSeed(handle).catch((error: Error) => errors.push(`${error.name}: ${error.message}`));

    const seen = [...fixture.logLines, ...sdkLines, ...fixture.telemetry.map((event) => JSON.stringify(event)), ...errors, inspect(handle, { depth: 5 }), JSON.stringify(handle)];

    expect(fixture.logLines.length).toBeGreaterThan(2);
    expect(sdkLines.length).toBeGreaterThan(20);
    expect(errors.length).toBe(2);
    for (const key of fixture.issuedKeys) {
      for (const text of seen) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(encodeURIComponent(key));
      }
    }
  });
});
