/**
 * The demo's consumers of kind rotatingClient: apps built on
 * packages/rotating-cosmos-client, run on the virtual clock. Scenario 08 shows
 * what the library is for: an operator confirms consumers-moved too early and
 * the old key is regenerated under apps that have not reloaded yet.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../emulator/demo/runner.js';
import { loadScenarioFile, parseScenario, type ScenarioError } from '../../emulator/demo/scenario.js';

const FILE = '12-library-consumers-early-confirmation.json';

describe('consumers on the rotating client', () => {
  it('when an operator confirms consumers-moved before anyone reloaded, then no rotating-client call fails while a key-in-hand job gets 401s', async () => {
    const report = await runScenario(await loadScenarioFile(`scenarios/${FILE}`), { source: FILE });

    expect(report.expectationFailures).toEqual([]);
    expect(report.leaks.found).toEqual([]);
    const orders = report.accounts[0]!;
    expect(orders.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary', 'primary']);
    expect(report.operatorActions.find((action) => action.type === 'consumersMoved')).toMatchObject({ status: 202 });
    const library = report.consumers.byConsumer.find((consumer) => consumer.name === 'orders-api')!;
    const keyInHand = report.consumers.byConsumer.find((consumer) => consumer.name === 'reports-job')!;
    expect(library).toMatchObject({ instances: 3, failures: 0 });
    // Each instance got its new key from a 401, well before its hourly read was due.
    const reloads = report.timeline.filter((entry) => /^orders-api#\d picked up .* because Cosmos DB answered 401/.test(entry.text));
    expect(reloads).toHaveLength(3);
    const primaryGoneAtMs = orders.regenerations.find((entry) => entry.keyKind === 'primary')!.offsetMs;
    for (const reload of reloads) expect(reload.offsetMs - primaryGoneAtMs).toBeLessThan(3 * 60_000);
    expect(library.callsByKeyKind.secondary).toBeGreaterThan(0);
    expect(keyInHand.failures).toBeGreaterThan(0);
    expect(keyInHand.failuresByCause).toEqual({ unauthorized: keyInHand.failures });
  });

  it('when a consumer names no kind, then it keeps the key in hand as before; an unknown kind or a pinned rotating client is refused', () => {
    const scenario = (consumers: unknown[]) => ({ version: 1, name: 'kinds', runFor: '1d', accounts: [{ name: 'orders' }], consumers });
    expect(parseScenario(scenario([{ name: 'api', account: 'orders' }]), { source: 'test' }).consumers[0]!.kind).toBe('keyInHand');
    expect(parseScenario(scenario([{ name: 'api', account: 'orders', kind: 'rotatingClient' }]), { source: 'test' }).consumers[0]!.kind).toBe('rotatingClient');

    let problems: string[] = [];
    try {
      parseScenario(scenario([{ name: 'a', account: 'orders', kind: 'sdk' }, { name: 'b', account: 'orders', kind: 'rotatingClient', pinnedKeyKind: 'secondary' }]), { source: 'test' });
    } catch (error) {
      problems = (error as ScenarioError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^consumers\[0\]\.kind: must be one of keyInHand, rotatingClient/),
      expect.stringMatching(/^consumers\[1\]\.pinnedKeyKind: a rotatingClient consumer reads its key from Key Vault/),
    ]);
  });
});
