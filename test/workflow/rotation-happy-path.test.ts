import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

describe('a rotation on the emulator, through the durable driver', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when consumers use primary from Key Vault, then secondary is regenerated, published, and primary regenerated once they moved', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    expect(await harness.useKeyFromKeyVault('orders')).toBe(200);
    const primaryBefore = harness.key('orders', 'primary');
    const secondaryBefore = harness.key('orders', 'secondary');
    const startedAt = harness.clock.nowMs();

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('rotated');
    expect(result.output.activeKeyKind).toBe('secondary');
    expect(harness.key('orders', 'secondary')).not.toBe(secondaryBefore);
    expect(harness.key('orders', 'primary')).not.toBe(primaryBefore);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    const versions = await harness.secretVersions('orders-key');
    expect(versions.at(-1)).toMatchObject({ keyKind: 'secondary', rotationId: result.output.rotationId });
    expect(await harness.useKeyFromKeyVault('orders')).toBe(200);
    // The old key waited until it had been idle 12 h (plus the margin) before it was regenerated.
    const regeneratedOldAt = result.output.phases.find((p) => p.phase === 'regeneratingOldKey')!.startedAt;
    const publishedAt = result.output.phases.find((p) => p.phase === 'publishing')!.endedAt;
    expect(Date.parse(regeneratedOldAt) - Date.parse(publishedAt)).toBeGreaterThanOrEqual(12 * HOUR_MS);
    // Two regenerations, each started once; the bench (npm run bench) reports the full cost.
    expect(harness.emulator.stats().arm.regenerateKey).toBe(2);
    expect(Date.parse(result.output.finishedAt) - startedAt).toBeLessThan(14 * HOUR_MS);
    expect(await harness.findLeaks()).toEqual([]);
  });
});
