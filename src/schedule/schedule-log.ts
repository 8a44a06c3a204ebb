/**
 * What one schedule run logs, bounded whatever the fleet: one summary line
 * with counts by kind and the first few accounts of each kind, and one short
 * entry per account the run started or left due (with fields for
 * customDimensions). Application Insights cuts a trace at about 32 K
 * characters; a line here stays under LOG_LINE_LIMIT.
 */
import type { SkippedAccount } from './decide-run.js';

/** The longest line the schedule writes, in characters. */
export const LOG_LINE_LIMIT = 16 * 1024;
/** Accounts named per kind in the summary line; the rest are counted. */
export const NAMED_PER_KIND = 3;
const DETAIL_LIMIT = 300;
const NAME_LIMIT = 128;

/**
 * Kinds that get no entry of their own: an account that is not due, or whose
 * rotation runs, is left as it is. They are counted in the summary, and the
 * running rotations report themselves (RotationEvent telemetry).
 */
const QUIET_KINDS: ReadonlySet<string> = new Set(['notDue', 'running']);

export interface SummaryFacts {
  at: string;
  configured: number;
  due: number;
  running: number;
  started: Array<{ name: string; detail: string }>;
  skipped: SkippedAccount[];
  purgedHistory?: number;
}

/** One line an operator can read in the log stream: counts first, then the first accounts of each kind with why. */
export function summaryLine(summary: SummaryFacts): string {
  const named = (items: string[]) => {
    const shown = items.slice(0, NAMED_PER_KIND).join('; ');
    return items.length > NAMED_PER_KIND ? `${shown}; and ${items.length - NAMED_PER_KIND} more` : shown;
  };
  const started = named(summary.started.map((s) => `${clip(s.name, NAME_LIMIT)} (${clip(s.detail, DETAIL_LIMIT)})`));
  const byKind = new Map<string, SkippedAccount[]>();
  for (const account of summary.skipped) byKind.set(account.reason, [...(byKind.get(account.reason) ?? []), account]);
  const kinds = [...byKind.entries()].map(([reason, accounts]) => `${reason} ${accounts.length} [${named(accounts.map((s) => `${clip(s.name, NAME_LIMIT)} - ${clip(s.detail, DETAIL_LIMIT)}`))}]`);
  const line =
    `Rotation schedule ${summary.at}: ${summary.configured} configured, ${summary.due} due, ${summary.running} running before this run, ` +
    `${summary.started.length} started${started ? ` [${started}]` : ''}, ` +
    `${summary.skipped.length} skipped${kinds.length ? ` (${kinds.join('; ')})` : ''}` +
    (summary.purgedHistory ? `, ${summary.purgedHistory} expired history record(s) purged` : '');
  return clip(line, LOG_LINE_LIMIT);
}

export interface AccountOutcome {
  name: string;
  accountId: string;
  /** 'started', or why it was skipped. */
  outcome: string;
  detail: string;
  instanceId?: string;
  until?: string;
}

/** The entry of one account, or null for the quiet kinds: a short line and the same facts as fields. */
export function scheduleEntry(at: string, account: AccountOutcome): { line: string; fields: Record<string, string> } | null {
  if (QUIET_KINDS.has(account.outcome)) return null;
  const fields: Record<string, string> = {
    scheduleRunAt: at,
    account: clip(account.name, NAME_LIMIT),
    accountId: account.accountId,
    outcome: account.outcome,
    detail: clip(account.detail, DETAIL_LIMIT),
  };
  if (account.instanceId) fields.instanceId = account.instanceId;
  if (account.until) fields.until = account.until;
  return { line: `Rotation schedule ${at}: ${fields.account} ${account.outcome} - ${fields.detail}`, fields };
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
