/**
 * What the API shows of a rotation instance: its state in operator terms, the
 * custom status (phase, waits), the output summary and, for a cancelled one,
 * what the keys look like now. Fields are picked one by one from our own
 * types, so nothing the orchestrator might add later leaks out unseen. The
 * orchestrator never puts key material in any of them.
 */
import type { DurableOrchestrationStatus } from 'durable-functions';
import type { RotationTarget } from '../config.js';
import { redactSecrets } from '../errors.js';
import type { RotationInput, RotationOutput, RotationPhase, RotationStatus } from '../workflow/rotation-types.js';
import { isActive, rotationOutputOf, rotationStatusOf, toIso } from './rotation-instance.js';

export type RotationState = 'pending' | 'running' | 'rotated' | 'needsAttention' | 'failed' | 'cancelled';

export interface AccountRef {
  name: string;
  resourceId: string;
}

export interface InterruptionView {
  /** The phase the rotation was in when it was cancelled. */
  phase: RotationPhase | null;
  /** The reason given with the cancel. */
  reason: string | null;
  /** Where the keys stand now. */
  keys: string;
  rerunSafe: true;
  rerun: string;
}

export interface RotationView {
  account: AccountRef;
  instanceId: string;
  state: RotationState;
  runtimeStatus: string;
  createdAt: string | null;
  lastUpdatedAt: string | null;
  requestedBy: string | null;
  reason: string | null;
  force: boolean;
  /** The orchestration's custom status: phase, message, key kinds, waits. */
  status: RotationStatus | null;
  /** The summary a finished rotation returned. */
  output: RotationSummaryView | null;
  failure: { message: string } | null;
  interruption: InterruptionView | null;
}

export type RotationSummaryView = Pick<
  RotationOutput,
  'rotationId' | 'outcome' | 'force' | 'reason' | 'requestedBy' | 'startedAt' | 'finishedAt' | 'activeKeyKind' | 'pairs' | 'phases' | 'waits' | 'waitEndings' | 'retries' | 'attention'
>;

const MAX_FAILURE_MESSAGE_LENGTH = 1000;

export function rotationState(status: Pick<DurableOrchestrationStatus, 'runtimeStatus' | 'output'>): RotationState {
  const runtimeStatus = String(status.runtimeStatus);
  if (runtimeStatus === 'Pending') return 'pending';
  if (isActive(status)) return 'running';
  if (runtimeStatus === 'Failed') return 'failed';
  if (runtimeStatus === 'Terminated' || runtimeStatus === 'Canceled') return 'cancelled';
  return rotationOutputOf(status)?.outcome === 'needsAttention' ? 'needsAttention' : 'rotated';
}

export function rotationView(target: RotationTarget, status: DurableOrchestrationStatus): RotationView {
  const custom = rotationStatusOf(status);
  const input = inputOf(status.input);
  const state = rotationState(status);
  const output = rotationOutputOf(status);
  return {
    account: accountRef(target),
    instanceId: status.instanceId,
    state,
    runtimeStatus: String(status.runtimeStatus),
    // Stable over continueAsNew (a long wait starts a new generation of the same instance).
    createdAt: input?.continued?.run.startedAt ?? toIso(status.createdTime),
    lastUpdatedAt: toIso(status.lastUpdatedTime),
    requestedBy: input?.requestedBy ?? output?.requestedBy ?? null,
    reason: input?.reason ?? output?.reason ?? null,
    force: input?.force ?? output?.force ?? custom?.force ?? false,
    status: custom ? pickStatus(custom) : null,
    output: output ? pickOutput(output) : null,
    failure: state === 'failed' ? { message: failureMessage(status, custom) } : null,
    interruption: state === 'cancelled' ? interruptionOf(custom?.phase ?? null, typeof status.output === 'string' ? status.output : null) : null,
  };
}

export function accountRef(target: RotationTarget): AccountRef {
  return { name: target.name, resourceId: target.accountId };
}

export function inputOf(input: unknown): Partial<RotationInput> | null {
  return input && typeof input === 'object' ? (input as Partial<RotationInput>) : null;
}

function pickStatus(status: RotationStatus): RotationStatus {
  const picked: RotationStatus = {
    rotationId: status.rotationId,
    accountId: status.accountId,
    pair: status.pair,
    phase: status.phase,
    message: status.message,
    force: status.force,
    phaseStartedAt: status.phaseStartedAt,
  };
  if (status.activeKeyKind) picked.activeKeyKind = status.activeKeyKind;
  if (status.standbyKeyKind) picked.standbyKeyKind = status.standbyKeyKind;
  if (status.nextCheckAt) picked.nextCheckAt = status.nextCheckAt;
  if (status.waitDeadline) picked.waitDeadline = status.waitDeadline;
  if (status.windowOpensAt) picked.windowOpensAt = status.windowOpensAt;
  return picked;
}

function pickOutput(output: RotationOutput): RotationSummaryView {
  const picked: RotationSummaryView = {
    rotationId: output.rotationId,
    outcome: output.outcome,
    force: output.force,
    reason: output.reason,
    requestedBy: output.requestedBy,
    startedAt: output.startedAt,
    finishedAt: output.finishedAt,
    activeKeyKind: output.activeKeyKind,
    pairs: output.pairs,
    phases: output.phases,
    waits: output.waits,
    // Outputs of runs from before wait endings were recorded have none.
    waitEndings: output.waitEndings ?? [],
    retries: output.retries,
  };
  if (output.attention) picked.attention = output.attention;
  return picked;
}

/**
 * The orchestrator states the reason (with the fix) in its last custom status
 * before it fails; the runtime's own output may carry a stack, so only its
 * first line is shown, scrubbed.
 */
export function failureMessage(status: DurableOrchestrationStatus, custom: RotationStatus | null): string {
  if (custom?.phase === 'failed' && custom.message) return custom.message;
  const raw = typeof status.output === 'string' ? status.output : '';
  const firstLine = raw.split('\n')[0]!.trim().slice(0, MAX_FAILURE_MESSAGE_LENGTH);
  return firstLine ? redactSecrets(firstLine) : 'The rotation failed; the function app log has the details for this instance ID.';
}

const RERUN_FROM_FACTS =
  'Re-running is safe: a new rotation starts from what Azure and Key Vault report (the keyKind tag of the latest secret version says which key consumers use) and never regenerates a key in use unless forced.';

/** Where the keys stand when a rotation is stopped in each phase. Every phase is safe to re-run. */
const INTERRUPTED_IN: Record<RotationPhase, { keys: string; rerun: string }> = {
  inspecting: {
    keys: 'Nothing was changed: both keys are as they were and consumers are unaffected.',
    rerun: RERUN_FROM_FACTS,
  },
  waitingForStandbyIdle: {
    keys: 'Nothing was changed: the standby key was still in use, so it was not regenerated. Consumers are unaffected.',
    rerun: `${RERUN_FROM_FACTS} It will wait for the standby key to be idle again.`,
  },
  regeneratingStandby: {
    keys: 'The standby key may have been regenerated (an operation Azure already began finishes on its own); nothing was published. Consumers are unaffected: the active key was not touched.',
    rerun: RERUN_FROM_FACTS,
  },
  validating: {
    keys: 'The standby key was regenerated but not published. Consumers are unaffected: they still use the active key.',
    rerun: RERUN_FROM_FACTS,
  },
  publishing: {
    keys: 'The new key may or may not have been published to Key Vault. The old key was not regenerated, so both keys are valid and consumers work with whichever they hold.',
    rerun: RERUN_FROM_FACTS,
  },
  waitingForConsumers: {
    keys: 'The new key is published in Key Vault and the old key was not regenerated: both keys are valid and consumers may be on either.',
    rerun: `${RERUN_FROM_FACTS} A re-run takes the published key as active and waits until the old key is idle before regenerating it.`,
  },
  regeneratingOldKey: {
    keys: 'The new key is published and consumers use it; the old key may have been regenerated (an operation Azure already began finishes on its own). Consumers that read Key Vault are unaffected.',
    rerun: RERUN_FROM_FACTS,
  },
  done: { keys: 'The rotation had finished: consumers use the published key.', rerun: RERUN_FROM_FACTS },
  needsAttention: { keys: 'The rotation had stopped for an operator; the status message says where.', rerun: RERUN_FROM_FACTS },
  failed: { keys: 'The rotation had failed; the status message says where.', rerun: RERUN_FROM_FACTS },
};

export function interruptionOf(phase: RotationPhase | null, reason: string | null): InterruptionView {
  const known = phase !== null && Object.hasOwn(INTERRUPTED_IN, phase) ? INTERRUPTED_IN[phase] : null;
  return {
    phase,
    reason,
    keys: known?.keys ?? 'The rotation was stopped before it reported a phase: nothing was changed.',
    rerunSafe: true,
    rerun: known?.rerun ?? RERUN_FROM_FACTS,
  };
}
