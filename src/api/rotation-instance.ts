/**
 * Reading an account's rotation instance through the durable client. One
 * instance ID per account (rotationInstanceId) makes the rotation a singleton:
 * the instance is the account's current or last rotation.
 */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { rotationInstanceId } from '../domain/rotation-plan.js';
import type { RotationOutput, RotationStatus } from '../workflow/rotation-types.js';
import { ACTIVE_RUNTIME_STATUSES, type LastRotation } from '../schedule/decide-run.js';

export type StatusClient = Pick<DurableClient, 'getStatus'>;

export function instanceIdOf(target: { accountId: string }): string {
  return rotationInstanceId(target.accountId);
}

/**
 * The instance's status, or null when the account was never rotated. The
 * durable client reports an unknown instance only as an Error whose message
 * names the HTTP 404 it got; every other failure is passed on.
 */
export async function getRotationInstance(client: StatusClient, instanceId: string): Promise<DurableOrchestrationStatus | null> {
  try {
    return await client.getStatus(instanceId);
  } catch (error) {
    if (error instanceof Error && /HTTP 404\b/.test(error.message)) return null;
    throw error;
  }
}

export function isActive(status: Pick<DurableOrchestrationStatus, 'runtimeStatus'> | null): boolean {
  return status !== null && ACTIVE_RUNTIME_STATUSES.includes(String(status.runtimeStatus));
}

/** The custom status, when it has the rotation's shape (an instance that never ran its first episode has none). */
export function rotationStatusOf(status: Pick<DurableOrchestrationStatus, 'customStatus'> | null): RotationStatus | null {
  const custom = status?.customStatus;
  return custom && typeof custom === 'object' && typeof (custom as RotationStatus).phase === 'string' ? (custom as RotationStatus) : null;
}

/** The output, when the instance completed with the rotation's summary. */
export function rotationOutputOf(status: Pick<DurableOrchestrationStatus, 'output' | 'runtimeStatus'> | null): RotationOutput | null {
  const output = status?.output;
  return String(status?.runtimeStatus) === 'Completed' && output && typeof output === 'object' && typeof (output as RotationOutput).outcome === 'string'
    ? (output as RotationOutput)
    : null;
}

export function toIso(value: Date | string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** What the schedule needs to know about the last rotation. */
export function lastRotationOf(status: DurableOrchestrationStatus | null): LastRotation | null {
  if (!status) return null;
  const last: LastRotation = {
    runtimeStatus: String(status.runtimeStatus),
    lastUpdatedTime: toIso(status.lastUpdatedTime) ?? toIso(status.createdTime) ?? new Date(0).toISOString(),
  };
  const output = rotationOutputOf(status);
  if (output) last.outcome = output.outcome;
  // Where it stopped: a finished rotation's status says only 'needsAttention' or 'failed'; its output says which phase.
  const phase = output?.attention?.phase ?? rotationStatusOf(status)?.phase;
  if (phase && !['done', 'needsAttention', 'failed'].includes(phase)) last.phase = phase;
  return last;
}
