import { afterEach, describe, expect, it } from 'vitest';
import { EventType } from '../../emulator/durable/index.js';
import { control } from '../helpers/emulator.js';
import { HOUR_MS, RotationHarness, SAFE_CHECK } from './rotation-harness.js';

const MINUTE_MS = 60_000;

/** When each validateKey call was scheduled, from the orchestration's own history. */
function probeTimes(harness: RotationHarness, name: string): number[] {
  return harness.driver
    .history(harness.instanceId(name))!
    .filter((event) => event.EventType === EventType.TaskScheduled && event.Name === 'validateKey')
    .map((event) => Date.parse(event.Timestamp));
}

/** Runs in small steps until the rotation's status message matches. */
async function runUntilStatus(harness: RotationHarness, name: string, pattern: RegExp): Promise<void> {
  for (let step = 0; step < 500; step += 1) {
    const { customStatus } = await harness.result(name);
    if (customStatus && pattern.test(customStatus.message)) return;
    await harness.runUntil(new Date(harness.clock.nowMs() + 10_000));
  }
  throw new Error(`the status of ${name} never matched ${pattern}`);
}

describe('validation is strict', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the data plane never accepts the new key, then the rotation fails before publishing and the old key stays', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const primaryBefore = harness.key('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runUntil(new Date(harness.clock.nowMs() + 1));
    await control(harness.emulator, 'POST', '/faults', { service: 'cosmos', status: 401, times: 1000 });

    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(result.customStatus.message).toMatch(/new secondary key was not accepted by the data plane in 12 probes.*Nothing was published/);
    expect(await harness.secretVersions('orders-key')).toHaveLength(1);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });
    expect(harness.key('orders', 'primary')).toBe(primaryBefore);
    expect(await harness.findLeaks()).toEqual([]);
  });

  /** Starts a rotation, lets the first validation probe pass, then makes the data plane answer `status` `times` times. */
  async function rotateWithFaultAfterFirstProbe(fault: { status: number; times: number }) {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    await runUntilStatus(harness, 'orders', /passed 1 of 3/);
    await control(harness.emulator, 'POST', '/faults', { service: 'cosmos', ...fault });
    return harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });
  }

  it('when one probe fails between successes, then counting starts again: 3 consecutive successes are needed after it', async () => {
    const result = await rotateWithFaultAfterFirstProbe({ status: 401, times: 1 });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.validationFailures).toBe(1);
    // success, failure, then three in a row
    expect(probeTimes(harness, 'orders')).toHaveLength(5);
  });

  it('when the data plane is unavailable during validation, then the probe is retried and not counted against the new key', async () => {
    // More 503s than the Cosmos client retries by itself.
    const result = await rotateWithFaultAfterFirstProbe({ status: 503, times: 4 });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.validationFailures).toBe(0);
    const failedProbes = harness.driver.history(harness.instanceId('orders'))!.filter((event) => event.EventType === EventType.TaskFailed);
    expect(failedProbes.length).toBeGreaterThanOrEqual(1);
  });

  it('when validating, then the probes are spread over VALIDATION_SPREAD_IN_MINUTES', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { VALIDATION_PROBE_COUNT: '4', VALIDATION_SPREAD_IN_MINUTES: '9' } });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    const times = probeTimes(harness, 'orders');
    expect(times).toHaveLength(4);
    expect(times.slice(1).map((time, index) => time - times[index]!)).toEqual([3 * MINUTE_MS, 3 * MINUTE_MS, 3 * MINUTE_MS]);
  });
});

describe('every wait is bounded', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when Azure keeps refusing to regenerate the standby past its bound, then the rotation needs attention and regenerates nothing', async () => {
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', capabilities: [SAFE_CHECK], usageLagSeconds: 3 * 3600 }],
      settings: { STANDBY_WAIT_MAX_IN_HOURS: '2' },
    });
    await harness.seedSecretByHand('orders', 'primary');
    // A batch job that keeps using the standby; its uses show up 3 hours late, so only Azure's check sees them at first.
    const strayJob = async () => void (await harness.useKey('orders', 'secondary'));
    await strayJob();
    await harness.startRotation('orders');

    const result = await harness.runRotation('orders', { stepMs: 15 * MINUTE_MS, eachStep: strayJob, maxMs: 3 * 24 * HOUR_MS });

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output).toMatchObject({ outcome: 'needsAttention', attention: { phase: 'regeneratingStandby' } });
    expect(result.output.attention?.message).toMatch(/Azure refused to regenerate secondary .*past 2 h from the first refusal/);
    expect(result.output.retries.blockedRegenerations).toBeGreaterThanOrEqual(1);
    expect(harness.regenerations('orders')).toEqual({});
  });

  it('when a regeneration never finishes, then the rotation fails after 24 hours saying re-running is safe', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 30 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');

    const result = await harness.runRotation('orders', { stepMs: 2 * HOUR_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(result.customStatus.message).toMatch(/Regenerating secondary has not finished after 24 h.*re-running the rotation is safe/);
  });

  it('when the host restarts and the account stays busy past 24 hours, then the rotation fails instead of polling forever', async () => {
    let crashed = false;
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', regenerationSeconds: 30 * 3600 }],
      crashAfterActivity: (activity) => !crashed && activity.name === 'beginRegenerateKey' && (crashed = true),
    });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runRotation('orders');
    await harness.restartDriver();

    const result = await harness.runRotation('orders', { stepMs: 2 * HOUR_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(result.customStatus.message).toMatch(/could not regenerate secondary for 24 h \(Another operation holds orders/);
  });
});

describe('when Azure says no', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when Azure reports a regeneration as Failed, then the rotation asks again, the key is regenerated and published once', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const secondaryBefore = harness.key('orders', 'secondary');
    await control(harness.emulator, 'POST', '/operations/fail-next', { accountId: harness.accountId('orders'), message: 'Internal error while regenerating keys.' });

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.waits).toContainEqual(expect.objectContaining({ phase: 'regeneratingStandby', reason: expect.stringMatching(/regeneration of secondary: .*Internal error while regenerating keys/) }));
    expect(harness.key('orders', 'secondary')).not.toBe(secondaryBefore);
    // One failed operation, then one that succeeded; the old key once.
    expect(harness.regenerations('orders')).toEqual({ secondary: 2, primary: 1 });
    expect((await harness.secretVersions('orders-key')).filter((v) => v.rotationId === result.output.rotationId)).toHaveLength(1);
  });

  it('when the identity may not read operation status (an account-scoped role), then the rotation follows the key generation times and completes', async () => {
    // Five minutes a regeneration: the first poll (after a minute) finds it still running.
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 300 }] });
    await harness.seedSecretByHand('orders', 'primary');
    await control(harness.emulator, 'POST', '/rbac', { deny: ['getOperationStatus', 'getOperationResult'] });

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(harness.logLines.some((line) => /not allowed to read the regeneration's status/.test(line))).toBe(true);
  });
});
