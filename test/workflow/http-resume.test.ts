/**
 * Issue 10, stories 7 and 8, and "unfinished is due": an operator can finish a
 * rotation that stopped at the consumer wait, every message names an action
 * the API accepts, a failure shows no internals, and the schedule resumes
 * what stopped part-way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../helpers/emulator.js';
import type { RotationInput, RotationOutput } from '../../src/workflow/rotation-types.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS } from './rotation-harness.js';

const MINUTE_MS = 60_000;
/** What an internal detail looks like: a stack frame, a source path, an error class name. */
const INTERNALS = /\n\s+at |\.ts:\d+|\/work\/|node:internal|StackTrace|TransientError|PermanentError|RotationFailure|TaskFailedError/;

describe('an operator finishes what a rotation left (issue 10)', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('story 7: when a rotation stopped needing attention at the consumer wait, then consumers-moved is accepted and resumes it at regenerating the old key', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { CONSUMER_WAIT_MAX_IN_HOURS: '6' } });
    const { rotation } = api;
    await rotation.seedSecretByHand('orders', 'primary');
    expect((await api.call('POST', '/rotations', { account: 'orders' })).status).toBe(202);
    // A consumer that is never restarted keeps the old key past the 6 h bound.
    for (let step = 0; step < 16; step += 1) {
      await rotation.useKey('orders', 'primary');
      await rotation.runUntil(new Date(api.clock.nowMs() + 30 * MINUTE_MS));
    }
    const stopped = await api.call('GET', '/rotations/orders');
    expect(stopped.body).toMatchObject({ state: 'needsAttention' });
    const advice = (stopped.body.output as RotationOutput).attention!.message;
    expect(advice).toMatch(/consumers-moved/);

    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'jane', note: 'the late job was restarted' });
    expect(moved.status).toBe(202);
    await rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));

    const done = await api.call('GET', '/rotations/orders');
    expect(done.body).toMatchObject({ state: 'rotated', output: { pairs: [{ activeKeyKind: 'secondary', consumersMoved: 'operator' }] } });
    const output = done.body.output as RotationOutput;
    expect(output.waitEndings).toContainEqual(expect.objectContaining({ wait: 'consumers', ended: 'operator', by: 'jane', note: 'the late job was restarted' }));
    expect(rotation.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(await rotation.secretVersions('orders-key')).toHaveLength(2);
    expect(await rotation.useKeyFromKeyVault('orders')).toBe(200);
    expect(api.leakedKeys()).toEqual([]);
  });

  it('story 8: when Key Vault stays throttled past the bound, then the rotation fails and neither its status nor any API answer carries a stack, a path or a type name', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    const { rotation } = api;
    await rotation.seedSecretByHand('orders', 'primary');
    await control(rotation.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 429, times: 10_000 });
    await api.call('POST', '/rotations', { account: 'orders' });
    for (let hour = 0; hour < 30 && ['pending', 'running'].includes(String((await api.call('GET', '/rotations/orders')).body.state)); hour += 1) {
      await rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));
    }

    const failed = await api.call('GET', '/rotations/orders');
    const listed = await api.call('GET', '/rotations');
    const status = await api.driver.getStatus(rotation.instanceId('orders'));

    expect(failed.body).toMatchObject({ state: 'failed', failure: { message: expect.stringMatching(/publishKey .*429/) } });
    for (const text of [JSON.stringify(failed.body), JSON.stringify(listed.body), JSON.stringify(status?.customStatus), String(status?.output)]) {
      expect(text).not.toMatch(INTERNALS);
    }
    // Nothing was published, the old key still works: the message says a re-run is safe.
    expect((failed.body.failure as { message: string }).message).toMatch(/re-running the rotation is safe/i);
    expect(await rotation.useKeyFromKeyVault('orders')).toBe(200);
  });

  it('when the last rotation stopped after publishing, then the schedule calls the account due for resumption after FAILED_ROTATION_RETRY_IN_HOURS and resumes it', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { CONSUMER_WAIT_MAX_IN_HOURS: '6', FAILED_ROTATION_RETRY_IN_HOURS: '24' } });
    const { rotation } = api;
    await rotation.seedSecretByHand('orders', 'primary');
    await rotation.runUntil(new Date(api.clock.nowMs() + 31 * 24 * HOUR_MS));
    await api.runTimer();
    for (let step = 0; step < 16; step += 1) {
      await rotation.useKey('orders', 'primary');
      await rotation.runUntil(new Date(api.clock.nowMs() + 30 * MINUTE_MS));
    }
    expect((await rotation.result('orders')).output.outcome).toBe('needsAttention');
    await rotation.runUntil(new Date(api.clock.nowMs() + 25 * HOUR_MS));

    await api.runTimer();

    const summary = rotation.logLines.filter((line) => line.includes(' configured, ')).at(-1)!;
    expect(summary).toMatch(/1 started \[orders \(resume: /);
    const resumed = await api.driver.getStatus(rotation.instanceId('orders'), { showInput: true });
    expect((resumed!.input as RotationInput).requestedBy).toBe('schedule');
    await rotation.runUntil(new Date(api.clock.nowMs() + 2 * HOUR_MS));
    const result = await rotation.result('orders');
    expect(result.output).toMatchObject({ outcome: 'rotated', pairs: [{ activeKeyKind: 'secondary', resumed: { from: 'waitingForConsumers' } }] });
    expect(rotation.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
  });
});
