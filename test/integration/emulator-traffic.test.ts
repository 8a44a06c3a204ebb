/**
 * What the demo's report and `npm run bench` say about pacing: the emulator's
 * answers by HTTP status, and the busiest virtual second and minute of ARM
 * requests per subscription, reads and writes apart. POST actions (listKeys,
 * regenerateKey) are writes, as ARM's throttling counts them (Microsoft Learn,
 * "Understand how Azure Resource Manager throttles requests").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { ARM_API_VERSION, SUBSCRIPTION_ID, accountPath, armRequest, control, startTestEmulator } from '../helpers/emulator.js';

const OTHER_SUBSCRIPTION_ID = '00000000-0000-4000-8000-0000000000b2';
let emulator: AzureEmulator;

beforeEach(async () => {
  emulator = await startTestEmulator();
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
  await emulator.createAccount({ subscriptionId: OTHER_SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'billing' });
});

afterEach(async () => emulator?.close());

const read = (subscriptionId = SUBSCRIPTION_ID, name = 'orders') => armRequest(emulator, 'GET', `${accountPath('rg-app', name, subscriptionId)}?api-version=${ARM_API_VERSION}`);
const listKeys = () => armRequest(emulator, 'POST', `${accountPath('rg-app', 'orders')}/listKeys?api-version=${ARM_API_VERSION}`);

async function times(count: number, call: () => Promise<unknown>): Promise<void> {
  for (let index = 0; index < count; index += 1) await call();
}

describe('request traffic (answers by status, ARM peaks per subscription)', () => {
  it('when reads come in bursts across seconds, then the peak second and peak minute are the busiest windows, not the totals', async () => {
    await times(5, () => read());
    emulator.clock.advance(999);
    // Still within one second of the first five: six in one second.
    await read();
    emulator.clock.advance(1);
    // The first five are now a second old: this one shares its second with the sixth only.
    await read();
    emulator.clock.advance(61_000);
    await times(2, () => read());

    const peaks = emulator.traffic().armPeaks[SUBSCRIPTION_ID.toLowerCase()]!;
    expect(peaks.reads).toEqual({ perSecond: 6, perMinute: 7 });
    expect(peaks.writes).toEqual({ perSecond: 0, perMinute: 0 });
  });

  it('when listKeys is called, then it counts as a write of its own subscription and the other subscription sees only its own reads', async () => {
    await times(3, listKeys);
    await read(OTHER_SUBSCRIPTION_ID, 'billing');

    const { armPeaks } = emulator.traffic();
    expect(armPeaks[SUBSCRIPTION_ID.toLowerCase()]).toEqual({ reads: { perSecond: 0, perMinute: 0 }, writes: { perSecond: 3, perMinute: 3 } });
    expect(armPeaks[OTHER_SUBSCRIPTION_ID.toLowerCase()]).toEqual({ reads: { perSecond: 1, perMinute: 1 }, writes: { perSecond: 0, perMinute: 0 } });
  });

  it('when ARM throttles, then the 429 answers are counted by status next to the 200s, and the refused requests still count toward the peak', async () => {
    await control(emulator, 'PUT', '/throttling', { arm: { reads: { bucketSize: 2, refillPerSecond: 1 }, subscriptionMultiplier: 1 } });
    await times(4, () => read());

    const traffic = emulator.traffic();
    expect(traffic.byStatus.arm).toEqual({ 200: 2, 429: 2 });
    expect(traffic.armPeaks[SUBSCRIPTION_ID.toLowerCase()]!.reads.perSecond).toBe(4);
  });

  it('when the stats are reset, then statuses and peaks start again from nothing', async () => {
    await times(3, () => read());
    emulator.resetStats();
    await read();

    const traffic = emulator.traffic();
    expect(traffic.byStatus.arm).toEqual({ 200: 1 });
    expect(traffic.armPeaks[SUBSCRIPTION_ID.toLowerCase()]!.reads).toEqual({ perSecond: 1, perMinute: 1 });
  });
});
