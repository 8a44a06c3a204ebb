/**
 * Validation probes every region's data plane, at the endpoints the account reports
 * (readLocations[].documentEndpoint in the spec's examples/2026-04-01-preview/CosmosDBDatabaseAccountGet.json),
 * not only the global endpoint: a new key reaches regions at different times (Microsoft Learn,
 * "Rotate keys for Azure Cosmos DB for NoSQL"; the delay per region is not public and is set per test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RotationHarness } from './rotation-harness.js';

const MINUTE_MS = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('a rotation of a multi-region account', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the new key reaches East US 20 minutes after the write region, then nothing is published before East US accepts it', async () => {
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', regenerationSeconds: 60, additionalRegions: [{ location: 'East US', propagationSeconds: 1200 }] }],
    });
    await harness.seedSecretByHand('orders', 'primary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.validationFailures).toBeGreaterThan(0);
    const regenerated = result.output.phases.find((phase) => phase.phase === 'regeneratingStandby')!;
    const publishing = result.output.phases.find((phase) => phase.phase === 'publishing')!;
    expect(at(publishing.startedAt)).toBeGreaterThanOrEqual(at(regenerated.endedAt) + 20 * MINUTE_MS - MINUTE_MS);
  });

  it('when every region accepts the new key at once, then validation passes without a failure, as for a single region', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', additionalRegions: [{ location: 'East US' }, { location: 'North Europe' }] }] });
    await harness.seedSecretByHand('orders', 'primary');

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.validationFailures).toBe(0);
  });
});
