/**
 * Issue 10, stories 1, 2 and 6: a rotation is defined by the state of the
 * account and Key Vault, not by an orchestration instance. A start after a
 * cancel, a stop or a crash continues where the last rotation stopped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, RotationHarness, type KeyVaultConsumer } from './rotation-harness.js';

const MINUTE_MS = 60_000;

/** Runs the rotation of `name` in `stepMs` steps (the consumer calls between them) until it reaches `phase`. */
async function runUntilPhase(harness: RotationHarness, name: string, phase: string, consumer: KeyVaultConsumer, stepMs = 10 * MINUTE_MS): Promise<void> {
  for (let step = 0; step < 500; step += 1) {
    if ((await harness.result(name)).customStatus?.phase === phase) return;
    await consumer.call();
    await harness.runUntil(new Date(harness.clock.nowMs() + stepMs));
  }
  throw new Error(`the rotation of ${name} never reached ${phase}`);
}

async function runFor(harness: RotationHarness, ms: number, consumer: KeyVaultConsumer, stepMs = 10 * MINUTE_MS): Promise<void> {
  const until = harness.clock.nowMs() + ms;
  while (harness.clock.nowMs() < until) {
    await consumer.call();
    await harness.runUntil(new Date(Math.min(until, harness.clock.nowMs() + stepMs)));
  }
}

/** A host crash after the first run of activity `name`, once. */
function crashOnceAfter(name: string): (activity: { name: string }) => boolean {
  let crashed = false;
  return (activity) => {
    if (crashed || activity.name !== name) return false;
    crashed = true;
    return true;
  };
}

/** Seeds orders' secret, starts its rotation and runs it until the host crash the harness was set up for. */
async function startUntilCrash(harness: RotationHarness): Promise<KeyVaultConsumer> {
  await harness.seedSecretByHand('orders', 'primary');
  const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
  await harness.runUntil(new Date(harness.clock.nowMs() + 5 * MINUTE_MS));
  await harness.startRotation('orders');
  await harness.runRotation('orders', { eachStep: consumer.call });
  expect(harness.driver.crashed).toBe(true);
  return consumer;
}

describe('a stopped rotation resumes where it stopped (issue 10)', () => {
  let harness: RotationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('story 1: when a rotation is cancelled after publishing and a new one starts within 12 hours, then the old key is regenerated only after consumers that re-read Key Vault every 12 hours moved, and none of their calls fails', async () => {
    // Usage shows up 13 h late and the safe-rotation check is off: nothing but the rotator's own rule protects the old key.
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', usageLagSeconds: 13 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    const start = harness.clock.nowMs();
    const consumer = harness.keyVaultConsumer('orders', 12 * HOUR_MS);

    await harness.startRotation('orders');
    await runUntilPhase(harness, 'orders', 'waitingForConsumers', consumer);
    await runFor(harness, start + 2 * HOUR_MS - harness.clock.nowMs(), consumer);
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped it');
    await runFor(harness, 5 * MINUTE_MS, consumer);

    await harness.startRotation('orders', { reason: 'started again' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS, eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(consumer.failures()).toBe(0);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    const regeneratedOldAt = Date.parse(result.output.phases.find((p) => p.phase === 'regeneratingOldKey')!.startedAt);
    // Published a few minutes in: the old key counts as used until then, plus the 12 h window and 30 min margin.
    expect(regeneratedOldAt).toBeGreaterThanOrEqual(start + 12.5 * HOUR_MS);
  });

  it('story 2: when a rotation is cancelled while waiting for consumers and started again 5 minutes later, then it resumes the wait instead of rotating back, and finishes the same day', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const start = harness.clock.nowMs();
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);

    const first = await harness.startRotation('orders');
    expect(first).toBe(harness.instanceId('orders'));
    await runUntilPhase(harness, 'orders', 'waitingForConsumers', consumer);
    const cancelled = await harness.result('orders');
    await runFor(harness, HOUR_MS, consumer);
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped it');
    await runFor(harness, 5 * MINUTE_MS, consumer);

    await harness.startRotation('orders', { reason: 'started again' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS, eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]).toMatchObject({ previousActiveKeyKind: 'primary', activeKeyKind: 'secondary', resumed: { rotationId: cancelled.customStatus.rotationId, from: 'waitingForConsumers' } });
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    const versions = await harness.secretVersions('orders-key');
    expect(versions).toHaveLength(2);
    expect(versions.filter((v) => v.keyKind === 'secondary')).toHaveLength(1);
    expect(Date.parse(result.output.finishedAt)).toBeLessThan(start + 14 * HOUR_MS);
    expect(consumer.failures()).toBe(0);
  });

  it('story 6: when a regeneration finishes in the same instant it began and the host crashes before the answer is recorded, then the key is not regenerated again', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 0 }], crashAfterActivity: crashOnceAfter('beginRegenerateKey') });
    const consumer = await startUntilCrash(harness);
    await harness.restartDriver();
    const result = await harness.runRotation('orders', { eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(consumer.failures()).toBe(0);
  });

  it('when a rotation is cancelled after regenerating the standby but before publishing it, then a new start validates and publishes that standby under the stopped rotation\'s ID without regenerating it again, and consumers never see the marker', async () => {
    // Ten probes over an hour: the rotation spends that hour in validating, where the operator stops it.
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { VALIDATION_PROBE_COUNT: '10', VALIDATION_SPREAD_IN_MINUTES: '60' } });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    await harness.runUntil(new Date(harness.clock.nowMs() + 5 * MINUTE_MS));

    await harness.startRotation('orders');
    await runUntilPhase(harness, 'orders', 'validating', consumer, MINUTE_MS);
    const stopped = (await harness.result('orders')).customStatus;
    const secondaryGeneratedAt = harness.keyGeneratedAt('orders', 'secondary');
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped it');
    // The marker is a tag on the version consumers read: no new version, the same value.
    expect(await harness.secretVersions('orders-key')).toHaveLength(1);
    expect(await harness.useKeyFromKeyVault('orders')).toBe(200);
    await runFor(harness, 5 * MINUTE_MS, consumer);

    const plan = await harness.plan('orders');
    expect(plan.pairs[0]).toMatchObject({ activeKeyKind: 'primary', standbyKeyKind: 'secondary', resumes: { rotationId: stopped.rotationId, from: 'validating', regeneratedAt: secondaryGeneratedAt } });

    await harness.startRotation('orders', { reason: 'started again' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS, eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]).toMatchObject({
      previousActiveKeyKind: 'primary',
      activeKeyKind: 'secondary',
      regenerated: ['primary'],
      resumed: { rotationId: stopped.rotationId, from: 'validating', regeneratedAt: secondaryGeneratedAt },
    });
    expect(result.output.phases.map((p) => p.phase)).not.toContain('regeneratingStandby');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    const versions = await harness.secretVersions('orders-key');
    expect(versions).toHaveLength(2);
    expect(versions.find((v) => v.keyKind === 'secondary')?.rotationId).toBe(stopped.rotationId);
    expect(consumer.failures()).toBe(0);
  });

  it('when a forced rotation is cancelled while Azure regenerates its standby and the next start is cancelled while validating it, then a third start resumes at validation and the standby is regenerated once (found by the spin model, model/README.md)', async () => {
    // A two-hour regeneration that outlives run A; a stray use of the standby makes run B wait past its end.
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', regenerationSeconds: 2 * 3600 }], settings: { VALIDATION_PROBE_COUNT: '10', VALIDATION_SPREAD_IN_MINUTES: '60' } });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    expect(await harness.useKey('orders', 'secondary')).toBe(200);

    await harness.startRotation('orders', { force: true, reason: 'run A' });
    await runUntilPhase(harness, 'orders', 'regeneratingStandby', consumer, MINUTE_MS);
    await runFor(harness, 10 * MINUTE_MS, consumer, MINUTE_MS);
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped run A');
    await runFor(harness, MINUTE_MS, consumer, MINUTE_MS);

    // Run B starts while Azure still regenerates A's standby, waits for the stray use to age, and finds the standby already regenerated.
    await harness.startRotation('orders', { reason: 'run B' });
    await runUntilPhase(harness, 'orders', 'validating', consumer);
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped run B');
    await runFor(harness, MINUTE_MS, consumer, MINUTE_MS);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });

    await harness.startRotation('orders', { reason: 'run C' });
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS, eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]).toMatchObject({ activeKeyKind: 'secondary', regenerated: ['primary'], resumed: { from: 'validating' } });
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(consumer.failures()).toBe(0);
  });

  it('when the host crashes after marking Key Vault but before regenerating the standby, then the next start begins a new rotation and regenerates each key once', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], crashAfterActivity: crashOnceAfter('markRegeneration') });
    const consumer = await startUntilCrash(harness);
    expect(harness.regenerations('orders')).toEqual({});
    expect((await harness.plan('orders')).pairs[0]!.resumes).toBeNull();
    await harness.restartDriver();
    await harness.driver.terminate(harness.instanceId('orders'), 'operator stopped it after the crash');
    await harness.runUntil(new Date(harness.clock.nowMs() + MINUTE_MS));
    await harness.startRotation('orders', { reason: 'started again' });
    const result = await harness.runRotation('orders', { eachStep: consumer.call });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]!.resumed).toBeUndefined();
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(consumer.failures()).toBe(0);
  });
});
