/**
 * One run of the rotation schedule: list the vault's secret properties and the
 * rotation instances (fleet-facts.ts: a few paged requests, no secret value),
 * decide (decide-run.ts), start what is due within the bounds on rotations in
 * flight, and log one bounded summary line plus one structured entry per
 * started or skipped account. An account that cannot be read or started is
 * reported and retried next run; it never stops the others.
 */
import { rotationSettingsOf, type Config, type RotationTarget, type TargetList } from '../config.js';
import { describeRotationWindows, regenerationWindow } from '../domain/rotation-window.js';
import { redactSecrets } from '../errors.js';
import { recordKeyAges, type KeyAge } from '../telemetry.js';
import { instanceIdOf, lastRotationOf } from '../api/rotation-instance.js';
import type { RotationInput } from '../workflow/rotation-types.js';
import { purgeExpiredHistory, startRotationInstance, type HistoryClient, type HistoryRetention } from '../history/rotation-history.js';
import { decideRun, type AccountFacts, type SkippedAccount } from './decide-run.js';
import { completedLookbackInMs, listRotationInstances, secretAgesOf, type SecretLister } from './fleet-facts.js';
import { scheduleEntry, summaryLine } from './schedule-log.js';

export type ScheduleConfig = TargetList & Pick<Config, 'maxRotationsInFlight' | 'maxRotationsInFlightPerSubscription' | 'failedRotationRetryInHours'> & Partial<HistoryRetention>;

/** Where the run's log goes: one line of text, or a line with structured fields (customDimensions in Application Insights). */
export type ScheduleLog = (line: string, fields?: Record<string, string>) => void;

export interface RunScheduleOptions {
  config: ScheduleConfig;
  client: HistoryClient;
  secrets: SecretLister;
  now: () => Date;
  log: ScheduleLog;
}

export interface StartedRotation {
  name: string;
  accountId: string;
  instanceId: string;
  detail: string;
}

export interface RunSummary {
  at: string;
  configured: number;
  due: number;
  /** Rotations already running when the run began. */
  running: number;
  started: StartedRotation[];
  skipped: SkippedAccount[];
  /** Earlier rotations purged from the task hub this run (past HISTORY_RETENTION_IN_DAYS). */
  purgedHistory?: number;
  line: string;
}

export const SCHEDULE_REQUESTED_BY = 'schedule';
export const SCHEDULE_REASON = 'scheduled rotation';

export async function runSchedule(options: RunScheduleOptions): Promise<RunSummary> {
  const now = options.now();
  const facts = await readFleetFacts(options, now);
  const decision = decideRun(facts, options.config, now);
  recordKeyAges(keyAgesOf(facts, now));

  const retention: HistoryRetention = { historyRetentionInDays: options.config.historyRetentionInDays ?? 365, historyMaxPerAccount: options.config.historyMaxPerAccount ?? 100 };
  const started: StartedRotation[] = [];
  const skipped = [...decision.skipped];
  for (const { target, detail } of decision.start) {
    const instanceId = instanceIdOf(target);
    const input: RotationInput = { settings: rotationSettingsOf(target), requestedBy: SCHEDULE_REQUESTED_BY, reason: SCHEDULE_REASON };
    try {
      await startRotationInstance(options.client, target, input, retention);
      started.push({ name: target.name, accountId: target.accountId, instanceId, detail: `${detail}${windowNote(target, now)}` });
    } catch (error) {
      skipped.push({ name: target.name, accountId: target.accountId, reason: 'startFailed', detail: `could not start (${describe(error)}); retried next run` });
    }
  }

  let purged = 0;
  try {
    purged = await purgeExpiredHistory(options.client, retention, now);
  } catch (error) {
    options.log(`Rotation schedule: the history could not be purged (${describe(error)}); tried again next run`);
  }
  const summary: RunSummary = {
    at: now.toISOString(),
    configured: decision.configured,
    due: decision.due,
    running: decision.running,
    started,
    skipped,
    purgedHistory: purged,
    line: '',
  };
  summary.line = summaryLine(summary);
  options.log(summary.line);
  const entries = [...started.map((rotation) => scheduleEntry(summary.at, { ...rotation, outcome: 'started' })), ...skipped.map((account) => scheduleEntry(summary.at, { ...account, outcome: account.reason }))];
  for (const entry of entries) if (entry) options.log(entry.line, entry.fields);
  return summary;
}

/**
 * Every target's facts from one listing of the vault and one instance query.
 * When either cannot be read, every account is reported with the reason (and
 * nothing starts): deciding from half the facts could start a second rotation.
 */
async function readFleetFacts(options: RunScheduleOptions, now: Date): Promise<AccountFacts[]> {
  const { targets } = options.config;
  let listed: Awaited<ReturnType<SecretLister['listSecretProperties']>>;
  let instances: Awaited<ReturnType<typeof listRotationInstances>>;
  try {
    [listed, instances] = await Promise.all([
      options.secrets.listSecretProperties(),
      listRotationInstances(options.client, targets, { now, lookbackInMs: completedLookbackInMs(targets, options.config.failedRotationRetryInHours) }),
    ]);
  } catch (error) {
    const lookupError = describe(error);
    return targets.map((target) => ({ target, secrets: [], lastRotation: null, lookupError }));
  }
  return targets.map((target): AccountFacts => {
    const { secrets, problem } = secretAgesOf(target, listed);
    const lastRotation = lastRotationOf(instances.get(instanceIdOf(target)) ?? null);
    return problem === undefined ? { target, secrets, lastRotation } : { target, secrets: [], lastRotation, lookupError: problem };
  });
}

/** A rotation started outside its windows waits for them before it regenerates a key: say when that is. */
function windowNote(target: RotationTarget, now: Date): string {
  const window = regenerationWindow(target.rotationWindows, now);
  return window.open ? '' : `; regenerates keys from ${window.opensAt.toISOString()}, when its rotation window (${describeRotationWindows(target.rotationWindows)}) opens`;
}

const DAY_MS = 86_400_000;

/** What the key-age gauges report: each secret's age against its account's interval. */
function keyAgesOf(facts: AccountFacts[], now: Date): KeyAge[] {
  return facts.flatMap(({ target, secrets }) =>
    secrets.map((secret) => ({
      account: target.name,
      accountId: target.accountId,
      secretName: secret.secretName,
      ageInDays: secret.createdOn === null ? null : Math.round(((now.getTime() - Date.parse(secret.createdOn)) / DAY_MS) * 100) / 100,
      rotationIntervalInDays: target.rotationIntervalInDays,
    })),
  );
}

/**
 * A short reason for a log line: name, status and the first line of the
 * message, scrubbed of anything key-like. For a response, `withoutName`
 * leaves out the error's class name, an internal.
 */
export function describe(error: unknown, options: { withoutName?: boolean } = {}): string {
  if (error && typeof error === 'object') {
    const { name, statusCode, code, message } = error as { name?: string; statusCode?: number; code?: string; message?: string };
    const parts = [options.withoutName ? undefined : name, statusCode, code].filter((part) => part !== undefined && part !== '');
    const firstLine = typeof message === 'string' ? message.split('\n')[0]!.slice(0, 200) : '';
    return redactSecrets([parts.join(' '), firstLine].filter(Boolean).join(': ') || 'unknown error');
  }
  return redactSecrets(String(error).slice(0, 200));
}
