import { afterEach, describe, expect, it } from 'vitest';
import { ApiHarness, type ApiCall } from './http-harness.js';
import { HOUR_MS } from './rotation-harness.js';

const MINUTE_MS = 60_000;

/**
 * What an operator's script does: wait Retry-After (virtual time, the rotation
 * moves on meanwhile), then GET the Location link, until `done` says stop.
 */
async function pollStatus(api: ApiHarness, location: string, done: (status: ApiCall) => boolean, options: { maxHours: number; eachStep?: () => Promise<unknown> }): Promise<ApiCall[]> {
  const seen: ApiCall[] = [];
  const endBy = api.clock.nowMs() + options.maxHours * HOUR_MS;
  while (api.clock.nowMs() < endBy) {
    await options.eachStep?.();
    const retryAfterSeconds = Number(seen.at(-1)?.headers['retry-after'] ?? 30);
    await api.rotation.runUntil(new Date(api.clock.nowMs() + Math.max(retryAfterSeconds * 1000, 10 * MINUTE_MS)));
    const status = await api.call('GET', new URL(location).pathname.replace(/^\/api/, ''));
    expect(status.status).toBe(200);
    seen.push(status);
    if (done(status)) return seen;
  }
  throw new Error(`the rotation did not reach the expected state in ${options.maxHours} h: ${JSON.stringify(seen.at(-1)?.body)}`);
}

const phaseOf = (call: ApiCall) => (call.body.status as { phase?: string } | null)?.phase;

describe('a rotation run only through the operator API', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when an operator starts a rotation, follows it, and confirms consumers moved, then it completes with the new key published and the old one regenerated', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await api.rotation.seedSecretByHand('orders', 'primary');
    // A consumer that has not restarted keeps the old key: without the operator the rotation would wait for it.
    const lateConsumer = () => api.rotation.useKey('orders', 'primary');
    await lateConsumer();
    const primaryBefore = api.rotation.key('orders', 'primary');

    const plan = await api.call('GET', '/rotations/orders/plan');
    expect(plan.body).toMatchObject({ wouldStart: true, pairs: [{ activeKeyKind: 'primary', standbyKeyKind: 'secondary', standbyWait: { needed: false } }] });

    const started = await api.call('POST', '/rotations', { account: 'orders', reason: 'monthly rotation' });
    expect(started.status).toBe(202);
    const location = started.headers.location!;

    const waiting = await pollStatus(api, location, (s) => phaseOf(s) === 'waitingForConsumers', { maxHours: 4, eachStep: lateConsumer });
    const phases = new Set(waiting.map(phaseOf));
    expect(phases.has('waitingForConsumers')).toBe(true);
    const atWait = waiting.at(-1)!.body;
    expect(atWait).toMatchObject({ state: 'running', status: { activeKeyKind: 'primary', standbyKeyKind: 'secondary', nextCheckAt: expect.any(String), waitDeadline: expect.any(String) } });
    expect(await api.rotation.useKeyFromKeyVault('orders')).toBe(200);
    const listed = await api.call('GET', '/rotations');
    expect((listed.body.accounts as Array<Record<string, unknown>>)[0]).toMatchObject({ state: 'running', phase: 'waitingForConsumers', nextCheckAt: expect.any(String) });

    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'jane', note: 'late consumer restarted' });
    expect(moved.status).toBe(202);
    expect(moved.body.message).toContain('primary');

    const final = await pollStatus(api, location, (s) => s.body.state !== 'running', { maxHours: 2 });
    const done = final.at(-1)!.body;
    expect(done).toMatchObject({
      state: 'rotated',
      runtimeStatus: 'Completed',
      requestedBy: 'function key',
      reason: 'monthly rotation',
      status: { phase: 'done' },
      output: { outcome: 'rotated', activeKeyKind: 'secondary', pairs: [{ consumersMoved: 'operator', regenerated: ['secondary', 'primary'] }] },
      failure: null,
      interruption: null,
    });
    expect(api.rotation.key('orders', 'primary')).not.toBe(primaryBefore);
    expect(api.rotation.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(await api.rotation.useKeyFromKeyVault('orders')).toBe(200);

    const afterwards = await api.call('GET', '/rotations');
    expect((afterwards.body.accounts as Array<Record<string, unknown>>)[0]).toMatchObject({ state: 'rotated', activeKeyKind: 'secondary', lastRotatedAt: expect.any(String), due: { due: false } });
    expect(api.leakedKeys()).toEqual([]);
  });

  it('when an operator cancels a rotation waiting for consumers, then it stops there, both keys keep working, the status says so, and a re-run resumes it', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await api.rotation.seedSecretByHand('orders', 'primary');
    await api.rotation.useKey('orders', 'primary');
    const started = await api.call('POST', '/rotations', { account: 'orders' });
    await pollStatus(api, started.headers.location!, (s) => phaseOf(s) === 'waitingForConsumers', { maxHours: 4 });

    const cancelled = await api.call('POST', '/rotations/orders/cancel', { reason: 'billing team cannot restart this week' });

    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({
      state: 'cancelling',
      interruption: { phase: 'waitingForConsumers', reason: 'billing team cannot restart this week (cancelled by function key)', rerunSafe: true, keys: expect.stringContaining('both keys are valid') },
    });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 5 * HOUR_MS));
    const after = await api.call('GET', '/rotations/orders');
    expect(after.body).toMatchObject({
      state: 'cancelled',
      runtimeStatus: 'Terminated',
      interruption: { phase: 'waitingForConsumers', reason: 'billing team cannot restart this week (cancelled by function key)', rerunSafe: true },
    });
    // Nothing after the interrupted phase ran: the old key was not regenerated and still works, as does the published one.
    expect(api.rotation.regenerations('orders')).toEqual({ secondary: 1 });
    expect(await api.rotation.useKey('orders', 'primary')).toBe(200);
    expect(await api.rotation.useKeyFromKeyVault('orders')).toBe(200);
    expect((await api.call('POST', '/rotations/orders/cancel', { reason: 'again' })).status).toBe(409);

    const rerun = await api.call('POST', '/rotations', { account: 'orders', reason: 'after the cancel' });
    expect(rerun.status).toBe(202);
    const final = await pollStatus(api, rerun.headers.location!, (s) => s.body.state !== 'running' && s.body.state !== 'pending', {
      maxHours: 96,
      eachStep: () => api.rotation.useKeyFromKeyVault('orders'),
    });
    // The re-run resumes the cancelled rotation: it waits for consumers to leave primary and regenerates it, never rotating back.
    expect(final.at(-1)!.body).toMatchObject({
      state: 'rotated',
      output: { pairs: [{ previousActiveKeyKind: 'primary', activeKeyKind: 'secondary', resumed: { from: 'waitingForConsumers' } }] },
    });
    expect(api.rotation.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(await api.rotation.useKeyFromKeyVault('orders')).toBe(200);
    expect(api.leakedKeys()).toEqual([]);
  });

  it('when an operator cancels a rotation waiting for a standby key in use, then nothing was changed and the status says so', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await api.rotation.seedSecretByHand('orders', 'primary');
    await api.rotation.useKey('orders', 'secondary');
    const keysBefore = { primary: api.rotation.key('orders', 'primary'), secondary: api.rotation.key('orders', 'secondary') };
    const started = await api.call('POST', '/rotations', { account: 'orders' });
    await pollStatus(api, started.headers.location!, (s) => phaseOf(s) === 'waitingForStandbyIdle', { maxHours: 1 });

    const cancelled = await api.call('POST', '/rotations/orders/cancel', { reason: 'found the stray consumer' });
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 24 * HOUR_MS));

    expect(cancelled.body).toMatchObject({ interruption: { phase: 'waitingForStandbyIdle', keys: expect.stringContaining('Nothing was changed') } });
    expect((await api.call('GET', '/rotations/orders')).body).toMatchObject({ state: 'cancelled', interruption: { phase: 'waitingForStandbyIdle' } });
    expect(api.rotation.regenerations('orders')).toEqual({});
    expect({ primary: api.rotation.key('orders', 'primary'), secondary: api.rotation.key('orders', 'secondary') }).toEqual(keysBefore);
  });
});
