/**
 * One run of the rotation schedule: read every configured account's secret
 * ages and last rotation, decide (decide-run.ts), start what is due within
 * the bounds, and log one summary line. An account that cannot be read or
 * started is reported and retried next run; it never stops the others.
 */
import { rotationSettingsOf, type Config, type RotationTarget, type TargetList } from '../config.js';
import { describeRotationWindows, regenerationWindow } from '../domain/rotation-window.js';
import { rotatedPairs } from '../domain/settings.js';
import { redactSecrets } from '../errors.js';
import { recordKeyAges, type KeyAge } from '../telemetry.js';
import { getRotationInstance, instanceIdOf, lastRotationOf } from '../api/rotation-instance.js';
import type { RotationInput } from '../workflow/rotation-types.js';
import { purgeExpiredHistory, startRotationInstance, type HistoryClient, type HistoryRetention } from '../history/rotation-history.js';
import { mapLimited } from './map-limited.js';
import { decideRun, type AccountFacts, type SecretAge, type SkippedAccount } from './decide-run.js';

/** The latest version's properties of a Key Vault secret (never its value), or null when it does not exist. */
export interface SecretPropertiesReader {
  getLatestSecretProperties(secretName: string): Promise<{ createdOn?: Date | string | null } | null>;
}

export type ScheduleConfig = TargetList & Pick<Config, 'maxStartsPerRun' | 'maxStartsPerSubscription' | 'failedRotationRetryInHours'> & Partial<HistoryRetention>;

export interface RunScheduleOptions {
  config: ScheduleConfig;
  client: HistoryClient;
  secrets: SecretPropertiesReader;
  now: () => Date;
  log: (line: string) => void;
  /** How many accounts are read at once: enough to be quick, few enough not to trip ARM or Key Vault throttling. */
  lookupConcurrency?: number;
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
  const facts = await mapLimited(options.config.targets, options.lookupConcurrency ?? 4, (target) => readFacts(target, options));
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
  const summary: RunSummary = { at: now.toISOString(), configured: decision.configured, due: decision.due, started, skipped, purgedHistory: purged, line: '' };
  summary.line = summaryLine(summary);
  options.log(summary.line);
  return summary;
}

/** A rotation started outside its windows waits for them before it regenerates a key: say when that is. */
function windowNote(target: RotationTarget, now: Date): string {
  const window = regenerationWindow(target.rotationWindows, now);
  return window.open ? '' : `; regenerates keys from ${window.opensAt.toISOString()}, when its rotation window (${describeRotationWindows(target.rotationWindows)}) opens`;
}

/** One line an operator can read in the log stream: counts first, then each account with why. */
export function summaryLine(summary: Omit<RunSummary, 'line'>): string {
  const started = summary.started.map((s) => `${s.name} (${s.detail})`).join('; ');
  const skipped = summary.skipped.map((s) => `${s.name}: ${s.reason} - ${s.detail}`).join('; ');
  return (
    `Rotation schedule ${summary.at}: ${summary.configured} configured, ${summary.due} due, ` +
    `${summary.started.length} started${started ? ` [${started}]` : ''}, ` +
    `${summary.skipped.length} skipped${skipped ? ` [${skipped}]` : ''}` +
    (summary.purgedHistory ? `, ${summary.purgedHistory} expired history record(s) purged` : '')
  );
}

async function readFacts(target: RotationTarget, options: RunScheduleOptions): Promise<AccountFacts> {
  try {
    const status = await getRotationInstance(options.client, instanceIdOf(target));
    const lastRotation = lastRotationOf(status);
    const secrets: SecretAge[] = [];
    for (const { secretName } of rotatedPairs(target)) {
      const properties = await options.secrets.getLatestSecretProperties(secretName);
      secrets.push({ secretName, createdOn: isoOrNull(properties?.createdOn) });
    }
    return { target, secrets, lastRotation };
  } catch (error) {
    return { target, secrets: [], lastRotation: null, lookupError: describe(error) };
  }
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

function isoOrNull(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
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
