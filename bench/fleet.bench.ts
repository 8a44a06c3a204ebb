/**
 * The fleet-scale measures of issue 12, one bench per row, each run once
 * (`npm run bench`); the rows are printed as they come and as one table at the
 * end. Everything runs in virtual time on the emulator and the durable driver,
 * so the counts are the same on every run; wall-clock times are not, and are
 * marked so.
 *
 * Big fleets: one consumer per account, reading Key Vault every 12 h and
 * calling Cosmos DB every 12 h (staggered over the first hour), which keeps
 * the consumers' work small next to the rotations' while each account's old
 * key is still used until its app has moved. A fleet run stops when every
 * account is rotated, at its target's virtual time (3 and 7 days: "not done
 * within N days (X of n rotated)"), or at a wall-clock guard for runs that
 * would take hours on a slow build (then the row says so, and its counts are
 * the machine's, not the code's).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import type { DemoReport } from '../emulator/demo/report.js';
import { WallClockExceeded, runScenario } from '../emulator/demo/runner.js';
import { formatDuration, parseScenario } from '../emulator/demo/scenario.js';
import { HOUR_MS, RotationHarness } from '../test/workflow/rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;
const projectDir = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * App settings by name, the one place to change when a setting is renamed or
 * retired. The fleet rows run at the app's defaults: nothing is set.
 */
const FLEET_SETTINGS: Record<string, string> = {};

/**
 * Wall-clock guards (seconds): a run past them stops and says so. They are
 * there for a broken build, not as budgets: on a 2-core machine the 1,000-account
 * row takes minutes and the 5,000-account row about half an hour, and each
 * must finish to print counts. Override with BENCH_FLEET_WALL_S / BENCH_DEMO_WALL_S.
 */
const FLEET_WALL_LIMIT_MS = Number(process.env.BENCH_FLEET_WALL_S ?? 3600) * 1000;
const DEMO_WALL_LIMIT_MS = Number(process.env.BENCH_DEMO_WALL_S ?? 300) * 1000;

const FLEET_SCENARIO = 'scenarios/16-fleet-200-accounts.json';

const rows: Array<{ measure: string; value: string }> = [];
function row(measure: string, value: string): void {
  rows.push({ measure, value });
  console.log(`[bench] ${measure}: ${value}`);
}

const once = { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 } as const;

/** The bench runner may call a task more than once: each measure runs the first time only. */
const measured = new Set<string>();
function measureOnce(name: string, measure: () => Promise<void>): [string, () => Promise<void>, typeof once] {
  return [
    name,
    async () => {
      if (measured.has(name)) return;
      measured.add(name);
      await measure();
    },
    once,
  ];
}

interface FleetRun {
  accounts: number;
  subscriptions: number;
  capDays: number;
}

function fleetScenario({ accounts, subscriptions, capDays }: FleetRun) {
  return parseScenario(
    {
      version: 1,
      name: `bench-fleet-${accounts}`,
      start: '2025-03-03T00:00:00Z',
      runFor: `${capDays}d`,
      scheduledTimer: true,
      stopWhenAllRotated: true,
      // 5,000 resource IDs are about 700 KB: over Linux's 128 KB for one environment string, as in Azure.
      targets: 'blob',
      settings: FLEET_SETTINGS,
      fleet: [
        {
          count: accounts,
          subscriptions,
          namePrefix: 'acct',
          capabilities: ['EnableKeyCheckBeforeRegenerationPreview'],
          secretAge: '40d',
          consumers: { refreshEvery: '12h', callEvery: '12h', staggerOver: '1h' },
        },
      ],
    },
    { source: `bench fleet of ${accounts}` },
  );
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}

function guarded(report: DemoReport): string {
  return report.progress.stoppedBy === 'wallClock' ? ` [STOPPED by the ${FLEET_WALL_LIMIT_MS / 1000} s wall-clock guard at +${formatDuration(report.progress.virtualMs)}: counts depend on the machine]` : '';
}

async function fleetRows(run: FleetRun): Promise<void> {
  const label = `${run.accounts.toLocaleString('en')} accounts, ${run.subscriptions} subscriptions, defaults`;
  let report: DemoReport;
  try {
    report = await runScenario(fleetScenario(run), { maxWallClockMs: FLEET_WALL_LIMIT_MS });
  } catch (error) {
    if (!(error instanceof WallClockExceeded)) throw error;
    row(`${label}: virtual time until all rotated`, `not measurable on this build: ${error.message} [wall-clock guard]`);
    return;
  }
  const { progress } = report;
  const time =
    progress.allRotatedOffsetMs !== null
      ? `all rotated in ${formatDuration(progress.allRotatedOffsetMs)} (${(progress.allRotatedOffsetMs / DAY_MS).toFixed(2)} days)`
      : `not done within ${run.capDays} days (${progress.rotatedAccounts} of ${progress.configuredAccounts} rotated)`;
  const consumers = report.consumers;
  const causes = Object.entries(consumers.failuresByCause).map(([cause, count]) => `${count} ${cause}`).join(', ');
  row(
    `${label}: virtual time until all rotated`,
    `${time}; consumer failures ${consumers.failures}${causes ? ` (${causes})` : ''} + Key Vault read failures ${consumers.keyVaultReadFailures}; ARM 429s ${report.arm.byStatus['429'] ?? 0}; wall ${(report.wallClockMs / 1000).toFixed(0)} s${guarded(report)}`,
  );
  const { reads, writes } = report.armPacing.max;
  row(`${label}: peak ARM requests per subscription`, `reads ${reads.perSecond}/s ${reads.perMinute}/min; writes ${writes.perSecond}/s ${writes.perMinute}/min${guarded(report)}`);
  if (report.timerRuns.length) {
    const busiest = report.timerRuns.reduce((top, timerRun) => (sum(timerRun.keyVault) > sum(top.keyVault) ? timerRun : top));
    const first = report.timerRuns[0]!;
    const values = report.timerRuns.reduce((total, timerRun) => total + timerRun.keyValuesRead, 0);
    row(
      `${label}: Key Vault requests per timer run (n = ${run.accounts})`,
      `first run ${sum(first.keyVault)} (${operations(first.keyVault)}), busiest ${sum(busiest.keyVault)}; ${report.timerRuns.length} runs; key values read: ${values ? `yes (${values} getSecret)` : 'none'}${guarded(report)}`,
    );
  }
  row(`${label}: longest log line`, `${report.longestLogLine.chars.toLocaleString('en')} characters (${report.longestLogLine.where ?? 'none'})${guarded(report)}`);
}

/** One timer run over a fleet of n accounts (no consumers): what it asks Key Vault, and its longest log line. */
async function timerRun(accounts: number): Promise<void> {
  const label = `one timer run over ${accounts} accounts (10 subscriptions)`;
  const scenario = parseScenario(
    {
      version: 1,
      name: `bench-timer-${accounts}`,
      runFor: '1m',
      targets: 'blob',
      settings: FLEET_SETTINGS,
      fleet: [{ count: accounts, subscriptions: 10, namePrefix: 'acct', secretAge: '40d' }],
      actions: [{ at: '0m', type: 'timer' }],
    },
    { source: label },
  );
  let report: DemoReport;
  try {
    report = await runScenario(scenario, { maxWallClockMs: FLEET_WALL_LIMIT_MS });
  } catch (error) {
    if (!(error instanceof WallClockExceeded)) throw error;
    row(`${label}: Key Vault requests`, `not measurable on this build: ${error.message} [wall-clock guard]`);
    return;
  }
  const run = report.timerRuns[0]!;
  row(`${label}: Key Vault requests`, `${sum(run.keyVault)} (${operations(run.keyVault)}); key values read: ${run.keyValuesRead ? `yes (${run.keyValuesRead} getSecret)` : 'none'}; target <= ${Math.floor(accounts / 20) + 5}`);
  row(`${label}: longest log line`, `${report.longestLogLine.chars.toLocaleString('en')} characters (${report.longestLogLine.where ?? 'none'})`);
}

function operations(counts: Record<string, number>): string {
  return Object.entries(counts).map(([name, count]) => `${name} ${count}`).join(', ') || 'none';
}

async function happyPathRotation(): Promise<void> {
  const harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
  try {
    await harness.seedSecretByHand('orders', 'primary');
    harness.emulator.resetStats();
    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { eachStep: async () => void (await harness.useKeyFromKeyVault('orders')) });
    if (result.output.outcome !== 'rotated') throw new Error(`rotation ended ${result.output.outcome}`);
    const arm = harness.emulator.stats().arm;
    row('ARM requests per happy-path rotation', `${sum(arm)} (${operations(arm)}); listKeys ${arm.listKeys ?? 0}`);
  } finally {
    await harness.close();
  }
}

async function longRegeneration(): Promise<void> {
  const harness = await RotationHarness.start({ accounts: [{ name: 'big', regenerationSeconds: 24 * 3600 }] });
  try {
    await harness.seedSecretByHand('big', 'primary');
    harness.emulator.resetStats();
    await harness.startRotation('big');
    const result = await harness.runRotation('big', { maxMs: 5 * DAY_MS, eachStep: async () => void (await harness.useKeyFromKeyVault('big')) });
    if (result.output.outcome !== 'rotated') throw new Error(`rotation ended ${result.output.outcome}`);
    const counters = harness.driver.counters(harness.instanceId('big'))!;
    const history = harness.driver.history(harness.instanceId('big')) ?? [];
    const arm = harness.emulator.stats().arm;
    row(
      '24 h regeneration: history events / ARM calls',
      `${counters.historyEvents} history events (${Math.round(JSON.stringify(history).length / 1024)} KB), ${counters.episodes} episodes, ${counters.activityCalls.getRegenerationStatus ?? 0} status polls / ${sum(arm)} ARM calls (${operations(arm)})`,
    );
    replayRow('24 h regeneration', counters);
  } finally {
    await harness.close();
  }
}

type ReplayTally = NonNullable<ReturnType<RotationHarness['driver']['counters']>>['episodeReplay'];

/**
 * The last episodes' replay time against the first ones' (REPLAY_SAMPLE of each). The first are
 * the rotation's start, the last the end of its long wait: what the wait's
 * history costs each replay. Every row runs after another rotation in the same
 * process, so that neither side pays for warming up the JIT.
 */
function replayRow(wait: string, counters: { episodeReplay: ReplayTally }): void {
  const costs = { first: counters.episodeReplay.firstFew, last: counters.episodeReplay.lastFew };
  // The median of the first and of the latest few episodes: an episode takes well under a millisecond, and one
  // garbage collection or another process's burst makes it several times slower.
  const median = (items: typeof costs.first): number => {
    const sorted = items.map((item) => item.ms).sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  };
  const wallRatio = median(costs.last) / median(costs.first);
  const events = (items: typeof costs.first): string => `${Math.min(...items.map((item) => item.events))}-${Math.max(...items.map((item) => item.events))}`;
  row(
    `last/first episode replay time on a long wait (${wait}; last ${costs.last.length} vs first ${costs.first.length} episodes of the instance)`,
    `${wallRatio.toFixed(1)}x (medians; wall, varies); history replayed: first ${events(costs.first)}, last ${events(costs.last)} events; largest ${counters.episodeReplay.largest?.events ?? 0}`,
  );
}

/** A 7-day wait, for the standby key to go idle or for consumers to leave the old key, with a consumer that never moves. */
async function sevenDayWait(wait: 'standby' | 'consumers'): Promise<void> {
  const settings: Record<string, string> = { [wait === 'standby' ? 'STANDBY_WAIT_MAX_IN_HOURS' : 'CONSUMER_WAIT_MAX_IN_HOURS']: '168' };
  const harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], settings });
  try {
    await harness.seedSecretByHand('orders', 'primary');
    await harness.startRotation('orders');
    // The standby wait: an app still on the secondary key. The consumer wait: an app that keeps the old primary.
    const kind = wait === 'standby' ? 'secondary' : 'primary';
    await harness.runRotation('orders', { maxMs: 9 * DAY_MS, eachStep: async () => void (await harness.useKey('orders', kind)) });
    replayRow(`7-day ${wait === 'standby' ? 'standby' : 'consumer'} wait`, harness.driver.counters(harness.instanceId('orders'))!);
  } finally {
    await harness.close();
  }
}

/** `npm run demo` on the 200-account fleet scenario, as a user runs it: wall time per account, and how long the process takes to exit after its report. */
async function demoFleet(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-demo-'));
  const reportFile = join(workDir, 'report.json');
  try {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectDir, 'emulator/demo/run.ts'), '--scenario', FLEET_SCENARIO, '--json', reportFile], {
      cwd: projectDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastOffset: string | null = null;
    let reportWrittenAt: number | null = null;
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const offset = /^\d{4}-\d\d-\d\d \d\d:\d\d (\+\S+)/.exec(line)?.[1];
        if (offset) lastOffset = offset;
        if (line.startsWith('report written to')) reportWrittenAt = performance.now();
      }
    });
    child.stderr.resume();
    const guard = setTimeout(() => child.kill('SIGKILL'), DEMO_WALL_LIMIT_MS);
    const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)));
    clearTimeout(guard);
    const exitedAt = performance.now();
    if (reportWrittenAt === null) {
      row(
        'demo wall time per account, 200-account fleet',
        `not done within ${DEMO_WALL_LIMIT_MS / 1000} s of wall clock (${lastOffset ? `virtual time reached ${lastOffset}` : 'still setting the scene'}): over ${(DEMO_WALL_LIMIT_MS / 1000 / 200).toFixed(2)} s per account (wall)`,
      );
      return;
    }
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as DemoReport;
    row(
      'demo wall time per account, 200-account fleet',
      `${(report.wallClockMs / 1000 / report.accounts.length).toFixed(3)} s per account (${(report.wallClockMs / 1000).toFixed(1)} s run, ${((exitedAt - started) / 1000).toFixed(1)} s process; wall); ` +
        `${report.passed ? 'passed' : `FAILED: ${report.expectationFailures.slice(0, 2).join('; ')}`}; exit code ${code}, exited ${((exitedAt - reportWrittenAt) / 1000).toFixed(1)} s after the report`,
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The rows so far as one table (the last task prints it: bench hooks' output is not shown). */
async function printTable(): Promise<void> {
  const width = Math.max(...rows.map((item) => item.measure.length));
  console.log(
    [
      '',
      'issue 12 measures (counts from virtual time; "wall" values vary with the machine)',
      ...rows.map((item) => `  ${item.measure.padEnd(width)}  ${item.value}`),
      `  ${'emulator request cost at 5,000 accounts vs 10'.padEnd(width)}  see bench/emulator.bench.ts`,
      '',
    ].join('\n'),
  );
}

describe('fleet (issue 12 targets)', () => {
  bench(...measureOnce('ARM requests per happy-path rotation', happyPathRotation));
  bench(...measureOnce('24 h regeneration: history, ARM calls, replay growth', longRegeneration));
  bench(...measureOnce('7-day standby wait: replay growth', () => sevenDayWait('standby')));
  bench(...measureOnce('7-day consumer wait: replay growth', () => sevenDayWait('consumers')));
  bench(...measureOnce('one timer run over 200 accounts', () => timerRun(200)));
  bench(...measureOnce('1,000 accounts in 10 subscriptions at defaults (3-day target)', () => fleetRows({ accounts: 1000, subscriptions: 10, capDays: 3 })));
  bench(...measureOnce('5,000 accounts in 10 subscriptions at defaults (7-day target)', () => fleetRows({ accounts: 5000, subscriptions: 10, capDays: 7 })));
  bench(...measureOnce('npm run demo on the 200-account fleet scenario', demoFleet));
  bench(...measureOnce('the table of all rows', printTable));
});
