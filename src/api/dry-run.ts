/**
 * The dry run behind GET /rotations/{account}/plan: what a rotation started
 * now would do, from the same facts and rules the orchestrator uses
 * (whereRotationStopped, keyCountsAsUsedUntil, idleFrom). Pure: the caller inspects the account and passes `now`.
 */
import type { RotationTarget } from '../config.js';
import type { InspectAccountResult, KeyFacts } from '../activities/contracts.js';
import { assumedLastUseWithoutUsageReports } from '../domain/unreported-usage.js';
import { KEY_PAIRS, type KeyKind, type KeyPairName } from '../domain/keys.js';
import { idleFrom, resumedRotationOf, type ResumedRotation, isIdle, keyCountsAsUsedUntil, successorPublishedAt, whereRotationStopped, type ActiveKeySource, type IdleRule } from '../domain/rotation-plan.js';
import { describeRotationWindows, regenerationWindow } from '../domain/rotation-window.js';
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
   * old key was not regenerated since (a start then only waits for consumers
   * and regenerates the old key), or it regenerated the standby and did not
   * publish it (a start validates and publishes it, never regenerating it
   * again); null when a start begins a new rotation.
   */
  resumes: ResumedRotation | null;
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
  rotationWindow: WindowPlan;
  pairs: PairDryRun[];
}

/** The rotation windows (ROTATION_WINDOWS) as they bear on a rotation started now. */
export interface WindowPlan {
  /** e.g. "Mon-Fri 08:00-17:00 UTC", or "any time". */
  windows: string;
  /** A key may be regenerated now. */
  openNow: boolean;
  /** When the first regeneration (of the standby key, after any standby wait) could run: now, or when the next window opens. */
  firstRegenerationAt: string;
  /** When the next window opens, while it is closed now; null when open now or when there are no windows. */
  opensAt: string | null;
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
  const pairs = options.pairs.map((pair) => pairDryRun(pair, target, rule, now));
  return {
    account: accountRef(target),
    generatedAt: now.toISOString(),
    changesNothing: true,
    safeRotationCheckEnabled: first?.safeRotationCheckEnabled ?? false,
    localAuthDisabled,
    due: options.due,
    wouldStart: blockedBy === null,
    blockedBy,
    rotationWindow: windowPlan(target, pairs[0]?.standbyWait, now),
    pairs,
  };
}

function windowPlan(target: RotationTarget, standbyWait: KeyWait | undefined, now: Date): WindowPlan {
  const windows = target.rotationWindows;
  const current = regenerationWindow(windows, now);
  const reached = standbyWait?.needed && standbyWait.idleFrom ? new Date(standbyWait.idleFrom) : now;
  const then = regenerationWindow(windows, reached);
  return {
    windows: describeRotationWindows(windows),
    openNow: current.open,
    firstRegenerationAt: (then.open ? reached : then.opensAt).toISOString(),
    opensAt: current.open ? null : current.opensAt.toISOString(),
  };
}

function pairDryRun({ pair, secretName, facts }: PairFacts, target: RotationTarget, rule: IdleRule, now: Date): PairDryRun {
  const stopped = whereRotationStopped(pair, facts);
  const plan = stopped.plan;
  const resumes = resumedRotationOf(stopped);
  const publishedBy = resumes?.from === 'waitingForConsumers' ? resumes : null;
  const keys: Partial<Record<KeyKind, KeyFacts>> = {};
  for (const kind of KEY_PAIRS[pair].kinds) keys[kind] = { generationTime: facts.keys[kind].generationTime, lastUsedAt: facts.keys[kind].lastUsedAt };

  const standbyLastUsedAt = keyCountsAsUsedUntil(facts.keys[plan.standbyKeyKind].lastUsedAt, successorPublishedAt(plan.standbyKeyKind, facts));
  const standbyWait = resumes ? keyWait(null, rule, now, target.standbyWaitMaxInHours) : keyWait(standbyLastUsedAt, rule, now, target.standbyWaitMaxInHours);
  // Publishing comes once the standby is idle (now, at the earliest); until then consumers can only use the active key.
  const publishedAt = publishedBy ? publishedBy.publishedAt : resumes ? now.toISOString() : standbyWait.needed && standbyWait.idleFrom ? standbyWait.idleFrom : now.toISOString();
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

  const validateAndPublish = [
    `Regenerate ${plan.standbyKeyKind}, then validate it with ${target.validationProbeCount} consecutive data-plane probes over ${target.validationSpreadInMinutes} min.`,
    `Publish ${plan.standbyKeyKind} as a new version of secret ${secretName}${pair === 'readWrite' && target.connectionStringSecretName ? ` (and the connection string in ${target.connectionStringSecretName})` : ''}.`,
  ];
  const windowSteps = target.rotationWindows?.length ? [`Regenerate keys only within the rotation windows (${describeRotationWindows(target.rotationWindows)}); outside them, wait for the next one.`] : [];
  const steps = publishedBy
    ? [
        `Resume rotation ${publishedBy.rotationId}: it published ${plan.standbyKeyKind} to secret ${secretName} at ${publishedBy.publishedAt} and did not regenerate the old key ${plan.activeKeyKind}; nothing is regenerated or published again.`,
        consumerNote,
        ...windowSteps,
        `Regenerate the old key ${plan.activeKeyKind}.`,
      ]
    : resumes?.from === 'validating'
    ? [
        `Resume rotation ${resumes.rotationId}: it regenerated the standby key ${plan.standbyKeyKind} at ${resumes.regeneratedAt} and did not publish it; it is not regenerated again. ` +
          `Validate it with ${target.validationProbeCount} consecutive data-plane probes over ${target.validationSpreadInMinutes} min.`,
        validateAndPublish[1]!,
        consumerNote,
        ...windowSteps,
        `Regenerate the old key ${plan.activeKeyKind}.`,
      ]
    : [
        standbyWait.needed
          ? standbyWait.exceedsMax
            ? `Wait for the standby key ${plan.standbyKeyKind} to be idle: it is in use until ${standbyWait.idleFrom}, longer than STANDBY_WAIT_MAX_IN_HOURS (${target.standbyWaitMaxInHours} h), so the rotation would stop and need attention unless forced.`
            : `Wait ${round(standbyWait.waitInHours)} h for the standby key ${plan.standbyKeyKind} to be idle (until ${standbyWait.idleFrom}).`
          : `The standby key ${plan.standbyKeyKind} is idle: regenerate it without waiting.`,
        ...windowSteps,
        ...validateAndPublish,
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
