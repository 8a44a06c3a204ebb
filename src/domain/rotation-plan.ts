/**
 * Pure rules of a safe rotation: which key is active, when a key counts as
 * idle, when to look again. No I/O and no clock: callers pass `now`.
 */
import { KEY_PAIRS, type KeyKind, type KeyPairName } from './keys.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface KeyUsage {
  lastUsedAt: string | null;
}

export interface UsageFacts {
  keys: Record<KeyKind, KeyUsage>;
  /** The key kind the latest Key Vault secret holds, or null when nothing is published yet. */
  publishedKeyKind: KeyKind | null;
}

export interface IdleRule {
  idleWindowInHours: number;
  /** Added to usage times because Azure reports them approximately. */
  usageMarginInMinutes: number;
}

export type ActiveKeySource = 'keyVault' | 'lastUsage' | 'default';

export interface PairPlan {
  pair: KeyPairName;
  activeKeyKind: KeyKind;
  standbyKeyKind: KeyKind;
  /** How the active key was chosen: Key Vault's tag wins; else the most recently used key; else the pair's first. */
  activeKeySource: ActiveKeySource;
}

export function planPair(pair: KeyPairName, facts: UsageFacts): PairPlan {
  const [first, second] = KEY_PAIRS[pair].kinds;
  if (facts.publishedKeyKind === first || facts.publishedKeyKind === second) {
    return plan(pair, facts.publishedKeyKind, 'keyVault');
  }
  const firstUse = timeOf(facts.keys[first].lastUsedAt);
  const secondUse = timeOf(facts.keys[second].lastUsedAt);
  if (firstUse === null && secondUse === null) return plan(pair, first, 'default');
  const active = (secondUse ?? -Infinity) > (firstUse ?? -Infinity) ? second : first;
  return plan(pair, active, 'lastUsage');
}

function plan(pair: KeyPairName, activeKeyKind: KeyKind, activeKeySource: ActiveKeySource): PairPlan {
  const [first, second] = KEY_PAIRS[pair].kinds;
  return { pair, activeKeyKind, standbyKeyKind: activeKeyKind === first ? second : first, activeKeySource };
}

/**
 * The instant from which a key last used at `lastUsedAt` counts as idle, or
 * null when it was never used. The margin covers the approximate usage time:
 * regenerating a moment too early would break whoever still holds the key.
 */
export function idleFrom(lastUsedAt: string | null, rule: IdleRule): Date | null {
  const lastUse = timeOf(lastUsedAt);
  if (lastUse === null) return null;
  return new Date(lastUse + rule.idleWindowInHours * HOUR_MS + rule.usageMarginInMinutes * MINUTE_MS);
}

export function isIdle(lastUsedAt: string | null, now: Date, rule: IdleRule): boolean {
  const from = idleFrom(lastUsedAt, rule);
  return from === null || from.getTime() <= now.getTime();
}

/**
 * When to re-inspect a key we are waiting on: not before it could possibly be
 * idle (no point looking earlier), at least `checkIntervalInMinutes` apart,
 * and never after the deadline. Coarse checks keep the history short.
 */
export function nextUsageCheck(options: {
  now: Date;
  lastUsedAt: string | null;
  rule: IdleRule;
  checkIntervalInMinutes: number;
  deadline: Date;
}): Date {
  const earliest = options.now.getTime() + options.checkIntervalInMinutes * MINUTE_MS;
  const idle = idleFrom(options.lastUsedAt, options.rule)?.getTime() ?? earliest;
  return new Date(Math.min(options.deadline.getTime(), Math.max(earliest, idle)));
}

/**
 * How long the old key counts as used once its successor is published: until
 * then it was the only key consumers could have, whatever the (approximate,
 * late) usage report says so far.
 */
export function oldKeyInUseUntil(lastUsedAt: string | null, publishedAt: string): string {
  const lastUse = timeOf(lastUsedAt);
  return lastUse !== null && lastUse > Date.parse(publishedAt) ? lastUsedAt! : publishedAt;
}

/** Poll delays for a long-running regeneration: 30 s, doubling, at most 15 min. */
export function regenerationPollDelayInSeconds(pollNumber: number): number {
  return Math.min(30 * 2 ** Math.max(0, pollNumber), 15 * 60);
}

/** Spacing of validation probes so that `probeCount` successes span `spreadInMinutes`. */
export function validationIntervalInMs(probeCount: number, spreadInMinutes: number): number {
  if (probeCount <= 1) return 0;
  return Math.round((spreadInMinutes * MINUTE_MS) / (probeCount - 1));
}

/**
 * One rotation per account: the instance ID is derived from the resource ID,
 * so starting a second rotation of the same account finds the first.
 * Durable instance IDs may not contain '/', '\\', '#' or '?'.
 */
export function rotationInstanceId(accountId: string): string {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DocumentDB\/databaseAccounts\/([^/]+)\/?$/i.exec(accountId.trim());
  if (!match) throw new TypeError(`"${accountId}" is not a Cosmos DB account resource ID`);
  const [, subscriptionId, resourceGroup, accountName] = match;
  return `cosmos-rotation--${subscriptionId}--${resourceGroup}--${accountName}`.toLowerCase().replace(/[\\#?/\s]/g, '_');
}

/** A readable, deterministic rotation ID: the account and the instant the rotation started. */
export function rotationIdFor(accountName: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${accountName}-${stamp}`;
}

function timeOf(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}
