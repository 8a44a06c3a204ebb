/**
 * Who may call the operator API when Microsoft Entra ID is in front of it
 * (OPERATOR_API_AUTH=entra-id). App Service authentication would pass the
 * signed-in caller as `x-ms-client-principal`, base64 JSON of
 * { auth_typ, claims: [{ typ, val }], name_typ, role_typ } (Microsoft Learn,
 * "Work with user identities in Azure App Service authentication", section
 * "Decode the client principal header"); here the tests forge that header and
 * call the app's own routes through the durable driver.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONSUMERS_MOVED_EVENT, type RotationInput } from '../../src/workflow/rotation-types.js';
import { ApiHarness, type ApiCall } from './http-harness.js';
import { HOUR_MS } from './rotation-harness.js';

// functions/http.ts reads the setting when it registers the routes, as the host loads it in Azure.
const previous = process.env.OPERATOR_API_AUTH;
beforeAll(() => {
  process.env.OPERATOR_API_AUTH = 'entra-id';
});
afterAll(() => {
  if (previous === undefined) delete process.env.OPERATOR_API_AUTH;
  else process.env.OPERATOR_API_AUTH = previous;
});

const ENTRA_ID = { OPERATOR_API_AUTH: 'entra-id' };

/** The header App Service sets for a user signed in with Entra ID, with the app roles the token carries. */
function principal(name: string, roles: string[]): Record<string, string> {
  const body = {
    auth_typ: 'aad',
    claims: [
      { typ: 'name', val: name },
      { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: '7b2b5a0e-0000-0000-0000-000000000001' },
      ...roles.map((role) => ({ typ: 'roles', val: role })),
    ],
    name_typ: 'name',
    role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
  };
  return { 'x-ms-client-principal': Buffer.from(JSON.stringify(body)).toString('base64'), 'x-ms-client-principal-name': name };
}

interface Route {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  role: 'Reader' | 'Operator';
  /** The answer once the caller is let in (no rotation has run yet). */
  allowed: number;
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/rotations', role: 'Reader', allowed: 200 },
  { method: 'GET', path: '/rotations/orders', role: 'Reader', allowed: 404 },
  { method: 'GET', path: '/rotations/orders/plan', role: 'Reader', allowed: 200 },
  { method: 'POST', path: '/rotations', body: { account: 'orders' }, role: 'Operator', allowed: 202 },
  { method: 'POST', path: '/rotations/orders/consumers-moved', body: {}, role: 'Operator', allowed: 409 },
  { method: 'POST', path: '/rotations/orders/cancel', body: { reason: 'test' }, role: 'Operator', allowed: 409 },
  { method: 'GET', path: '/rotations/orders/history', role: 'Reader', allowed: 200 },
  { method: 'GET', path: '/keys', role: 'Reader', allowed: 200 },
  { method: 'GET', path: '/dashboard', role: 'Reader', allowed: 200 },
];

const label = (route: Route): string => `${route.method} ${route.path}`;

describe('the operator API behind Microsoft Entra ID', () => {
  let api: ApiHarness;
  // Each case starts from no rotation.
  beforeEach(async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: ENTRA_ID });
  });
  afterEach(async () => api?.close());

  it('when the platform authenticates callers, then the routes take no function key: App Service admits only signed-in callers', () => {
    const levels = api.driver.registrations.filter((fn) => fn.triggerType === 'httpTrigger').map((fn) => fn.authLevel);

    expect(levels).toEqual(ROUTES.map(() => 'anonymous'));
  });

  it.each(ROUTES.map((route) => [label(route), route] as const))('when %s comes without a signed-in principal, then it is 401 and nothing happens', async (_label, route) => {
    const response = await api.call(route.method, route.path, route.body);

    expect(response.status).toBe(401);
    expect(response.body.error?.code).toBe('unauthenticated');
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(await api.driver.getStatus(api.rotation.instanceId('orders'))).toBeUndefined();
  });

  it.each(ROUTES.map((route) => [label(route), route] as const))('when %s comes from a principal without its role, then it is 403 naming the missing role', async (_label, route) => {
    const wrongRole = route.role === 'Reader' ? ['Operator', 'Forcer'] : ['Reader'];
    const response = await api.call(route.method, route.path, route.body, principal('mallory@contoso.com', wrongRole));

    expect(response.status).toBe(403);
    expect(response.body.error?.code).toBe('forbidden');
    expect(response.body.error?.message).toContain(`needs the app role ${route.role}`);
    expect(response.body.error?.message).toContain('mallory@contoso.com');
    expect(await api.driver.getStatus(api.rotation.instanceId('orders'))).toBeUndefined();
  });

  it.each(ROUTES.map((route) => [label(route), route] as const))('when %s comes from a principal with its role, then the operation runs', async (_label, route) => {
    const response = await api.call(route.method, route.path, route.body, principal('alice@contoso.com', [route.role]));

    expect(response.status).toBe(route.allowed);
  });

  it('when a Reader asks for a forced start, then it is 403 naming Operator; an Operator without Forcer gets 403 naming Forcer; with both it starts', async () => {
    const force = { account: 'orders', force: true, reason: 'key leaked' };

    const reader = await api.call('POST', '/rotations', force, principal('rita@contoso.com', ['Reader']));
    const operator = await api.call('POST', '/rotations', force, principal('otto@contoso.com', ['Operator']));
    expect(await api.driver.getStatus(api.rotation.instanceId('orders'))).toBeUndefined();
    const forcer = await api.call('POST', '/rotations', force, principal('fran@contoso.com', ['Operator', 'Forcer']));

    expect([reader.status, operator.status, forcer.status]).toEqual([403, 403, 202]);
    expect(reader.body.error?.message).toContain('needs the app role Operator');
    expect(operator.body.error?.message).toContain('needs the app role Forcer');
    expect(forcer.body).toMatchObject({ force: true, requestedBy: 'fran@contoso.com' });
  });

  it('when the principal header is not base64 JSON with claims, then it is 401', async () => {
    const response = await api.call('GET', '/rotations', undefined, { 'x-ms-client-principal': 'not a principal' });

    expect(response.status).toBe(401);
    expect(response.body.error?.code).toBe('unauthenticated');
  });
});

describe('who made each change, behind Microsoft Entra ID', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  async function waitForConsumers(): Promise<void> {
    const endBy = api.clock.nowMs() + 4 * HOUR_MS;
    while (api.clock.nowMs() < endBy) {
      await api.rotation.useKey('orders', 'primary');
      await api.rotation.runUntil(new Date(api.clock.nowMs() + 10 * 60_000));
      const status = await api.call('GET', '/rotations/orders', undefined, principal('rita@contoso.com', ['Reader']));
      if ((status.body.status as { phase?: string } | null)?.phase === 'waitingForConsumers') return;
    }
    throw new Error('the rotation never waited for consumers');
  }

  it('when alice starts, bob confirms consumers moved and carol cancels a later rotation, then the rotation records each of them, not what a body claims', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: ENTRA_ID });
    await api.rotation.seedSecretByHand('orders', 'primary');
    const instanceId = api.rotation.instanceId('orders');

    const started: ApiCall = await api.call('POST', '/rotations', { account: 'orders', reason: 'monthly' }, principal('alice@contoso.com', ['Operator']));
    expect(started.body).toMatchObject({ requestedBy: 'alice@contoso.com' });
    expect(((await api.driver.getStatus(instanceId, { showInput: true }))!.input as RotationInput).requestedBy).toBe('alice@contoso.com');

    await waitForConsumers();
    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'someone else' }, principal('bob@contoso.com', ['Operator']));
    expect(moved.status, JSON.stringify(moved.body)).toBe(202);
    await api.rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));
    const raised = (api.driver.history(instanceId) ?? []).filter((event) => event.Name === CONSUMERS_MOVED_EVENT);
    expect(raised.map((event) => JSON.parse(String(event.Input)) as unknown)).toEqual([{ by: 'bob@contoso.com' }]);

    const again = await api.call('POST', '/rotations', { account: 'orders', reason: 'again' }, principal('alice@contoso.com', ['Operator']));
    expect(again.status).toBe(202);
    const cancelled = await api.call('POST', '/rotations/orders/cancel', { reason: 'wrong account' }, principal('carol@contoso.com', ['Operator']));
    expect(cancelled.status).toBe(202);
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 10 * 60_000));
    const status = await api.driver.getStatus(instanceId);
    expect(status?.runtimeStatus).toBe('Terminated');
    expect(status?.output).toBe('wrong account (cancelled by carol@contoso.com)');
  });
});

describe('the operator API behind function keys (the default)', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when a caller forges a principal header, then it is ignored: the change is recorded as made with the function key', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });

    const started = await api.call('POST', '/rotations', { account: 'orders' }, principal('mallory@contoso.com', ['Reader']));

    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ requestedBy: 'function key' });
  });
});
