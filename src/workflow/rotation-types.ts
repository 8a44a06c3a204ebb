/**
 * The rotation orchestration's public shapes: its input, the custom status an
 * operator sees while it runs, and the summary it ends with. All of it is
 * stored in the task hub and shown by the HTTP API: never key material.
 */
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
  retries: { blockedRegenerations: number; validationFailures: number; regenerationPolls: number; usageChecks: number };
  /** Set when outcome is needsAttention: what an operator must look at. */
  attention?: { phase: RotationPhase; pair: KeyPairName; message: string };
}
