/**
 * The rotation orchestration's public shapes: its input, the custom status an
 * operator sees while it runs, and the summary it ends with. All of it is
 * stored in the task hub and shown by the HTTP API: never key material.
 */
import type { InspectAccountResult as InspectAccountFacts, RegenerationHandle } from '../activities/contracts.js';
import type { ResumedRotation } from '../domain/rotation-plan.js';
import type { KeyKind, KeyPairName } from '../domain/keys.js';
import type { AccountRotationSettings } from '../domain/settings.js';

export const ROTATION_ORCHESTRATOR = 'rotateAccountKeys';
/** Raised by an operator (HTTP API) when every consumer has moved to the new key. */
export const CONSUMERS_MOVED_EVENT = 'ConsumersMoved';

export interface RotationInput {
  settings: AccountRotationSettings;
  /** Skip the usage waits and send the skip flag to ARM: only when certain no one uses the keys. */
  force?: boolean;
  /** Why this rotation runs (free text from the operator or the schedule). */
  reason?: string;
  /** Who started it: 'schedule', 'api', ... */
  requestedBy?: string;
  /**
   * An operator's consumers-moved for a rotation that stopped at the consumer
   * wait: a pair that resumes there goes on to regenerate the old key at once
   * (Azure's safe-rotation check still applies unless forced).
   */
  consumersMoved?: ConsumersMovedEvent;
  /**
   * Set by the rotation itself when a long wait continued as new
   * (continueAsNew keeps the history of one instance short): where the wait
   * stood and what the run knew. Never key material. Operators leave it out.
   */
  continued?: RotationCheckpoint;
}

/** What a run carries into its next generation: its record so far, the pair it is on, and the wait it was in. */
export interface RotationCheckpoint {
  run: {
    rotationId: string;
    startedAt: string;
    phaseStartedAt: string;
    pair: KeyPairName;
    phase: RotationPhase;
    activeKeyKind?: KeyKind;
    standbyKeyKind?: KeyKind;
    outcomes: PairOutcome[];
    phases: PhaseRecord[];
    waits: WaitRecord[];
    waitEndings: WaitEnding[];
    retries: RotationOutput['retries'];
    regenerationTookMs?: number;
    events: { sequence: number; openWait: { wait: 'standbyIdle' | 'consumers' | 'refusals'; keyKind: KeyKind | null; since: number } | null };
    generation: number;
  };
  pairIndex: number;
  /** The pair's first inspection (its plan follows from it), and what it has done since. */
  pair: {
    facts: InspectAccountFacts;
    publishedAt?: string;
    secretVersion?: string | null;
    consumersMoved?: 'idle' | 'operator' | 'forced';
  };
  at:
    | { stage: 'standbyIdle'; deadline: string; current: InspectAccountFacts }
    | { stage: 'regenerating'; keyKind: KeyKind; loop: RegenerationLoop }
    | { stage: 'consumers'; deadline: string; current: InspectAccountFacts };
}

/** The state of a regeneration's retry loop and, while one runs, of its polls. */
export interface RegenerationLoop {
  firstRefusedAt: number | null;
  firstTroubleAt: number | null;
  refusals: number;
  trouble: number;
  monitor?: { operation: RegenerationHandle; begunAt: number; deadline: number; poll: number; retryAfterMs?: number };
}

export interface ConsumersMovedEvent {
  by?: string;
  note?: string;
}

export type RotationPhase =
  | 'inspecting'
  | 'waitingForStandbyIdle'
  | 'regeneratingStandby'
  | 'validating'
  | 'publishing'
  | 'waitingForConsumers'
  | 'regeneratingOldKey'
  | 'done'
  | 'needsAttention'
  | 'failed';

/** The orchestration's custom status: what it is doing and, when waiting, why and until when. */
export interface RotationStatus {
  rotationId: string;
  accountId: string;
  pair: KeyPairName;
  phase: RotationPhase;
  /** One human sentence: what is happening or what it waits for. */
  message: string;
  activeKeyKind?: KeyKind;
  standbyKeyKind?: KeyKind;
  /** When the orchestrator looks again, while waiting. */
  nextCheckAt?: string;
  /** When the current wait gives up, while waiting. */
  waitDeadline?: string;
  /** When the next rotation window opens, while waiting outside the windows to regenerate a key. */
  windowOpensAt?: string;
  force: boolean;
  phaseStartedAt: string;
}

export interface PhaseRecord {
  pair: KeyPairName;
  phase: RotationPhase;
  startedAt: string;
  endedAt: string;
}

export interface WaitRecord {
  pair: KeyPairName;
  phase: RotationPhase;
  reason: string;
  from: string;
  until: string;
}

/** How one wait ended: the key became idle, an operator confirmed, it was forced, or its bound passed. */
export interface WaitEnding {
  pair: KeyPairName;
  /** standbyIdle: for the standby key; consumers: for the old key; refusals: Azure's safe-rotation check. */
  wait: 'standbyIdle' | 'consumers' | 'refusals';
  ended: 'idle' | 'operator' | 'forced' | 'boundPassed';
  at: string;
  /** The operator's name and note, when ended is operator. */
  by?: string;
  note?: string;
}

/**
 * The rotation a pair resumed: it had published its key and the old key was
 * not regenerated since (from waitingForConsumers), or it had regenerated
 * its standby and not published it (from validating: this run validated and
 * published it under that rotation's ID).
 */
export type { ResumedRotation };

export interface PairOutcome {
  pair: KeyPairName;
  /** The key consumers used before (regenerated last). */
  previousActiveKeyKind: KeyKind;
  /** The key consumers use now (published to Key Vault). */
  activeKeyKind: KeyKind;
  regenerated: KeyKind[];
  secretVersion: string | null;
  /** How the wait for consumers ended. */
  consumersMoved: 'idle' | 'operator' | 'forced' | null;
  /** Set when this run continued a rotation that stopped part-way (cancelled, failed, needs attention). */
  resumed?: ResumedRotation;
}

export interface RotationOutput {
  rotationId: string;
  accountId: string;
  outcome: 'rotated' | 'needsAttention';
  force: boolean;
  reason: string | null;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  pairs: PairOutcome[];
  /** The read-write key consumers now use. */
  activeKeyKind: KeyKind | null;
  phases: PhaseRecord[];
  waits: WaitRecord[];
  /** How each wait for a key to be idle ended, in order. */
  waitEndings: WaitEnding[];
  retries: { blockedRegenerations: number; validationFailures: number; regenerationPolls: number; usageChecks: number; outageRetries: number; busyAnswers: number };
  /** Set when outcome is needsAttention: what an operator must look at. */
  attention?: { phase: RotationPhase; pair: KeyPairName; message: string };
}
