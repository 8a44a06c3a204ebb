import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CosmosDBManagementClient } from '@azure/arm-cosmosdb';
import { VirtualClock } from '../../emulator/clock.js';
import { startAzureEmulator, type AzureEmulator, type KeyKind } from '../../emulator/azure/index.js';
import { ConsumerFleet, type ConsumerEnvironment, type ConsumerEvent } from '../../emulator/demo/consumers.js';
import { parseScenario, type Scenario } from '../../emulator/demo/scenario.js';
import { emulatorCredential, secretClientFor, secretNamesFor, seedAccount, type SeededAccount } from '../../emulator/demo/seed.js';

const START = '2025-03-03T00:00:00.000Z';
const MINUTE = 60_000;

function scenarioWith(consumers: unknown[]): Scenario {
  return parseScenario(
    {
      version: 1,
      name: 'consumers-under-test',
      runFor: '1d',
      start: START,
      accounts: [{ name: 'orders', regenerationSeconds: 1 }],
      consumers,
    },
    { source: 'test' },
  );
}

describe('simulated consumers', () => {
  let clock: VirtualClock;
  let emulator: AzureEmulator;
  let fleet: ConsumerFleet | undefined;

  beforeEach(async () => {
    clock = new VirtualClock('manual', START);
    emulator = await startAzureEmulator({ clock });
  });

  afterEach(async () => {
    fleet?.close();
    fleet = undefined;
    await emulator.close();
  });

  async function seed(scenario: Scenario): Promise<SeededAccount> {
    const account = scenario.accounts[0]!;
    return seedAccount(emulator, account, secretNamesFor(account, scenario.settings), secretClientFor(emulator));
  }

  function environment(seeded: SeededAccount): ConsumerEnvironment {
    const keysOf = () => emulator.state().accounts[seeded.id.toLowerCase()]!.keys;
    return {
      nowMs: () => clock.nowMs(),
      caCertPem: emulator.caCertPem,
      keyVaultUrl: emulator.keyVaultUrl,
      credential: emulatorCredential,
      account: () => seeded,
      currentKeyValue: (_name, keyKind) => keysOf()[keyKind].value,
      identifyKey: (_name, value) => (Object.entries(keysOf()).find(([, key]) => key.value === value)?.[0] as KeyKind) ?? 'regenerated',
    };
  }

  async function runUntil(offsetMs: number): Promise<void> {
    const endMs = Date.parse(START) + offsetMs;
    for (let next = fleet!.nextDueMs(); next !== null && next <= endMs; next = fleet!.nextDueMs()) {
      if (next > clock.nowMs()) clock.set(new Date(next));
      await fleet!.runDue();
    }
    if (clock.nowMs() < endMs) clock.set(new Date(endMs));
  }

  async function regenerate(keyKind: KeyKind): Promise<void> {
    const arm = new CosmosDBManagementClient(emulatorCredential, '00000000-0000-4000-8000-00000000de00', {
      endpoint: emulator.armEndpoint,
      tlsOptions: { ca: emulator.caCertPem },
    });
    const poller = await arm.databaseAccounts.beginRegenerateKey('rotation-demo', 'orders', { keyKind }, { updateIntervalInMs: 5 });
    clock.advance(1000);
    await poller.pollUntilDone();
  }

  it('when the key a consumer holds is regenerated, then its calls fail with 401 until its next Key Vault read brings the new key', async () => {
    const scenario = scenarioWith([{ name: 'orders-api', account: 'orders', refreshEvery: '1h', callEvery: '10m' }]);
    const seeded = await seed(scenario);
    const events: ConsumerEvent[] = [];
    fleet = new ConsumerFleet(scenario.consumers, environment(seeded), { startMs: Date.parse(START), onEvent: (event) => events.push(event) });

    await runUntil(15 * MINUTE); // calls at 0m and 10m succeed with the primary key
    const keys = emulator.state().accounts[seeded.id.toLowerCase()]!.keys;
    await secretClientFor(emulator).setSecret(seeded.secretName, keys.secondary.value, { tags: { keyKind: 'secondary' } });
    await regenerate('primary'); // too early: the consumer has not re-read Key Vault yet
    await runUntil(65 * MINUTE); // 20m..50m fail; at 60m the refresh comes first, then the call succeeds

    const [stats] = fleet.stats();
    expect(stats).toMatchObject({ calls: 7, succeeded: 3, failures: 4, failuresByCause: { unauthorized: 4 }, keyChanges: 2 });
    expect(stats!.callsByKeyKind).toEqual({ primary: 2, secondary: 1 });
    expect(events.map((event) => event.kind)).toEqual(['newKey', 'failing', 'newKey', 'recovered']);
    expect(events[1]!.message).toContain('a key that has since been regenerated');
  });

  it('when a consumer is pinned to the standby key, then that key shows as recently used until the pin ends', async () => {
    const scenario = scenarioWith([
      { name: 'stray-job', account: 'orders', refreshEvery: '1h', callEvery: '30m', pinnedKeyKind: 'secondary', pinnedUntil: '2h' },
    ]);
    const seeded = await seed(scenario);
    fleet = new ConsumerFleet(scenario.consumers, environment(seeded), { startMs: Date.parse(START) });

    await runUntil(90 * MINUTE);
    const secondaryUse = () => emulator.state().accounts[seeded.id.toLowerCase()]!.keys.secondary.approximateLastUsageTime;
    expect(secondaryUse()).toBe('2025-03-03T01:30:00.000Z');

    await runUntil(5 * 60 * MINUTE); // from 2h on the consumer reads Key Vault (primary) like everyone else: calls at 2h..5h
    expect(secondaryUse()).toBe('2025-03-03T01:30:00.000Z');
    expect(fleet.stats()[0]!.callsByKeyKind).toEqual({ secondary: 4, primary: 7 });
  });

  it('when a pinned consumer is fixed between two of its Key Vault reads, then it reads Key Vault at once and its next call already uses that key', async () => {
    const scenario = scenarioWith([
      { name: 'batch', account: 'orders', refreshEvery: '6h', callEvery: '15m', pinnedKeyKind: 'secondary', pinnedUntil: '40m' },
    ]);
    const seeded = await seed(scenario);
    const events: ConsumerEvent[] = [];
    fleet = new ConsumerFleet(scenario.consumers, environment(seeded), { startMs: Date.parse(START), onEvent: (event) => events.push(event) });

    await runUntil(2 * 60 * MINUTE); // calls at 0m, 15m, 30m with the copied key; fixed at 40m; calls at 45m..120m from Key Vault

    const [stats] = fleet.stats();
    expect(stats!.callsByKeyKind).toEqual({ secondary: 3, primary: 6 });
    expect(stats!.keyVaultReads).toBe(1);
    const fixed = events.find((event) => /fixed to read Key Vault/.test(event.message));
    expect(fixed?.atMs).toBe(Date.parse(START) + 40 * MINUTE);
  });

  it('when a read-only consumer reads with the read-only secret, then its calls succeed and a write-pinned read-only key is refused with 403', async () => {
    const scenario = scenarioWith([
      { name: 'reports', account: 'orders', access: 'readOnly', refreshEvery: '1h', callEvery: '15m' },
      { name: 'misconfigured', account: 'orders', access: 'readWrite', refreshEvery: '1h', callEvery: '15m' },
    ]);
    const seeded = await seed(scenario);
    // The misconfigured app was given the read-only secret's value as its read-write key.
    const readOnlyValue = emulator.state().accounts[seeded.id.toLowerCase()]!.keys.primaryReadonly.value;
    await secretClientFor(emulator).setSecret(seeded.secretName, readOnlyValue, { tags: { keyKind: 'primaryReadonly' } });
    fleet = new ConsumerFleet(scenario.consumers, environment(seeded), { startMs: Date.parse(START) });

    await runUntil(50 * MINUTE);

    const [reports, misconfigured] = fleet.stats();
    expect(reports).toMatchObject({ calls: 4, failures: 0, callsByKeyKind: { primaryReadonly: 4 } });
    expect(misconfigured).toMatchObject({ calls: 4, failures: 4, failuresByCause: { forbidden: 4 } });
  });
});
