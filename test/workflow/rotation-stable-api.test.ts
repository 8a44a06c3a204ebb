/**
 * The api-version is a setting (COSMOS_ARM_API_VERSION). Usage times exist only in
 * 2026-04-01-preview: the spec's examples/2026-04-01-preview/CosmosDBDatabaseAccountGet.json
 * has keysMetadata.*.approximateLastUsageTime, examples/2026-03-15 has generationTime only
 * (Azure/azure-rest-api-specs, specification/cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/).
 * On the stable version the rotation cannot see consumers leave the old key: it counts as
 * in use until an operator confirms or the consumer wait bound passes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CONSUMERS_MOVED_EVENT } from '../../src/workflow/rotation-types.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

const at = (iso: string) => Date.parse(iso);
const STABLE = { COSMOS_ARM_API_VERSION: '2026-03-15', CONSUMER_WAIT_MAX_IN_HOURS: '24' };

describe('a rotation on the stable api-version 2026-03-15 (no approximateLastUsageTime)', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when consumers move to the new key at once, then the old key is still regenerated only once CONSUMER_WAIT_MAX_IN_HOURS has passed since publishing, and no consumer call fails', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: STABLE });
    await harness.seedSecretByHand('orders', 'primary');
    const answers: number[] = [];

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void answers.push(await harness.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(answers.every((status) => status === 200)).toBe(true);
    const publishedAt = at(result.output.phases.find((p) => p.phase === 'publishing')!.endedAt);
    const regeneratedOldAt = at(result.output.phases.find((p) => p.phase === 'regeneratingOldKey')!.startedAt);
    // On 2026-04-01-preview the same consumers would free the old key 12.5 h after publishing.
    expect(regeneratedOldAt).toBeGreaterThanOrEqual(publishedAt + 24 * HOUR_MS - 60_000);
    expect(regeneratedOldAt).toBeLessThan(publishedAt + 26 * HOUR_MS);
    expect(result.output.pairs[0]).toMatchObject({ consumersMoved: 'idle', activeKeyKind: 'secondary' });
  });

  it('when an operator confirms consumers moved, then the old key is regenerated without waiting for the bound', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: STABLE });
    await harness.seedSecretByHand('orders', 'primary');

    await harness.startRotation('orders');
    await harness.runRotation('orders', { maxMs: 2 * HOUR_MS });
    const waiting = await harness.result('orders');
    expect(waiting.customStatus.phase).toBe('waitingForConsumers');
    const confirmedAt = harness.clock.nowMs();
    await harness.driver.raiseEvent(harness.instanceId('orders'), CONSUMERS_MOVED_EVENT, { by: 'operator' });
    const result = await harness.runRotation('orders');

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs[0]).toMatchObject({ consumersMoved: 'operator' });
    expect(at(result.output.phases.find((p) => p.phase === 'regeneratingOldKey')!.startedAt)).toBeLessThan(confirmedAt + HOUR_MS);
  });

  it('when Azure rejects the configured api-version (a retired preview), then the rotation fails with a message naming COSMOS_ARM_API_VERSION and nothing changes', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { COSMOS_ARM_API_VERSION: '2025-01-01-preview' } });

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders');

    expect(result.runtimeStatus).toBe('Failed');
    expect(JSON.stringify((result.raw as { output?: unknown }).output)).toMatch(/COSMOS_ARM_API_VERSION/);
    expect(harness.regenerations('orders')).toEqual({});
  });
});

describe('the plan on the stable api-version', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when the api-version reports no usage times, then the plan says the old key counts as in use until consumers-moved or the consumer wait bound', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: STABLE });

    const response = await api.call('GET', '/rotations/orders/plan');

    expect(response.status).toBe(200);
    const [pair] = response.body.pairs as Array<{ consumerWait: { note: string }; steps: string[] }>;
    expect(pair!.consumerWait.note).toMatch(/reports no key usage times.*consumers-moved.*CONSUMER_WAIT_MAX_IN_HOURS \(24 h\)/);
    expect(pair!.steps.join(' ')).toMatch(/COSMOS_ARM_API_VERSION/);
  });
});
