/**
 * The rotation's events: one per state change, sent to Event Grid as
 * CloudEvents 1.0 for consumers (reload now) and operators (route to Teams,
 * PagerDuty, a Logic App), and recorded as a telemetry custom event. Pure:
 * the orchestrator builds them (replay-safe), an activity sends them.
 * Never key material: names, kinds, versions, times and sentences only.
 */
import type { KeyKind, KeyPairName } from './keys.js';

export const ROTATION_EVENT_TYPES = [
  'newKeyPublished',
  'oldKeyRegenerated',
  'rotationCompleted',
  'needsAttention',
  'rotationFailed',
  'waitStarted',
  'waitEnded',
] as const;
export type RotationEventType = (typeof ROTATION_EVENT_TYPES)[number];

/** The CloudEvents `type` of each event: reverse-DNS-like, stable, what subscriptions filter on. */
export const CLOUD_EVENT_TYPE_PREFIX = 'CosmosKeyRotation.';
/** The CloudEvents `source` every event carries; the subject is the account's resource ID. */
export const CLOUD_EVENT_SOURCE = '/cosmos-key-rotation';

/** Which wait an event is about: the standby still in use, consumers on the old key, Azure's safe-rotation refusals. */
export type RotationWait = 'standbyIdle' | 'consumers' | 'refusals';

export interface RotationEventData {
  newKeyPublished: { keyKind: KeyKind; secretName: string; secretVersion: string; previousKeyKind: KeyKind };
  oldKeyRegenerated: { keyKind: KeyKind; activeKeyKind: KeyKind };
  rotationCompleted: { activeKeyKind: KeyKind | null; durationInSeconds: number };
  needsAttention: { reason: string; whatToDo: string; durationInSeconds: number };
  rotationFailed: { reason: string; whatToDo: string; durationInSeconds: number };
  waitStarted: { wait: RotationWait; keyKind: KeyKind | null; waitDeadline: string | null };
  waitEnded: { wait: RotationWait; keyKind: KeyKind | null; ended: 'idle' | 'operator' | 'forced' | 'boundPassed'; waitedInSeconds: number };
}

export interface RotationEvent<T extends RotationEventType = RotationEventType> {
  /** `{rotationId}/{sequence}-{type}`: the same on every replay and every resend, so subscribers can drop duplicates. */
  id: string;
  type: T;
  rotationId: string;
  accountId: string;
  accountName: string;
  pair: KeyPairName;
  /** The phase the rotation was in when the state changed. */
  phase: string;
  /** Orchestrator time of the change (ISO-8601, UTC). */
  at: string;
  data: RotationEventData[T];
}

export function rotationEventId(rotationId: string, sequence: number, type: RotationEventType): string {
  return `${rotationId}/${String(sequence).padStart(3, '0')}-${type}`;
}

/** The outcome dimension of telemetry: how the rotation (or this step of it) stands. */
export function outcomeOf(event: RotationEvent): string {
  switch (event.type) {
    case 'rotationCompleted':
      return 'rotated';
    case 'needsAttention':
      return 'needsAttention';
    case 'rotationFailed':
      return 'failed';
    case 'waitEnded':
      return (event.data as RotationEventData['waitEnded']).ended;
    default:
      return 'inProgress';
  }
}

/** The event as a CloudEvent 1.0 (the shape @azure/eventgrid sends). */
export interface RotationCloudEvent {
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Omit<RotationEvent, 'id' | 'type' | 'data'> & RotationEventData[RotationEventType];
}

export function toCloudEvent(event: RotationEvent): RotationCloudEvent {
  const { id, type, data, ...rest } = event;
  return {
    id,
    type: `${CLOUD_EVENT_TYPE_PREFIX}${type}`,
    source: CLOUD_EVENT_SOURCE,
    subject: event.accountId,
    time: event.at,
    datacontenttype: 'application/json',
    data: { ...rest, ...data },
  };
}
