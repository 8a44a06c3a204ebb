import { afterEach, describe, expect, it } from 'vitest';
import { control, secretClient } from '../helpers/emulator.js';
import { HOUR_MS, RotationHarness, SAFE_CHECK } from './rotation-harness.js';

const MINUTE_MS = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('a rotation waits for keys to be idle', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the standby key was used 3 hours ago, then the rotation waits about 9 hours before regenerating it', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const strayUseAt = harness.clock.nowMs();
    expect(await harness.useKey('orders', 'secondary')).toBe(200);
    await harness.runUntil(new Date(strayUseAt + 3 * HOUR_MS));

    await harness.startRotation('orders');
    await harness.runUntil(new Date(harness.clock.nowMs() + MINUTE_MS));
    const waiting = await harness.result('orders');
    expect(waiting.customStatus).toMatchObject({ phase: 'waitingForStandbyIdle', standbyKeyKind: 'secondary' });
    // 12 h idle window + 30 min margin after the stray use: 9.5 h from the start.
    expect(at(waiting.customStatus.nextCheckAt!)).toBe(strayUseAt + 12.5 * HOUR_MS);

    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });
    expect(result.output.outcome).toBe('rotated');
    const regeneratedStandbyAt = at(result.output.phases.find((p) => p.phase === 'regeneratingStandby')!.startedAt);
    expect(regeneratedStandbyAt).toBeGreaterThanOrEqual(strayUseAt + 12.5 * HOUR_MS);
    expect(regeneratedStandbyAt).toBeLessThan(strayUseAt + 13 * HOUR_MS);
    expect(result.output.waits[0]).toMatchObject({ phase: 'waitingForStandbyIdle', pair: 'readWrite' });
  });

  it('when a stray consumer keeps using the standby key past the bound, then the rotation stops needing attention and regenerates nothing', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { STANDBY_WAIT_MAX_IN_HOURS: '24' } });
    await harness.seedSecretByHand('orders', 'primary');
    const keysBefore = harness.emulator.state().accounts[harness.accountId('orders').toLowerCase()]!.keys;

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKey('orders', 'secondary')) });

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('needsAttention');
    expect(result.output.attention?.message).toMatch(/standby key secondary is still in use/);
    expect(result.customStatus.phase).toBe('needsAttention');
    expect(harness.regenerations('orders')).toEqual({});
    expect(harness.key('orders', 'secondary')).toBe(keysBefore.secondary.value);
  });

  it('when consumers keep the old key for 30 hours, then it is regenerated only after it has been idle 12 hours, and no consumer call fails', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const start = harness.clock.nowMs();
    const answers: number[] = [];
    let lastOldKeyUse = 0;

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', {
      eachStep: async () => {
        if (harness.clock.nowMs() < start + 30 * HOUR_MS) {
          answers.push(await harness.useKey('orders', 'primary'));
          lastOldKeyUse = harness.clock.nowMs();
        } else {
          answers.push(await harness.useKeyFromKeyVault('orders'));
        }
      },
    });

    expect(result.output.outcome).toBe('rotated');
    expect(answers.every((status) => status === 200)).toBe(true);
    const regeneratedOldAt = at(result.output.phases.find((p) => p.phase === 'regeneratingOldKey')!.startedAt);
    expect(regeneratedOldAt).toBeGreaterThanOrEqual(lastOldKeyUse + 12.5 * HOUR_MS);
    expect(regeneratedOldAt).toBeLessThan(lastOldKeyUse + 14 * HOUR_MS);
    expect(result.output.pairs[0]).toMatchObject({ consumersMoved: 'idle', activeKeyKind: 'secondary' });
  });

  it('when consumers never leave the old key, then the rotation stops needing attention and the old key still works', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const primaryBefore = harness.key('orders', 'primary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKey('orders', 'primary')) });

    expect(result.output.outcome).toBe('needsAttention');
    expect(result.output.attention).toMatchObject({ phase: 'waitingForConsumers' });
    expect(result.output.attention?.message).toMatch(/still use the old key primary/);
    expect(harness.key('orders', 'primary')).toBe(primaryBefore);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });
    expect(await harness.useKey('orders', 'primary')).toBe(200);
    // The default bound is 72 h after publishing; checks are coarse, not hourly.
    const waited = result.output.phases.find((p) => p.phase === 'waitingForConsumers')!;
    expect(at(waited.endedAt) - at(waited.startedAt)).toBeGreaterThanOrEqual(72 * HOUR_MS - MINUTE_MS);
    expect(result.output.retries.usageChecks).toBeLessThanOrEqual(8);
  });

  it('when usage reports lag an hour and the account has no safe check, then the old key is still not regenerated while consumers use it', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', usageLagSeconds: 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    // Consumers re-read Key Vault every 6 hours: they keep the old key for up to 6 hours after the new one is published.
    let cachedKey = harness.key('orders', 'primary');
    let lastRefresh = harness.clock.nowMs();
    const answers: number[] = [];
    const consumer = async () => {
      if (harness.clock.nowMs() - lastRefresh >= 6 * HOUR_MS) {
        cachedKey = (await secretClient(harness.emulator).getSecret('orders-key')).value!;
        lastRefresh = harness.clock.nowMs();
      }
      answers.push(await harness.callDataPlane('orders', cachedKey));
    };

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 15 * MINUTE_MS, eachStep: consumer });
    for (let i = 0; i < 8; i += 1) {
      await consumer();
      await harness.runUntil(new Date(harness.clock.nowMs() + HOUR_MS));
    }

    expect(result.output.outcome).toBe('rotated');
    expect(answers.filter((status) => status !== 200)).toEqual([]);
  });

  it('when an operator confirms consumers moved, then the old key is regenerated without waiting 12 hours', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.useKey('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runUntil(new Date(harness.clock.nowMs() + HOUR_MS));
    expect((await harness.result('orders')).customStatus.phase).toBe('waitingForConsumers');

    await harness.driver.raiseEvent(harness.instanceId('orders'), 'ConsumersMoved', { by: 'operator@example.com' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]!.consumersMoved).toBe('operator');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
  });

  it('when Azure refuses a regeneration because of a lagging usage report, then the rotation waits and retries until the key is idle', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK], usageLagSeconds: 2 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    // A stray use of the standby that ARM does not report yet: our own check cannot see it, ARM's can.
    const strayUseAt = harness.clock.nowMs();
    await harness.useKey('orders', 'secondary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.blockedRegenerations).toBeGreaterThanOrEqual(1);
    expect(result.output.waits.some((w) => /blocked/.test(w.reason))).toBe(true);
    const regeneratedStandbyAt = at(harness.keyGeneratedAt('orders', 'secondary'));
    expect(regeneratedStandbyAt).toBeGreaterThanOrEqual(strayUseAt + 12 * HOUR_MS);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
  });

  it('when forced, then it skips the usage waits, sends the skip flag past the safe check, and records the force', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.useKey('orders', 'primary');
    await harness.useKey('orders', 'secondary');
    const start = harness.clock.nowMs();

    await harness.startRotation('orders', { force: true, reason: 'key leaked in a log', requestedBy: 'api' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.output).toMatchObject({ outcome: 'rotated', force: true, reason: 'key leaked in a log' });
    expect(result.output.pairs[0]!.consumersMoved).toBe('forced');
    expect(result.output.retries.blockedRegenerations).toBe(0);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(at(result.output.finishedAt) - start).toBeLessThan(HOUR_MS);
  });

  it('when a regeneration takes 3 hours on a big account, then the rotation follows it with durable timers and goes on', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 3 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS });

    expect(result.output.outcome).toBe('rotated');
    const phase = result.output.phases.find((p) => p.phase === 'regeneratingStandby')!;
    const tookMs = at(phase.endedAt) - at(phase.startedAt);
    expect(tookMs).toBeGreaterThanOrEqual(3 * HOUR_MS);
    expect(tookMs).toBeLessThan(3 * HOUR_MS + 16 * MINUTE_MS);
    // Polls back off to 15 minutes: two 3-hour regenerations take a few dozen polls, not hundreds.
    expect(result.output.retries.regenerationPolls).toBeLessThan(40);
  });

  it('when the new key is refused twice by the data plane, then validation starts counting again and passes on 3 consecutive successes', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runUntil(new Date(harness.clock.nowMs() + 1));
    // The next two data-plane requests (validation probes) are refused as a not-yet-propagated key would be.
    await control(harness.emulator, 'POST', '/faults', { service: 'cosmos', status: 401, times: 2 });

    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.validationFailures).toBe(2);
    expect(harness.driver.counters(harness.instanceId('orders'))!.activityCalls.validateKey).toBe(5);
  });
});

describe('an operator confirmation is never lost', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when consumers-moved arrives together with a usage check, then the rotation still takes it and goes on at once', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.useKey('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runUntil(new Date(harness.clock.nowMs() + HOUR_MS));
    const waiting = await harness.result('orders');
    expect(waiting.customStatus.phase).toBe('waitingForConsumers');

    // The check comes due and the operator's event lands in the same batch: the timer wins the race.
    harness.clock.set(waiting.customStatus.nextCheckAt!);
    await harness.useKey('orders', 'primary');
    await harness.driver.raiseEvent(harness.instanceId('orders'), 'ConsumersMoved', { by: 'operator@example.com' });
    const confirmedAt = harness.clock.nowMs();
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]!.consumersMoved).toBe('operator');
    expect(Date.parse(result.output.finishedAt) - confirmedAt).toBeLessThan(HOUR_MS);
  });

  it('when consumers-moved arrives while the rotation is re-inspecting the old key, then the rotation still takes it', async () => {
    let inspections = 0;
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders' }],
      // Not a crash: a window into the moment an activity has run and its result is not yet recorded.
      crashAfterActivity: (activity) => {
        if (activity.name === 'inspectAccount' && ++inspections === 3) {
          void harness.driver.raiseEvent(harness.instanceId('orders'), 'ConsumersMoved', { by: 'operator@example.com' });
        }
        return false;
      },
    });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');

    // Inspections: 1 at the start, 2 when the wait begins, 3 at the first usage check (12.5 h later).
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKey('orders', 'primary')) });

    expect(inspections).toBeGreaterThanOrEqual(3);
    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]!.consumersMoved).toBe('operator');
  });
});
