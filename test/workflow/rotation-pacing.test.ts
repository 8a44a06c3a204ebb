/**
 * Many rotations of one subscription at once, through the durable driver, the
 * real activities and SDK clients and the emulator's ARM throttling (Azure's
 * published buckets, Microsoft Learn "Understand how Azure Resource Manager
 * throttles requests"): the app's ARM budget keeps every virtual second within
 * ARM_READS_PER_SECOND / ARM_WRITES_PER_SECOND, so ARM never answers 429.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ArmRequestLog } from '../helpers/arm-request-log.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

describe('pacing: rotations of one subscription share its ARM budget', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  async function rotateAtOnce(count: number, settings: Record<string, string> = {}): Promise<ArmRequestLog> {
    const names = Array.from({ length: count }, (_, index) => `acct${String(index).padStart(3, '0')}`);
    const requests = new ArmRequestLog(() => harness.clock.nowMs());
    harness = await RotationHarness.start({ accounts: names.map((name) => ({ name })), settings, emulatorLog: requests.log });
    for (const name of names) await harness.seedSecretByHand(name, 'primary');
    requests.requests.length = 0;
    for (const name of names) await harness.startRotation(name);
    await harness.runUntil(new Date(harness.clock.nowMs() + 3 * 24 * HOUR_MS));
    const outcomes = await Promise.all(names.map(async (name) => (await harness.result(name)).output?.outcome));
    expect(outcomes).toEqual(names.map(() => 'rotated'));
    return requests;
  }

  it('when 20 rotations start at once in one subscription, then no virtual second carries more than 20 ARM reads or 5 writes, no minute more than 60 times that, and ARM never throttles', async () => {
    const requests = await rotateAtOnce(20);

    expect(requests.peak('reads')).toBeLessThanOrEqual(20);
    expect(requests.peak('writes')).toBe(5);
    expect(requests.peak('reads', { windowMs: 60_000 })).toBeLessThanOrEqual(20 * 60);
    expect(requests.peak('writes', { windowMs: 60_000 })).toBeLessThanOrEqual(5 * 60);
    expect(requests.count((request) => request.status === 429)).toBe(0);
  });

  it('when the write budget is 1 per second, then activities that would wait longer fail as transient before sending, and the rotations wait it out and complete', async () => {
    const requests = await rotateAtOnce(8, { ARM_WRITES_PER_SECOND: '1' });

    expect(requests.peak('writes')).toBe(1);
    expect(requests.count((request) => request.status === 429)).toBe(0);
    expect(harness.logLines.some((line) => /transient failure, Durable will retry: The app's ARM budget of writes for subscription .* is spent/.test(line))).toBe(true);
  });
});
