/**
 * Every shipped scenario, run through the runner's API: its own expectations
 * must hold, no key may leak, and the facts that make each story worth telling
 * are checked here too, so a scenario cannot silently stop showing them.
 */
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../emulator/demo/runner.js';
import { listScenarioFiles } from '../../emulator/demo/run-files.js';
import { formatDuration, loadScenarioFile } from '../../emulator/demo/scenario.js';
import type { AccountReport, DemoReport } from '../../emulator/demo/report.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

async function run(file: string): Promise<DemoReport> {
  const scenario = await loadScenarioFile(`scenarios/${file}`);
  const report = await runScenario(scenario, { source: file });
  // Whatever else a scenario shows, these always hold.
  expect(report.expectationFailures).toEqual([]);
  expect(report.passed).toBe(true);
  expect(report.leaks.found).toEqual([]);
  expect(report.leaks.keyValuesChecked).toBeGreaterThanOrEqual(4 * report.accounts.length);
  expect(report.leaks.scanned.histories).toBeGreaterThan(0);
  return report;
}

function account(report: DemoReport, name: string): AccountReport {
  const found = report.accounts.find((item) => item.name === name);
  if (!found) throw new Error(`no account ${name} in the report`);
  return found;
}

function regeneratedAtMs(report: DemoReport, name: string, keyKind: string): number {
  const entry = account(report, name).regenerations.find((item) => item.keyKind === keyKind);
  if (!entry) throw new Error(`${name}: ${keyKind} was not regenerated`);
  return entry.offsetMs;
}

describe('the shipped scenarios', () => {
  it('when the scenarios folder is listed, then the default happy path comes first and there are at least six, all valid', async () => {
    const files = (await listScenarioFiles()).map((file) => basename(file));
    expect(files[0]).toBe('01-happy-path.json');
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) await expect(loadScenarioFile(`scenarios/${file}`)).resolves.toMatchObject({ version: 1 });
  });

  it('when the schedule rotates three accounts, then each alternates to its secondary key without a single failed consumer call', async () => {
    const report = await run('01-happy-path.json');
    for (const item of report.accounts) {
      expect(item).toMatchObject({ outcome: 'rotated', activeKeyKind: 'secondary' });
      expect(item.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary', 'primary']);
      // The old key goes only after the consumers have left it for the 12-hour idle window.
      expect(regeneratedAtMs(report, item.name, 'primary')).toBeGreaterThanOrEqual(12 * HOUR_MS);
      // The timeline says when Azure finished, as the summary does, even though it sees it at the orchestrator's next poll.
      for (const entry of item.regenerations) {
        const line = report.timeline.find((timelineEntry) => timelineEntry.account === item.name && timelineEntry.text.startsWith(`Azure finished regenerating the ${entry.keyKind} key`));
        expect(line?.text).toContain(`at +${formatDuration(entry.offsetMs)} `);
        expect(line!.offsetMs).toBeGreaterThanOrEqual(entry.offsetMs);
      }
    }
    expect(report.consumers.calls).toBeGreaterThan(1000);
    expect(report.consumers.failures).toBe(0);
    expect(report.arm.byOperation.regenerateKey).toBe(6);
    expect(report.durable.instances).toBe(3);
    expect(report.timeline.some((entry) => entry.source === 'schedule')).toBe(true);
  });

  it('when a stray job uses the standby key, then the rotation waits for it, and where it never stops, ends in needs attention without regenerating anything', async () => {
    const report = await run('02-stray-consumer-on-standby.json');
    const inventory = account(report, 'inventory');
    // The job moved to Key Vault at +20h: the standby may go 12 h after its last use.
    expect(regeneratedAtMs(report, 'inventory', 'secondary')).toBeGreaterThan(20 * HOUR_MS + 12 * HOUR_MS - HOUR_MS);
    expect(inventory.waits.some((wait) => wait.phase === 'waitingForStandbyIdle')).toBe(true);
    const billing = account(report, 'billing');
    expect(billing).toMatchObject({ outcome: 'needsAttention', activeKeyKind: 'primary', regenerations: [] });
    expect(billing.runs[0]!.message).toMatch(/standby key secondary is still in use/);
    // The stop is said once, not once as a status and again as the outcome.
    expect(report.timeline.filter((entry) => entry.account === 'billing' && entry.text.includes(billing.runs[0]!.message!))).toHaveLength(1);
    expect(report.consumers.failures).toBe(0);
  });

  it('when apps re-read Key Vault once a day, then the old key is regenerated only after the last of them moved and stayed away 12 hours', async () => {
    const report = await run('03-slow-consumers-24h-refresh.json');
    // The last instance picks the new key up 24 h after start: the old key stays until 36 h.
    expect(regeneratedAtMs(report, 'profiles', 'primary')).toBeGreaterThanOrEqual(36 * HOUR_MS);
    expect(account(report, 'profiles').waits.every((wait) => wait.phase === 'waitingForConsumers')).toBe(true);
    expect(report.operatorActions.filter((action) => action.type === 'http')).toEqual([
      expect.objectContaining({ request: 'GET /api/rotations/profiles', status: 200, message: expect.stringMatching(/^Waiting for consumers/) }),
    ]);
  });

  it('when usage shows up late, then Azure refuses to regenerate a key still in use and the rotation retries until it is really idle', async () => {
    const report = await run('04-safe-check-refusal-usage-lag.json');
    const ledger = account(report, 'ledger');
    expect(ledger.retries?.blockedRegenerations).toBeGreaterThanOrEqual(2);
    expect(ledger.waits.some((wait) => /blocked/.test(wait.reason))).toBe(true);
    // The refusals happen while the phase stays regeneratingStandby: the timeline shows them all the same.
    const refusals = report.timeline.filter((entry) => entry.account === 'ledger' && entry.source === 'rotation' && /^\[regeneratingStandby\] .*refused/.test(entry.text));
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(ledger.phases.filter((phase) => phase.phase === 'regeneratingStandby')).toHaveLength(1);
    const failures = Object.fromEntries(report.consumers.byConsumer.map((consumer) => [consumer.name, consumer.failures]));
    expect(failures).toMatchObject({ 'ledger-api': 0, 'ledger-batch': 0, 'ledger-legacy-api': 0 });
    // The batch jobs are fixed at +30m and read Key Vault at once: on ledger-legacy only the call at +15m fails.
    const fixedAt = report.timeline.filter((entry) => /-batch was fixed to read Key Vault/.test(entry.text)).map((entry) => [entry.account, entry.offsetMs]);
    expect(fixedAt).toEqual([
      ['ledger', 30 * MINUTE_MS],
      ['ledger-legacy', 30 * MINUTE_MS],
    ]);
    expect(failures['ledger-legacy-batch']).toBe(1);
    // Without the capability nothing refuses: the standby goes at once, while the batch job still holds it.
    expect(regeneratedAtMs(report, 'ledger-legacy', 'secondary')).toBeLessThan(15 * MINUTE_MS);
    // With it, the standby goes only when it has been idle 12 hours after the job's last use with it (+15m).
    expect(regeneratedAtMs(report, 'ledger', 'secondary')).toBeGreaterThanOrEqual(12 * HOUR_MS + 15 * MINUTE_MS);
  });

  it('when a regeneration takes three hours, then the orchestration follows it with durable timers and the small account is not held up', async () => {
    const report = await run('05-slow-regeneration-big-account.json');
    expect(regeneratedAtMs(report, 'telemetry', 'secondary')).toBe(3 * HOUR_MS);
    expect(regeneratedAtMs(report, 'settings', 'primary')).toBeLessThan(regeneratedAtMs(report, 'telemetry', 'primary'));
    const telemetry = report.durable.byInstance.find((instance) => instance.account === 'telemetry')!;
    // Polls are spread over the hours by timers, not made in a loop inside an activity.
    expect(telemetry.timersCreated).toBeGreaterThan(10);
    expect(telemetry.activityCallsByName.getRegenerationStatus).toBeLessThan(40);
    const status = report.operatorActions.find((action) => action.request === 'GET /api/rotations/telemetry');
    expect(status).toMatchObject({ status: 200, message: expect.stringMatching(/regenerating/) });
  });

  it('when an operator cancels a waiting rotation and forces a new one, then both keys are replaced within minutes and the cost shows as failed calls', async () => {
    const report = await run('06-operator-force.json');
    const shop = account(report, 'shop');
    expect(shop.runs.map((run) => [run.outcome, run.force])).toEqual([
      ['cancelled', false],
      ['rotated', true],
    ]);
    expect(regeneratedAtMs(report, 'shop', 'primary') - regeneratedAtMs(report, 'shop', 'secondary')).toBeLessThan(HOUR_MS);
    const byName = Object.fromEntries(report.consumers.byConsumer.map((consumer) => [consumer.name, consumer]));
    expect(byName['forgotten-vm']!.failuresByCause.unauthorized).toBeGreaterThan(10);
    // Apps that read Key Vault every 15 minutes fail for at most that long.
    expect(byName['shop-api']!.failures).toBeLessThanOrEqual(4);
    expect(report.operatorActions.filter((action) => action.type !== 'timer').map((action) => [action.type, action.status])).toEqual([
      ['start', 409],
      ['cancel', 202],
      ['force', 202],
    ]);
  });

  it('when ARM and Key Vault fail and the host crashes twice, then every rotation still completes and each key is regenerated exactly once', async () => {
    const report = await run('07-faults-and-host-crash.json');
    expect(report.durable.crashes).toBe(2);
    for (const item of report.accounts) {
      expect(item.outcome).toBe('rotated');
      expect(item.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary', 'primary']);
    }
    // Faults were answered: more regenerate requests than the four that succeeded.
    expect(report.arm.byOperation.regenerateKey).toBeGreaterThan(4);
    expect(report.timeline.filter((entry) => entry.source === 'host' && /restarted/.test(entry.text))).toHaveLength(2);
  });

  it('when consumers reload on the newKeyPublished event, then the rotation ends at the idle-window floor, sooner than the same story with hourly polling', async () => {
    const report = await run('13-consumers-notified-by-events.json');
    const scenario = await loadScenarioFile('scenarios/13-consumers-notified-by-events.json');
    const polling = await runScenario({ ...scenario, consumers: scenario.consumers.map((consumer) => ({ ...consumer, refresh: 'timer' as const, refreshEveryMs: HOUR_MS })) }, { source: '13 with hourly polling' });
    expect(polling.passed).toBe(true);
    expect(polling.leaks.found).toEqual([]);

    const publishedAtMs = (item: DemoReport) => account(item, 'orders').phases.find((phase) => phase.phase === 'waitingForConsumers')!.offsetMs;
    const finishedAtMs = (item: DemoReport) => Date.parse(account(item, 'orders').runs[0]!.finishedAt!) - Date.parse(item.scenario.start);
    // Every consumer moved in the second the key was published: the old key goes 12 h + the 30 min usage margin later.
    const waited = regeneratedAtMs(report, 'orders', 'primary') - publishedAtMs(report);
    expect(waited).toBeGreaterThanOrEqual(12.5 * HOUR_MS);
    expect(waited).toBeLessThan(12.5 * HOUR_MS + 2 * MINUTE_MS);
    const reloads = report.timeline.filter((entry) => entry.source === 'consumer' && /picked up secret orders-key/.test(entry.text) && entry.offsetMs === publishedAtMs(report));
    expect(reloads).toHaveLength(4);
    // Polling every hour, the last consumer leaves the old key up to an hour later, and so does the rotation.
    expect(finishedAtMs(polling) - finishedAtMs(report)).toBeGreaterThan(15 * MINUTE_MS);
    // The report counts the rotator's events by type: one per state change.
    expect(report.events).toMatchObject({ byType: { newKeyPublished: 1, waitStarted: 1, waitEnded: 1, oldKeyRegenerated: 1, rotationCompleted: 1 }, total: 5, resends: 0, telemetryRecords: 5 });
    expect(report.leaks.scanned.events).toBe(5);
    expect(report.leaks.scanned.telemetry).toBeGreaterThan(0);
  });

  it('issue 10 stories 1 and 2: when a rotation is cancelled after publishing and started again, then it resumes the consumer wait, regenerates each key once, and apps that re-read Key Vault every 12 h never fail', async () => {
    const report = await run('08-cancel-then-start-resumes.json');
    const orders = account(report, 'orders');
    expect(orders.runs.map((item) => item.outcome)).toEqual(['cancelled', 'rotated']);
    expect(orders.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary', 'primary']);
    expect(orders.secretVersions).toBe(2);
    expect(regeneratedAtMs(report, 'orders', 'primary')).toBeGreaterThanOrEqual(12.5 * HOUR_MS);
    expect(report.consumers.failures).toBe(0);
    const plan = report.timeline.find((entry) => entry.source === 'operator' && entry.text.includes('/plan'));
    expect(plan?.text).toMatch(/-> 200/);
  });

  it('issue 10 story 3: when Azure reports a regeneration Failed, Key Vault throttles publishing for 20 minutes and ARM answers 503 for 40 minutes when the old key is due, then all are waited out and one version is written', async () => {
    const report = await run('09-keyvault-throttled-while-publishing.json');
    expect(report.timeline.some((entry) => /reported the regeneration of secondary as failed; the key is unchanged/.test(entry.text))).toBe(true);
    const orders = account(report, 'orders');
    expect(orders.outcome).toBe('rotated');
    expect(orders.secretVersions).toBe(2);
    expect(orders.retries?.outageRetries).toBeGreaterThanOrEqual(2);
    expect(regeneratedAtMs(report, 'orders', 'primary')).toBeGreaterThanOrEqual(14 * HOUR_MS + 20 * MINUTE_MS);
    expect(report.timeline.some((entry) => /publishKey is failing .*429.*trying again at/.test(entry.text))).toBe(true);
  });

  it('issue 10 story 7: when a rotation stopped needing attention at the consumer wait, then the operator\'s consumers-moved resumes it and the report says how each wait ended', async () => {
    const report = await run('10-operator-finishes-needs-attention.json');
    const orders = account(report, 'orders');
    expect(orders.runs.map((item) => item.outcome)).toEqual(['needsAttention', 'rotated']);
    expect(orders.runs[0]!.message).toMatch(/consumers-moved/);
    expect(orders.waitEndings.map((entry) => [entry.run, entry.wait, entry.ended])).toEqual([
      [1, 'consumers', 'boundPassed'],
      [2, 'consumers', 'operator'],
    ]);
    expect(orders.waitEndings[1]!.note).toBe('legacy job redeployed with its Key Vault reference');
    expect(report.operatorActions.find((action) => action.type === 'consumersMoved')).toMatchObject({ status: 202 });
  });

  it('issue 10 story 4: when usage reports are 6 hours late, then Azure\'s refusals are bounded by time, not count, and the standby goes only once it is really idle', async () => {
    const report = await run('11-safe-check-refusals-bounded-by-time.json');
    const ledger = account(report, 'ledger');
    expect(ledger.outcome).toBe('rotated');
    expect(ledger.retries?.blockedRegenerations).toBeGreaterThan(8);
    expect(regeneratedAtMs(report, 'ledger', 'secondary')).toBeGreaterThanOrEqual(14 * HOUR_MS);
    expect(report.consumers.failures).toBe(0);
  });

  it('issue 10: when a rotation is cancelled after regenerating the standby, then the next start validates and publishes it (a host crash just before publishing included), regenerating each key once', async () => {
    const report = await run('14-stopped-after-standby-resumes-at-validation.json');
    const orders = account(report, 'orders');
    expect(orders.outcome).toBe('rotated');
    expect(orders.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary', 'primary']);
    expect(report.durable.crashes).toBe(1);
    expect(report.consumers.failures).toBe(0);
  });

  it('issue 10: when disableLocalAuth is turned on mid-rotation, then the rotation fails at its next look naming disableLocalAuth, and the old key is not regenerated', async () => {
    const report = await run('15-local-auth-disabled-mid-rotation.json');
    const orders = account(report, 'orders');
    expect(orders.outcome).toBe('failed');
    expect(orders.regenerations.map((entry) => entry.keyKind)).toEqual(['secondary']);
    expect(JSON.stringify(orders)).toMatch(/disableLocalAuth\) \(turned on while the rotation was waitingForConsumers\)/);
  });

  it('issue 12: when 200 accounts in 5 subscriptions are due at the default settings, then the hourly schedule rotates them all within a day, paced under the ARM budget, with no failed consumer call or Key Vault read', async () => {
    const report = await run('16-fleet-200-accounts.json');
    expect(report.progress).toMatchObject({ configuredAccounts: 200, rotatedAccounts: 200 });
    expect(report.progress.allRotatedOffsetMs).toBeLessThanOrEqual(24 * HOUR_MS);
    expect(report.consumers.failures).toBe(0);
    expect(report.consumers.keyVaultReadFailures).toBe(0);
    expect(report.arm.byStatus['429'] ?? 0).toBe(0);
    // ARM_READS_PER_SECOND and ARM_WRITES_PER_SECOND at their defaults, per subscription.
    const { reads, writes } = report.armPacing.max;
    expect(reads.perSecond).toBeLessThanOrEqual(20);
    expect(writes.perSecond).toBeLessThanOrEqual(5);
    // A timer run lists the vault (25 secrets a page) and reads no key value.
    for (const timerRun of report.timerRuns) {
      expect(timerRun.keyValuesRead).toBe(0);
      expect(Object.values(timerRun.keyVault).reduce((total, count) => total + count, 0)).toBeLessThanOrEqual(200 / 20 + 5);
    }
    expect(report.longestLogLine.chars).toBeLessThanOrEqual(16 * 1024);
  }, 180_000); // a story of 200 accounts: more wall clock than the others on a loaded 2-core machine
});
