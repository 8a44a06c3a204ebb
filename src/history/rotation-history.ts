/**
 * Every rotation of every account, kept: the account's instance is its
 * current (or last) rotation, and before a new start replaces it, the one it
 * replaces is archived as its own completed instance in the task hub
 * (HISTORY_RECORD_ORCHESTRATOR, instance ID `<account instance>--history--<start>`).
 * Retention is bounded by age and by count per account; what falls outside
 * is purged from the task hub.
 *
 * A record holds what the API already shows (status, output, input fields
 * picked one by one): never key material.
 */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { OrchestrationRuntimeStatus } from 'durable-functions';
import type { KeyPairName } from '../domain/keys.js';
import { getRotationInstance, instanceIdOf, isActive, rotationOutputOf, rotationStatusOf, toIso } from '../api/rotation-instance.js';
import { failureMessage, inputOf, rotationState, type RotationState } from '../api/rotation-view.js';
import { HISTORY_RECORD_ORCHESTRATOR } from '../workflow/history-record.js';
import { listInstancesByPrefix, type PrefixQueryClient } from './instance-query.js';
import { ROTATION_ORCHESTRATOR, type PhaseRecord, type RotationInput, type RotationPhase, type WaitRecord } from '../workflow/rotation-types.js';

const DAY_MS = 24 * 3_600_000;

export type HistoryClient = Pick<DurableClient, 'getStatus' | 'getStatusBy' | 'startNew' | 'purgeInstanceHistory'> & PrefixQueryClient;

export interface HistoryRetention {
  historyRetentionInDays: number;
  historyMaxPerAccount: number;
}

export type TriggerKind = 'schedule' | 'operator' | 'resumed';

/** How one wait ended: the key was idle, an operator confirmed, it was forced, or its bound passed. */
export interface WaitEndingView {
  pair: KeyPairName;
  wait: string;
  ended: string;
  at: string | null;
  by: string | null;
  note: string | null;
}

export interface RotationHistoryEntry {
  rotationId: string | null;
  state: RotationState;
  trigger: {
    kind: TriggerKind;
    /** 'schedule', 'api', ... */
    requestedBy: string | null;
    reason: string | null;
    /** The earlier rotations this one continued (resumed from their published key). */
    resumedFrom: string[];
  };
  force: boolean;
  startedAt: string | null;
  finishedAt: string | null;
  /** The phase it is in, or stopped in. */
  phase: RotationPhase | null;
  /** When the running rotation entered its current phase (the earlier phases are only listed once it finished). */
  phaseStartedAt: string | null;
  message: string | null;
  phases: PhaseRecord[];
  waits: WaitRecord[];
  waitEndings: WaitEndingView[];
  /** Operators who confirmed consumers moved. */
  confirmedBy: Array<{ by: string | null; at: string | null; note: string | null }>;
  cancelled: { reason: string | null; phase: RotationPhase | null } | null;
  failure: { message: string } | null;
  attention: { phase: RotationPhase; message: string } | null;
  /** Secret versions this rotation wrote, per pair. */
  secretVersions: Array<{ pair: KeyPairName; version: string }>;
  activeKeyKind: string | null;
}

export function historyPrefixOf(target: { accountId: string }): string {
  return `${instanceIdOf(target)}--history--`;
}

/** The history record of one rotation instance (current or archived). */
export function historyEntryOf(status: DurableOrchestrationStatus): RotationHistoryEntry {
  const custom = rotationStatusOf(status);
  const output = rotationOutputOf(status);
  const input = inputOf(status.input);
  const state = rotationState(status);
  const pairs = output?.pairs ?? [];
  const resumedFrom = [...new Set(pairs.map((pair) => readResumedFrom(pair)).filter((id): id is string => id !== null))];
  const resumedInput = input !== null && typeof (input as { consumersMoved?: unknown }).consumersMoved === 'object';
  const requestedBy = input?.requestedBy ?? output?.requestedBy ?? null;
  const kind: TriggerKind = resumedFrom.length > 0 || resumedInput ? 'resumed' : requestedBy === 'schedule' ? 'schedule' : 'operator';
  const waitEndings = readWaitEndings(output, pairs);
  const phase = output?.attention?.phase ?? custom?.phase ?? null;
  return {
    rotationId: output?.rotationId ?? custom?.rotationId ?? null,
    state,
    trigger: { kind, requestedBy, reason: input?.reason ?? output?.reason ?? null, resumedFrom },
    force: input?.force ?? output?.force ?? custom?.force ?? false,
    // A run that continued as new (a long wait) was created again then: its checkpoint keeps when it started.
    startedAt: output?.startedAt ?? input?.continued?.run.startedAt ?? toIso(status.createdTime),
    finishedAt: output?.finishedAt ?? (isActive(status) ? null : toIso(status.lastUpdatedTime)),
    phase,
    phaseStartedAt: isActive(status) ? (custom?.phaseStartedAt ?? null) : null,
    message: custom?.message ?? null,
    phases: output?.phases ?? [],
    waits: output?.waits ?? [],
    waitEndings,
    confirmedBy: waitEndings.filter((ending) => ending.ended === 'operator').map(({ by, at, note }) => ({ by, at, note })),
    cancelled: state === 'cancelled' ? { reason: typeof status.output === 'string' ? status.output : null, phase: custom?.phase ?? null } : null,
    failure: state === 'failed' ? { message: failureMessage(status, custom) } : null,
    attention: output?.attention ? { phase: output.attention.phase, message: output.attention.message } : null,
    secretVersions: pairs.filter((pair) => pair.secretVersion).map((pair) => ({ pair: pair.pair, version: pair.secretVersion! })),
    activeKeyKind: output?.activeKeyKind ?? null,
  };
}

function readResumedFrom(pair: object): string | null {
  const resumed = (pair as { resumed?: { rotationId?: unknown } }).resumed;
  return resumed && typeof resumed.rotationId === 'string' ? resumed.rotationId : null;
}

/** The output's own record of how each wait ended when it has one; else what the pair outcomes say of the consumer wait. */
function readWaitEndings(output: object | null, pairs: Array<{ pair: KeyPairName; consumersMoved: string | null }>): WaitEndingView[] {
  const recorded = (output as { waitEndings?: unknown } | null)?.waitEndings;
  if (Array.isArray(recorded) && recorded.length > 0) {
    return recorded.map((item: Record<string, unknown>) => ({
      pair: item.pair as KeyPairName,
      wait: String(item.wait ?? 'consumers'),
      ended: String(item.ended ?? 'idle'),
      at: typeof item.at === 'string' ? item.at : null,
      by: typeof item.by === 'string' ? item.by : null,
      note: typeof item.note === 'string' ? item.note : null,
    }));
  }
  return pairs
    .filter((pair) => pair.consumersMoved !== null)
    .map((pair) => ({ pair: pair.pair, wait: 'consumers', ended: pair.consumersMoved!, at: null, by: null, note: null }));
}

/**
 * Before a start replaces the account's instance: keep the rotation it
 * replaces. Idempotent (a record per start time); a running instance is
 * never replaced, so nothing is archived for it.
 */
export async function archiveRotation(client: HistoryClient, target: { accountId: string }, retention: HistoryRetention): Promise<void> {
  const instanceId = instanceIdOf(target);
  const status = await getRotationInstance({ getStatus: (id) => client.getStatus(id, { showInput: true }) }, instanceId);
  if (!status || isActive(status)) return;
  const entry = historyEntryOf(status);
  const stamp = (entry.startedAt ?? toIso(status.createdTime) ?? '').replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const recordId = `${historyPrefixOf(target)}${stamp}`;
  if (!(await getRotationInstance(client, recordId))) await client.startNew(HISTORY_RECORD_ORCHESTRATOR, { instanceId: recordId, input: entry });
  const records = await historyRecords(client, target);
  for (const old of records.slice(retention.historyMaxPerAccount)) await client.purgeInstanceHistory(old.instanceId);
}

/**
 * Starts a rotation on the account's instance ID, keeping the rotation it
 * replaces in the history first. Every start of a rotation goes through here
 * (operator, schedule, a resume), so none erases an earlier one.
 */
export async function startRotationInstance(
  client: HistoryClient,
  target: { accountId: string },
  input: RotationInput,
  retention: HistoryRetention,
): Promise<string> {
  await archiveRotation(client, target, retention);
  return client.startNew(ROTATION_ORCHESTRATOR, { instanceId: instanceIdOf(target), input });
}

/**
 * The account's archived records, newest first. Asked of the host by the
 * account's record prefix (instanceIdPrefix), so what it costs grows with this
 * account's records (at most HISTORY_MAX_PER_ACCOUNT + 1: one or two pages of
 * 100), never with the rest of the task hub: listing the whole hub and picking
 * the account's records cost one request per 100 instances of every account
 * before each start. Deterministic record IDs with a sequence carried in the
 * rotation's input would avoid the query too, but lose records when an
 * instance is purged or restarted and miss those archived before; trimming in
 * the timer's daily pass would let an account pass its maximum all day.
 */
async function historyRecords(client: HistoryClient, target: { accountId: string }): Promise<Array<{ instanceId: string; entry: RotationHistoryEntry }>> {
  const prefix = historyPrefixOf(target);
  const found = await listInstancesByPrefix(client, prefix, [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running]);
  return found
    .filter((status) => status.instanceId.startsWith(prefix))
    .map((status) => ({ instanceId: status.instanceId, entry: (status.output ?? status.input) as RotationHistoryEntry }))
    .filter((record) => record.entry && typeof record.entry === 'object')
    .sort((a, b) => b.instanceId.localeCompare(a.instanceId));
}

/** Every rotation of the account, newest first: the current one, then the archived ones. */
export async function listHistory(client: HistoryClient, target: { accountId: string }): Promise<RotationHistoryEntry[]> {
  const [current, records] = await Promise.all([
    getRotationInstance({ getStatus: (id) => client.getStatus(id, { showInput: true }) }, instanceIdOf(target)),
    historyRecords(client, target),
  ]);
  const entries = records.map((record) => record.entry);
  if (current) {
    const entry = historyEntryOf(current);
    // A record whose archive raced a new start may repeat the current rotation: show it once.
    if (!entries.some((archived) => archived.rotationId !== null && archived.rotationId === entry.rotationId)) entries.unshift(entry);
  }
  return entries.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
}

/** The timer's clean-up: records older than the retention are purged from the task hub. */
export async function purgeExpiredHistory(client: HistoryClient, retention: HistoryRetention, now: Date): Promise<number> {
  const before = new Date(now.getTime() - retention.historyRetentionInDays * DAY_MS);
  const old = await client.getStatusBy({ createdTimeTo: before, runtimeStatus: [OrchestrationRuntimeStatus.Completed] });
  let purged = 0;
  for (const status of old.filter((s) => /--history--/.test(s.instanceId) && s.instanceId.startsWith('cosmos-rotation--'))) {
    const result = await client.purgeInstanceHistory(status.instanceId);
    purged += result.instancesDeleted;
  }
  return purged;
}
