import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRegisteredFunctions } from '../../emulator/durable/index.js';
import { resetRuntime } from '../../src/runtime.js';
import { control, secretClient } from '../helpers/emulator.js';
import type { RotationInput } from '../../src/workflow/rotation-types.js';
import { ApiHarness } from './http-harness.js';
import { installInMemoryTelemetry, type InMemoryTelemetry } from '../../emulator/telemetry.js';
import { HOUR_MS } from './rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;

describe('the rotation schedule', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when the app is loaded, then the timer takes its NCRONTAB from ROTATION_SCHEDULE and has a durable client, and the sample settings run it hourly', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    const timer = describeRegisteredFunctions({ ROTATION_SCHEDULE: '0 30 2 * * *' }).find((fn) => fn.name === 'rotationSchedule')!;
    expect(timer).toMatchObject({ triggerType: 'timerTrigger', scheduleExpression: '%ROTATION_SCHEDULE%', schedule: '0 30 2 * * *', usesDurableClient: true, unresolvedSettings: [] });
    expect(describeRegisteredFunctions({}).find((fn) => fn.name === 'rotationSchedule')!.unresolvedSettings).toEqual(['ROTATION_SCHEDULE']);
    const sample = JSON.parse(readFileSync(new URL('../../local.settings.sample.json', import.meta.url), 'utf8')) as { Values: Record<string, string> };
    expect(sample.Values.ROTATION_SCHEDULE).toBe('0 0 * * * *');
  });

  it('when some accounts are due, one is running, one needs attention and the in-flight bound is 3, then the running one counts, the two most overdue start and one line says why the others did not', async () => {
    const accounts = ['brandnew', 'busy', 'fresh', 'stale-a', 'stale-b', 'stuck'];
    api = await ApiHarness.start({
      accounts: accounts.map((name) => ({ name })),
      settings: { MAX_ROTATIONS_IN_FLIGHT: '3', STANDBY_WAIT_MAX_IN_HOURS: '2', FAILED_ROTATION_RETRY_IN_HOURS: '24' },
    });
    const { rotation } = api;
    for (const name of ['busy', 'stale-a', 'stale-b', 'stuck']) await rotation.seedSecretByHand(name, 'primary');
    await rotation.runUntil(new Date(api.clock.nowMs() + 31 * DAY_MS));
    await rotation.seedSecretByHand('fresh', 'primary');
    // busy: its consumers keep the old key, so its rotation waits for them. stuck: a stray consumer holds the standby key past the 2 h bound.
    await rotation.useKey('busy', 'primary');
    await rotation.useKey('stuck', 'secondary');
    expect((await api.call('POST', '/rotations', { account: 'busy' })).status).toBe(202);
    expect((await api.call('POST', '/rotations', { account: 'stuck' })).status).toBe(202);
    for (let step = 0; step < 6; step++) {
      await rotation.useKey('busy', 'primary');
      await rotation.useKey('stuck', 'secondary');
      await rotation.runUntil(new Date(api.clock.nowMs() + 30 * MINUTE_MS));
    }
    expect((await rotation.result('busy')).customStatus.phase).toBe('waitingForConsumers');
    expect((await rotation.result('stuck')).output.outcome).toBe('needsAttention');
    const linesBefore = rotation.logLines.length;

    await api.runTimer();

    const started = await startedBySchedule(api, accounts);
    expect(started).toEqual(['brandnew', 'stale-a']);
    const input = (await api.driver.getStatus(rotation.instanceId('brandnew'), { showInput: true }))!.input as RotationInput;
    expect(input).toMatchObject({ requestedBy: 'schedule', reason: 'scheduled rotation', settings: { accountId: rotation.accountId('brandnew') } });
    expect(await api.driver.getStatus(rotation.instanceId('stale-b'))).toBeUndefined();
    expect(await api.driver.getStatus(rotation.instanceId('fresh'))).toBeUndefined();
    expect((await rotation.result('stuck')).output.outcome).toBe('needsAttention');

    const lines = rotation.logLines.slice(linesBefore).filter((line) => line.includes('Rotation schedule'));
    const summaries = lines.filter((line) => line.includes(' configured, '));
    expect(summaries).toHaveLength(1);
    const summary = summaries[0]!;
    expect(summary).toContain('6 configured, 3 due, 1 running before this run, 2 started');
    expect(summary).toMatch(/brandnew \(secret brandnew-key does not exist yet\)/);
    expect(summary).toMatch(/stale-a \(secret stale-a-key is 31 days old/);
    expect(summary).toMatch(/inFlightLimit 1 \[stale-b - .*3 rotations in flight, MAX_ROTATIONS_IN_FLIGHT=3/);
    expect(summary).toMatch(/running 1 \[busy - a rotation is running \(waitingForConsumers\)\]/);
    expect(summary).toMatch(/needsAttention 1 \[stuck - last rotation needs attention in waitingForStandbyIdle at .* not restarted before /);
    expect(summary).toMatch(/notDue 1 \[fresh - due at /);
    // One entry per account started or left due; none for the running and the not-due one.
    const entries = lines.filter((line) => !line.includes(' configured, ')).map((line) => /Z: (\S+ \S+) - /.exec(line)?.[1]);
    expect(entries.sort()).toEqual(['brandnew started', 'stale-a started', 'stale-b inFlightLimit', 'stuck needsAttention']);

    // The next day: the leftover starts, and the needs-attention account's retry delay has passed.
    for (let hour = 0; hour < 24; hour++) {
      for (const name of ['brandnew', 'stale-a']) await rotation.useKeyFromKeyVault(name).catch(() => undefined);
      await rotation.useKey('busy', 'primary');
      await rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));
    }
    await api.runTimer();

    const nextSummary = rotation.logLines.filter((line) => line.includes(' configured, ')).at(-1)!;
    expect(nextSummary).toMatch(/2 started \[stale-b .*; stuck .*\]/);
    expect(nextSummary).toMatch(/running 1 \[busy/);
    const restarted = (await api.driver.getStatus(rotation.instanceId('stuck'), { showInput: true }))!;
    expect(restarted.runtimeStatus).not.toBe('Completed');
    expect((restarted.input as RotationInput).requestedBy).toBe('schedule');
  });

  it('when a due account is running or a rotation was started by an operator meanwhile, then the schedule never starts a second one', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    expect((await api.call('POST', '/rotations', { account: 'orders', reason: 'by hand' })).status).toBe(202);

    await api.runTimer();
    await api.runTimer();

    const instance = await api.driver.getStatus(api.rotation.instanceId('orders'), { showInput: true });
    expect((instance!.input as RotationInput).reason).toBe('by hand');
    const summaries = api.rotation.logLines.filter((line) => line.includes('Rotation schedule'));
    expect(summaries).toHaveLength(2);
    for (const line of summaries) expect(line).toContain('1 configured, 0 due, 1 running before this run, 0 started, 1 skipped (running 1 [orders - ');
  });

  it('when Key Vault cannot list the secrets, then every account is skipped with the reason and nothing starts: half the facts could start a second rotation', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
    await control(api.rotation.emulator, 'POST', '/faults', { service: 'keyvault', pathPattern: '^/secrets$', status: 403, times: 5 });

    await api.runTimer();

    expect(await startedBySchedule(api, ['orders', 'billing'])).toEqual([]);
    const summary = api.rotation.logLines.filter((line) => line.includes(' configured, ')).at(-1)!;
    expect(summary).toMatch(/2 skipped \(lookupFailed 2 \[orders - could not read its state \(PermanentError 403.*; billing - /);
  });

  it('when the current version of one account\'s secret is disabled, then that account is skipped with the fix and the others start', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
    await api.rotation.seedSecretByHand('billing', 'primary');
    const client = secretClient(api.rotation.emulator);
    const latest = await client.getSecret('billing-key');
    await client.updateSecretProperties('billing-key', latest.properties.version!, { enabled: false });

    await api.runTimer();

    expect(await startedBySchedule(api, ['orders', 'billing'])).toEqual(['orders']);
    const summary = api.rotation.logLines.filter((line) => line.includes(' configured, ')).at(-1)!;
    expect(summary).toMatch(/lookupFailed 1 \[billing - could not read its state \(the current version of secret billing-key is disabled: enable it or publish a new version\)/);
  });

  it('when the app settings are invalid, then the timer invocation fails loudly and starts nothing', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    resetRuntime({ env: { ...api.rotation.env, MAX_STARTS_PER_RUN: '10' }, now: () => api.clock.now() });

    await expect(api.runTimer()).rejects.toThrow(/MAX_STARTS_PER_RUN: is no longer read: .*MAX_ROTATIONS_IN_FLIGHT/);

    expect(await api.driver.listInstances()).toEqual([]);
    expect(api.rotation.logLines.some((line) => /^error .*Rotation schedule: not run, the app settings are invalid/.test(line))).toBe(true);
  });
});

async function startedBySchedule(api: ApiHarness, names: string[]): Promise<string[]> {
  const started: string[] = [];
  for (const name of names) {
    const status = await api.driver.getStatus(api.rotation.instanceId(name), { showInput: true });
    if ((status?.input as RotationInput | undefined)?.requestedBy === 'schedule') started.push(name);
  }
  return started;
}

describe('the schedule reports key ages', () => {
  let api: ApiHarness;
  let telemetry: InMemoryTelemetry;
  afterEach(async () => {
    await api?.close();
    await telemetry?.shutdown();
  });

  it('when the timer runs, then each secret\'s age and the number of accounts past their interval are reported as gauges', async () => {
    telemetry = installInMemoryTelemetry();
    api = await ApiHarness.start({ accounts: [{ name: 'old' }, { name: 'young' }, { name: 'brandnew' }] });
    await api.rotation.seedSecretByHand('old', 'primary');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 40 * DAY_MS));
    await api.rotation.seedSecretByHand('young', 'primary');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 2 * DAY_MS));

    await api.runTimer();

    const ages = await telemetry.metricPoints('rotation.key.age');
    expect(ages.map((point) => [point.attributes.account, point.value, point.attributes.rotationIntervalInDays]).sort()).toEqual([
      ['old', 42, 30],
      ['young', 2, 30],
    ]);
    expect(await telemetry.metricPoints('rotation.accounts.overdue')).toEqual([{ attributes: {}, value: 1 }]);
  });
});
