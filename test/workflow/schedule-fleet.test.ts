/**
 * The schedule over a fleet: what one timer run costs and logs with 1,000
 * targets, through the emulator's request counts and the durable driver's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_ID, control, secretClient } from '../helpers/emulator.js';
import { installInMemoryTelemetry, type InMemoryTelemetry } from '../../emulator/telemetry.js';
import { SCHEDULE_ENTRY_ATTRIBUTE } from '../../src/telemetry.js';
import { LOG_LINE_LIMIT } from '../../src/schedule/schedule-log.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS, RESOURCE_GROUP } from './rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;
const FLEET = 1000;
const SEEDED = 100;

describe('the rotation schedule over 1,000 accounts', () => {
  let api: ApiHarness;
  let telemetry: InMemoryTelemetry;
  afterEach(async () => {
    await api?.close();
    await telemetry?.shutdown();
  });

  it('when 1,000 accounts are due, then one run starts up to the in-flight bounds, reads no secret value, makes at most n/20 + 5 Key Vault requests, and its longest log line stays under 16 KB', async () => {
    telemetry = installInMemoryTelemetry();
    const names = Array.from({ length: FLEET }, (_, index) => `fleet-${String(index).padStart(4, '0')}`);
    // The run reads no account from ARM (the rotations it starts do, and they are not run here): the targets need not exist in the emulator.
    const accountIdOf = (name: string) => `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.DocumentDB/databaseAccounts/${name}`;
    api = await ApiHarness.start({ accounts: [], settings: { ROTATION_TARGETS: JSON.stringify(names.map(accountIdOf)) } });
    // The first 100 have a key published 40 days ago (due by age); the other 900 none yet (due at once, so first).
    const vault = secretClient(api.rotation.emulator);
    for (let index = 0; index < SEEDED; index += 50) {
      await Promise.all(names.slice(index, index + 50).map((name) => vault.setSecret(`${name}-key`, 'seeded by hand')));
    }
    api.clock.advance(40 * DAY_MS);
    await control(api.rotation.emulator, 'DELETE', '/stats');
    api.driver.durableRequestCounts({ reset: true });
    const linesBefore = api.rotation.logLines.length;

    await api.runTimer();

    const lines = api.rotation.logLines.slice(linesBefore);
    const summary = lines.find((line) => line.includes(' configured, '))!;
    // One subscription: MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION (200) is the bound that holds.
    expect(summary).toContain(`${FLEET} configured, ${FLEET} due, 0 running before this run, 200 started [`);
    expect(summary).toContain('800 skipped (subscriptionInFlightLimit 800 [');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(LOG_LINE_LIMIT);

    const keyVault = ((await control(api.rotation.emulator, 'GET', '/stats')).body as { keyvault: Record<string, number> }).keyvault;
    expect(Object.keys(keyVault)).toEqual(['listSecrets']);
    expect(keyVault.listSecrets).toBeLessThanOrEqual(FLEET / 20 + 5);

    // The instance query pages by 100; per account, only a start costs requests (the archive check and the start).
    const durable = api.driver.durableRequestCounts();
    expect(durable.listInstances).toBeLessThanOrEqual(5);
    expect(durable.startNew).toBe(200);
    expect(durable.getStatus ?? 0).toBeLessThanOrEqual(200);

    const events = telemetry.logRecords().filter((record) => record.attributes[SCHEDULE_ENTRY_ATTRIBUTE] === true);
    expect(telemetry.customEvents()).toEqual([]);
    expect(events).toHaveLength(FLEET);
    expect(events.filter((event) => event.attributes.outcome === 'started')).toHaveLength(200);
    // The most overdue first: a missing secret before an old one, then by name.
    const started = events.filter((event) => event.attributes.outcome === 'started').map((event) => event.attributes.account);
    expect(started[0]).toBe('fleet-0100');
    expect(started.at(-1)).toBe('fleet-0299');
    expect(events.find((event) => event.attributes.account === 'fleet-0000')!.attributes).toMatchObject({
      outcome: 'subscriptionInFlightLimit',
      accountId: accountIdOf('fleet-0000'),
      detail: expect.stringMatching(/^due \(secret fleet-0000-key is 40 days old/),
    });

    // The next run: the 200 running rotations fill the subscription's bound, so it starts none and reads no more.
    await control(api.rotation.emulator, 'DELETE', '/stats');
    api.driver.durableRequestCounts({ reset: true });
    await api.runTimer();
    // 200 open instances: two pages of the open query, one of the completed one, one of the history purge.
    expect(api.driver.durableRequestCounts()).toEqual({ listInstances: 4 });
    const next = api.rotation.logLines.filter((line) => line.includes(' configured, ')).at(-1)!;
    expect(next).toContain('200 running before this run, 0 started');
    const again = ((await control(api.rotation.emulator, 'GET', '/stats')).body as { keyvault: Record<string, number> }).keyvault;
    expect(again.listSecrets).toBeLessThanOrEqual(FLEET / 20 + 5);
  }, 180_000);
});
