/**
 * Key usage as Azure reports it: `approximateLastUsageTime` lags the real use
 * by the account's usage lag. The data plane records every authenticated use;
 * ARM reads what has become visible by now.
 */
import type { AccountState, KeyKind } from './contracts.js';

/** Most pending uses kept per key: only the latest visible one matters. */
const MAX_PENDING_USES = 64;

/** Records a use of `keyKind` at `now`. Mutates `account`: call inside `mutate`. */
export function recordKeyUse(account: AccountState, keyKind: KeyKind, now: Date): void {
  const key = account.keys[keyKind];
  if (account.usageLagSeconds <= 0) {
    key.approximateLastUsageTime = later(key.approximateLastUsageTime, now.toISOString());
    return;
  }
  const pending = key.pendingUsageTimes ?? [];
  pending.push(now.toISOString());
  // Uses within one second of each other are indistinguishable to ARM; keep the list short.
  key.pendingUsageTimes = dedupeBySecond(pending).slice(-MAX_PENDING_USES);
}

/** Moves uses older than the lag into `approximateLastUsageTime`. Mutates: call inside `mutate`. */
export function settleKeyUsage(account: AccountState, now: Date): void {
  for (const key of Object.values(account.keys)) {
    if (!key.pendingUsageTimes?.length) continue;
    const visibleBefore = now.getTime() - account.usageLagSeconds * 1000;
    const stillPending: string[] = [];
    for (const use of key.pendingUsageTimes) {
      if (Date.parse(use) <= visibleBefore) key.approximateLastUsageTime = later(key.approximateLastUsageTime, use);
      else stillPending.push(use);
    }
    key.pendingUsageTimes = stillPending;
  }
}

/** The last use ARM reports for `keyKind` at `now`, without changing state. */
export function visibleLastUsage(account: AccountState, keyKind: KeyKind, now: Date): string | null {
  const key = account.keys[keyKind];
  const visibleBefore = now.getTime() - account.usageLagSeconds * 1000;
  let last = key.approximateLastUsageTime;
  for (const use of key.pendingUsageTimes ?? []) {
    if (Date.parse(use) <= visibleBefore) last = later(last, use);
  }
  return last;
}

/**
 * The real last use, lag or not. ARM's safe-rotation check enforces on what
 * the service knows, while keysMetadata reports it late: a regeneration can
 * be refused for a use the caller cannot see yet.
 */
export function actualLastUsage(account: AccountState, keyKind: KeyKind): string | null {
  const key = account.keys[keyKind];
  let last = key.approximateLastUsageTime;
  for (const use of key.pendingUsageTimes ?? []) last = later(last, use);
  return last;
}

function later(a: string | null, b: string): string {
  return a === null || Date.parse(b) > Date.parse(a) ? b : a;
}

function dedupeBySecond(times: string[]): string[] {
  const bySecond = new Map<number, string>();
  for (const time of times) bySecond.set(Math.floor(Date.parse(time) / 1000), time);
  return [...bySecond.values()];
}
