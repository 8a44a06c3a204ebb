import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../helpers/emulator.js';
import { HOUR_MS, RotationHarness } from './rotation-harness.js';

const MINUTE_MS = 60_000;

describe('a rotation survives faults and crashes', () => {
  let harness: RotationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('when Key Vault throttles and ARM answers 503, then the SDK and Durable retries carry the rotation through', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    // More 503s than the SDK retries (4): the activity fails transiently and Durable retries it after a backoff timer.
    await control(harness.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', status: 503, times: 7 });
    await control(harness.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 429, times: 3 });

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS, eachStep: async () => void (await harness!.useKeyFromKeyVault('orders')) });

    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
    expect((await harness.secretVersions('orders-key')).filter((v) => v.rotationId === result.output.rotationId)).toHaveLength(1);
    const history = harness.driver.history(harness.instanceId('orders'))!;
    expect(history.filter((event) => event.EventType === 6 /* TaskFailed */).length).toBeGreaterThanOrEqual(1);
  });

  it('when ARM forbids listing keys, then the rotation fails at once with the fix in the reason, and nothing is published', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await control(harness.emulator, 'POST', '/faults', { service: 'arm', pathPattern: '/listKeys$', status: 403, times: 100 });

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.runtimeStatus).toBe('Failed');
    // Adopting a hand-made secret reads the keys to tell which one it holds: that is where the 403 surfaces.
    expect(result.customStatus).toMatchObject({ phase: 'failed' });
    expect(result.customStatus.message).toMatch(/inspectAccount failed during inspecting: .*Fix: grant the function's identity .*listKeys\/action/);
    expect(await harness.secretVersions('orders-key')).toHaveLength(1);
    expect(harness.regenerations('orders')).toEqual({});
    // Permanent failures are not retried.
    expect(harness.driver.counters(harness.instanceId('orders'))!.activityCalls).toEqual({ inspectAccount: 1, emitRotationEvent: 1 });
  });

  it('when the host crashes after any activity, then the restarted rotation regenerates each key once and publishes one version', async () => {
    // Activity executions in this scenario without a crash, not counting the event sender (rotation-events.test.ts crashes that one).
    const crashPoints = 11;
    const outcomes: string[] = [];
    for (let crashAfter = 1; crashAfter <= crashPoints; crashAfter += 1) {
      let executed = 0;
      let crashedIn = '';
      harness = await RotationHarness.start({
        accounts: [{ name: 'orders' }],
        crashAfterActivity: (activity) => {
          if (activity.name === 'emitRotationEvent') return false;
          executed += 1;
          if (executed !== crashAfter) return false;
          crashedIn = activity.name;
          return true;
        },
      });
      await harness.seedSecretByHand('orders', 'primary');
      const consumer = async () => void (await harness!.useKeyFromKeyVault('orders'));
      await harness.startRotation('orders');
      await harness.runRotation('orders', { eachStep: consumer });
      expect(harness.driver.crashed).toBe(true);

      await harness.restartDriver();
      const result = await harness.runRotation('orders', { eachStep: consumer });

      expect(result.output?.outcome, `crash after activity #${crashAfter} (${crashedIn})`).toBe('rotated');
      expect(harness.regenerations('orders'), `crash after ${crashedIn}`).toEqual({ secondary: 1, primary: 1 });
      const versions = (await harness.secretVersions('orders-key')).filter((v) => v.rotationId === result.output.rotationId);
      expect(versions, `crash after ${crashedIn}`).toHaveLength(1);
      expect(await harness.findLeaks()).toEqual([]);
      outcomes.push(crashedIn);
      await harness.close();
      harness = undefined;
    }
    // Every kind of activity was interrupted at least once.
    expect(new Set(outcomes)).toEqual(new Set(['inspectAccount', 'markRegeneration', 'beginRegenerateKey', 'getRegenerationStatus', 'validateKey', 'publishKey']));
  });
});

describe('a crash during a long regeneration', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when the host restarts while a 3-hour regeneration runs, then the rotation waits for it instead of failing on "operation in progress"', async () => {
    let crashed = false;
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', regenerationSeconds: 3 * 3600 }],
      crashAfterActivity: (activity) => {
        if (crashed || activity.name !== 'beginRegenerateKey') return false;
        crashed = true;
        return true;
      },
    });
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    await harness.runRotation('orders');
    expect(harness.driver.crashed).toBe(true);

    await harness.restartDriver();
    const result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS });

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('rotated');
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1 });
  });
});

describe('both directions and both pairs', () => {
  let harness: RotationHarness;
  afterEach(async () => harness?.close());

  it('when a rotation follows a rotation, then it goes back from secondary to primary', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    const consumer = async () => void (await harness.useKeyFromKeyVault('orders'));
    await harness.startRotation('orders');
    const first = await harness.runRotation('orders', { eachStep: consumer });
    await harness.runUntil(new Date(harness.clock.nowMs() + 24 * HOUR_MS));

    await harness.startRotation('orders');
    const second = await harness.runRotation('orders', { eachStep: consumer });

    expect(first.output.activeKeyKind).toBe('secondary');
    expect(second.output.pairs[0]).toMatchObject({ previousActiveKeyKind: 'secondary', activeKeyKind: 'primary' });
    expect(second.output.rotationId).not.toBe(first.output.rotationId);
    expect(harness.regenerations('orders')).toEqual({ secondary: 2, primary: 2 });
    expect((await harness.secretVersions('orders-key')).map((v) => v.keyKind)).toEqual([undefined, 'secondary', 'primary']);
  });

  it('when read-only keys rotate too, then each pair alternates on its own and gets its own secret', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings: { ROTATE_READONLY_KEYS: 'true', PUBLISH_CONNECTION_STRING: 'true' } });
    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', {
      eachStep: async () => {
        await harness.useKeyFromKeyVault('orders').catch(() => 0);
        await harness.useKeyFromKeyVault('orders', 'orders-readonly-key').catch(() => 0);
      },
    });

    expect(result.output.outcome).toBe('rotated');
    expect(result.output.pairs.map((p) => [p.pair, p.activeKeyKind])).toEqual([
      ['readWrite', 'secondary'],
      ['readOnly', 'secondaryReadonly'],
    ]);
    expect(harness.regenerations('orders')).toEqual({ secondary: 1, primary: 1, secondaryReadonly: 1, primaryReadonly: 1 });
    expect((await harness.secretVersions('orders-readonly-key')).at(-1)?.keyKind).toBe('secondaryReadonly');
    expect((await harness.secretVersions('orders-connection-string')).at(-1)?.keyKind).toBe('secondary');
    expect(await harness.findLeaks()).toEqual([]);
  });
});
