/**
 * A fleet in a scenario file: many accounts declared at once, dealt over
 * several subscriptions, one consumer each; and the report's pacing (answers
 * by status, ARM's busiest second and minute per subscription, what each
 * timer run asked Key Vault) that a fleet run is judged by.
 */
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../helpers/scenario-problems.js';
import { checkExpectations, runScenario } from '../../emulator/demo/runner.js';
import { DEFAULT_SUBSCRIPTION_ID, fleetSubscriptionId, parseScenario } from '../../emulator/demo/scenario.js';

const fleet = {
  version: 1,
  name: 'fleet',
  runFor: '2d',
  fleet: [
    {
      count: 12,
      subscriptions: 3,
      namePrefix: 'acct',
      capabilities: ['EnableKeyCheckBeforeRegenerationPreview'],
      secretAge: '40d',
      consumers: { refreshEvery: '12h', callEvery: '1h', staggerOver: '1h' },
    },
  ],
};

describe('fleet scenarios', () => {
  it('when a fleet of 12 accounts over 3 subscriptions is declared, then it becomes acct-01 ... acct-12 dealt round-robin, each with one consumer whose start is staggered', () => {
    const scenario = parseScenario(fleet, { source: 'fleet.json' });

    expect(scenario.accounts.map((account) => account.name)).toEqual(Array.from({ length: 12 }, (_, index) => `acct-${String(index + 1).padStart(2, '0')}`));
    expect(scenario.accounts.slice(0, 4).map((account) => account.subscriptionId)).toEqual([fleetSubscriptionId(1), fleetSubscriptionId(2), fleetSubscriptionId(3), fleetSubscriptionId(1)]);
    expect(new Set(scenario.accounts.map((account) => account.subscriptionId)).size).toBe(3);
    expect(scenario.accounts[0]).toMatchObject({ capabilities: ['EnableKeyCheckBeforeRegenerationPreview'], secretAgeMs: 40 * 86_400_000, regenerationSeconds: 60, configured: true });
    expect(scenario.consumers).toHaveLength(12);
    expect(scenario.consumers[0]).toMatchObject({ name: 'acct-01-app', account: 'acct-01', count: 1, refreshEveryMs: 12 * 3_600_000, callEveryMs: 3_600_000, startAtMs: 0 });
    // 1 h spread over 12 accounts: 5 minutes apart.
    expect(scenario.consumers.map((consumer) => consumer.startAtMs).slice(0, 3)).toEqual([0, 300_000, 600_000]);
  });

  it('when the same fleet is read twice, then it is the same accounts, subscriptions and consumers: a run can be repeated', () => {
    expect(parseScenario(fleet, { source: 'a.json' })).toEqual(parseScenario(fleet, { source: 'b.json' }));
  });

  it('when a fleet names its subscriptions, or none, then those are used, or the default one', () => {
    const named = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
    const withNamed = parseScenario({ ...fleet, fleet: [{ count: 3, namePrefix: 'x', subscriptions: named }] }, { source: 'fleet.json' });
    expect(withNamed.accounts.map((account) => account.subscriptionId)).toEqual([named[0], named[1], named[0]]);
    const withNone = parseScenario({ ...fleet, fleet: [{ count: 2, namePrefix: 'x' }] }, { source: 'fleet.json' });
    expect(withNone.accounts.map((account) => account.subscriptionId)).toEqual([DEFAULT_SUBSCRIPTION_ID, DEFAULT_SUBSCRIPTION_ID]);
    expect(withNone.consumers).toEqual([]);
  });

  it('when a fleet sits next to listed accounts, then both are kept; a generated name that an account already has is refused naming namePrefix', () => {
    const mixed = parseScenario({ ...fleet, accounts: [{ name: 'orders' }], fleet: [{ count: 2, namePrefix: 'x' }] }, { source: 'fleet.json' });
    expect(mixed.accounts.map((account) => account.name)).toEqual(['orders', 'x-1', 'x-2']);
    expect(problemsOf({ ...fleet, accounts: [{ name: 'acct-2' }], fleet: [{ count: 3, namePrefix: 'acct' }] })).toEqual([
      'fleet[0].namePrefix: "acct-2" is used by another account',
    ]);
  });

  it('when a fleet entry is wrong, then every problem names its field: count, prefix, subscriptions, the account template and the consumer template', () => {
    const problems = problemsOf({
      ...fleet,
      fleet: [
        { namePrefix: 'Bad_Prefix', subscriptions: 0, regenerationSecs: 5 },
        { count: 20_000, namePrefix: 'b', subscriptions: ['not-a-guid'] },
        { count: 2, namePrefix: 'c', subscriptions: 3, consumers: { refreshEvery: 'soon', name: 'x', staggerOver: '1h' } },
      ],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^fleet\[0\]\.regenerationSecs: unknown field \(allowed: count, namePrefix, subscriptions, resourceGroup/),
      expect.stringMatching(/^fleet\[0\]\.count: is required/),
      expect.stringMatching(/^fleet\[0\]\.namePrefix: must be 1-31 lower-case letters/),
      expect.stringMatching(/^fleet\[0\]\.subscriptions: must be a whole number from 1 to 1000, got 0/),
      expect.stringMatching(/^fleet\[1\]\.count: must be a whole number from 1 to 10000/),
      expect.stringMatching(/^fleet\[1\]\.subscriptions\[0\]: must be a GUID/),
      expect.stringMatching(/^fleet\[2\]\.subscriptions: gives 3 subscriptions for 2 accounts/),
      expect.stringMatching(/^fleet\[2\]\.consumers\.name: unknown field/),
      expect.stringMatching(/^fleet\[2\]\.consumers\.refreshEvery: must be a duration/),
    ]);
  });

  it('when a fleet keeps its targets in a blob, then the app reads the list from storage (not ROTATION_TARGETS) and rotates every account; a bad value names the field', async () => {
    const three = { ...fleet.fleet[0], count: 3, subscriptions: 1, consumers: { ...fleet.fleet[0]!.consumers, staggerOver: '30m' } };
    const scenario = parseScenario({ ...fleet, targets: 'blob', fleet: [three], actions: [{ at: '0m', type: 'timer' }] }, { source: 'fleet.json' });

    // A list left in the shell is the runner's to replace: the app must not see two lists.
    const shellTargets = process.env.ROTATION_TARGETS;
    process.env.ROTATION_TARGETS = '["/subscriptions/00000000-0000-4000-8000-000000000bad/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/left-in-the-shell"]';
    let report;
    try {
      report = await runScenario(scenario, { source: 'fleet.json', stopWhenAllRotated: true });
    } finally {
      if (shellTargets === undefined) delete process.env.ROTATION_TARGETS;
      else process.env.ROTATION_TARGETS = shellTargets;
    }

    expect(report.expectationFailures).toEqual([]);
    expect(report.progress).toMatchObject({ configuredAccounts: 3, rotatedAccounts: 3 });
    expect(report.targets.in).toBe('blob');
    expect(report.targets.blobStorage.byOperation.getBlob).toBeGreaterThan(0);
    expect(report.targets.blobStorage.byStatus['200']).toBeGreaterThan(0);
    expect(parseScenario(fleet, { source: 'fleet.json' }).targets).toBe('setting');
    expect(problemsOf({ ...fleet, targets: 'file' })).toEqual([expect.stringMatching(/^targets: must be one of setting, blob/)]);
  });

  it('when accounts have secrets of different ages, then each is seeded at its own age: the one past its interval is rotated, the young one is not', async () => {
    // Seeding runs accounts of the same age together, oldest first; a young secret seeded with the old ones would be due too.
    const scenario = parseScenario(
      {
        version: 1,
        name: 'ages',
        runFor: '2d',
        accounts: [
          { name: 'young', secretAge: '10d', capabilities: ['EnableKeyCheckBeforeRegenerationPreview'] },
          { name: 'old', secretAge: '40d', capabilities: ['EnableKeyCheckBeforeRegenerationPreview'] },
          { name: 'older', secretAge: '45d', capabilities: ['EnableKeyCheckBeforeRegenerationPreview'] },
        ],
        actions: [{ at: '0m', type: 'timer' }],
      },
      { source: 'ages.json' },
    );

    const report = await runScenario(scenario, { source: 'ages.json' });

    const outcome = Object.fromEntries(report.accounts.map((account) => [account.name, account.outcome]));
    expect(outcome).toEqual({ young: 'notStarted', old: 'rotated', older: 'rotated' });
  });

  it('when neither accounts nor a fleet is given, then the file is refused saying either will do', () => {
    expect(problemsOf({ version: 1, name: 'empty', runFor: '1d' })).toEqual(['accounts: is required (at least one account, or a fleet)']);
  });

  it('when a small fleet is rotated, then the report counts answers by status, the busiest ARM second and minute per subscription (POST actions as writes), and each timer run\'s own requests', async () => {
    // Nine: the timer starts at most 10 rotations per run at the app's defaults on this branch.
    const nine = { ...fleet.fleet[0], count: 9, consumers: { ...fleet.fleet[0]!.consumers, staggerOver: '45m' } };
    const scenario = parseScenario({ ...fleet, fleet: [nine], actions: [{ at: '0m', type: 'timer' }] }, { source: 'fleet.json' });

    const report = await runScenario(scenario, { source: 'fleet.json', stopWhenAllRotated: true });

    expect(report.expectationFailures).toEqual([]);
    expect(report.progress).toMatchObject({ configuredAccounts: 9, rotatedAccounts: 9, stoppedBy: 'allRotated' });
    expect(report.progress.virtualMs).toBeGreaterThanOrEqual(report.progress.allRotatedOffsetMs!);
    expect(report.progress.virtualMs).toBeLessThan(scenario.runForMs);
    // Stopped when the last one was done, not at the end of runFor.
    expect(report.progress.allRotatedOffsetMs).toBeGreaterThan(12 * 3_600_000);
    expect(report.timeline[report.timeline.length - 1]!.offsetMs).toBeLessThan(scenario.runForMs);
    expect(report.consumers.failures).toBe(0);
    expect(report.arm.byStatus['429'] ?? 0).toBe(0);
    expect(report.arm.byStatus['200']).toBeGreaterThan(0);
    expect(Object.values(report.arm.byStatus).reduce((sum, count) => sum + count, 0)).toBe(report.arm.total);
    expect(Object.values(report.keyVault.byStatus).reduce((sum, count) => sum + count, 0)).toBe(report.keyVault.total);
    expect(Object.keys(report.armPacing.bySubscription).sort()).toEqual([1, 2, 3].map((index) => fleetSubscriptionId(index).toLowerCase()));
    for (const peaks of Object.values(report.armPacing.bySubscription)) {
      // listKeys and regenerateKey are POSTs: writes; getAccount and the status polls are reads.
      expect(peaks.writes.perSecond).toBeGreaterThan(0);
      expect(peaks.reads.perSecond).toBeGreaterThan(0);
      expect(peaks.reads.perMinute).toBeGreaterThanOrEqual(peaks.reads.perSecond);
    }
    const writes = (report.arm.byOperation.listKeys ?? 0) + (report.arm.byOperation.regenerateKey ?? 0);
    expect(report.armPacing.max.writes.perMinute).toBeLessThanOrEqual(writes);
    expect(report.timerRuns).toHaveLength(1);
    const timerKeyVault = Object.values(report.timerRuns[0]!.keyVault).reduce((sum, count) => sum + count, 0);
    expect(timerKeyVault).toBeGreaterThan(0);
    expect(timerKeyVault).toBeLessThan(report.keyVault.total - report.keyVault.byConsumers);
    expect(report.timerRuns[0]!.keyValuesRead).toBe(report.timerRuns[0]!.keyVault.getSecret ?? 0);
    expect(report.longestLogLine.chars).toBeGreaterThan(0);

    // The fleet's own expectations, checked against the same report.
    const strict = parseScenario(
      { ...fleet, fleet: [nine], expect: { everyAccount: { outcome: 'needsAttention' }, armThrottled: { atLeast: 1 }, noKeyVaultReadFailures: true } },
      { source: 'fleet.json' },
    );
    const failures = checkExpectations(strict, { ...report, consumers: { ...report.consumers, keyVaultReadFailures: 2 } });
    expect(failures).toEqual([
      'expected no failed Key Vault reads by consumers, got 2',
      'expected at least 1 ARM 429 answer, got 0',
      ...scenario.accounts.map((account) => `${account.name}: expected outcome needsAttention, got rotated`),
    ]);
  });
});
