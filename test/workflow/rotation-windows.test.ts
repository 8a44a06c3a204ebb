import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

// The harness clock starts on Friday 2026-05-01 at 08:00 UTC.
describe('rotation windows (ROTATION_WINDOWS)', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the standby is regenerated inside the window but the old key is reached on Friday night, then the old key waits for Monday 08:00', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { ROTATION_WINDOWS: 'Mon-Fri 08:00-17:00' } });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');

    // The consumer wait ends about 12.5 h after publishing: Friday night, outside the window.
    await harness.runUntil(new Date(Date.parse('2026-05-02T12:00:00Z')));
    const waiting = await harness.result('orders');
    expect(waiting.runtimeStatus).toBe('Running');
    expect(waiting.customStatus).toMatchObject({ phase: 'regeneratingOldKey', windowOpensAt: '2026-05-04T08:00:00.000Z', nextCheckAt: '2026-05-04T08:00:00.000Z' });
    expect(waiting.customStatus.message).toContain('Mon-Fri 08:00-17:00 UTC');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });

    const result = await harness.runRotation('orders', { maxMs: 4 * 24 * HOUR_MS });
    expect(result.output.outcome).toBe('rotated');
    const standby = result.output.phases.find((p) => p.phase === 'regeneratingStandby')!;
    expect(Date.parse(standby.startedAt)).toBeLessThan(Date.parse('2026-05-01T08:05:00Z'));
    const oldKeyFinishedAt = Date.parse(result.output.finishedAt);
    expect(oldKeyFinishedAt).toBeGreaterThanOrEqual(Date.parse('2026-05-04T08:00:00Z'));
    expect(oldKeyFinishedAt).toBeLessThan(Date.parse('2026-05-04T09:00:00Z'));
    expect(result.output.waits.some((w) => w.phase === 'regeneratingOldKey' && w.reason.startsWith('outside the rotation window'))).toBe(true);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
  });

  it('when the rotation is forced outside its window, then it regenerates at once', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { ROTATION_WINDOWS: 'Sat 10:00-11:00' } });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders', { force: true, reason: 'key leaked' });

    const result = await harness.runRotation('orders', { stepMs: 10 * 60_000, maxMs: 6 * HOUR_MS });

    expect(result.output.outcome).toBe('rotated');
    expect(Date.parse(result.output.finishedAt)).toBeLessThan(Date.parse('2026-05-01T10:00:00Z'));
    expect(result.output.waits.filter((w) => w.reason.includes('rotation window'))).toEqual([]);
  });
});
