/**
 * Issue 10, stories 3, 4 and 5: Azure trouble is waited out with durable
 * timers for as long as the phase's bound allows; refusals and busy answers
 * are bounded by time from the first one, not by a count or the phase start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../helpers/emulator.js';
import { CONSUMERS_MOVED_EVENT } from '../../src/workflow/rotation-types.js';
import { HOUR_MS, RotationHarness, SAFE_CHECK } from './rotation-harness.js';

const MINUTE_MS = 60_000;

describe('a rotation waits out Azure trouble (issue 10)', () => {
  let harness: RotationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('story 3: when Key Vault answers 429 forty times while the key is published, then the rotation waits it out and writes one version', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    await control(harness.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 429, times: 40 });

    await harness.startRotation('orders');
    const statuses: string[] = [];
    const result = await harness.runRotation('orders', {
      stepMs: 10 * MINUTE_MS,
      eachStep: async () => {
        await consumer.call();
        const status = (await harness!.result('orders')).customStatus;
        if (status?.phase === 'publishing') statuses.push(status.message);
      },
    });

    expect(result.output.outcome).toBe('rotated');
    expect((await harness.secretVersions('orders-key')).filter((v) => v.rotationId === result.output.rotationId)).toHaveLength(1);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(statuses.some((message) => /publishKey is failing .*429.*; trying again at/.test(message))).toBe(true);
    expect(consumer.failures()).toBe(0);
  });

  it('story 3: when ARM answers 503 forty times while the old key is regenerated, then the rotation waits it out and regenerates it once', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    let faulted = false;

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', {
      stepMs: 10 * MINUTE_MS,
      eachStep: async () => {
        await consumer.call();
        if (!faulted && (await harness!.result('orders')).customStatus?.phase === 'waitingForConsumers') {
          faulted = true;
          await control(harness!.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: '/regenerateKey$', status: 503, times: 40 });
        }
      },
    });

    expect(faulted).toBe(true);
    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(consumer.failures()).toBe(0);
  });

  it('when ARM is down for 40 hours while the rotation waits for consumers, then it keeps trying within the consumer wait\'s 72 h bound (not a 24 h constant), the status says what fails and when it tries again, and it finishes', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    let outageFrom: number | null = null;
    const statuses: Array<{ message: string; nextCheckAt?: string }> = [];

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', {
      stepMs: 30 * MINUTE_MS,
      eachStep: async () => {
        await consumer.call();
        const status = (await harness!.result('orders')).customStatus;
        if (outageFrom === null && status?.phase === 'waitingForConsumers') {
          outageFrom = harness!.clock.nowMs();
          await control(harness!.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', status: 503, times: 10_000 });
        } else if (outageFrom !== null && harness!.clock.nowMs() - outageFrom >= 40 * HOUR_MS) {
          await control(harness!.emulator, 'DELETE', '/faults');
        } else if (outageFrom !== null) {
          statuses.push({ message: status?.message ?? '', ...(status?.nextCheckAt ? { nextCheckAt: status.nextCheckAt } : {}) });
        }
      },
    });

    expect(outageFrom).not.toBeNull();
    expect(result.output.outcome).toBe('rotated');
    expect(result.output.retries.outageRetries).toBeGreaterThan(10);
    const failing = statuses.filter((s) => /inspectAccount is failing \(.*503.*\); trying again at .*, until /.test(s.message));
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.every((s) => s.nextCheckAt !== undefined && s.message.includes(s.nextCheckAt))).toBe(true);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(consumer.failures()).toBe(0);
  });

  it('story 4: when usage reports are 6 hours late and a stray job used the standby, then the refusals are waited out within the 48 h bound and the job never fails', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK], usageLagSeconds: 6 * 3600 }] });
    await harness.seedSecretByHand('orders', 'primary');
    const start = harness.clock.nowMs();
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    const strayAnswers: number[] = [];
    let strayLastUse = 0;

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', {
      stepMs: 30 * MINUTE_MS,
      eachStep: async () => {
        await consumer.call();
        // A job with the standby key copied from the portal, fixed 2 hours in.
        if (harness!.clock.nowMs() <= start + 2 * HOUR_MS) {
          strayAnswers.push(await harness!.useKey('orders', 'secondary'));
          strayLastUse = harness!.clock.nowMs();
        }
      },
    });

    expect(result.output.outcome).toBe('rotated');
    expect(strayAnswers.every((status) => status === 200)).toBe(true);
    expect(result.output.retries.blockedRegenerations).toBeGreaterThan(8);
    const regeneratedStandbyAt = Date.parse(harness.keyGeneratedAt('orders', 'secondary'));
    expect(regeneratedStandbyAt).toBeGreaterThanOrEqual(strayLastUse + 12 * HOUR_MS);
    expect(consumer.failures()).toBe(0);
  });

  it('story 5: when refusals of the old key last more than 24 hours and the host then restarts mid-regeneration, then the busy answer is waited out instead of failing the rotation', async () => {
    let crashed = false;
    let afterRefusals = false;
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', capabilities: [SAFE_CHECK], regenerationSeconds: 600 }],
      crashAfterActivity: (activity) => {
        if (crashed || !afterRefusals || activity.name !== 'beginRegenerateKey') return false;
        crashed = true;
        return true;
      },
    });
    await harness.seedSecretByHand('orders', 'primary');
    const start = harness.clock.nowMs();
    const consumer = harness.keyVaultConsumer('orders', HOUR_MS);
    // A late consumer keeps the old key for 26 hours although the operator says everyone moved.
    const late = async () => {
      await consumer.call();
      if (harness!.clock.nowMs() <= start + 26 * HOUR_MS) expect(await harness!.useKey('orders', 'primary')).toBe(200);
      // Refused at about 12.5 h, 25 h and 37 h; the next try (last use at 26 h + 12.5 h) starts the regeneration.
      afterRefusals = harness!.clock.nowMs() >= start + 37 * HOUR_MS;
    };

    await harness.startRotation('orders');
    for (let step = 0; (await harness.result('orders')).customStatus?.phase !== 'waitingForConsumers'; step += 1) {
      await late();
      await harness.runUntil(new Date(harness.clock.nowMs() + 10 * MINUTE_MS));
    }
    await harness.driver.raiseEvent(harness.instanceId('orders'), CONSUMERS_MOVED_EVENT, { by: 'jane' });
    await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS, eachStep: late });
    expect(harness.driver.crashed).toBe(true);
    await harness.restartDriver();
    const result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS, eachStep: late });

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect(result.output.retries.blockedRegenerations).toBeGreaterThanOrEqual(2);
    expect(consumer.failures()).toBe(0);
  });
});
