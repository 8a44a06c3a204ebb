/**
 * The rotation of one Cosmos DB account, as a durable orchestration. It reads
 * like the runbook: inspect, wait while the standby is in use, regenerate the
 * standby, validate it, publish it, wait for consumers, regenerate the old key.
 * A rotation that stopped after publishing (cancelled, failed, needs
 * attention) is resumed at the consumer wait, one that stopped after
 * regenerating the standby at validation; never reversed; Azure trouble
 * is waited out with durable timers within each step's bound.
 *
 * Replay rules: this code runs again from the top on every episode. It reads
 * time only from context.df.currentUtcDateTime, does I/O only through
 * activities, and takes its settings as input (ESLint enforces all three).
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import {
  ACTIVITY_NAMES,
  activityFailureOf,
  type ActivityResult,
  type BeginRegenerateKeyInput,
  type BeginRegenerateKeyResult,
  type GetRegenerationStatusInput,
  type GetRegenerationStatusResult,
  type InspectAccountInput,
  type InspectAccountResult,
  type MarkRegenerationInput,
  type MarkRegenerationResult,
  type PublishKeyInput,
  type PublishKeyResult,
  type ValidateKeyInput,
  type ValidateKeyResult,
} from '../activities/contracts.js';
import type { KeyKind, KeyPairName } from '../domain/keys.js';
import {
  idleFrom,
  isIdle,
  keyCountsAsUsedUntil,
  nextUsageCheck,
  outageRetryDelayInMs,
  regenerationPollDelayInMs,
  regenerationPollDelayInSeconds,
  resumedRotationOf,
  rotationIdFor,
  successorPublishedAt,
  validationIntervalInMs,
  whereRotationStopped,
  type IdleRule,
} from '../domain/rotation-plan.js';
import { describeRotationWindows, regenerationWindow } from '../domain/rotation-window.js';
import { rotatedPairs, type AccountRotationSettings } from '../domain/settings.js';
import {
  CONSUMERS_MOVED_EVENT,
  type ConsumersMovedEvent,
  type PairOutcome,
  type PhaseRecord,
  type RotationInput,
  type RotationOutput,
  type RotationPhase,
  type ResumedRotation,
  type RegenerationLoop,
  type RotationCheckpoint,
  type RotationStatus,
  type WaitEnding,
  type WaitRecord,
} from './rotation-types.js';
import { RotationEventLog } from './rotation-event-log.js';
import { createBoundedTimer, sleepUntil } from './durable-timers.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Transient activity failures (throttling, 5xx, 409 busy) are retried by Durable with backoff. */
export const ACTIVITY_RETRY = Object.assign(new df.RetryOptions(5_000, 6), {
  backoffCoefficient: 2,
  maxRetryIntervalInMilliseconds: 5 * MINUTE_MS,
});
/** A regeneration can take hours on a large account; past this (from the first busy answer) something is wrong. */
export const MAX_REGENERATION_HOURS = 24;
/**
 * Azure throttling, 5xx, timeouts and identity errors outlast the activity's
 * own retries (minutes): the orchestrator then waits with durable timers and
 * tries again, from the first exhausted attempt of a step, for as long as the
 * phase's own bound (outageBoundInHours); this long in the phases that have
 * none of their own (inspecting, validating, publishing: nothing is at risk).
 */
export const MAX_OUTAGE_HOURS = 24;

/** How long an outage may last in a phase: the bound the phase already has for its own wait. */
export function outageBoundInHours(phase: RotationPhase, settings: Pick<AccountRotationSettings, 'standbyWaitMaxInHours' | 'consumerWaitMaxInHours'>): number {
  switch (phase) {
    case 'waitingForStandbyIdle':
      return settings.standbyWaitMaxInHours;
    case 'waitingForConsumers':
      return settings.consumerWaitMaxInHours;
    case 'regeneratingStandby':
    case 'regeneratingOldKey':
      return MAX_REGENERATION_HOURS;
    default:
      return MAX_OUTAGE_HOURS;
  }
}

type Yielded = Task;

/** A permanent failure: the orchestration fails with this message (it names the fix). */
export class RotationFailure extends Error {
  override readonly name = 'RotationFailure';

  constructor(message: string) {
    super(message);
    // The runtime stores and shows a failed orchestration's error: the message is what an operator needs, frames are not.
    this.stack = message;
  }
}

/** Stops the rotation without failing it: the outcome is needsAttention. */
class NeedsAttention extends Error {
  override readonly name = 'NeedsAttention';
}

/** This generation handed over to the next (continueAsNew): unwinds to the orchestrator, which returns. */
class ContinuedAsNew extends Error {
  override readonly name = 'ContinuedAsNew';
}

/**
 * Tasks (activities, timers) one generation yields before a long wait
 * continues as new (durable-functions' continueAsNew; the instance ID stays).
 * Each task costs about four history events and every episode replays the
 * whole history: past this many, a wait hands over at its next step, so the
 * last episode of a week's wait replays no more than the first episodes of a
 * rotation do, whatever the wait's length.
 */
export const TASKS_PER_GENERATION = 12;

export function* rotateAccountOrchestrator(context: OrchestrationContext): Generator<Yielded, RotationOutput, unknown> {
  const input = context.df.getInput<RotationInput>();
  const settings = input.settings;
  const run = new RotationRun(context, input);
  const continued = input.continued;
  try {
    for (const [pairIndex, { pair, secretName }] of rotatedPairs(settings).entries()) {
      // A continued run has the outcomes of the pairs before its own.
      if (continued && pairIndex < continued.pairIndex) continue;
      run.outcomes.push(yield* rotatePair(run, pairIndex, pair, secretName, continued?.pairIndex === pairIndex ? continued : undefined));
    }
  } catch (error) {
    // The next generation goes on from the checkpoint; this one ends here.
    if (error instanceof ContinuedAsNew) return undefined as unknown as RotationOutput;
    if (error instanceof NeedsAttention) {
      yield* run.events.stopped('needsAttention', error.message);
      return run.finish('needsAttention', error.message);
    }
    run.setStatus('failed', error instanceof Error ? error.message : String(error));
    yield* run.events.stopped('rotationFailed', error instanceof Error ? error.message : String(error));
    throw error;
  }
  run.setStatus('done', `Rotated: consumers use ${run.outcomes.map((o) => o.activeKeyKind).join(' and ')}.`);
  yield* run.events.emit('rotationCompleted', { activeKeyKind: run.outcomes.find((o) => o.pair === 'readWrite')?.activeKeyKind ?? null, durationInSeconds: run.events.durationInSeconds() });
  return run.finish('rotated');
}

function* rotatePair(
  run: RotationRun,
  pairIndex: number,
  pair: KeyPairName,
  secretName: string,
  continued: RotationCheckpoint | undefined,
): Generator<Yielded, PairOutcome, unknown> {
  const { settings, force } = run;
  run.pair = pair;

  if (!continued) run.enterPhase('inspecting', `Reading the keys of ${settings.accountName} and what Key Vault holds.`);
  const facts = continued?.pair.facts ?? (yield* run.inspect(secretName));
  // A rotation is the state of the account and Key Vault: one that stopped after publishing is continued, never reversed.
  // (A continued run decides from the same first inspection, so it follows the same plan.)
  const stopped = whereRotationStopped(pair, facts);
  const plan = stopped.plan;
  run.activeKeyKind = plan.activeKeyKind;
  run.standbyKeyKind = plan.standbyKeyKind;
  const progress: RotationCheckpoint['pair'] = continued?.pair ?? { facts };
  run.progress = { pairIndex, pair: progress };
  const at = continued?.at;

  const resumed: ResumedRotation | undefined = resumedRotationOf(stopped) ?? undefined;
  const oldKeyStage = at?.stage === 'regenerating' && at.keyKind === plan.activeKeyKind;
  if (progress.publishedAt === undefined) {
    const brought =
      resumed?.from === 'waitingForConsumers'
        ? { publishedAt: resumed.publishedAt, secretVersion: null }
        : yield* bringInStandby(run, plan.standbyKeyKind, facts, secretName, resumed, at);
    progress.publishedAt = brought.publishedAt;
    progress.secretVersion = brought.secretVersion;
  }
  const publishedAt = progress.publishedAt;
  const secretVersion = progress.secretVersion ?? null;

  if (progress.consumersMoved === undefined) {
    progress.consumersMoved = force
      ? run.endWait('consumers', 'forced')
      : resumed?.from === 'waitingForConsumers' && run.input.consumersMoved
        ? run.endWait('consumers', 'operator', run.input.consumersMoved)
        : yield* waitForConsumers(run, plan.activeKeyKind, secretName, publishedAt, resumed, facts, at?.stage === 'consumers' ? at : undefined);
  }
  const consumersMoved = progress.consumersMoved;
  if (!oldKeyStage) {
    yield* run.events.waitEnded(consumersMoved);
    run.enterPhase('regeneratingOldKey', `Regenerating the old key ${plan.activeKeyKind}; consumers now use ${plan.standbyKeyKind}.`);
  }
  // The old key must be regenerated after its successor was published; a regeneration in that instant counts.
  yield* regenerate(
    run,
    plan.activeKeyKind,
    {
      notRegeneratedSince: publishedAt,
      generationTimeBefore: facts.keys[plan.activeKeyKind].generationTime,
      waitMaxInHours: settings.consumerWaitMaxInHours,
    },
    oldKeyStage ? at.loop : undefined,
  );
  yield* run.events.waitEnded('idle');
  yield* run.events.emit('oldKeyRegenerated', { keyKind: plan.activeKeyKind, activeKeyKind: plan.standbyKeyKind });

  return {
    pair,
    previousActiveKeyKind: plan.activeKeyKind,
    activeKeyKind: plan.standbyKeyKind,
    // A resumed rotation's standby was regenerated by the run that stopped.
    regenerated: resumed ? [plan.activeKeyKind] : [plan.standbyKeyKind, plan.activeKeyKind],
    secretVersion,
    consumersMoved,
    ...(resumed ? { resumed } : {}),
  };
}

/**
 * Wait while the standby is in use, mark the secret, regenerate the standby,
 * validate it, publish it: consumers can move to it from here. Resuming a
 * rotation that stopped after regenerating it: validate and publish only,
 * under that rotation's ID.
 */
function* bringInStandby(
  run: RotationRun,
  standby: KeyKind,
  facts: InspectAccountResult,
  secretName: string,
  resumed: Extract<ResumedRotation, { from: 'validating' }> | undefined,
  at: RotationCheckpoint['at'] | undefined,
): Generator<Yielded, { publishedAt: string; secretVersion: string }, unknown> {
  const { settings } = run;
  const regenerating = at?.stage === 'regenerating' && at.keyKind === standby ? at.loop : undefined;
  if (resumed) {
    run.enterPhase('validating', `Resuming rotation ${resumed.rotationId}: it regenerated the standby key ${standby} at ${resumed.regeneratedAt} and did not publish it; checking that it is accepted by the data plane.`);
  } else {
    if (!regenerating) {
      if (!run.force) yield* waitForStandbyIdle(run, standby, facts, secretName, at?.stage === 'standbyIdle' ? at : undefined);
      run.enterPhase('regeneratingStandby', `Regenerating the standby key ${standby}.`);
      // The marker makes a stop between this regeneration and publishing visible in Key Vault (whereRotationStopped).
      // It is dated from the run's start, as regenerate()'s "already regenerated" check is: a regeneration an earlier,
      // stopped run left running that finished since then counts for both (dated "now", a third start regenerated it again).
      yield* run.call<MarkRegenerationInput, MarkRegenerationResult>(ACTIVITY_NAMES.markRegeneration, {
        accountId: settings.accountId,
        secretName,
        marker: { rotationId: run.rotationId, keyKind: standby, markedAt: run.startedAt, generationTimeBefore: facts.keys[standby].generationTime },
      });
    }
    yield* regenerate(
      run,
      standby,
      {
        notRegeneratedSince: run.startedAt,
        generationTimeBefore: facts.keys[standby].generationTime,
        waitMaxInHours: settings.standbyWaitMaxInHours,
      },
      regenerating,
    );
    yield* run.events.waitEnded('idle');
    run.enterPhase('validating', `Checking that the new ${standby} key is accepted by the data plane.`);
  }
  const validationSession = yield* validate(run, standby);

  run.enterPhase('publishing', `Publishing ${standby} to Key Vault secret ${secretName}.`);
  const published = yield* run.call<PublishKeyInput, PublishKeyResult>(ACTIVITY_NAMES.publishKey, {
    accountId: settings.accountId,
    keyKind: standby,
    rotationId: resumed?.rotationId ?? run.rotationId,
    secretName,
    connectionStringSecretName: run.pair === 'readWrite' ? settings.connectionStringSecretName : null,
    expiresInDays: settings.secretExpiryInDays,
    validationSession,
  });
  yield* run.events.emit('newKeyPublished', { keyKind: standby, secretName, secretVersion: published.secretVersion, previousKeyKind: run.activeKeyKind ?? standby });
  return { publishedAt: published.publishedAt, secretVersion: published.secretVersion };
}

/**
 * Someone still uses the standby key (a stray consumer), or Key Vault held it
 * until recently (the key counts as used until its successor was published):
 * regenerating it would break them. Wait until it has been idle for the idle
 * window, or give up.
 */
function* waitForStandbyIdle(
  run: RotationRun,
  standby: KeyKind,
  facts: InspectAccountResult,
  secretName: string,
  continued: Extract<RotationCheckpoint['at'], { stage: 'standbyIdle' }> | undefined,
): Generator<Yielded, void, unknown> {
  const deadline = continued ? new Date(continued.deadline) : new Date(run.now().getTime() + run.settings.standbyWaitMaxInHours * HOUR_MS);
  const usedUntil = (current: InspectAccountResult) => keyCountsAsUsedUntil(current.keys[standby].lastUsedAt, successorPublishedAt(standby, current));
  let current = continued?.current ?? facts;
  let waited = continued !== undefined;
  while (!isIdle(usedUntil(current), run.now(), run.idleRule)) {
    const checked = current;
    run.continueIfLong(() => ({ stage: 'standbyIdle', deadline: deadline.toISOString(), current: checked }));
    const lastUsedAt = usedUntil(current);
    if (run.now() >= deadline) {
      run.endWait('standbyIdle', 'boundPassed');
      throw new NeedsAttention(
        `The standby key ${standby} is still in use (in use until at least ${lastUsedAt}) after waiting ${run.settings.standbyWaitMaxInHours} h. ` +
          `A consumer outside Key Vault uses it: move it to the key in secret ${secretName}, then start the rotation again (POST /api/rotations), or start a forced rotation if you are sure.`,
      );
    }
    const checkAt = run.nextUsageCheck(lastUsedAt, deadline);
    run.enterPhase('waitingForStandbyIdle', `The standby key ${standby} is in use until at least ${lastUsedAt}; waiting until it has been idle ${run.settings.idleWindowInHours} h.`, {
      nextCheckAt: checkAt,
      waitDeadline: deadline,
    });
    yield* run.events.waitStarted('standbyIdle', standby, deadline);
    yield* run.sleepUntil(checkAt, `standby key ${standby} in use until at least ${lastUsedAt}`);
    waited = true;
    run.retries.usageChecks += 1;
    current = yield* run.inspect(secretName);
  }
  if (waited) run.endWait('standbyIdle', 'idle');
  yield* run.events.waitEnded('idle');
}

/**
 * Begin a regeneration and follow it with durable timers until it completes.
 * Refused by the safe-rotation check: wait until the key is idle and retry,
 * for `waitMaxInHours` from the first refusal. Busy (another operation, often
 * our own from before a restart) or a regeneration Azure reports Failed: ask
 * again, for MAX_REGENERATION_HOURS from the first such answer.
 */
function* regenerate(
  run: RotationRun,
  keyKind: KeyKind,
  options: { notRegeneratedSince: string; generationTimeBefore: string | null; waitMaxInHours: number },
  continued?: RegenerationLoop,
): Generator<Yielded, void, unknown> {
  if (!continued && !run.force) yield* waitForRotationWindow(run, keyKind);
  const phase = run.phase;
  // The loop's state is one object, so that a continued run picks it up as it was.
  const loop: RegenerationLoop = continued ? { ...continued } : { firstRefusedAt: null, firstTroubleAt: null, refusals: 0, trouble: 0 };
  const checkpoint = () => ({ stage: 'regenerating' as const, keyKind, loop: { ...loop } });
  /** Busy or Failed: wait and ask again, within MAX_REGENERATION_HOURS of the first such answer. */
  const askAgain = function* (what: string, message: string): Generator<Yielded, void, unknown> {
    const firstTroubleAt = (loop.firstTroubleAt ??= run.now().getTime());
    if (run.now().getTime() - firstTroubleAt >= MAX_REGENERATION_HOURS * HOUR_MS) {
      throw new RotationFailure(
        `${run.settings.accountName} could not regenerate ${keyKind} for ${MAX_REGENERATION_HOURS} h (${what}): ${message}. Check the account's activity log; re-running the rotation is safe.`,
      );
    }
    const checkAt = new Date(run.now().getTime() + regenerationPollDelayInSeconds(loop.trouble) * 1000);
    loop.trouble += 1;
    run.enterPhase(phase, `${what} (since ${new Date(firstTroubleAt).toISOString()}); asking again at ${checkAt.toISOString()}.`, { nextCheckAt: checkAt });
    yield* run.sleepUntil(checkAt, `regeneration of ${keyKind}: ${message}`);
  };
  for (;;) {
    if (loop.monitor) {
      // Continued while following a regeneration: follow it on.
      const failure = yield* monitorRegeneration(run, keyKind, loop.monitor.operation, options, loop, checkpoint);
      if (failure === null) break;
      yield* askAgain(`Azure reported the regeneration of ${keyKind} as failed; the key is unchanged`, failure);
      continue;
    }
    // Between refusals and busy answers (not before the first try: a short rotation stays one generation).
    if (loop.refusals + loop.trouble > 0) run.continueIfLong(checkpoint);
    const begun = yield* run.call<BeginRegenerateKeyInput, BeginRegenerateKeyResult>(ACTIVITY_NAMES.beginRegenerateKey, {
      accountId: run.settings.accountId,
      keyKind,
      rotationId: run.rotationId,
      notRegeneratedSince: options.notRegeneratedSince,
      generationTimeBefore: options.generationTimeBefore,
      skipUsageCheck: run.force,
      idleWindowInHours: run.settings.idleWindowInHours,
      usageMarginInMinutes: run.settings.usageMarginInMinutes,
    });
    if (begun.outcome === 'alreadyRegenerated') break;
    if (begun.outcome === 'started') {
      const failure = yield* monitorRegeneration(run, keyKind, begun.operation, options, loop, checkpoint);
      if (failure === null) break;
      yield* askAgain(`Azure reported the regeneration of ${keyKind} as failed; the key is unchanged`, failure);
      continue;
    }
    if (begun.outcome === 'busy') {
      run.retries.busyAnswers += 1;
      yield* askAgain(`Another operation holds ${run.settings.accountName} (likely the regeneration of ${keyKind} already under way)`, begun.message);
      continue;
    }
    loop.refusals += 1;
    const refusals = loop.refusals;
    run.retries.blockedRegenerations += 1;
    const firstRefusedAt = (loop.firstRefusedAt ??= run.now().getTime());
    const deadline = firstRefusedAt + options.waitMaxInHours * HOUR_MS;
    const retryAt = laterOf(new Date(begun.retryAt), new Date(run.now().getTime() + MINUTE_MS));
    if (retryAt.getTime() > deadline) {
      run.endWait('refusals', 'boundPassed');
      throw new NeedsAttention(
        `Azure refused to regenerate ${keyKind} ${refusals} time(s) since ${new Date(firstRefusedAt).toISOString()} because it is still in use (last used ${begun.lastUsedAt ?? 'unknown'}); ` +
          `it would not be idle before ${retryAt.toISOString()}, past ${options.waitMaxInHours} h from the first refusal. ` +
          `Find the consumer still using ${keyKind}, then start the rotation again (POST /api/rotations), or start a forced rotation if you are sure.`,
      );
    }
    run.enterPhase(phase, `Azure's safe-rotation check refused to regenerate ${keyKind} (refusal ${refusals}; used ${begun.lastUsedAt ?? 'recently'}); retrying at ${retryAt.toISOString()}, when it should have been idle.`, {
      nextCheckAt: retryAt,
      waitDeadline: new Date(deadline),
    });
    yield* run.events.waitStarted('refusals', keyKind, new Date(deadline));
    yield* run.sleepUntil(retryAt, `regeneration of ${keyKind} blocked: ${begun.message}`);
  }
  if (loop.refusals > 0) run.endWait('refusals', 'idle');
}

/** Outside the configured rotation windows, wait for the next one to open (a forced rotation does not wait). */
function* waitForRotationWindow(run: RotationRun, keyKind: KeyKind): Generator<Yielded, void, unknown> {
  const windows = run.settings.rotationWindows;
  for (;;) {
    const window = regenerationWindow(windows, run.now());
    if (window.open) return;
    // Re-check at most every 3 days: no timer long enough for the host to slice, and a changed clock is noticed.
    const checkAt = new Date(Math.min(window.opensAt.getTime(), run.now().getTime() + 72 * HOUR_MS));
    run.enterPhase(run.phase, `Waiting for the rotation window (${describeRotationWindows(windows)}), which opens at ${window.opensAt.toISOString()}, before regenerating ${keyKind}.`, {
      nextCheckAt: checkAt,
      windowOpensAt: window.opensAt,
    });
    yield* run.sleepUntil(checkAt, `outside the rotation window (${describeRotationWindows(windows)})`);
  }
}

/** Follows a regeneration until it completes: null when it succeeded, Azure's reason when it reports Failed. */
function* monitorRegeneration(
  run: RotationRun,
  keyKind: KeyKind,
  operation: GetRegenerationStatusInput['operation'],
  since: { notRegeneratedSince: string; generationTimeBefore: string | null },
  loop: RegenerationLoop,
  checkpoint: () => RotationCheckpoint['at'],
): Generator<Yielded, string | null, unknown> {
  const phase = run.phase;
  const begunAt = loop.monitor?.begunAt ?? run.now().getTime();
  const deadline = loop.monitor?.deadline ?? begunAt + MAX_REGENERATION_HOURS * HOUR_MS;
  let retryAfterMs: number | undefined = loop.monitor?.retryAfterMs;
  for (let poll = loop.monitor?.poll ?? 0; ; poll += 1) {
    loop.monitor = { operation, begunAt, deadline, poll, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (poll > 0) run.continueIfLong(checkpoint);
    const delay = regenerationPollDelayInMs({ poll, elapsedMs: run.now().getTime() - begunAt, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(run.regenerationTookMs !== undefined ? { expectedMs: run.regenerationTookMs } : {}) });
    // The last look is at the deadline itself: a regeneration that takes just the bound still counts.
    const checkAt = new Date(Math.min(run.now().getTime() + delay, Math.max(deadline, run.now().getTime() + MINUTE_MS)));
    run.enterPhase(phase, `Azure is regenerating ${keyKind}; this takes from a minute to hours on a large account.`, { nextCheckAt: checkAt });
    yield run.timer(checkAt);
    run.retries.regenerationPolls += 1;
    const status = yield* run.call<GetRegenerationStatusInput, GetRegenerationStatusResult>(ACTIVITY_NAMES.getRegenerationStatus, {
      accountId: run.settings.accountId,
      keyKind,
      operation,
      notRegeneratedSince: since.notRegeneratedSince,
      generationTimeBefore: since.generationTimeBefore,
    });
    if (status.status === 'Succeeded') {
      run.regenerationTookMs = run.now().getTime() - begunAt;
      delete loop.monitor;
      return null;
    }
    if (status.status === 'Failed') {
      delete loop.monitor;
      return status.message ?? 'no reason given';
    }
    retryAfterMs = status.retryAfterInSeconds !== undefined ? status.retryAfterInSeconds * 1000 : undefined;
    if (run.now().getTime() >= deadline) {
      throw new RotationFailure(`Regenerating ${keyKind} has not finished after ${MAX_REGENERATION_HOURS} h. Check the account's activity log; re-running the rotation is safe.`);
    }
  }
}

/**
 * N consecutive successes spread over M minutes: a new key takes a while to be
 * accepted everywhere. The probes share one read of the key (the session);
 * returns the session, whose accepted key publishKey publishes.
 */
function* validate(run: RotationRun, keyKind: KeyKind): Generator<Yielded, string, unknown> {
  const session = `${run.rotationId}/${keyKind}/${run.now().toISOString()}`;
  const needed = run.settings.validationProbeCount;
  const intervalInMs = validationIntervalInMs(needed, run.settings.validationSpreadInMinutes);
  const maxProbes = Math.max(10, needed * 4);
  let consecutive = 0;
  let last: ValidateKeyResult | undefined;
  for (let probe = 1; probe <= maxProbes; probe += 1) {
    last = yield* run.call<ValidateKeyInput, ValidateKeyResult>(ACTIVITY_NAMES.validateKey, { accountId: run.settings.accountId, keyKind, session });
    consecutive = last.accepted ? consecutive + 1 : 0;
    if (!last.accepted) run.retries.validationFailures += 1;
    if (consecutive >= needed) return session;
    const checkAt = new Date(run.now().getTime() + Math.max(intervalInMs, 1000));
    run.enterPhase('validating', `The new ${keyKind} key passed ${consecutive} of ${needed} consecutive probes.`, { nextCheckAt: checkAt });
    yield run.timer(checkAt);
  }
  throw new RotationFailure(
    `The new ${keyKind} key was not accepted by the data plane in ${maxProbes} probes (last: ${last?.status ?? 0} ${last?.reason ?? ''}). ` +
      `Nothing was published, consumers are unaffected; re-running the rotation is safe.`,
  );
}

/**
 * Consumers pick the new key up from Key Vault at their own pace (Key Vault
 * references can lag 24 h). Wait until the old key has been idle for the
 * idle window, or an operator says they moved; bounded by the consumer wait.
 * The old key counts as used at least until its successor was published
 * (keyCountsAsUsedUntil), also when this run resumes a stopped rotation.
 */
function* waitForConsumers(
  run: RotationRun,
  oldKey: KeyKind,
  secretName: string,
  publishedAt: string,
  resumed: ResumedRotation | undefined,
  startFacts: InspectAccountResult,
  continued: Extract<RotationCheckpoint['at'], { stage: 'consumers' }> | undefined,
): Generator<Yielded, 'idle' | 'operator', unknown> {
  const deadline = continued ? new Date(continued.deadline) : new Date(run.now().getTime() + run.settings.consumerWaitMaxInHours * HOUR_MS);
  // Resuming at this wait, the facts this run just read are current: no second read. Right after
  // publishing, the old key counts as used until then (keyCountsAsUsedUntil): it cannot be idle
  // yet, and a read would change nothing but the message; the first check sleeps without one.
  // Continued: the facts the last generation read at its last check, just before it ended.
  const known = continued
    ? continued.current
    : resumed?.from === 'waitingForConsumers' || !isIdle(keyCountsAsUsedUntil(startFacts.keys[oldKey].lastUsedAt, publishedAt), run.now(), run.idleRule)
      ? startFacts
      : null;
  // One event task for the whole wait: a new one per check would leave earlier ones unanswered.
  const operatorSaysMoved = run.context.df.waitForExternalEvent(CONSUMERS_MOVED_EVENT);
  const confirmed = (): 'operator' => run.endWait('consumers', 'operator', (operatorSaysMoved.result as ConsumersMovedEvent | undefined) ?? {});
  const resuming = resumed ? ` (resuming rotation ${resumed.rotationId}, published ${publishedAt})` : '';
  for (let check = 0; ; check += 1) {
    const facts = check === 0 && known ? known : yield* run.inspect(secretName);
    // The event may have come while that inspection ran; Task.any does not look at a task already done.
    if (operatorSaysMoved.isCompleted) return confirmed();
    const lastUsedAt = keyCountsAsUsedUntil(facts.keys[oldKey].lastUsedAt, publishedAt)!;
    if (isIdle(lastUsedAt, run.now(), run.idleRule)) return run.endWait('consumers', 'idle');
    if (run.now() >= deadline) {
      run.endWait('consumers', 'boundPassed');
      throw new NeedsAttention(
        `Consumers still use the old key ${oldKey} (in use until at least ${lastUsedAt}) ${run.settings.consumerWaitMaxInHours} h after the new key was published to ${secretName}. ` +
          `It was not regenerated. Restart or fix those consumers, then confirm with POST /api/rotations/${run.settings.accountName}/consumers-moved (Azure's safe-rotation check still applies) ` +
          `or start the rotation again (POST /api/rotations), which resumes this wait.`,
      );
    }
    // A long wait continues as new here, between a check and the next timer, the operator's event not in yet.
    // (durable-functions 3.5.0 cannot carry events over: one raised in the very instant of the hand-over is lost;
    // the wait then ends when the key is idle, or at its bound, as without the event.)
    if (check > 0) run.continueIfLong(() => ({ stage: 'consumers', deadline: deadline.toISOString(), current: facts }));
    const checkAt = run.nextUsageCheck(lastUsedAt, deadline);
    run.enterPhase('waitingForConsumers', `Waiting for consumers to leave ${oldKey} (in use until at least ${lastUsedAt}; idle from ${idleFrom(lastUsedAt, run.idleRule)?.toISOString()}), or an operator's consumers-moved${resuming}.`, {
      nextCheckAt: checkAt,
      waitDeadline: deadline,
    });
    yield* run.events.waitStarted('consumers', oldKey, deadline);
    const from = run.now().toISOString();
    const timer: TimerTask = run.timer(checkAt);
    const winner = yield run.context.df.Task.any([operatorSaysMoved, timer]);
    run.waits.push({ pair: run.pair, phase: 'waitingForConsumers', reason: `old key ${oldKey} in use until at least ${lastUsedAt}`, from, until: run.now().toISOString() });
    if (winner === operatorSaysMoved) {
      if (!timer.isCompleted) timer.cancel();
      return confirmed();
    }
    run.retries.usageChecks += 1;
  }
}

interface StatusWait {
  nextCheckAt?: Date;
  waitDeadline?: Date;
  windowOpensAt?: Date;
}

/** The state of one run, rebuilt identically on every replay. */
class RotationRun {
  readonly settings: AccountRotationSettings;
  readonly force: boolean;
  readonly rotationId: string;
  readonly startedAt: string;
  readonly idleRule: IdleRule;
  readonly outcomes: PairOutcome[] = [];
  readonly phases: PhaseRecord[] = [];
  readonly waits: WaitRecord[] = [];
  readonly waitEndings: WaitEnding[] = [];
  readonly retries = { blockedRegenerations: 0, validationFailures: 0, regenerationPolls: 0, usageChecks: 0, outageRetries: 0, busyAnswers: 0 };
  /** How long this run's last regeneration took (as its polls saw it): the next one, on the same account, likely takes as long. */
  regenerationTookMs?: number;
  /** The pair being rotated and what it has done: what a checkpoint carries. */
  progress: { pairIndex: number; pair: RotationCheckpoint['pair'] } = { pairIndex: 0, pair: { facts: undefined as never } };
  /** Tasks yielded in this generation, and how many generations came before. */
  private yields = 0;
  private readonly generation: number;
  pair: KeyPairName = 'readWrite';
  phase: RotationPhase = 'inspecting';
  activeKeyKind?: KeyKind;
  standbyKeyKind?: KeyKind;
  readonly events: RotationEventLog;
  private phaseStartedAt: string;

  constructor(
    readonly context: OrchestrationContext,
    readonly input: RotationInput,
  ) {
    this.settings = input.settings;
    this.force = input.force === true;
    const carried = input.continued?.run;
    this.startedAt = carried?.startedAt ?? this.now().toISOString();
    this.phaseStartedAt = carried?.phaseStartedAt ?? this.startedAt;
    this.rotationId = carried?.rotationId ?? rotationIdFor(this.settings.accountName, this.now());
    this.generation = carried ? carried.generation + 1 : 0;
    if (carried) {
      this.pair = carried.pair;
      this.phase = carried.phase;
      if (carried.activeKeyKind) this.activeKeyKind = carried.activeKeyKind;
      if (carried.standbyKeyKind) this.standbyKeyKind = carried.standbyKeyKind;
      this.outcomes.push(...carried.outcomes);
      this.phases.push(...carried.phases);
      this.waits.push(...carried.waits);
      this.waitEndings.push(...carried.waitEndings);
      Object.assign(this.retries, carried.retries);
      if (carried.regenerationTookMs !== undefined) this.regenerationTookMs = carried.regenerationTookMs;
    }
    this.idleRule = { idleWindowInHours: this.settings.idleWindowInHours, usageMarginInMinutes: this.settings.usageMarginInMinutes };
    this.events = new RotationEventLog(
      context,
      { ...this.settings, rotationId: this.rotationId, startedAt: this.startedAt, where: () => ({ pair: this.pair, phase: this.phase }), yielded: () => void (this.yields += 1) },
      carried?.events,
    );
  }

  /**
   * At a long wait's step: when this generation has yielded TASKS_PER_GENERATION
   * tasks, hand over to a new generation (continueAsNew) with everything the
   * run knows and where the wait stands (`at`), and end this one.
   */
  continueIfLong(at: () => RotationCheckpoint['at']): void {
    if (this.yields < TASKS_PER_GENERATION) return;
    const checkpoint: RotationCheckpoint = {
      run: {
        rotationId: this.rotationId,
        startedAt: this.startedAt,
        phaseStartedAt: this.phaseStartedAt,
        pair: this.pair,
        phase: this.phase,
        ...(this.activeKeyKind ? { activeKeyKind: this.activeKeyKind } : {}),
        ...(this.standbyKeyKind ? { standbyKeyKind: this.standbyKeyKind } : {}),
        outcomes: this.outcomes,
        phases: this.phases,
        waits: this.waits,
        waitEndings: this.waitEndings,
        retries: this.retries,
        ...(this.regenerationTookMs !== undefined ? { regenerationTookMs: this.regenerationTookMs } : {}),
        events: this.events.state(),
        generation: this.generation,
      },
      pairIndex: this.progress.pairIndex,
      pair: this.progress.pair,
      at: at(),
    };
    this.context.df.continueAsNew({ ...this.input, continued: checkpoint } satisfies RotationInput);
    throw new ContinuedAsNew();
  }

  now(): Date {
    return this.context.df.currentUtcDateTime;
  }

  /** Records the end of the previous phase (when it changes) and shows the new status. */
  enterPhase(phase: RotationPhase, message: string, wait: StatusWait = {}): void {
    const now = this.now().toISOString();
    if (phase !== this.phase) {
      this.phases.push({ pair: this.pair, phase: this.phase, startedAt: this.phaseStartedAt, endedAt: now });
      this.phase = phase;
      this.phaseStartedAt = now;
    }
    this.setStatus(phase, message, wait);
  }

  setStatus(phase: RotationPhase, message: string, wait: StatusWait = {}): void {
    const status: RotationStatus = {
      rotationId: this.rotationId,
      accountId: this.settings.accountId,
      pair: this.pair,
      phase,
      message,
      force: this.force,
      phaseStartedAt: this.phaseStartedAt,
    };
    if (this.activeKeyKind) status.activeKeyKind = this.activeKeyKind;
    if (this.standbyKeyKind) status.standbyKeyKind = this.standbyKeyKind;
    if (wait.nextCheckAt) status.nextCheckAt = wait.nextCheckAt.toISOString();
    if (wait.waitDeadline) status.waitDeadline = wait.waitDeadline.toISOString();
    if (wait.windowOpensAt) status.windowOpensAt = wait.windowOpensAt.toISOString();
    this.context.df.setCustomStatus(status);
  }

  /** When to look again at a key used at `lastUsedAt`: not before it could be idle, never after `deadline`. */
  nextUsageCheck(lastUsedAt: string | null, deadline: Date): Date {
    return nextUsageCheck({
      now: this.now(),
      lastUsedAt,
      rule: this.idleRule,
      checkIntervalInMinutes: this.settings.consumerCheckIntervalInMinutes,
      deadline,
    });
  }

  /** Reads the account's facts; an account whose keys no longer work (disableLocalAuth) stops the rotation, at the start or mid-way. */
  *inspect(secretName: string): Generator<Yielded, InspectAccountResult, unknown> {
    const facts = yield* this.call<InspectAccountInput, InspectAccountResult>(ACTIVITY_NAMES.inspectAccount, {
      accountId: this.settings.accountId,
      pair: this.pair,
      secretName,
    });
    if (facts.disableLocalAuth) {
      const when = this.phase === 'inspecting' ? '' : ` (turned on while the rotation was ${this.phase})`;
      throw new RotationFailure(
        `Account ${this.settings.accountName} has local (key) authentication disabled (disableLocalAuth)${when}: Cosmos DB refuses every key, so no consumer can use them and there is nothing to rotate. ` +
          `Remove it from ROTATION_TARGETS, or turn disableLocalAuth off and start the rotation again.`,
      );
    }
    return facts;
  }

  /** Records how a wait ended; returns how, for the pair's outcome. */
  endWait<E extends WaitEnding['ended']>(wait: WaitEnding['wait'], ended: E, operator: ConsumersMovedEvent = {}): E {
    const ending: WaitEnding = { pair: this.pair, wait, ended, at: this.now().toISOString() };
    if (ended === 'operator') {
      if (operator.by !== undefined) ending.by = operator.by;
      if (operator.note !== undefined) ending.note = operator.note;
    }
    this.waitEndings.push(ending);
    return ended;
  }

  /**
   * Calls an activity. Transient failures are retried by Durable with backoff;
   * when those retries are spent (an outage longer than minutes), it waits with
   * durable timers, honouring Retry-After, and tries again, for the phase's
   * bound (outageBoundInHours) from the first spent attempt. A permanent
   * failure fails the rotation with its reason.
   */
  *call<I, O>(name: string, input: I): Generator<Yielded, O, unknown> {
    let firstFailureAt: number | null = null;
    const boundInHours = outageBoundInHours(this.phase, this.settings);
    for (let attempt = 0; ; attempt += 1) {
      let result: ActivityResult<O>;
      try {
        this.yields += 1;
        result = (yield this.context.df.callActivityWithRetry(name, ACTIVITY_RETRY, input)) as ActivityResult<O>;
      } catch (error) {
        const failure = activityFailureOf(error);
        firstFailureAt ??= this.now().getTime();
        const giveUpAt = firstFailureAt + boundInHours * HOUR_MS;
        if (this.now().getTime() >= giveUpAt) {
          throw new RotationFailure(
            `${name} kept failing for ${boundInHours} h (the bound of ${this.phase}): ${failure.reason}. The keys are safe; re-running the rotation is safe.`,
          );
        }
        const retryAt = new Date(Math.min(giveUpAt, this.now().getTime() + outageRetryDelayInMs(attempt, failure.retryAfterInMs)));
        this.retries.outageRetries += 1;
        this.setStatus(this.phase, `${name} is failing (${failure.reason}); trying again at ${retryAt.toISOString()}, until ${new Date(giveUpAt).toISOString()}.`, {
          nextCheckAt: retryAt,
          waitDeadline: new Date(giveUpAt),
        });
        yield* this.sleepUntil(retryAt, `${name} failing: ${failure.reason}`);
        continue;
      }
      if (!result.ok) throw new RotationFailure(`${name} failed during ${this.phase}: ${result.error.message}`);
      return result.value;
    }
  }

  /** A timer the caller yields itself (counted for the generation). */
  timer(fireAt: Date): TimerTask {
    this.yields += 1;
    return createBoundedTimer(this.context, fireAt);
  }

  *sleepUntil(until: Date, reason: string): Generator<Yielded, void, unknown> {
    const from = this.now().toISOString();
    this.yields += 1;
    yield* sleepUntil(this.context, until);
    this.waits.push({ pair: this.pair, phase: this.phase, reason, from, until: this.now().toISOString() });
  }

  finish(outcome: RotationOutput['outcome'], attentionMessage?: string): RotationOutput {
    const finishedAt = this.now().toISOString();
    this.phases.push({ pair: this.pair, phase: this.phase, startedAt: this.phaseStartedAt, endedAt: finishedAt });
    const output: RotationOutput = {
      rotationId: this.rotationId,
      accountId: this.settings.accountId,
      outcome,
      force: this.force,
      reason: this.input.reason ?? null,
      requestedBy: this.input.requestedBy ?? null,
      startedAt: this.startedAt,
      finishedAt,
      pairs: this.outcomes,
      activeKeyKind: this.outcomes.find((o) => o.pair === 'readWrite')?.activeKeyKind ?? null,
      phases: this.phases,
      waits: this.waits,
      waitEndings: this.waitEndings,
      retries: this.retries,
    };
    if (attentionMessage !== undefined) {
      output.attention = { phase: this.phase, pair: this.pair, message: attentionMessage };
      this.setStatus('needsAttention', attentionMessage);
    }
    return output;
  }
}

function laterOf(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}
