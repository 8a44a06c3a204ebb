/**
 * Issue 10: the account changes under a running rotation. Someone turns on
 * disableLocalAuth (Cosmos DB then refuses every key: 401, substatus 5202,
 * "Local Authorization is disabled. Use an AAD token to authorize all
 * requests.", as reported in Azure/data-api-builder#1939), or deletes the
 * account (ARM answers 404 ResourceNotFound). Neither is waited out: the
 * rotation stops at once with a message that names the cause.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../helpers/emulator.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

const MINUTE_MS = 60_000;

async function rotateUntilWaitingForConsumers(): Promise<RotationHarness> {
  const harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
  await harness.seedSecretByHand('orders', 'primary');
  await harness.startRotation('orders');
  for (let step = 0; step < 100 && (await harness.result('orders')).customStatus?.phase !== 'waitingForConsumers'; step += 1) {
    await harness.runUntil(new Date(harness.clock.nowMs() + 10 * MINUTE_MS));
  }
  expect((await harness.result('orders')).customStatus?.phase).toBe('waitingForConsumers');
  return harness;
}

describe('the account changes during a rotation (issue 10)', () => {
  let harness: RotationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('when disableLocalAuth is turned on while the rotation waits for consumers, then Cosmos DB refuses the keys (401, 5202) and the rotation fails at its next look, naming disableLocalAuth, instead of retrying', async () => {
    harness = await rotateUntilWaitingForConsumers();
    const changed = await control(harness.emulator, 'PATCH', '/accounts/orders', { disableLocalAuth: true });
    expect(changed.status).toBe(200);
    expect(await harness.useKeyFromKeyVault('orders')).toBe(401);

    const result = await harness.runRotation('orders', { stepMs: HOUR_MS, maxMs: 48 * HOUR_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(result.customStatus.message).toMatch(/disableLocalAuth.*turned on while the rotation was waitingForConsumers/);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1 });
    expect(result.output?.retries?.outageRetries ?? 0).toBe(0);
  });

  it('when the account is deleted while the rotation waits for consumers, then ARM answers 404 and the rotation fails at its next look saying the account is not found, without waiting it out', async () => {
    harness = await rotateUntilWaitingForConsumers();
    const deleted = await control(harness.emulator, 'DELETE', '/accounts/orders');
    expect(deleted.status).toBe(200);

    const result = await harness.runRotation('orders', { stepMs: HOUR_MS, maxMs: 48 * HOUR_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(result.customStatus.message).toMatch(/inspectAccount failed during waitingForConsumers: .*404 ResourceNotFound.*was not found \(deleted, renamed/);
    expect(result.customStatus.message).not.toMatch(/kept failing|trying again/);
  });
});
