/**
 * What one rotation costs: ARM requests (the emulator counts what it serves)
 * and history (the driver counts what each episode replays). Counts, not
 * times: the same on every run. Issue 12's budgets: a happy path in at most 14
 * ARM requests (at most 3 listKeys), a 24-hour regeneration in at most 40 and
 * at most 150 history events, and long waits that do not make replays grow
 * (continueAsNew carries the run's state; the instance ID stays).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;

function armTotal(harness: RotationHarness): number {
  return Object.values(harness.emulator.stats().arm).reduce((sum, count) => sum + count, 0);
}

describe('what one rotation costs', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when consumers read their key from Key Vault and nothing goes wrong, then the rotation makes at most 14 ARM requests, at most 3 of them listKeys', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    harness.emulator.resetStats();

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    const arm = harness.emulator.stats().arm;
    expect(armTotal(harness)).toBeLessThanOrEqual(14);
    expect(arm.listKeys ?? 0).toBeLessThanOrEqual(3);
    // Each regeneration: one regenerateKey, its status read until done, and no result read (regenerateKey has no body).
    expect(arm.regenerateKey).toBe(2);
    expect(arm.getOperationResult ?? 0).toBe(0);
    // Three probes, one read of the key and the regions.
    expect(harness.driver.counters(harness.instanceId('orders'))!.activityCalls.validateKey).toBe(3);
  });

  it('when each regeneration takes 24 hours, then the rotation completes in at most 40 ARM requests, polling with growing intervals, and no episode replays more than 150 history events', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 24 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    harness.emulator.resetStats();
    const startedAt = harness.clock.now().toISOString();

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { maxMs: 5 * DAY_MS, eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]!.regenerated).toEqual(['secondary', 'primary']);
    expect(armTotal(harness)).toBeLessThanOrEqual(40);
    expect(result.output.retries.regenerationPolls).toBeLessThanOrEqual(30);
    const counters = harness.driver.counters(harness.instanceId('orders'))!;
    expect(counters.historyEvents).toBeLessThanOrEqual(150);
    expect(counters.episodeReplay.largest!.events).toBeLessThanOrEqual(150);
    expect(counters.generations).toBeGreaterThan(0);
    // The run's record spans its generations: every phase, from the first inspection on.
    expect(result.output.phases.map((phase) => phase.phase)).toEqual(['inspecting', 'regeneratingStandby', 'validating', 'publishing', 'waitingForConsumers', 'regeneratingOldKey']);
    expect(result.output.startedAt).toBe(startedAt);
    expect(await harness.findLeaks()).toEqual([]);
  });

  it('when the host crashes while a continued run follows a 24-hour regeneration, then the restarted host goes on from that generation and each key is regenerated once', async () => {
    let polls = 0;
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', regenerationSeconds: 24 * 3600 }],
      crashAfterActivity: (activity) => activity.name === 'getRegenerationStatus' && ++polls === 12,
    });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = async () => void (await harness.useKeyFromKeyVault('orders'));
    await harness.startRotation('orders');
    await harness.runRotation('orders', { maxMs: 5 * DAY_MS, eachStep: consumer });
    expect(harness.driver.crashed).toBe(true);
    expect(harness.driver.counters(harness.instanceId('orders'))!.generations).toBeGreaterThan(0);

    await harness.restartDriver();
    const result = await harness.runRotation('orders', { maxMs: 5 * DAY_MS, eachStep: consumer });

    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect((await harness.secretVersions('orders-key')).filter((version) => version.rotationId === result.output.rotationId)).toHaveLength(1);
  });

  it('when a consumer keeps the old key for the whole 7-day consumer wait, then the replays stay as short as in the first day, every check is in the output, and it needs attention with the old key untouched', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { CONSUMER_WAIT_MAX_IN_HOURS: '168' } });
    await harness.seedSecretByHand('orders', 'primary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { maxMs: 9 * DAY_MS, eachStep: async () => void (await harness.useKey('orders', 'primary')) });

    expect(result.output.outcome).toBe('needsAttention');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });
    const counters = harness.driver.counters(harness.instanceId('orders'))!;
    expect(counters.generations).toBeGreaterThan(0);
    expect(counters.episodeReplay.largest!.events).toBeLessThanOrEqual(110);
    const checks = result.output.waits.filter((wait) => wait.phase === 'waitingForConsumers');
    expect(checks).toHaveLength(result.output.retries.usageChecks);
    expect(checks.length).toBeGreaterThanOrEqual(13);
    expect(Date.parse(checks.at(-1)!.until) - Date.parse(checks[0]!.from)).toBeGreaterThanOrEqual(7 * DAY_MS - HOUR_MS);
  });

  it('when an operator confirms through the API on day 5 of a long consumer wait, after the wait continued as new, then the API still shows the same rotation and the confirmation reaches it', async () => {
    const api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { CONSUMER_WAIT_MAX_IN_HOURS: '168' } });
    harness = api.rotation;
    await harness.seedSecretByHand('orders', 'primary');
    const startedAt = harness.clock.now().toISOString();
    await harness.startRotation('orders');
    await harness.runRotation('orders', { maxMs: 5 * DAY_MS, eachStep: async () => void (await harness.useKey('orders', 'primary')) });
    expect(harness.driver.counters(harness.instanceId('orders'))!.generations).toBeGreaterThan(0);

    const shown = await api.call('GET', '/rotations/orders');
    expect(shown.body).toMatchObject({ instanceId: harness.instanceId('orders'), state: 'running', createdAt: startedAt, status: { phase: 'waitingForConsumers' } });
    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'jane' });
    expect(moved.status).toBe(202);
    const result = await harness.runRotation('orders', { maxMs: 2 * DAY_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.startedAt).toBe(startedAt);
    expect(result.output.pairs[0]).toMatchObject({ consumersMoved: 'operator', regenerated: ['secondary', 'primary'] });
    expect(result.output.waitEndings).toContainEqual(expect.objectContaining({ wait: 'consumers', ended: 'operator', by: 'jane' }));
    expect(api.leakedKeys()).toEqual([]);
  });
});
