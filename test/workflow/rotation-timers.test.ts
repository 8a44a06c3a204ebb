/**
 * The app never creates a durable timer longer than 3 days (the host's
 * longRunningTimerIntervalDuration). The driver slices long timers as the Durable
 * extension does and stops slicing a canceled one (Azure/azure-functions-durable-extension,
 * DurableOrchestrationContext.CreateTimer and OutOfProcOrchestrationShim), while
 * durable-functions 3.5.0's LongTimerTask keeps assigning ids to slices: a canceled
 * timer longer than 6 days would desynchronise the rotation (see driver-orchestrations.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventType } from '../../emulator/durable/history.js';
import { MAX_TIMER_IN_MS } from '../../src/workflow/durable-timers.js';
import { CONSUMERS_MOVED_EVENT } from '../../src/workflow/rotation-types.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;

function longestTimerInMs(harness: RotationHarness, name: string): number {
  const timers = (harness.driver.history(harness.instanceId(name)) ?? []).filter((event) => event.EventType === EventType.TimerCreated);
  return Math.max(...timers.map((event) => Date.parse(String(event.FireAt)) - Date.parse(event.Timestamp)));
}

describe('durable timers of a rotation', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the consumer check interval is 7 days and an operator confirms on day 4, then the wait re-armed in 3-day steps, the confirmation ends it, and the rotation completes', async () => {
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders' }],
      settings: { CONSUMER_CHECK_INTERVAL_IN_MINUTES: '10080', CONSUMER_WAIT_MAX_IN_HOURS: '720' },
    });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    const startedAt = harness.clock.nowMs();
    await harness.runRotation('orders', { stepMs: 6 * HOUR_MS, maxMs: 4 * DAY_MS, eachStep: async () => void (await harness.useKey('orders', 'primary')) });
    expect((await harness.result('orders')).customStatus.phase).toBe('waitingForConsumers');
    expect(harness.clock.nowMs()).toBeGreaterThan(startedAt + 3 * DAY_MS);

    await harness.driver.raiseEvent(harness.instanceId('orders'), CONSUMERS_MOVED_EVENT, { by: 'operator' });
    const result = await harness.runRotation('orders');

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]).toMatchObject({ consumersMoved: 'operator' });
    expect(longestTimerInMs(harness, 'orders')).toBeLessThanOrEqual(MAX_TIMER_IN_MS);
  });

  it('when the idle window is 10 days and the standby key was just used, then the rotation waits the whole window, re-arming its timers, and regenerates the standby only after it', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { IDLE_WINDOW_IN_HOURS: '240', STANDBY_WAIT_MAX_IN_HOURS: '480', CONSUMER_WAIT_MAX_IN_HOURS: '480' } });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.useKey('orders', 'secondary');
    const usedAt = harness.clock.nowMs();

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 12 * HOUR_MS, maxMs: 40 * DAY_MS, eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    const regeneratedStandbyAt = Date.parse(result.output.phases.find((p) => p.phase === 'regeneratingStandby')!.startedAt);
    expect(regeneratedStandbyAt).toBeGreaterThanOrEqual(usedAt + 10 * DAY_MS);
    expect(longestTimerInMs(harness, 'orders')).toBeLessThanOrEqual(MAX_TIMER_IN_MS);
  });
});
