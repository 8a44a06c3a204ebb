/**
 * Pure rules of a safe rotation: which key is active, when a key counts as
 * idle, when to look again. No I/O and no clock: callers pass `now`.
 */
import { KEY_PAIRS, otherKeyOf, type KeyKind, type KeyPairName } from './keys.js';

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
 * THE rule that keeps consumers working: a key about to be regenerated (the
 * old key after publishing, and the standby too) counts as used at least
 * until its successor was published, whatever the (approximate, late) usage
 * report says so far: until then it was the key consumers could read from
 * Key Vault. Add the idle window (idleFrom) before regenerating it.
 * `successorPublishedAt` is null when no successor of the key was published
 * since it was generated (see successorPublishedAt).
 */
export function keyCountsAsUsedUntil(lastUsedAt: string | null, successorPublishedAt: string | null): string | null {
  if (successorPublishedAt === null) return lastUsedAt;
  const lastUse = timeOf(lastUsedAt);
  return lastUse !== null && lastUse > Date.parse(successorPublishedAt) ? lastUsedAt! : successorPublishedAt;
}

/** The facts of one pair that say where its last rotation stopped: generation times and the latest secret version. */
export interface PairState {
  keys: Record<KeyKind, KeyUsage & { generationTime: string | null }>;
  publishedKeyKind: KeyKind | null;
  /** The rotationId tag of the latest secret version: set only when this app published it. */
  publishedRotationId: string | null;
  publishedAt: string | null;
  /** The regeneration marker on the latest secret version, when a rotation of this app put one there. */
  regenerationMarker?: RegenerationMarker | null;
}

/**
 * Put on the current secret version (tags; no new version) just before a
 * rotation regenerates its standby. The standby's generation time at/after
 * `markedAt` and unlike `generationTimeBefore` then says: that rotation
 * regenerated it and did not publish it yet (publishing adds a version
 * without the marker).
 */
export interface RegenerationMarker {
  rotationId: string;
  keyKind: KeyKind;
  markedAt: string;
  generationTimeBefore: string | null;
}

/**
 * When this app published the latest secret version (it carries a rotation
 * ID) with the other key of `keyKind`'s pair, and `keyKind` was not
 * regenerated since: that version is its successor, and this is when
 * consumers could first move off it. Null otherwise. A hand-made secret says
 * nothing of what Key Vault held before it, so only usage counts for it.
 */
export function successorPublishedAt(keyKind: KeyKind, state: PairState): string | null {
  const { publishedKeyKind, publishedAt, publishedRotationId } = state;
  if (publishedRotationId === null || publishedKeyKind === null || publishedAt === null || publishedKeyKind !== otherKeyOf(keyKind)) return null;
  return regeneratedSince(state.keys[keyKind].generationTime, publishedAt) ? null : publishedAt;
}

/**
 * Whether a key was regenerated since `since`. Given the generation time seen
 * before regenerating it (null: ARM reported none), a regeneration that
 * finished in the very instant it began counts, an unchanged generation time
 * does not (an account created in the instant the rotation started). Without
 * it, only a generation strictly after `since` counts.
 */
export function regeneratedSince(generationTime: string | null, since: string, generationTimeBefore?: string | null): boolean {
  const generated = timeOf(generationTime);
  if (generated === null) return false;
  if (generationTimeBefore === undefined) return generated > Date.parse(since);
  return generated >= Date.parse(since) && generated !== timeOf(generationTimeBefore);
}

/**
 * Where the last rotation of a pair stopped, read from the account and Key
 * Vault alone (an orchestration instance may be gone, cancelled or failed):
 * - waitingForConsumers: this app published a key (the latest version carries
 *   its rotationId) and the other key was not regenerated since: consumers may
 *   still hold it. Resume at the consumer wait; never rotate back.
 * - validating: the latest version carries a regeneration marker (see
 *   RegenerationMarker) and its key was regenerated after it was put there:
 *   that rotation regenerated the standby and did not publish it. Resume at
 *   validation and publish it under that rotation's ID; never regenerate it
 *   again (a finished rotation's standby regeneration is told apart by the
 *   version it published since, which carries no marker).
 * - start: the last rotation finished (or none ran), or it stopped before
 *   regenerating anything: a new one starts.
 * On a resume, `plan.activeKeyKind` is the key consumers used before the
 * stopped rotation, `plan.standbyKeyKind` the one it brought in.
 */
export type ResumePoint =
  | { from: 'start'; plan: PairPlan }
  | { from: 'waitingForConsumers'; plan: PairPlan; rotationId: string; publishedAt: string }
  | { from: 'validating'; plan: PairPlan; rotationId: string; regeneratedAt: string };

/** What a run records of the stopped rotation it continues (null: it starts a new one). */
export type ResumedRotation =
  | { rotationId: string; from: 'waitingForConsumers'; publishedAt: string }
  | { rotationId: string; from: 'validating'; regeneratedAt: string };

export function resumedRotationOf(stopped: ResumePoint): ResumedRotation | null {
  if (stopped.from === 'waitingForConsumers') return { rotationId: stopped.rotationId, from: stopped.from, publishedAt: stopped.publishedAt };
  if (stopped.from === 'validating') return { rotationId: stopped.rotationId, from: stopped.from, regeneratedAt: stopped.regeneratedAt };
  return null;
}

export function whereRotationStopped(pair: KeyPairName, state: PairState): ResumePoint {
  const { publishedKeyKind, publishedRotationId, publishedAt } = state;
  const inPair = publishedKeyKind !== null && isInPair(pair, publishedKeyKind);
  if (inPair && publishedRotationId !== null && publishedAt !== null) {
    const oldKey = otherKeyOf(publishedKeyKind);
    if (!regeneratedSince(state.keys[oldKey].generationTime, publishedAt)) {
      return { from: 'waitingForConsumers', plan: plan(pair, oldKey, 'keyVault'), rotationId: publishedRotationId, publishedAt };
    }
  }
  const marker = state.regenerationMarker;
  if (marker && isInPair(pair, marker.keyKind) && marker.keyKind !== publishedKeyKind) {
    const { generationTime } = state.keys[marker.keyKind];
    if (regeneratedSince(generationTime, marker.markedAt, marker.generationTimeBefore)) {
      return { from: 'validating', plan: plan(pair, otherKeyOf(marker.keyKind), 'keyVault'), rotationId: marker.rotationId, regeneratedAt: generationTime! };
    }
  }
  return { from: 'start', plan: planPair(pair, state) };
}

function isInPair(pair: KeyPairName, keyKind: KeyKind): boolean {
  return (KEY_PAIRS[pair].kinds as readonly KeyKind[]).includes(keyKind);
}

/**
 * When to look at a running regeneration again. It takes from about a minute
 * to hours on a large account, so the first look is after a minute, then the
 * interval doubles up to an hour; past 8 hours it grows with the time already
 * spent (an eighth of it: a look is never more than 12.5 % late), so a 24-hour
 * regeneration costs about two dozen polls, not hundreds. Never sooner than
 * ARM's Retry-After. `expectedMs`: how long the other key's regeneration took
 * in this run (same account, same size): the first look waits for three
 * quarters of it. Pure: replay-safe.
 */
export function regenerationPollDelayInMs(options: { poll: number; elapsedMs: number; retryAfterMs?: number; expectedMs?: number }): number {
  const backoff = Math.min(MINUTE_MS * 2 ** Math.max(0, options.poll), HOUR_MS);
  const grown = Math.max(backoff, options.elapsedMs / 8);
  const expected = options.poll === 0 && options.expectedMs !== undefined ? (options.expectedMs * 3) / 4 : 0;
  return Math.max(grown, expected, options.retryAfterMs ?? 0);
}

/** Delays between asking again while another operation holds the account or after a Failed regeneration: 30 s, doubling, at most 15 min. */
export function regenerationPollDelayInSeconds(pollNumber: number): number {
  return Math.min(30 * 2 ** Math.max(0, pollNumber), 15 * 60);
}

/**
 * How long to wait before trying a failing step again once the activity's
 * own retries are spent (Azure is throttling, down or busy): 1 min, doubling,
 * at most an hour, and never sooner than the service asked in Retry-After.
 */
export function outageRetryDelayInMs(attempt: number, retryAfterInMs?: number): number {
  const backoff = Math.min(MINUTE_MS * 2 ** Math.max(0, attempt), HOUR_MS);
  return Math.max(backoff, retryAfterInMs ?? 0);
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
