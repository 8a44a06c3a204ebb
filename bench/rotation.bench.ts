/**
 * How long one complete rotation takes on one machine (emulator + durable
 * driver + real SDKs), and what it costs in ARM calls and history. Run with
 * `npm run bench`; the numbers are printed once, then vitest times repeats.
 */
import { bench, describe } from 'vitest';
import { HOUR_MS, RotationHarness } from '../test/workflow/rotation-harness.js';

async function oneRotation(report: boolean): Promise<void> {
  const harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
  try {
    await harness.seedSecretByHand('orders', 'primary');
    const started = harness.clock.nowMs();
    harness.emulator.resetStats();
    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });
    if (result.output.outcome !== 'rotated') throw new Error(`rotation ended ${result.output.outcome}`);
    if (report) {
      const counters = harness.driver.counters(harness.instanceId('orders'))!;
      console.log(
        JSON.stringify(
          {
            virtualHoursStartToDone: (Date.parse(result.output.finishedAt) - started) / HOUR_MS,
            armCallsByOperation: harness.emulator.stats().arm,
            keyVaultCalls: harness.emulator.stats().keyvault,
            episodes: counters.episodes,
            historyEvents: counters.historyEvents,
            activityCalls: counters.activityCalls,
            timersCreated: counters.timersCreated,
          },
          null,
          2,
        ),
      );
    }
  } finally {
    await harness.close();
  }
}

describe('rotation', () => {
  let reported = false;
  bench(
    'one account, consumers on Key Vault, happy path (13 h virtual)',
    async () => {
      await oneRotation(!reported);
      reported = true;
    },
    { iterations: 10, time: 0 },
  );
});
