/**
 * What the schedule (and the fleet listing of the API) needs to know of every
 * configured account, read in a number of requests that grows with the
 * fleet's size divided by a page size, never one request per account:
 *
 * - secret ages and tags from ONE paged list of the vault's secret properties
 *   (Key Vault's GetSecrets: 25 per page, no values);
 * - the rotation instances from the durable client's instance query, which
 *   follows the host's continuation tokens (100 per page).
 *
 * The task hub also holds each account's archived rotations (history records,
 * src/history): completed instances, many per account. The query therefore
 * asks for every instance that is not completed (the running and stopped
 * rotations: at most one per account), and for completed ones only those
 * created within a lookback, so its cost follows the fleet and the rotations
 * of the last interval, not the whole history.
 */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { OrchestrationRuntimeStatus } from 'durable-functions';
import type { RotationTarget } from '../config.js';
import { rotatedPairs } from '../domain/settings.js';
import { instanceIdOf } from '../api/rotation-instance.js';
import type { SecretAge } from './decide-run.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The properties of a secret's current version as Key Vault lists them. */
export interface ListedSecret {
  createdOn: string | null;
  tags: Record<string, string>;
  enabled: boolean;
}

export interface SecretLister {
  /** Every secret of the vault, keyed by lower-case name. */
  listSecretProperties(): Promise<Map<string, ListedSecret>>;
}

export type InstanceQueryClient = Pick<DurableClient, 'getStatusBy'>;

/** Every runtime status but Completed: the rotations that run, and those that stopped (failed, cancelled). */
const NOT_COMPLETED: OrchestrationRuntimeStatus[] = [
  OrchestrationRuntimeStatus.Running,
  OrchestrationRuntimeStatus.Pending,
  OrchestrationRuntimeStatus.Suspended,
  OrchestrationRuntimeStatus.ContinuedAsNew,
  OrchestrationRuntimeStatus.Failed,
  OrchestrationRuntimeStatus.Terminated,
  OrchestrationRuntimeStatus.Canceled,
];

/**
 * How far back completed instances are read. A completed rotation matters to
 * the schedule only when it stopped needing attention (it is held, then
 * resumed); one that rotated is judged by its secret's age. The schedule
 * resumes a stopped one at its first run after FAILED_ROTATION_RETRY_IN_HOURS,
 * so a lookback of the longest rotation interval plus that delay (at least a
 * week) covers every completed instance still waiting to be resumed, while the
 * history records it also returns are those archived within it: about one per
 * account and interval.
 */
export function completedLookbackInMs(targets: readonly Pick<RotationTarget, 'rotationIntervalInDays'>[], failedRotationRetryInHours: number): number {
  const longestInterval = targets.reduce((longest, target) => Math.max(longest, target.rotationIntervalInDays), 0);
  return Math.max(7 * DAY_MS, longestInterval * DAY_MS + failedRotationRetryInHours * HOUR_MS);
}

/**
 * The configured accounts' rotation instances by instance ID (absent: never
 * rotated, or completed before the lookback). Two paged queries.
 */
export async function listRotationInstances(
  client: InstanceQueryClient,
  targets: readonly RotationTarget[],
  options: { now: Date; lookbackInMs: number },
): Promise<Map<string, DurableOrchestrationStatus>> {
  const wanted = new Set(targets.map((target) => instanceIdOf(target)));
  const [open, completed] = await Promise.all([
    client.getStatusBy({ runtimeStatus: NOT_COMPLETED }),
    client.getStatusBy({ runtimeStatus: [OrchestrationRuntimeStatus.Completed], createdTimeFrom: new Date(options.now.getTime() - options.lookbackInMs) }),
  ]);
  const found = new Map<string, DurableOrchestrationStatus>();
  for (const status of [...completed, ...open]) if (wanted.has(status.instanceId)) found.set(status.instanceId, status);
  return found;
}

/** The ages of the secrets a target publishes, from the vault's listing; a disabled current version is a problem to fix, not an age. */
export function secretAgesOf(target: RotationTarget, listed: Map<string, ListedSecret>): { secrets: Array<SecretAge & { tags: Record<string, string> }>; problem?: string } {
  const secrets: Array<SecretAge & { tags: Record<string, string> }> = [];
  for (const { secretName } of rotatedPairs(target)) {
    const secret = listed.get(secretName.toLowerCase());
    if (secret && !secret.enabled) {
      return { secrets: [], problem: `the current version of secret ${secretName} is disabled: enable it or publish a new version` };
    }
    secrets.push({ secretName, createdOn: secret ? isoOrNull(secret.createdOn) : null, tags: secret?.tags ?? {} });
  }
  return { secrets };
}

function isoOrNull(value: string | null): string | null {
  if (value === null) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
