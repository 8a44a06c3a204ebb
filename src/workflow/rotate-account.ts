/**
 * The rotation of one Cosmos DB account, as a durable orchestration. It reads
 * like the runbook: inspect, wait while the standby is in use, regenerate the
 * standby, validate it, publish it, wait for consumers, regenerate the old key.
 *
 * Replay rules: this code runs again from the top on every episode. It reads
 * time only from context.df.currentUtcDateTime, does I/O only through
 * activities, and takes its settings as input (ESLint enforces all three).
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import {
  ACTIVITY_NAMES,
  type ActivityResult,
  type BeginRegenerateKeyInput,
  type BeginRegenerateKeyResult,
  type GetRegenerationStatusInput,
  type GetRegenerationStatusResult,
  type InspectAccountInput,
  type InspectAccountResult,
  type PublishKeyInput,
  type PublishKeyResult,
  type ValidateKeyInput,
  type ValidateKeyResult,
} from '../activities/contracts.js';
import type { KeyKind, KeyPairName } from '../domain/keys.js';
import {
  idleFrom,
  isIdle,
  nextUsageCheck,
  oldKeyInUseUntil,
  planPair,
  regenerationPollDelayInSeconds,
  rotationIdFor,
  validationIntervalInMs,
  type IdleRule,
} from '../domain/rotation-plan.js';
import { rotatedPairs, type AccountRotationSettings } from '../domain/settings.js';
import {
  CONSUMERS_MOVED_EVENT,
  type ConsumersMovedEvent,
  type PairOutcome,
  type PhaseRecord,
  type RotationInput,
  type RotationOutput,
  type RotationPhase,
  type RotationStatus,
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
/**
 * ARM refuses a key used within 12 h. Usage times lag, so a refusal can come
 * before the use that caused it is visible, and each refusal then only says
 * "look again soon": allow several, within the phase's wait bound.
 */
export const MAX_BLOCKED_REGENERATIONS = 8;
/** A regeneration can take hours on a large account; past this something is wrong. */
export const MAX_REGENERATION_HOURS = 24;

type Yielded = Task;

/** A permanent failure: the orchestration fails with this message (it names the fix). */
export class RotationFailure extends Error {
  override readonly name = 'RotationFailure';
}

/** Stops the rotation without failing it: the outcome is needsAttention. */
class NeedsAttention extends Error {
  override readonly name = 'NeedsAttention';
}

export function* rotateAccountOrchestrator(context: OrchestrationContext): Generator<Yielded, RotationOutput, unknown> {
  const input = context.df.getInput<RotationInput>();
  const settings = input.settings;
  const run = new RotationRun(context, input);
  try {
    for (const { pair, secretName } of rotatedPairs(settings)) {
      run.outcomes.push(yield* rotatePair(run, pair, secretName));
    }
  } catch (error) {
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

function* rotatePair(run: RotationRun, pair: KeyPairName, secretName: string): Generator<Yielded, PairOutcome, unknown> {
  const { settings, force } = run;
  run.pair = pair;

  run.enterPhase('inspecting', `Reading the keys of ${settings.accountName} and what Key Vault holds.`);
  const facts = yield* run.inspect(secretName);
  if (facts.disableLocalAuth) {
    throw new RotationFailure(
      `Account ${settings.accountName} has local (key) authentication disabled: no consumer can use its keys, so there is nothing to rotate. Remove it from ROTATION_TARGETS.`,
    );
  }
  const plan = planPair(pair, facts);
  run.activeKeyKind = plan.activeKeyKind;
  run.standbyKeyKind = plan.standbyKeyKind;

  if (!force) yield* waitForStandbyIdle(run, plan.standbyKeyKind, facts, secretName);

  run.enterPhase('regeneratingStandby', `Regenerating the standby key ${plan.standbyKeyKind}.`);
  yield* regenerate(run, plan.standbyKeyKind, settings.standbyWaitMaxInHours);
  yield* run.events.waitEnded('idle');

  run.enterPhase('validating', `Checking that the new ${plan.standbyKeyKind} key is accepted by the data plane.`);
  yield* validate(run, plan.standbyKeyKind);

  run.enterPhase('publishing', `Publishing ${plan.standbyKeyKind} to Key Vault secret ${secretName}.`);
  const published = yield* run.call<PublishKeyInput, PublishKeyResult>(ACTIVITY_NAMES.publishKey, {
    accountId: settings.accountId,
    keyKind: plan.standbyKeyKind,
    rotationId: run.rotationId,
    secretName,
    connectionStringSecretName: pair === 'readWrite' ? settings.connectionStringSecretName : null,
    expiresInDays: settings.secretExpiryInDays,
  });
  yield* run.events.emit('newKeyPublished', { keyKind: plan.standbyKeyKind, secretName, secretVersion: published.secretVersion, previousKeyKind: plan.activeKeyKind });

  const consumersMoved = force ? 'forced' : yield* waitForConsumers(run, plan.activeKeyKind, secretName, run.now().toISOString());
  yield* run.events.waitEnded(consumersMoved);

  run.enterPhase('regeneratingOldKey', `Regenerating the old key ${plan.activeKeyKind}; consumers now use ${plan.standbyKeyKind}.`);
  yield* regenerate(run, plan.activeKeyKind, settings.consumerWaitMaxInHours);
  yield* run.events.waitEnded('idle');
  yield* run.events.emit('oldKeyRegenerated', { keyKind: plan.activeKeyKind, activeKeyKind: plan.standbyKeyKind });

  return {
    pair,
    previousActiveKeyKind: plan.activeKeyKind,
    activeKeyKind: plan.standbyKeyKind,
    regenerated: [plan.standbyKeyKind, plan.activeKeyKind],
    secretVersion: published.secretVersion,
    consumersMoved,
  };
}

/**
 * Someone still uses the standby key (a stray consumer): regenerating it would
 * break them. Wait until it has been idle for the idle window, or give up.
 */
function* waitForStandbyIdle(
  run: RotationRun,
  standby: KeyKind,
  facts: InspectAccountResult,
  secretName: string,
): Generator<Yielded, void, unknown> {
  const deadline = new Date(run.now().getTime() + run.settings.standbyWaitMaxInHours * HOUR_MS);
  let current = facts;
  while (!isIdle(current.keys[standby].lastUsedAt, run.now(), run.idleRule)) {
    const lastUsedAt = current.keys[standby].lastUsedAt;
    if (run.now() >= deadline) {
      throw new NeedsAttention(
        `The standby key ${standby} is still in use (last used ${lastUsedAt}) after waiting ${run.settings.standbyWaitMaxInHours} h. ` +
          `A consumer outside Key Vault uses it: move it to the key in secret ${secretName}, or start a forced rotation if you are sure.`,
      );
    }
    const checkAt = run.nextUsageCheck(lastUsedAt, deadline);
    run.enterPhase('waitingForStandbyIdle', `The standby key ${standby} was used at ${lastUsedAt}; waiting until it has been idle ${run.settings.idleWindowInHours} h.`, {
      nextCheckAt: checkAt,
      waitDeadline: deadline,
    });
    yield* run.events.waitStarted('standbyIdle', standby, deadline);
    yield* run.sleepUntil(checkAt, `standby key ${standby} used at ${lastUsedAt}`);
    run.retries.usageChecks += 1;
    current = yield* run.inspect(secretName);
  }
  yield* run.events.waitEnded('idle');
}

/**
 * Begin a regeneration and follow it with durable timers until it completes.
 * Refused by the safe-rotation check: wait until the key is idle and retry,
 * within `waitMaxInHours`.
 */
function* regenerate(run: RotationRun, keyKind: KeyKind, waitMaxInHours: number): Generator<Yielded, void, unknown> {
  const phase = run.phase;
  const deadline = run.now().getTime() + waitMaxInHours * HOUR_MS;
  const busyUntil = run.now().getTime() + MAX_REGENERATION_HOURS * HOUR_MS;
  let blocked = 0;
  let busy = 0;
  for (;;) {
    const begun = yield* run.call<BeginRegenerateKeyInput, BeginRegenerateKeyResult>(ACTIVITY_NAMES.beginRegenerateKey, {
      accountId: run.settings.accountId,
      keyKind,
      rotationId: run.rotationId,
      notRegeneratedSince: run.startedAt,
      skipUsageCheck: run.force,
      idleWindowInHours: run.settings.idleWindowInHours,
      usageMarginInMinutes: run.settings.usageMarginInMinutes,
    });
    if (begun.outcome === 'alreadyRegenerated') return;
    if (begun.outcome === 'started') {
      yield* monitorRegeneration(run, keyKind, begun.operation);
      return;
    }
    if (begun.outcome === 'busy') {
      // Usually our own regeneration, started before a restart lost its handle: it finishes on its own.
      if (run.now().getTime() >= busyUntil) {
        throw new RotationFailure(`${run.settings.accountName} has been busy with another operation for ${MAX_REGENERATION_HOURS} h: ${begun.message}`);
      }
      const checkAt = new Date(run.now().getTime() + regenerationPollDelayInSeconds(busy) * 1000);
      busy += 1;
      run.enterPhase(phase, `Another operation holds ${run.settings.accountName} (likely the regeneration of ${keyKind} already under way); asking again.`, {
        nextCheckAt: checkAt,
      });
      yield* run.sleepUntil(checkAt, `account busy: ${begun.message}`);
      continue;
    }
    blocked += 1;
    run.retries.blockedRegenerations += 1;
    const retryAt = laterOf(new Date(begun.retryAt), new Date(run.now().getTime() + MINUTE_MS));
    if (blocked >= MAX_BLOCKED_REGENERATIONS || retryAt.getTime() > deadline) {
      throw new NeedsAttention(
        `Azure refused to regenerate ${keyKind} ${blocked} time(s) because it is still in use (last used ${begun.lastUsedAt ?? 'unknown'}; idle from ${begun.retryAt}), ` +
          `and that is past this phase's ${waitMaxInHours} h bound. Find the consumer still using ${keyKind}, or start a forced rotation if you are sure.`,
      );
    }
    run.enterPhase(phase, `Azure's safe-rotation check refused to regenerate ${keyKind} (refusal ${blocked}; used ${begun.lastUsedAt ?? 'recently'}); retrying at ${retryAt.toISOString()}, when it should have been idle.`, {
      nextCheckAt: retryAt,
    });
    yield* run.events.waitStarted('refusals', keyKind, new Date(deadline));
    yield* run.sleepUntil(retryAt, `regeneration of ${keyKind} blocked: ${begun.message}`);
  }
}

function* monitorRegeneration(
  run: RotationRun,
  keyKind: KeyKind,
  operation: GetRegenerationStatusInput['operation'],
): Generator<Yielded, void, unknown> {
  const phase = run.phase;
  const deadline = run.now().getTime() + MAX_REGENERATION_HOURS * HOUR_MS;
  for (let poll = 0; ; poll += 1) {
    const checkAt = new Date(run.now().getTime() + regenerationPollDelayInSeconds(poll) * 1000);
    run.enterPhase(phase, `Azure is regenerating ${keyKind}; this takes from a minute to hours on a large account.`, { nextCheckAt: checkAt });
    yield createBoundedTimer(run.context, checkAt);
    run.retries.regenerationPolls += 1;
    const status = yield* run.call<GetRegenerationStatusInput, GetRegenerationStatusResult>(ACTIVITY_NAMES.getRegenerationStatus, {
      accountId: run.settings.accountId,
      keyKind,
      operation,
      notRegeneratedSince: run.startedAt,
    });
    if (status.status === 'Succeeded') return;
    if (status.status === 'Failed') {
      throw new RotationFailure(`Azure failed to regenerate ${keyKind}: ${status.message ?? 'no reason given'}. The keys are as they were before this step; re-running the rotation is safe.`);
    }
    if (run.now().getTime() >= deadline) {
      throw new RotationFailure(`Regenerating ${keyKind} has not finished after ${MAX_REGENERATION_HOURS} h. Check the account's activity log; re-running the rotation is safe.`);
    }
  }
}

/** N consecutive successes spread over M minutes: a new key takes a while to be accepted everywhere. */
function* validate(run: RotationRun, keyKind: KeyKind): Generator<Yielded, void, unknown> {
  const needed = run.settings.validationProbeCount;
  const intervalInMs = validationIntervalInMs(needed, run.settings.validationSpreadInMinutes);
  const maxProbes = Math.max(10, needed * 4);
  let consecutive = 0;
  let last: ValidateKeyResult | undefined;
  for (let probe = 1; probe <= maxProbes; probe += 1) {
    last = yield* run.call<ValidateKeyInput, ValidateKeyResult>(ACTIVITY_NAMES.validateKey, { accountId: run.settings.accountId, keyKind });
    consecutive = last.accepted ? consecutive + 1 : 0;
    if (!last.accepted) run.retries.validationFailures += 1;
    if (consecutive >= needed) return;
    const checkAt = new Date(run.now().getTime() + Math.max(intervalInMs, 1000));
    run.enterPhase('validating', `The new ${keyKind} key passed ${consecutive} of ${needed} consecutive probes.`, { nextCheckAt: checkAt });
    yield createBoundedTimer(run.context, checkAt);
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
 *
 * Until the new key was published, the old key was the only one consumers
 * could have: it counts as used at least until then, whatever the (lagging,
 * approximate) usage report says so far.
 */
function* waitForConsumers(
  run: RotationRun,
  oldKey: KeyKind,
  secretName: string,
  publishedAt: string,
): Generator<Yielded, 'idle' | 'operator', unknown> {
  const deadline = new Date(run.now().getTime() + run.settings.consumerWaitMaxInHours * HOUR_MS);
  // One event task for the whole wait: a new one per check would leave earlier ones unanswered.
  const operatorSaysMoved = run.context.df.waitForExternalEvent(CONSUMERS_MOVED_EVENT);
  const confirmed = (): 'operator' => {
    const event = operatorSaysMoved.result as ConsumersMovedEvent | undefined;
    run.operatorConfirmations.push({ at: run.now().toISOString(), by: event?.by ?? null });
    return 'operator';
  };
  for (;;) {
    const facts = yield* run.inspect(secretName);
    // The event may have come while that inspection ran; Task.any does not look at a task already done.
    if (operatorSaysMoved.isCompleted) return confirmed();
    const lastUsedAt = oldKeyInUseUntil(facts.keys[oldKey].lastUsedAt, publishedAt);
    if (isIdle(lastUsedAt, run.now(), run.idleRule)) return 'idle';
    if (run.now() >= deadline) {
      throw new NeedsAttention(
        `Consumers still use the old key ${oldKey} (in use until at least ${lastUsedAt}) ${run.settings.consumerWaitMaxInHours} h after the new key was published to ${secretName}. ` +
          `It was not regenerated. Restart or fix those consumers, then confirm with consumers-moved or re-run the rotation.`,
      );
    }
    const checkAt = run.nextUsageCheck(lastUsedAt, deadline);
    run.enterPhase('waitingForConsumers', `Waiting for consumers to leave ${oldKey} (in use until at least ${lastUsedAt}; idle from ${idleFrom(lastUsedAt, run.idleRule)?.toISOString()}), or an operator's consumers-moved.`, {
      nextCheckAt: checkAt,
      waitDeadline: deadline,
    });
    const from = run.now().toISOString();
    const timer: TimerTask = createBoundedTimer(run.context, checkAt);
    yield* run.events.waitStarted('consumers', oldKey, deadline);
    const winner = yield run.context.df.Task.any([operatorSaysMoved, timer]);
    run.waits.push({ pair: run.pair, phase: 'waitingForConsumers', reason: `old key ${oldKey} in use until at least ${lastUsedAt}`, from, until: run.now().toISOString() });
    if (winner === operatorSaysMoved) {
      if (!timer.isCompleted) timer.cancel();
      return confirmed();
    }
    run.retries.usageChecks += 1;
  }
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
  readonly operatorConfirmations: { at: string; by: string | null }[] = [];
  readonly retries = { blockedRegenerations: 0, validationFailures: 0, regenerationPolls: 0, usageChecks: 0 };
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
    this.startedAt = this.now().toISOString();
    this.phaseStartedAt = this.startedAt;
    this.rotationId = rotationIdFor(this.settings.accountName, this.now());
    this.idleRule = { idleWindowInHours: this.settings.idleWindowInHours, usageMarginInMinutes: this.settings.usageMarginInMinutes };
    this.events = new RotationEventLog(context, { ...this.settings, rotationId: this.rotationId, startedAt: this.startedAt, where: () => ({ pair: this.pair, phase: this.phase }) });
  }

  now(): Date {
    return this.context.df.currentUtcDateTime;
  }

  /** Records the end of the previous phase (when it changes) and shows the new status. */
  enterPhase(phase: RotationPhase, message: string, wait: { nextCheckAt?: Date; waitDeadline?: Date } = {}): void {
    const now = this.now().toISOString();
    if (phase !== this.phase) {
      this.phases.push({ pair: this.pair, phase: this.phase, startedAt: this.phaseStartedAt, endedAt: now });
      this.phase = phase;
      this.phaseStartedAt = now;
    }
    this.setStatus(phase, message, wait);
  }

  setStatus(phase: RotationPhase, message: string, wait: { nextCheckAt?: Date; waitDeadline?: Date } = {}): void {
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

  *inspect(secretName: string): Generator<Yielded, InspectAccountResult, unknown> {
    return yield* this.call<InspectAccountInput, InspectAccountResult>(ACTIVITY_NAMES.inspectAccount, {
      accountId: this.settings.accountId,
      pair: this.pair,
      secretName,
    });
  }

  /** Calls an activity with retries for transient failures; a permanent failure fails the rotation with its reason. */
  *call<I, O>(name: string, input: I): Generator<Yielded, O, unknown> {
    let result: ActivityResult<O>;
    try {
      result = (yield this.context.df.callActivityWithRetry(name, ACTIVITY_RETRY, input)) as ActivityResult<O>;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new RotationFailure(
        `${name} kept failing after ${ACTIVITY_RETRY.maxNumberOfAttempts} attempts during ${this.phase}: ${message}. The keys are safe; re-running the rotation is safe.`,
      );
    }
    if (!result.ok) throw new RotationFailure(`${name} failed during ${this.phase}: ${result.error.message}`);
    return result.value;
  }

  *sleepUntil(until: Date, reason: string): Generator<Yielded, void, unknown> {
    const from = this.now().toISOString();
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
