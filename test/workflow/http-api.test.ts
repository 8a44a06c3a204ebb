import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_ID, control, secretClient } from '../helpers/emulator.js';
import { resetRuntime } from '../../src/runtime.js';
import type { RotationInput } from '../../src/workflow/rotation-types.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS, RESOURCE_GROUP, SAFE_CHECK } from './rotation-harness.js';

const MINUTE_MS = 60_000;
const accountId = (name: string, subscriptionId = SUBSCRIPTION_ID) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.DocumentDB/databaseAccounts/${name}`;

describe('the operator API registrations', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when the app is loaded, then nine function-key HTTP routes with a durable client input are registered', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    const routes = api.driver.registrations
      .filter((fn) => fn.triggerType === 'httpTrigger')
      .map((fn) => ({ name: fn.name, methods: fn.methods, route: fn.route, authLevel: fn.authLevel, durableClient: fn.usesDurableClient }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(routes).toEqual([
      { name: 'cancelRotation', methods: ['POST'], route: 'rotations/{account}/cancel', authLevel: 'function', durableClient: true },
      { name: 'consumersMoved', methods: ['POST'], route: 'rotations/{account}/consumers-moved', authLevel: 'function', durableClient: true },
      { name: 'getDashboard', methods: ['GET'], route: 'dashboard', authLevel: 'function', durableClient: true },
      { name: 'getKeyReport', methods: ['GET'], route: 'keys', authLevel: 'function', durableClient: true },
      { name: 'getRotation', methods: ['GET'], route: 'rotations/{account}', authLevel: 'function', durableClient: true },
      { name: 'getRotationHistory', methods: ['GET'], route: 'rotations/{account}/history', authLevel: 'function', durableClient: true },
      { name: 'getRotationPlan', methods: ['GET'], route: 'rotations/{account}/plan', authLevel: 'function', durableClient: true },
      { name: 'listRotations', methods: ['GET'], route: 'rotations', authLevel: 'function', durableClient: true },
      { name: 'startRotation', methods: ['POST'], route: 'rotations', authLevel: 'function', durableClient: true },
    ]);
  });
});

describe('POST /api/rotations', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
  });
  afterEach(async () => api?.close());

  it('when a configured account is named, then a rotation starts with its settings and the answer is 202 with status links', async () => {
    const response = await api.call('POST', '/rotations', { account: 'orders', force: true, reason: 'key leaked in a log' });

    expect(response.status).toBe(202);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.headers.location).toMatch(/\/api\/rotations\/orders$/);
    expect(response.body).toMatchObject({ instanceId: api.rotation.instanceId('orders'), state: 'pending', force: true, requestedBy: 'function key' });
    expect((response.body.links as Record<string, string>).status).toBe(response.headers.location);
    const instance = await api.driver.getStatus(api.rotation.instanceId('orders'), { showInput: true });
    const input = instance!.input as RotationInput;
    expect(input).toMatchObject({ force: true, reason: 'key leaked in a log', requestedBy: 'function key' });
    expect(input.settings).toMatchObject({ accountId: accountId('orders'), accountName: 'orders', secretName: 'orders-key', rotationIntervalInDays: 30 });
  });

  it('when the account is given by its resource ID in another case, then the same account instance starts', async () => {
    const response = await api.call('POST', '/rotations', { account: accountId('billing').toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/') });
    expect(response.status).toBe(202);
    expect(response.body.instanceId).toBe(api.rotation.instanceId('billing'));
  });

  it('when a rotation of the account is running, then a second start is refused with 409 and the running one is untouched', async () => {
    await api.call('POST', '/rotations', { account: 'orders', reason: 'first' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + MINUTE_MS));
    const before = await api.driver.getStatus(api.rotation.instanceId('orders'), { showInput: true });

    const second = await api.call('POST', '/rotations', { account: 'orders', reason: 'second' });

    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'rotationRunning' });
    expect(second.body.error!.message).toContain(`phase ${(before!.customStatus as { phase: string }).phase}`);
    expect(second.headers.location).toMatch(/\/api\/rotations\/orders$/);
    const after = await api.driver.getStatus(api.rotation.instanceId('orders'), { showInput: true });
    expect(after!.createdTime).toEqual(before!.createdTime);
    expect((after!.input as RotationInput).reason).toBe('first');
  });

  it('when two starts of one account arrive at once, then exactly one starts and the other is 409', async () => {
    const answers = await Promise.all([
      api.call('POST', '/rotations', { account: 'orders', reason: 'first' }),
      api.call('POST', '/rotations', { account: 'orders', reason: 'second' }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body.error!.code).toBe('rotationRunning');
    expect(await api.driver.listInstances()).toHaveLength(1);
  });

  it('when the last rotation of the account ended, then a new start reuses the account instance ID', async () => {
    await api.call('POST', '/rotations', { account: 'orders' });
    await api.driver.terminate(api.rotation.instanceId('orders'), 'test');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + MINUTE_MS));
    expect((await api.driver.getStatus(api.rotation.instanceId('orders')))!.runtimeStatus).toBe('Terminated');

    const again = await api.call('POST', '/rotations', { account: 'orders', reason: 'again' });

    expect(again.status).toBe(202);
    const instance = await api.driver.getStatus(api.rotation.instanceId('orders'), { showInput: true });
    expect(instance!.runtimeStatus).not.toBe('Terminated');
    expect((instance!.input as RotationInput).reason).toBe('again');
  });

  it.each<[string, unknown, number, string]>([
    ['malformed JSON', '{"account": "orders",}', 400, 'malformedJson'],
    ['a JSON string instead of an object', '"orders"', 400, 'invalidBody'],
    ['an empty body', '', 400, 'missingField'],
    ['force as a string', { account: 'orders', force: 'yes' }, 400, 'invalidField'],
    ['account as an array', { account: ['orders'] }, 400, 'invalidField'],
    ['an unknown field', { account: 'orders', priority: 'high' }, 400, 'unknownField'],
    ['a body over 16 KiB', { account: 'orders', reason: 'x'.repeat(17 * 1024) }, 400, 'bodyTooLarge'],
    ['a reason over 500 characters', { account: 'orders', reason: 'x'.repeat(501) }, 400, 'invalidField'],
    ['a storage account resource ID', { account: accountId('orders').replace('Microsoft.DocumentDB/databaseAccounts', 'Microsoft.Storage/storageAccounts') }, 400, 'invalidAccount'],
    ['a name that cannot be an account', { account: 'orders; rm -rf' }, 400, 'invalidAccount'],
    ['an account that is not configured', { account: 'payments' }, 404, 'accountNotConfigured'],
    ['a resource ID that is not configured', { account: accountId('payments') }, 404, 'accountNotConfigured'],
  ])('when the body is %s, then it is refused and nothing starts', async (_what, body, status, code) => {
    const response = await api.call('POST', '/rotations', body);
    expect(response.status).toBe(status);
    expect(response.body.error!.code).toBe(code);
    expect(response.body.error!.message.length).toBeGreaterThan(20);
    expect(await api.driver.listInstances()).toEqual([]);
  });
});

describe('GET /api/rotations', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when accounts are in different states, then each configured account shows its state, phase, active key, last rotation and due time', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }, { name: 'audit' }] });
    const vault = secretClient(api.rotation.emulator);
    const publishedAt = api.clock.now().toISOString();
    await vault.setSecret('billing-key', api.rotation.key('billing', 'secondary'), { tags: { keyKind: 'secondary', cosmosAccount: accountId('billing') } });
    await api.rotation.seedSecretByHand('orders', 'primary');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 2 * HOUR_MS));
    await api.call('POST', '/rotations', { account: 'orders' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + MINUTE_MS));

    const response = await api.call('GET', '/rotations');

    expect(response.status).toBe(200);
    const accounts = response.body.accounts as Array<Record<string, unknown>>;
    expect(accounts.map((a) => (a.account as { name: string }).name)).toEqual(['orders', 'billing', 'audit']);
    expect(accounts[0]).toMatchObject({ state: 'running', runtimeStatus: 'Running', activeKeyKind: 'primary', phase: expect.any(String), problem: null });
    expect(accounts[1]).toMatchObject({
      state: 'neverRotated',
      phase: null,
      activeKeyKind: 'secondary',
      lastRotatedAt: publishedAt,
      due: { due: false, dueAt: new Date(Date.parse(publishedAt) + 30 * 24 * HOUR_MS).toISOString() },
    });
    expect(accounts[2]).toMatchObject({ state: 'neverRotated', activeKeyKind: null, lastRotatedAt: null, due: { due: true, dueAt: null } });
  });

  it('when the current version of one account\'s secret is disabled, then the list still answers and names the problem for that account only', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
    await api.rotation.seedSecretByHand('billing', 'primary');
    const client = secretClient(api.rotation.emulator);
    await client.updateSecretProperties('billing-key', (await client.getSecret('billing-key')).properties.version!, { enabled: false });

    const response = await api.call('GET', '/rotations');

    expect(response.status).toBe(200);
    const [orders, billing] = response.body.accounts as Array<{ problem: string | null; due: unknown }>;
    expect(orders!.problem).toBeNull();
    expect(billing!.problem).toMatch(/Key Vault could not be read \(the current version of secret billing-key is disabled/);
    expect(billing!.due).toBeNull();
  });

  it('when Key Vault cannot list the secrets, then the list still answers and each account names the problem', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
    await control(api.rotation.emulator, 'POST', '/faults', { service: 'keyvault', pathPattern: '^/secrets$', status: 403, times: 5 });

    const response = await api.call('GET', '/rotations');

    expect(response.status).toBe(200);
    for (const account of response.body.accounts as Array<{ problem: string | null; due: unknown }>) {
      expect(account.problem).toMatch(/Key Vault could not be read \(403/);
      expect(account.problem).not.toMatch(/PermanentError|TransientError/);
      expect(account.due).toBeNull();
    }
  });

  it('when many accounts are listed, then Key Vault is asked for one paged list of secret properties, never for a secret value', async () => {
    api = await ApiHarness.start({ accounts: Array.from({ length: 30 }, (_, index) => ({ name: `acct-${index}` })) });
    await Promise.all(Array.from({ length: 30 }, (_, index) => api.rotation.seedSecretByHand(`acct-${index}`, 'primary')));
    await control(api.rotation.emulator, 'DELETE', '/stats');

    const response = await api.call('GET', '/rotations');

    expect(response.status).toBe(200);
    expect((response.body.accounts as Array<{ lastRotatedAt: string | null }>).every((account) => account.lastRotatedAt !== null)).toBe(true);
    const stats = (await control(api.rotation.emulator, 'GET', '/stats')).body as { keyvault: Record<string, number> };
    // 30 secrets: two pages of at most 25 (Key Vault GetSecrets, azure-rest-api-specs keyvault secrets.json "maxresults"), plus the auth challenge.
    expect(stats.keyvault).toEqual({ listSecrets: expect.any(Number) });
    expect(stats.keyvault.listSecrets).toBeLessThanOrEqual(3);
  });
});

describe('GET /api/rotations/{account}', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
  });
  afterEach(async () => api?.close());

  it('when the account never rotated, then the answer is 404 noRotation saying how to start one', async () => {
    const response = await api.call('GET', '/rotations/orders');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'noRotation', message: expect.stringContaining('POST /api/rotations') });
  });

  it('when a rotation runs, then the same rotation is found by name and by URL-encoded resource ID, with its phase and requester', async () => {
    await api.call('POST', '/rotations', { account: 'orders', reason: 'quarterly' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + MINUTE_MS));

    const byName = await api.call('GET', '/rotations/orders');
    const byId = await api.call('GET', `/rotations/${encodeURIComponent(accountId('orders'))}`);

    expect(byName.status).toBe(200);
    expect(byName.body).toMatchObject({ state: 'running', requestedBy: 'function key', reason: 'quarterly', status: { phase: expect.any(String), activeKeyKind: 'primary', standbyKeyKind: 'secondary' } });
    expect(byId.body).toEqual(byName.body);
  });

  it('when the rotation failed, then the status shows the orchestrator\'s reason with its fix, and the plan says it would fail again', async () => {
    await api.close();
    api = await ApiHarness.start({ accounts: [{ name: 'orders', disableLocalAuth: true }] });
    await api.call('POST', '/rotations', { account: 'orders' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));

    const response = await api.call('GET', '/rotations/orders');
    const plan = await api.call('GET', '/rotations/orders/plan');

    expect(response.body).toMatchObject({ state: 'failed', runtimeStatus: 'Failed', output: null, failure: { message: expect.stringContaining('local (key) authentication disabled') } });
    expect(response.body.failure).toMatchObject({ message: expect.stringContaining('ROTATION_TARGETS') });
    expect(plan.body).toMatchObject({ wouldStart: false, localAuthDisabled: true });
  });

  it.each<[string, number, string]>([
    ['orders%20drop', 400, 'invalidAccount'],
    [encodeURIComponent(accountId('orders').replace('DocumentDB/databaseAccounts', 'Sql/servers')), 400, 'invalidAccount'],
    ['payments', 404, 'accountNotConfigured'],
  ])('when the account in the path is %s, then the answer is %i %s', async (account, status, code) => {
    const response = await api.call('GET', `/rotations/${account}`);
    expect(response.status).toBe(status);
    expect(response.body.error!.code).toBe(code);
  });
});

describe('GET /api/rotations/{account}/plan', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when the standby key was used 3 hours ago, then the dry run says it would wait 9.5 hours, and nothing changes', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }] });
    const vault = secretClient(api.rotation.emulator);
    await vault.setSecret('orders-key', api.rotation.key('orders', 'primary'), { tags: { keyKind: 'primary', cosmosAccount: accountId('orders') } });
    const strayUseAt = api.clock.nowMs();
    await api.rotation.useKey('orders', 'secondary');
    await api.rotation.runUntil(new Date(strayUseAt + 3 * HOUR_MS));
    await api.rotation.useKeyFromKeyVault('orders');
    const stateBefore = JSON.stringify(api.rotation.emulator.state().accounts);

    const response = await api.call('GET', '/rotations/orders/plan');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ changesNothing: true, safeRotationCheckEnabled: true, wouldStart: true, due: { due: false } });
    const [pair] = response.body.pairs as Array<Record<string, unknown>>;
    expect(pair).toMatchObject({
      activeKeyKind: 'primary',
      activeKeySource: 'keyVault',
      standbyKeyKind: 'secondary',
      standbyWait: { needed: true, waitInHours: 9.5, lastUsedAt: new Date(strayUseAt).toISOString() },
      consumerWait: { needed: true, maxWaitInHours: 72 },
    });
    expect(await api.driver.listInstances()).toEqual([]);
    expect(api.rotation.regenerations('orders')).toEqual({});
    expect(await api.rotation.secretVersions('orders-key')).toHaveLength(1);
    expect(JSON.stringify(api.rotation.emulator.state().accounts)).toBe(stateBefore);
  });

  it('when read-only keys rotate too, then the dry run plans both pairs, each with its own secret, and the oldest secret decides due', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { ROTATE_READONLY_KEYS: 'true' } });
    await api.rotation.seedSecretByHand('orders', 'primary');

    const response = await api.call('GET', '/rotations/orders/plan');

    expect((response.body.pairs as Array<Record<string, unknown>>).map((p) => [p.pair, p.secretName, p.activeKeyKind])).toEqual([
      ['readWrite', 'orders-key', 'primary'],
      ['readOnly', 'orders-readonly-key', 'primaryReadonly'],
    ]);
    expect(response.body.due).toMatchObject({ due: true, detail: 'secret orders-readonly-key does not exist yet' });
  });

  it('when ARM refuses to show the account, then the answer is 502 naming the fix, without internals', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await control(api.rotation.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'databaseAccounts/orders$', status: 403, times: 1 });

    const response = await api.call('GET', '/rotations/orders/plan');

    expect(response.status).toBe(502);
    expect(response.body.error).toMatchObject({ code: 'azureError', message: expect.stringContaining('Fix:') });
    expect(response.body.error!.message).not.toMatch(/\n\s+at /);
  });

  it('when ARM keeps answering 503, then the answer is 503 with Retry-After', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await control(api.rotation.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'databaseAccounts/orders$', status: 503, times: 20 });

    const response = await api.call('GET', '/rotations/orders/plan');

    expect(response.status).toBe(503);
    expect(response.body.error!.code).toBe('azureUnavailable');
    expect(response.headers['retry-after']).toBe('30');
  });
});

describe('POST /api/rotations/{account}/consumers-moved and /cancel refusals', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
  });
  afterEach(async () => api?.close());

  it('when no rotation runs, then consumers-moved is 409 and cancel is 409, and nothing is created', async () => {
    const moved = await api.call('POST', '/rotations/orders/consumers-moved');
    const cancelled = await api.call('POST', '/rotations/orders/cancel', { reason: 'not needed' });
    expect(moved.status).toBe(409);
    expect(moved.body.error).toMatchObject({ code: 'notWaitingForConsumers', message: expect.stringContaining('no rotation has run') });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.error).toMatchObject({ code: 'notRunning' });
    expect(await api.driver.listInstances()).toEqual([]);
  });

  it('when the rotation is not yet waiting for consumers, then consumers-moved is 409 and no event reaches it', async () => {
    await api.call('POST', '/rotations', { account: 'orders' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + MINUTE_MS));

    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'jane' });

    expect(moved.status).toBe(409);
    expect(moved.body.error!.message).toMatch(/is in phase (regeneratingStandby|validating)/);
    expect(api.driver.history(api.rotation.instanceId('orders'))!.some((event) => event.EventType === 15)).toBe(false);
  });

  it.each<[string, string, unknown, number, string]>([
    ['consumers-moved', 'an unknown field', { by: 'jane', when: 'now' }, 400, 'unknownField'],
    ['consumers-moved', 'by as a number', { by: 42 }, 400, 'invalidField'],
    ['consumers-moved', 'malformed JSON', '{by: jane}', 400, 'malformedJson'],
    ['cancel', 'no reason', {}, 400, 'missingField'],
    ['cancel', 'an empty body', '', 400, 'missingField'],
    ['cancel', 'a reason that is not a string', { reason: true }, 400, 'invalidField'],
    ['cancel', 'a body over 16 KiB', { reason: 'x'.repeat(17 * 1024) }, 400, 'bodyTooLarge'],
  ])('when %s gets %s, then it is refused with %i %s and the rotation goes on', async (action, _what, body, status, code) => {
    await api.call('POST', '/rotations', { account: 'orders' });
    const response = await api.call('POST', `/rotations/orders/${action}`, body);
    expect(response.status).toBe(status);
    expect(response.body.error!.code).toBe(code);
    expect((await api.driver.getStatus(api.rotation.instanceId('orders')))!.runtimeStatus).not.toBe('Terminated');
  });

  it.each([['consumers-moved'], ['cancel']])('when %s names an account that is not configured, then it is 404', async (action) => {
    const response = await api.call('POST', `/rotations/${encodeURIComponent(accountId('payments'))}/${action}`, { reason: 'x' });
    expect(response.status).toBe(404);
    expect(response.body.error!.code).toBe('accountNotConfigured');
  });
});

describe('failures the operator cannot fix by changing the request', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when the app settings are invalid, then every route answers 500 configurationError naming the setting and starts nothing', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    resetRuntime({ env: { ...api.rotation.env, ROTATION_TARGETS: '["not-a-resource-id"]' }, now: () => api.clock.now() });

    const start = await api.call('POST', '/rotations', { account: 'orders' });
    const list = await api.call('GET', '/rotations');

    for (const response of [start, list]) {
      expect(response.status).toBe(500);
      expect(response.body.error).toMatchObject({ code: 'configurationError', message: expect.stringContaining('ROTATION_TARGETS') });
    }
    expect(await api.driver.listInstances()).toEqual([]);
  });
});
