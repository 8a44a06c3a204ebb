/**
 * The orchestrator's side of rotation events: numbers each state change,
 * builds its event (replay-safe: orchestrator time, a counter that replays
 * identically) and hands it to the emitRotationEvent activity. Durable records
 * that activity's completion, so a replay never sends an event again.
 * Deterministic: only context.df.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY_NAMES, type EmitRotationEventInput } from '../activities/contracts.js';
import type { KeyKind, KeyPairName } from '../domain/keys.js';
import { rotationEventId, type RotationEvent, type RotationEventData, type RotationEventType, type RotationWait } from '../domain/rotation-events.js';

export interface RotationEventSubject {
  rotationId: string;
  accountId: string;
  accountName: string;
  startedAt: string;
  /** Where the rotation is now: its pair and phase. */
  where(): { pair: KeyPairName; phase: string };
  /** Told of every task the log yields (the run counts its generation's tasks). */
  yielded?(): void;
}

/** What a run carries over a continueAsNew so that event numbers and the open wait go on. */
export interface RotationEventLogState {
  sequence: number;
  openWait: { wait: RotationWait; keyKind: KeyKind | null; since: number } | null;
}

type WaitEndedHow = RotationEventData['waitEnded']['ended'];

export class RotationEventLog {
  private sequence = 0;
  private openWait: { wait: RotationWait; keyKind: KeyKind | null; since: number } | null = null;

  constructor(
    private readonly context: OrchestrationContext,
    private readonly subject: RotationEventSubject,
    state?: RotationEventLogState,
  ) {
    if (state) {
      this.sequence = state.sequence;
      this.openWait = state.openWait;
    }
  }

  state(): RotationEventLogState {
    return { sequence: this.sequence, openWait: this.openWait };
  }

  /** Sends one event. Delivery trouble never stops the rotation (the activity records it in telemetry). */
  *emit<T extends RotationEventType>(type: T, data: RotationEventData[T]): Generator<Task, void, unknown> {
    this.sequence += 1;
    const { pair, phase } = this.subject.where();
    const event: RotationEvent<T> = {
      id: rotationEventId(this.subject.rotationId, this.sequence, type),
      type,
      rotationId: this.subject.rotationId,
      accountId: this.subject.accountId,
      accountName: this.subject.accountName,
      pair,
      phase,
      at: this.context.df.currentUtcDateTime.toISOString(),
      data,
    };
    try {
      this.subject.yielded?.();
      yield this.context.df.callActivity(ACTIVITY_NAMES.emitRotationEvent, { event } satisfies EmitRotationEventInput);
    } catch {
      // The activity never throws on delivery; anything else (a host problem) must not fail a rotation either.
    }
  }

  /** A wait begins (once per wait, however many checks it makes). */
  *waitStarted(wait: RotationWait, keyKind: KeyKind | null, waitDeadline: Date | null): Generator<Task, void, unknown> {
    if (this.openWait?.wait === wait) return;
    yield* this.waitEnded('idle');
    this.openWait = { wait, keyKind, since: this.context.df.currentUtcDateTime.getTime() };
    yield* this.emit('waitStarted', { wait, keyKind, waitDeadline: waitDeadline?.toISOString() ?? null });
  }

  /** The open wait, if any, ends. */
  *waitEnded(ended: WaitEndedHow): Generator<Task, void, unknown> {
    const open = this.openWait;
    if (!open) return;
    this.openWait = null;
    const waitedInSeconds = Math.round((this.context.df.currentUtcDateTime.getTime() - open.since) / 1000);
    yield* this.emit('waitEnded', { wait: open.wait, keyKind: open.keyKind, ended, waitedInSeconds });
  }

  durationInSeconds(): number {
    return Math.round((this.context.df.currentUtcDateTime.getTime() - Date.parse(this.subject.startedAt)) / 1000);
  }

  /** needsAttention or rotationFailed: the reason, and what to do (the sentences after the first). */
  *stopped(type: 'needsAttention' | 'rotationFailed', message: string): Generator<Task, void, unknown> {
    yield* this.waitEnded('boundPassed');
    const split = message.search(/\.\s/);
    const reason = split > 0 ? message.slice(0, split + 1) : message;
    const rest = split > 0 ? message.slice(split + 1).trim() : '';
    const whatToDo = rest || (type === 'rotationFailed' ? 'Fix the cause named in the reason, then start the rotation again (POST /api/rotations); re-running is safe.' : 'See the reason, then start the rotation again.');
    yield* this.emit(type, { reason, whatToDo, durationInSeconds: this.durationInSeconds() });
  }
}
