/**
 * The dry run behind GET /rotations/{account}/plan: what a rotation started
 * now would do, from the same facts and rules the orchestrator uses
 * (whereRotationStopped, keyCountsAsUsedUntil, idleFrom). Pure: the caller inspects the account and passes `now`.
 */
import type { RotationTarget } from '../config.js';
import type { InspectAccountResult, KeyFacts } from '../activities/contracts.js';
import { assumedLastUseWithoutUsageReports } from '../domain/unreported-usage.js';
import { KEY_PAIRS, type KeyKind, type KeyPairName } from '../domain/keys.js';
import { idleFrom, isIdle, keyCountsAsUsedUntil, successorPublishedAt, whereRotationStopped, type ActiveKeySource, type IdleRule } from '../domain/rotation-plan.js';
import type { Due } from '../schedule/decide-run.js';
import { accountRef, type AccountRef } from './rotation-view.js';

const HOUR_MS = 3_600_000;

export interface PairFacts {
  pair: KeyPairName;
  secretName: string;
  facts: InspectAccountResult;
}

export interface KeyWait {
  /** The key must be idle first: it was used within the idle window. */
  needed: boolean;
  lastUsedAt: string | null;
  /** When the key counts as idle (last use + idle window + margin), or null when never used. */
  idleFrom: string | null;
  /** Hours from now until idle; 0 when idle already. */
  waitInHours: number;
  maxWaitInHours: number;
  /** The wait would run past its bound: the rotation would stop and need attention unless forced. */
  exceedsMax: boolean;
}

export interface PairDryRun {
  pair: KeyPairName;
  secretName: string;
  activeKeyKind: KeyKind;
  activeKeySource: ActiveKeySource;
  standbyKeyKind: KeyKind;
  keys: Partial<Record<KeyKind, KeyFacts>>;
  published: { keyKind: KeyKind | null; rotationId: string | null; publishedAt: string | null };
  /**
   * The stopped rotation a start would continue: it published its key and the
   * old key was not regenerated since. A start then only waits for consumers
   * and regenerates the old key; null when a start begins a new rotation.
   */
  resumes: { rotationId: string; from: 'waitingForConsumers'; publishedAt: string } | null;
  /** Before regenerating the standby key. */
  standbyWait: KeyWait;
  /** After publishing: consumers must leave the old active key before it is regenerated. */
  consumerWait: KeyWait & { checkIntervalInMinutes: number; note: string };
  steps: string[];
}

export interface DryRun {
  account: AccountRef;
  generatedAt: string;
  /** A dry run reads only; it never changes a key, a secret or a rotation. */
  changesNothing: true;
  /** Cosmos DB's safe-rotation check (EnableKeyCheckBeforeRegenerationPreview) refuses to regenerate a key used in the last 12 h. */
  safeRotationCheckEnabled: boolean;
  localAuthDisabled: boolean;
  due: Due;
  /** Whether POST /rotations would start now, and if not, why. */
  wouldStart: boolean;
  blockedBy: string | null;
  pairs: PairDryRun[];
}

export function dryRun(options: {
  target: RotationTarget;
  pairs: PairFacts[];
  due: Due;
  now: Date;
  /** The phase of a rotation that is running, or null. */
  runningPhase: string | null;
}): DryRun {
  const { target, now } = options;
  const rule: IdleRule = { idleWindowInHours: target.idleWindowInHours, usageMarginInMinutes: target.usageMarginInMinutes };
  const first = options.pairs[0]?.facts;
  const localAuthDisabled = first?.disableLocalAuth ?? false;
  const blockedBy =
    options.runningPhase !== null
      ? `A rotation is already running (phase ${options.runningPhase}); cancel it first or wait for it.`
      : localAuthDisabled
        ? 'Local (key) authentication is disabled on the account: no consumer can use its keys, so a rotation would fail at once.'
        : null;
  return {
    account: accountRef(target),
    generatedAt: now.toISOString(),
    changesNothing: true,
    safeRotationCheckEnabled: first?.safeRotationCheckEnabled ?? false,
    localAuthDisabled,
    due: options.due,
    wouldStart: blockedBy === null,
    blockedBy,
    pairs: options.pairs.map((pair) => pairDryRun(pair, target, rule, now)),
  };
}

function pairDryRun({ pair, secretName, facts }: PairFacts, target: RotationTarget, rule: IdleRule, now: Date): PairDryRun {
  const stopped = whereRotationStopped(pair, facts);
  const plan = stopped.plan;
  const resumes = stopped.from === 'waitingForConsumers' ? { rotationId: stopped.rotationId, from: stopped.from, publishedAt: stopped.publishedAt } : null;
  const keys: Partial<Record<KeyKind, KeyFacts>> = {};
  for (const kind of KEY_PAIRS[pair].kinds) keys[kind] = { generationTime: facts.keys[kind].generationTime, lastUsedAt: facts.keys[kind].lastUsedAt };

  const standbyLastUsedAt = keyCountsAsUsedUntil(facts.keys[plan.standbyKeyKind].lastUsedAt, successorPublishedAt(plan.standbyKeyKind, facts));
  const standbyWait = resumes ? keyWait(null, rule, now, target.standbyWaitMaxInHours) : keyWait(standbyLastUsedAt, rule, now, target.standbyWaitMaxInHours);
  // Publishing comes once the standby is idle (now, at the earliest); until then consumers can only use the active key.
  const publishedAt = resumes ? resumes.publishedAt : standbyWait.needed && standbyWait.idleFrom ? standbyWait.idleFrom : now.toISOString();
  const activeLastUsedAt = facts.keys[plan.activeKeyKind].lastUsedAt;
  const usageUnreported = facts.usageReported === false;
  const activeInUseUntil = usageUnreported
    ? (assumedLastUseWithoutUsageReports({ generationTime: null, lastUsedAt: null }, { publishedAt }, target, new Date(Date.parse(publishedAt) + target.consumerWaitMaxInHours * 3_600_000)) ?? publishedAt)
    : keyCountsAsUsedUntil(activeLastUsedAt, publishedAt);
  const active = { ...keyWait(activeInUseUntil, rule, now, target.consumerWaitMaxInHours), lastUsedAt: activeLastUsedAt };
  const consumerNote = usageUnreported
    ? `The api-version in use (COSMOS_ARM_API_VERSION) reports no key usage times, so the rotation cannot see consumers leave ${plan.activeKeyKind}: ` +
      `after publishing, ${plan.activeKeyKind} counts as in use until POST consumers-moved, or until CONSUMER_WAIT_MAX_IN_HOURS (${target.consumerWaitMaxInHours} h) ` +
      `has passed since publishing; only then is it regenerated. Use 2026-04-01-preview to end the wait as soon as Azure reports it idle.`
    : `Consumers use ${plan.activeKeyKind} (${activeLastUsedAt === null ? 'no recorded use' : `last used ${activeLastUsedAt}`}); it counts as in use until the new key is published. ` +
    `After publishing, the rotation waits until ${plan.activeKeyKind} has been idle ${target.idleWindowInHours} h (plus ${target.usageMarginInMinutes} min margin), ` +
    `looking again at least every ${target.consumerCheckIntervalInMinutes} min once it could be idle, or until POST consumers-moved; ` +
    `after ${target.consumerWaitMaxInHours} h it stops and needs attention.`;

  const steps = resumes
    ? [
        `Resume rotation ${resumes.rotationId}: it published ${plan.standbyKeyKind} to secret ${secretName} at ${resumes.publishedAt} and did not regenerate the old key ${plan.activeKeyKind}; nothing is regenerated or published again.`,
        consumerNote,
        `Regenerate the old key ${plan.activeKeyKind}.`,
      ]
    : [
        standbyWait.needed
          ? standbyWait.exceedsMax
            ? `Wait for the standby key ${plan.standbyKeyKind} to be idle: it is in use until ${standbyWait.idleFrom}, longer than STANDBY_WAIT_MAX_IN_HOURS (${target.standbyWaitMaxInHours} h), so the rotation would stop and need attention unless forced.`
            : `Wait ${round(standbyWait.waitInHours)} h for the standby key ${plan.standbyKeyKind} to be idle (until ${standbyWait.idleFrom}).`
          : `The standby key ${plan.standbyKeyKind} is idle: regenerate it without waiting.`,
        `Regenerate ${plan.standbyKeyKind}, then validate it with ${target.validationProbeCount} consecutive data-plane probes over ${target.validationSpreadInMinutes} min.`,
        `Publish ${plan.standbyKeyKind} as a new version of secret ${secretName}${pair === 'readWrite' && target.connectionStringSecretName ? ` (and the connection string in ${target.connectionStringSecretName})` : ''}.`,
        consumerNote,
        `Regenerate the old key ${plan.activeKeyKind}.`,
      ];

  return {
    pair,
    secretName,
    activeKeyKind: plan.activeKeyKind,
    activeKeySource: plan.activeKeySource,
    standbyKeyKind: plan.standbyKeyKind,
    keys,
    published: { keyKind: facts.publishedKeyKind, rotationId: facts.publishedRotationId, publishedAt: facts.publishedAt },
    resumes,
    standbyWait,
    consumerWait: { ...active, checkIntervalInMinutes: target.consumerCheckIntervalInMinutes, note: consumerNote },
    steps,
  };
}

function keyWait(lastUsedAt: string | null, rule: IdleRule, now: Date, maxWaitInHours: number): KeyWait {
  const from = idleFrom(lastUsedAt, rule);
  const needed = !isIdle(lastUsedAt, now, rule);
  const waitInHours = needed && from ? (from.getTime() - now.getTime()) / HOUR_MS : 0;
  return {
    needed,
    lastUsedAt,
    idleFrom: from?.toISOString() ?? null,
    waitInHours: round(waitInHours),
    maxWaitInHours,
    exceedsMax: waitInHours > maxWaitInHours,
  };
}

function round(hours: number): number {
  return Math.round(hours * 100) / 100;
}
