/**
 * What one run of the rotation schedule does, decided from facts gathered
 * beforehand: which accounts are due, which of them start now, and why every
 * other account is left alone. Pure: no clock, no I/O, callers pass `now`.
 */
import type { RotationTarget } from '../config.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Runtime states in which an instance still owns its account: starting another would run two at once. */
export const ACTIVE_RUNTIME_STATUSES: readonly string[] = ['Running', 'Pending', 'Suspended', 'ContinuedAsNew'];

/** The latest version of one of the account's secrets, or null when there is none yet. */
export interface SecretAge {
  secretName: string;
  createdOn: string | null;
}

/** The account's rotation instance as the durable client reports it, or null when it never ran. */
export interface LastRotation {
  runtimeStatus: string;
  /** When the instance last changed: for a finished one, when it finished. */
  lastUpdatedTime: string;
  /** 'rotated' or 'needsAttention' once completed. */
  outcome?: string;
  /** The phase in the custom status (where it is, or where it stopped). */
  phase?: string;
}

export interface AccountFacts {
  target: RotationTarget;
  /** The secret of every pair the rotation publishes (read-write, and read-only when rotated). */
  secrets: SecretAge[];
  lastRotation: LastRotation | null;
  /** Set when the facts could not be read: the account is skipped this run and retried next run. */
  lookupError?: string;
}

export interface ScheduleLimits {
  maxRotationsInFlight: number;
  maxRotationsInFlightPerSubscription: number;
  failedRotationRetryInHours: number;
}

export type SkipReason =
  | 'notDue'
  | 'running'
  | 'needsAttention'
  | 'failed'
  | 'cancelled'
  | 'inFlightLimit'
  | 'subscriptionInFlightLimit'
  | 'lookupFailed'
  | 'startFailed';

export interface SkippedAccount {
  name: string;
  accountId: string;
  reason: SkipReason;
  /** One sentence for the summary line. */
  detail: string;
  /** notDue: when the account falls due; held: when the schedule may retry it. */
  until?: string;
}

export interface ScheduledStart {
  target: RotationTarget;
  /** Why it is due: the oldest secret's age, or the missing secret. */
  detail: string;
}

export interface RunDecision {
  configured: number;
  /** Accounts that are due, whether started now or held back by a bound. */
  due: number;
  /** Rotations of configured accounts running before this run started any. */
  running: number;
  start: ScheduledStart[];
  skipped: SkippedAccount[];
}

export interface Due {
  due: boolean;
  /** When the account is (or was) due; null when a secret is missing (due now). */
  dueAt: string | null;
  detail: string;
}

/**
 * An account is due when any secret it publishes is missing or older than
 * its rotation interval. Its due time is the oldest secret's age plus the interval.
 */
export function dueState(target: Pick<RotationTarget, 'rotationIntervalInDays'>, secrets: SecretAge[], now: Date): Due {
  const missing = secrets.find((secret) => secret.createdOn === null);
  if (missing) return { due: true, dueAt: null, detail: `secret ${missing.secretName} does not exist yet` };
  const oldest = secrets.reduce<SecretAge | null>(
    (found, secret) => (found === null || Date.parse(secret.createdOn!) < Date.parse(found.createdOn!) ? secret : found),
    null,
  );
  if (!oldest) return { due: true, dueAt: null, detail: 'no secret is published yet' };
  const dueAtMs = Date.parse(oldest.createdOn!) + target.rotationIntervalInDays * DAY_MS;
  const dueAt = new Date(dueAtMs).toISOString();
  const ageInDays = Math.floor((now.getTime() - Date.parse(oldest.createdOn!)) / DAY_MS);
  return dueAtMs <= now.getTime()
    ? { due: true, dueAt, detail: `secret ${oldest.secretName} is ${ageInDays} days old (interval ${target.rotationIntervalInDays} days)` }
    : { due: false, dueAt, detail: `due at ${dueAt}` };
}

/** How a finished rotation that did not rotate stopped, or null when it rotated (or still runs). */
function stoppedPartWay(last: LastRotation): { reason: SkipReason; what: string } | null {
  if (last.runtimeStatus === 'Failed') return { reason: 'failed', what: 'failed' };
  if (last.runtimeStatus === 'Terminated' || last.runtimeStatus === 'Canceled') return { reason: 'cancelled', what: 'was cancelled' };
  if (last.runtimeStatus === 'Completed' && last.outcome === 'needsAttention') return { reason: 'needsAttention', what: 'needs attention' };
  return null;
}

/**
 * A rotation that stopped part-way leaves an account half rotated (a new key
 * published, the old one still valid): it is left for an operator until the
 * retry delay passes, then it is due for resumption, whatever the secret's age.
 */
function unfinished(last: LastRotation, limits: ScheduleLimits, now: Date): { held: SkippedAccount['reason'] | null; until: string; detail: string } | null {
  const stopped = stoppedPartWay(last);
  if (!stopped) return null;
  const untilMs = Date.parse(last.lastUpdatedTime) + limits.failedRotationRetryInHours * HOUR_MS;
  const until = Number.isNaN(untilMs) ? now.toISOString() : new Date(untilMs).toISOString();
  const where = last.phase ? ` in ${last.phase}` : '';
  if (!Number.isNaN(untilMs) && untilMs > now.getTime()) {
    return { held: stopped.reason, until, detail: `last rotation ${stopped.what}${where} at ${last.lastUpdatedTime}; not restarted before ${until} unless an operator starts it` };
  }
  return { held: null, until, detail: `resume: last rotation ${stopped.what}${where} at ${last.lastUpdatedTime}` };
}

/**
 * Decides one scheduled run. Every due account starts, up to the bounds on
 * rotations in flight (global and per subscription), where the rotations
 * already running count first. The most overdue accounts start first (a
 * missing secret counts as most overdue), so a backlog larger than the bounds
 * drains as running rotations finish, without starving anyone; ties go by
 * name for stable runs.
 */
export function decideRun(accounts: AccountFacts[], limits: ScheduleLimits, now: Date): RunDecision {
  const skipped: SkippedAccount[] = [];
  const candidates: { target: RotationTarget; due: Due }[] = [];
  const inFlight = new Map<string, number>();
  let running = 0;

  for (const account of accounts) {
    const { target } = account;
    const skip = (reason: SkipReason, detail: string, until?: string) =>
      skipped.push({ name: target.name, accountId: target.accountId, reason, detail, ...(until ? { until } : {}) });

    if (account.lookupError !== undefined) {
      skip('lookupFailed', `could not read its state (${account.lookupError}); retried next run`);
      continue;
    }
    const last = account.lastRotation;
    if (last && ACTIVE_RUNTIME_STATUSES.includes(last.runtimeStatus)) {
      running += 1;
      const subscription = target.subscriptionId.toLowerCase();
      inFlight.set(subscription, (inFlight.get(subscription) ?? 0) + 1);
      skip('running', `a rotation is ${last.runtimeStatus.toLowerCase()}${last.phase ? ` (${last.phase})` : ''}`);
      continue;
    }
    const stopped = last ? unfinished(last, limits, now) : null;
    if (stopped?.held) {
      skip(stopped.held, stopped.detail, stopped.until);
      continue;
    }
    if (stopped) {
      candidates.push({ target, due: { due: true, dueAt: stopped.until, detail: stopped.detail } });
      continue;
    }
    const due = dueState(target, account.secrets, now);
    if (!due.due) {
      skip('notDue', due.detail, due.dueAt ?? undefined);
      continue;
    }
    candidates.push({ target, due });
  }

  candidates.sort((a, b) => compareDue(a.due, b.due) || a.target.name.localeCompare(b.target.name));

  const start: ScheduledStart[] = [];
  let total = running;
  for (const { target, due } of candidates) {
    const subscription = target.subscriptionId.toLowerCase();
    const inSubscription = inFlight.get(subscription) ?? 0;
    if (total >= limits.maxRotationsInFlight) {
      skipped.push({
        name: target.name,
        accountId: target.accountId,
        reason: 'inFlightLimit',
        detail: `due (${due.detail}); ${total} rotations in flight, MAX_ROTATIONS_IN_FLIGHT=${limits.maxRotationsInFlight}: starts when one finishes`,
      });
    } else if (inSubscription >= limits.maxRotationsInFlightPerSubscription) {
      skipped.push({
        name: target.name,
        accountId: target.accountId,
        reason: 'subscriptionInFlightLimit',
        detail: `due (${due.detail}); ${inSubscription} rotations in flight in subscription ${target.subscriptionId}, MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION=${limits.maxRotationsInFlightPerSubscription}: starts when one finishes`,
      });
    } else {
      start.push({ target, detail: due.detail });
      inFlight.set(subscription, inSubscription + 1);
      total += 1;
    }
  }
  return { configured: accounts.length, due: candidates.length, running, start, skipped };
}

function compareDue(a: Due, b: Due): number {
  if (a.dueAt === null || b.dueAt === null) return (a.dueAt === null ? 0 : 1) - (b.dueAt === null ? 0 : 1);
  return Date.parse(a.dueAt) - Date.parse(b.dueAt);
}
