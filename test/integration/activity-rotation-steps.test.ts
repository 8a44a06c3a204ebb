/**
 * The activities as the orchestrator calls them (plain JSON in, ActivityResult
 * out), against the emulator with the real SDKs, configured through app
 * settings and run on the emulator's clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activityHandlers } from '../../src/activities/index.js';
import { ACTIVITY_NAMES } from '../../src/activities/contracts.js';
import type { BeginRegenerateKeyInput, PublishKeyInput } from '../../src/activities/contracts.js';
import { beginRegenerateKey, getRegenerationStatus, inspectAccount, publishKey, validateKey } from '../../src/activities/index.js';
import { resetRuntime } from '../../src/runtime.js';
import { accountPath, control, secretClient } from '../helpers/emulator.js';
import { FAST_RETRY, HOUR_IN_MS, MINUTE_IN_MS, SAFE_CHECK, capturingContext, startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

let fixture: RotatorFixture;
let orders: string;
let guarded: string;
const rotationStart = '2026-05-01T08:00:00.000Z';

beforeEach(async () => {
  fixture = await startRotatorFixture();
  orders = await fixture.createAccount('orders-db', { regenerationSeconds: 3 * 3600 });
  guarded = await fixture.createAccount('billing-db', { capabilities: [SAFE_CHECK], regenerationSeconds: 60 });
});

afterEach(async () => {
  await fixture.close();
});

function regenerateInput(accountId: string, overrides: Partial<BeginRegenerateKeyInput> = {}): BeginRegenerateKeyInput {
  return {
    accountId,
    keyKind: 'secondary',
    rotationId: 'rotation-1',
    notRegeneratedSince: fixture.emulator.clock.now().toISOString(),
    skipUsageCheck: false,
    idleWindowInHours: 12,
    usageMarginInMinutes: 30,
    ...overrides,
  };
}

function publishInput(accountId: string, overrides: Partial<PublishKeyInput> = {}): PublishKeyInput {
  return {
    accountId,
    keyKind: 'secondary',
    rotationId: 'rotation-1',
    secretName: 'orders-db-key',
    connectionStringSecretName: null,
    expiresInDays: 90,
    ...overrides,
  };
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

describe('registration', () => {
  it('when the handlers are listed by activity name, then every contract name has its handler', () => {
    expect(Object.keys(activityHandlers).sort()).toEqual(Object.values(ACTIVITY_NAMES).sort());
  });
});

describe('inspectAccount', () => {
  it('when nothing is published yet, then the facts come back with no published key kind', async () => {
    fixture.emulator.recordKeyUse(orders, 'primary', fixture.hoursAgo(2));
    const { context } = capturingContext();

    const facts = unwrap(await inspectAccount({ accountId: orders, pair: 'readWrite', secretName: 'orders-db-key' }, context));

    expect(facts).toMatchObject({
      accountId: orders,
      accountName: 'orders-db',
      capabilities: [],
      safeRotationCheckEnabled: false,
      disableLocalAuth: false,
      publishedKeyKind: null,
      publishedRotationId: null,
      publishedAt: null,
      inspectedAt: rotationStart,
    });
    expect(facts.keys.primary.lastUsedAt).toBe(fixture.hoursAgo(2));
    expect(facts.keys.secondary.lastUsedAt).toBeNull();
  });

  it('when a key was published by a rotation, then inspect reports that key kind, the rotation and when', async () => {
    const { context } = capturingContext();
    unwrap(await publishKey(publishInput(orders), context));
    fixture.emulator.clock.advance(HOUR_IN_MS);

    const facts = unwrap(await inspectAccount({ accountId: orders, pair: 'readWrite', secretName: 'orders-db-key' }, context));

    expect(facts).toMatchObject({ publishedKeyKind: 'secondary', publishedRotationId: 'rotation-1', publishedAt: rotationStart });
  });

  it('when the secret under our name is tagged for another account, then its key kind is ignored and a warning is logged', async () => {
    await secretClient(fixture.emulator).setSecret('orders-db-key', 'x', { tags: { cosmosAccount: accountPath('rg-app', 'someone-else'), keyKind: 'primary' } });
    const { context, lines } = capturingContext();
    const facts = unwrap(await inspectAccount({ accountId: orders, pair: 'readWrite', secretName: 'orders-db-key' }, context));
    expect(facts.publishedKeyKind).toBeNull();
    expect(lines.join('\n')).toMatch(/warning: .*tagged for .*someone-else/);
  });

  it('when the account does not exist, then the result is a permanent failure pointing at ROTATION_TARGETS', async () => {
    const { context } = capturingContext();
    const result = await inspectAccount({ accountId: accountPath('rg-app', 'gone-db'), pair: 'readWrite', secretName: 'gone-db-key' }, context);
    expect(result).toMatchObject({ ok: false, error: { kind: 'permanent', code: 'ResourceNotFound' } });
    expect(!result.ok && result.error.message).toMatch(/ROTATION_TARGETS/);
  });

  it('when an app setting is wrong, then the result is a config failure naming the setting', async () => {
    resetRuntime({ env: { ...fixture.env, IDLE_WINDOW_IN_HOURS: 'soon' } });
    const { context } = capturingContext();
    const result = await inspectAccount({ accountId: orders, pair: 'readWrite', secretName: 'orders-db-key' }, context);
    expect(result).toMatchObject({ ok: false, error: { kind: 'config' } });
    expect(!result.ok && result.error.message).toMatch(/IDLE_WINDOW_IN_HOURS: expected a whole number/);
  });

  it('when ARM keeps answering 503, then the activity throws so that Durable retries it', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', status: 503, retryAfterSeconds: 0, times: 20 });
    const { context, lines } = capturingContext();
    await expect(inspectAccount({ accountId: orders, pair: 'readWrite', secretName: 'orders-db-key' }, context)).rejects.toMatchObject({ name: 'TransientError' });
    expect(lines.join('\n')).toMatch(/warning: inspectAccount: transient failure, Durable will retry/);
  });
});

describe('beginRegenerateKey and getRegenerationStatus', () => {
  it('when a regeneration takes 3 hours, then it is started, polled as InProgress, and Succeeded with one status read per poll and no re-read of the account', async () => {
    const { context } = capturingContext();
    const begun = unwrap(await beginRegenerateKey(regenerateInput(orders), context));
    expect(begun).toMatchObject({ outcome: 'started', startedAt: rotationStart });
    if (begun.outcome !== 'started') throw new Error('not started');
    // The handle is what the task hub stores: it must survive JSON.
    const operation = JSON.parse(JSON.stringify(begun.operation)) as typeof begun.operation;

    const statusInput = { accountId: orders, keyKind: 'secondary' as const, operation, notRegeneratedSince: rotationStart };
    expect(unwrap(await getRegenerationStatus(statusInput, context))).toEqual({ status: 'InProgress' });
    fixture.emulator.clock.advance(2 * HOUR_IN_MS);
    expect(unwrap(await getRegenerationStatus(statusInput, context))).toEqual({ status: 'InProgress' });
    fixture.emulator.clock.advance(HOUR_IN_MS);
    fixture.emulator.resetStats();
    const done = unwrap(await getRegenerationStatus(statusInput, context));

    expect(done).toEqual({ status: 'Succeeded' });
    // The spec's regenerateKey has no result body: the Location URL is not read after Succeeded, nor the account.
    expect(fixture.emulator.stats().arm).toEqual({ getOperationStatus: 1 });
  });

  it('when ARM no longer knows a finished operation, then the key\'s generation time still reports it Succeeded; unfinished, it is a permanent failure', async () => {
    const { context } = capturingContext();
    const begun = unwrap(await beginRegenerateKey(regenerateInput(guarded), context));
    if (begun.outcome !== 'started') throw new Error('not started');
    const statusInput = { accountId: guarded, keyKind: 'secondary' as const, operation: begun.operation, notRegeneratedSince: rotationStart };
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'operationsStatus', status: 404, times: 2 });

    const unfinished = await getRegenerationStatus(statusInput, context);
    fixture.emulator.clock.advance(61_000);
    const finished = await getRegenerationStatus(statusInput, context);

    expect(unfinished).toMatchObject({ ok: false, error: { kind: 'permanent' } });
    expect(unwrap(finished)).toEqual({ status: 'Succeeded', generationTime: new Date(Date.parse(rotationStart) + 60_000).toISOString() });
  });

  it('when the key was already regenerated after the rotation started (a retry after a crash), then it is not regenerated again', async () => {
    const { context } = capturingContext();
    const input = regenerateInput(guarded);
    unwrap(await beginRegenerateKey(input, context));
    fixture.emulator.clock.advance(61_000);
    const keyAfterFirst = fixture.keyValue(guarded, 'secondary');

    const again = unwrap(await beginRegenerateKey(input, context));

    expect(again).toEqual({ outcome: 'alreadyRegenerated', generationTime: new Date(Date.parse(rotationStart) + 60_000).toISOString() });
    expect(fixture.keyValue(guarded, 'secondary')).toBe(keyAfterFirst);
    expect(Object.values(fixture.emulator.state().operations)).toHaveLength(1);
  });

  it('when the standby key was used 3 hours ago, then the outcome is blocked until last use + 12 h + 30 min', async () => {
    const lastUse = fixture.hoursAgo(3);
    fixture.emulator.recordKeyUse(guarded, 'secondary', lastUse);
    const { context } = capturingContext();

    const begun = unwrap(await beginRegenerateKey(regenerateInput(guarded), context));

    expect(begun).toMatchObject({ outcome: 'blocked', lastUsedAt: lastUse, retryAt: new Date(Date.parse(lastUse) + 12 * HOUR_IN_MS + 30 * MINUTE_IN_MS).toISOString() });
  });

  it('when forced, then the same key is regenerated despite the recent use', async () => {
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(1));
    const { context } = capturingContext();
    expect(unwrap(await beginRegenerateKey(regenerateInput(guarded, { skipUsageCheck: true }), context)).outcome).toBe('started');
  });

  it('when another operation holds the account, then the activity reports it busy for the orchestrator to wait on, not a failure', async () => {
    const { context } = capturingContext();
    unwrap(await beginRegenerateKey(regenerateInput(orders, { keyKind: 'primary' }), context));
    expect(unwrap(await beginRegenerateKey(regenerateInput(orders), context))).toMatchObject({ outcome: 'busy', message: expect.stringMatching(/operation/i) });
  });

  it('when ARM is throttling, then the activity throws for Durable to retry', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 429, times: 10 });
    const { context } = capturingContext();
    await expect(beginRegenerateKey(regenerateInput(orders), context)).rejects.toMatchObject({ name: 'TransientError', statusCode: 429 });
    await control(fixture.emulator, 'DELETE', '/faults');
  });

  it('when regenerate is forbidden, then the result is a permanent failure with the role to grant', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 403, times: 1 });
    const { context } = capturingContext();
    const result = await beginRegenerateKey(regenerateInput(orders), context);
    expect(result).toMatchObject({ ok: false, error: { kind: 'permanent', code: 'Forbidden' } });
    expect(!result.ok && result.error.message).toMatch(/grant the function's identity the Cosmos DB key rotation role/);
  });
});

describe('validateKey', () => {
  it('when the key is current, then it is accepted; when local auth is disabled, then it is not, with the reason', async () => {
    const { context } = capturingContext();
    expect(unwrap(await validateKey({ accountId: orders, keyKind: 'secondary' }, context))).toEqual({ accepted: true, status: 200, probedAt: rotationStart });

    const locked = await fixture.createAccount('locked-db', { disableLocalAuth: true });
    const result = unwrap(await validateKey({ accountId: locked, keyKind: 'primary' }, context));
    expect(result.accepted).toBe(false);
    expect(result.reason).toMatch(/disableLocalAuth/);
  });
});

describe('publishKey', () => {
  it('when a key is published, then the secret holds it with tags, content type and expiry; the same rotation again adds no version', async () => {
    const { context } = capturingContext();

    const first = unwrap(await publishKey(publishInput(orders), context));
    fixture.emulator.clock.advance(MINUTE_IN_MS);
    const second = unwrap(await publishKey(publishInput(orders), context));

    expect(first).toMatchObject({ outcome: 'published', connectionStringSecretVersion: null, publishedAt: rotationStart });
    expect(second).toEqual({ ...first, outcome: 'alreadyPublished' });
    const versions = fixture.emulator.state().keyVault.secrets['orders-db-key']!.versions;
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({
      version: first.secretVersion,
      value: fixture.keyValue(orders, 'secondary'),
      contentType: 'application/vnd.cosmos-key',
      tags: { cosmosAccount: orders, keyKind: 'secondary', rotationId: 'rotation-1' },
      expiresOn: new Date(Date.parse(rotationStart) + 90 * 86_400_000).toISOString(),
    });
  });

  it('when a later rotation publishes, then a new version is added', async () => {
    const { context } = capturingContext();
    unwrap(await publishKey(publishInput(orders), context));
    const next = unwrap(await publishKey(publishInput(orders, { rotationId: 'rotation-2', keyKind: 'primary' }), context));
    expect(next.outcome).toBe('published');
    expect(fixture.emulator.state().keyVault.secrets['orders-db-key']!.versions).toHaveLength(2);
  });

  it('when a connection-string secret is configured, then it is published with the same key, once per rotation', async () => {
    const { context } = capturingContext();
    const input = publishInput(orders, { connectionStringSecretName: 'orders-db-connection-string' });

    const first = unwrap(await publishKey(input, context));
    const again = unwrap(await publishKey(input, context));

    expect(first.connectionStringSecretVersion).toMatch(/^[0-9a-f]{32}$/);
    expect(again).toMatchObject({ outcome: 'alreadyPublished', connectionStringSecretVersion: first.connectionStringSecretVersion });
    const stored = fixture.emulator.state().keyVault.secrets['orders-db-connection-string']!.versions;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.value).toContain(`AccountKey=${fixture.keyValue(orders, 'secondary')};`);
    expect(stored[0]).toMatchObject({ contentType: 'application/vnd.cosmos-connection-string', tags: { keyKind: 'secondary', rotationId: 'rotation-1' } });
  });

  it('when the key secret was published but the connection string was not (a crash between the two), then only the connection string is added', async () => {
    const { context } = capturingContext();
    const keyOnly = unwrap(await publishKey(publishInput(orders), context));
    const both = unwrap(await publishKey(publishInput(orders, { connectionStringSecretName: 'orders-db-connection-string' }), context));
    expect(both).toMatchObject({ outcome: 'published', secretVersion: keyOnly.secretVersion });
    expect(fixture.emulator.state().keyVault.secrets['orders-db-key']!.versions).toHaveLength(1);
  });

  it('when Key Vault throttles twice, then the SDK retries and one version is published', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', status: 429, retryAfterSeconds: 0, times: 2 });
    const { context } = capturingContext();
    expect(unwrap(await publishKey(publishInput(orders), context)).outcome).toBe('published');
    expect(fixture.emulator.state().keyVault.secrets['orders-db-key']!.versions).toHaveLength(1);
  });

  it('when the runtime is rebuilt from the same settings, then publishing is still idempotent', async () => {
    const { context } = capturingContext();
    unwrap(await publishKey(publishInput(orders), context));
    resetRuntime({ env: fixture.env, now: () => fixture.emulator.clock.now(), retry: FAST_RETRY });
    expect(unwrap(await publishKey(publishInput(orders), context)).outcome).toBe('alreadyPublished');
  });
});
