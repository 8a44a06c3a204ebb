/**
 * The operator API, one function per operation. Each takes the request, the
 * durable client and the app's dependencies, and returns the response; every
 * refusal is an ApiError (see errors.ts). No response ever carries a key:
 * the views are built from the orchestrator's status and output, and from
 * secret *properties* (dates, tags), never secret values.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { rotationSettingsOf, type Config, type RotationTarget, type TargetList } from '../config.js';
import type { InspectAccountInput, InspectAccountResult } from '../activities/contracts.js';
import { SECRET_TAGS, isTaggedForAnotherAccount } from '../activities/secret-format.js';
import { isKeyKind, type KeyKind } from '../domain/keys.js';
import { rotatedPairs } from '../domain/settings.js';
import { dueState, type Due, type SecretAge } from '../schedule/decide-run.js';
import { secretAgesOf, type ListedSecret } from '../schedule/fleet-facts.js';
import { startRotationInstance, type HistoryRetention } from '../history/rotation-history.js';
import { mapLimited } from '../schedule/map-limited.js';
import { describe } from '../schedule/run-schedule.js';
import { CONSUMERS_MOVED_EVENT, type ConsumersMovedEvent, type RotationInput, type RotationPhase } from '../workflow/rotation-types.js';
import { accountFromRoute, MAX_ACCOUNT_REFERENCE_LENGTH, resolveAccount } from './accounts.js';
import { FORCE_ACCESS, requireRole, type Caller } from './auth.js';
import { readJsonBody, type BodySpec } from './body.js';
import { dryRun, type PairFacts } from './dry-run.js';
import { ApiError, jsonResponse } from './errors.js';
import { getRotationInstance, instanceIdOf, isActive, rotationOutputOf, rotationStatusOf, toIso } from './rotation-instance.js';
import { accountRef, interruptionOf, rotationState, rotationView, type AccountRef, type RotationState } from './rotation-view.js';

/** Rotations take minutes to days: polling more often than this only costs requests. */
export const RETRY_AFTER_SECONDS = 30;

export interface ApiDependencies {
  config: TargetList & Pick<Config, 'operatorApiAuth'> & Partial<HistoryRetention & Pick<Config, 'localAuthUnusedInDays'>>;
  /**
   * These dependencies with the target list read now from its source (the targets blob):
   * called after the caller's role is checked, before the operation runs. Absent when
   * `config.targets` is already the list.
   */
  withCurrentTargets?(): Promise<ApiDependencies>;
  /** Every secret of the vault with its current version's properties (never a value), keyed by lower-case name: one paged list. */
  listSecretProperties(): Promise<Map<string, ListedSecret>>;
  /** The inspectAccount activity's work, run in-process for the dry run: reads only. */
  inspectAccount(input: InspectAccountInput): Promise<InspectAccountResult>;
  now(): Date;
}

export type ApiClient = Pick<DurableClient, 'getStatus' | 'getStatusBy' | 'startNew' | 'raiseEvent' | 'terminate' | 'purgeInstanceHistory' | 'createHttpManagementPayload'>;

/** `caller` is who asked (src/api/auth.ts): every change records caller.name in the rotation. */
export type Operation = (request: HttpRequest, client: ApiClient, deps: ApiDependencies, caller: Caller) => Promise<HttpResponseInit>;

const START_BODY = {
  account: { type: 'string', required: true, maxLength: MAX_ACCOUNT_REFERENCE_LENGTH },
  force: { type: 'boolean' },
  reason: { type: 'string', maxLength: 500 },
} as const satisfies BodySpec;

const CANCEL_BODY = {
  reason: { type: 'string', required: true, maxLength: 500 },
} as const satisfies BodySpec;

const CONSUMERS_MOVED_BODY = {
  by: { type: 'string', maxLength: 200 },
  note: { type: 'string', maxLength: 1000 },
} as const satisfies BodySpec;

export const BODY_SPECS = { startRotation: START_BODY, cancelRotation: CANCEL_BODY, consumersMoved: CONSUMERS_MOVED_BODY } as const;

/** POST /rotations: start a rotation of one configured account. */
export const startRotation: Operation = async (request, client, deps, caller) => {
  const body = await readJsonBody(request, START_BODY);
  if (body.force === true) requireRole(caller, FORCE_ACCESS);
  const target = resolveAccount(deps.config, body.account);
  const instanceId = instanceIdOf(target);
  const links = linksFor(request, target);
  const running = (status: DurableOrchestrationStatus | null) => {
    const phase = rotationStatusOf(status)?.phase;
    return new ApiError(
      409,
      'rotationRunning',
      `A rotation of ${target.name} is already running${phase ? ` (phase ${phase})` : ''}; follow it at ${links.status}, or cancel it first.`,
      { Location: links.status },
    );
  };
  const existing = await getRotationInstance(client, instanceId);
  if (isActive(existing)) throw running(existing);
  const input: RotationInput = { settings: rotationSettingsOf(target), requestedBy: caller.name };
  if (body.force !== undefined) input.force = body.force;
  if (body.reason !== undefined) input.reason = body.reason;
  try {
    // Reusing the account's instance ID replaces a finished instance: it is kept in the history first.
    await startRotationInstance(client, target, input, retentionOf(deps.config));
  } catch (error) {
    // Another start (an operator, or the schedule) won the race since the check: the runtime refused a second instance.
    const now = await getRotationInstance(client, instanceId);
    if (isActive(now)) throw running(now);
    throw error;
  }
  return jsonResponse(
    202,
    { account: accountRef(target), instanceId, state: 'pending', force: input.force ?? false, reason: input.reason ?? null, requestedBy: caller.name, links },
    { Location: links.status, 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
};

export interface AccountSummary {
  account: AccountRef;
  instanceId: string;
  /** neverRotated: no rotation instance exists for the account. */
  state: RotationState | 'neverRotated';
  runtimeStatus: string | null;
  phase: RotationPhase | null;
  message: string | null;
  nextCheckAt: string | null;
  waitDeadline: string | null;
  /** The read-write key consumers use: the running rotation's view, else the tag of the latest secret version. */
  activeKeyKind: KeyKind | null;
  /** When the latest version of the read-write secret was published. */
  lastRotatedAt: string | null;
  lastUpdatedAt: string | null;
  due: Due | null;
  /** Set when Key Vault or the task hub could not be read for this account; the other fields are then partial. */
  problem: string | null;
  links: { status: string; plan: string };
}

/** GET /rotations: every configured account with its current or last rotation. */
export const listRotations: Operation = async (request, client, deps) => {
  const now = deps.now();
  // One listing of the vault for the whole fleet, instead of one read (of a value) per account.
  const secrets = deps.listSecretProperties();
  // A failed listing is reported per account below, like any other unreadable Key Vault.
  secrets.catch(() => undefined);
  const accounts = await mapLimited(deps.config.targets, 4, (target) => summarize(request, target, client, secrets, now));
  return jsonResponse(200, { generatedAt: now.toISOString(), accounts });
};

async function summarize(request: HttpRequest, target: RotationTarget, client: ApiClient, listing: Promise<Map<string, ListedSecret>>, now: Date): Promise<AccountSummary> {
  const links = linksFor(request, target);
  const summary: AccountSummary = {
    account: accountRef(target),
    instanceId: instanceIdOf(target),
    state: 'neverRotated',
    runtimeStatus: null,
    phase: null,
    message: null,
    nextCheckAt: null,
    waitDeadline: null,
    activeKeyKind: null,
    lastRotatedAt: null,
    lastUpdatedAt: null,
    due: null,
    problem: null,
    links: { status: links.status, plan: links.plan },
  };
  const problems: string[] = [];
  try {
    const status = await getRotationInstance(client, summary.instanceId);
    if (status) {
      const custom = rotationStatusOf(status);
      summary.state = rotationState(status);
      summary.runtimeStatus = String(status.runtimeStatus);
      summary.lastUpdatedAt = toIso(status.lastUpdatedTime);
      summary.phase = custom?.phase ?? null;
      summary.message = custom?.message ?? null;
      summary.nextCheckAt = isActive(status) ? (custom?.nextCheckAt ?? null) : null;
      summary.waitDeadline = isActive(status) ? (custom?.waitDeadline ?? null) : null;
      if (isActive(status) && custom?.pair === 'readWrite' && custom.activeKeyKind) summary.activeKeyKind = custom.activeKeyKind;
    }
  } catch (error) {
    problems.push(`the rotation status could not be read (${describe(error, { withoutName: true })})`);
  }
  try {
    const secrets = secretFacts(target, await listing);
    const readWrite = secrets.find((secret) => secret.secretName === target.secretName);
    summary.lastRotatedAt = readWrite?.createdOn ?? null;
    summary.activeKeyKind ??= readWrite?.keyKind ?? null;
    summary.due = dueState(target, secrets, now);
  } catch (error) {
    problems.push(`Key Vault could not be read (${describe(error, { withoutName: true })})`);
  }
  summary.problem = problems.length ? problems.join('; ') : null;
  return summary;
}

/** GET /rotations/{account}: the account's current or last rotation. */
export const getRotation: Operation = async (request, client, deps) => {
  const target = resolveAccount(deps.config, accountFromRoute(request.params.account));
  const status = await getStatusWithInput(client, instanceIdOf(target));
  if (!status) throw noRotation(target);
  return jsonResponse(200, { ...rotationView(target, status), links: linksFor(request, target) });
};

/** GET /rotations/{account}/plan: what a rotation started now would do. Reads only. */
export const getRotationPlan: Operation = async (request, client, deps) => {
  const target = resolveAccount(deps.config, accountFromRoute(request.params.account));
  const now = deps.now();
  const pairs = rotatedPairs(target);
  const [status, facts] = await Promise.all([
    getRotationInstance(client, instanceIdOf(target)),
    Promise.all(pairs.map(async ({ pair, secretName }): Promise<PairFacts> => ({ pair, secretName, facts: await deps.inspectAccount({ accountId: target.accountId, pair, secretName }) }))),
  ]);
  const due = dueState(
    target,
    facts.map((pair) => ({ secretName: pair.secretName, createdOn: pair.facts.publishedAt })),
    now,
  );
  const runningPhase = isActive(status) ? (rotationStatusOf(status)?.phase ?? String(status!.runtimeStatus)) : null;
  return jsonResponse(200, { ...dryRun({ target, pairs: facts, due, now, runningPhase }), links: linksFor(request, target) });
};

/**
 * POST /rotations/{account}/consumers-moved: the operator confirms consumers
 * left the old key. A rotation waiting for them gets the event; one that
 * stopped at that wait (needs attention, cancelled, failed) is resumed at
 * regenerating the old key, where Azure's safe-rotation check still applies.
 */
export const consumersMoved: Operation = async (request, client, deps, caller) => {
  const target = resolveAccount(deps.config, accountFromRoute(request.params.account));
  const body = await readJsonBody(request, CONSUMERS_MOVED_BODY);
  const instanceId = instanceIdOf(target);
  const status = await getRotationInstance(client, instanceId);
  const custom = rotationStatusOf(status);
  // A signed-in caller is who confirmed; behind a function key the body may say who it was.
  const event: ConsumersMovedEvent = {};
  if (caller.authenticated) event.by = caller.name;
  else event.by = body.by ?? caller.name;
  if (body.note !== undefined) event.note = body.note;
  const links = linksFor(request, target);
  const accepted = (message: string) =>
    jsonResponse(202, { account: accountRef(target), instanceId, accepted: true, message, links }, { Location: links.status, 'Retry-After': String(RETRY_AFTER_SECONDS) });
  const oldKey = custom?.activeKeyKind ? ` ${custom.activeKeyKind}` : '';
  const newKey = custom?.standbyKeyKind ?? 'the new key';

  if (isActive(status) && custom?.phase === 'waitingForConsumers') {
    await client.raiseEvent(instanceId, CONSUMERS_MOVED_EVENT, event);
    return accepted(`Sent: the rotation goes on to regenerate the old key${oldKey}; consumers must already use ${newKey} from Key Vault.`);
  }
  if (status && !isActive(status) && stoppedAtConsumerWait(status)) {
    const input: RotationInput = { settings: rotationSettingsOf(target), requestedBy: caller.name, reason: `consumers-moved${event.by ? ` by ${event.by}` : ''}`, consumersMoved: event };
    // The stopped rotation is kept in the history; the resumed run continues it.
    await startRotationInstance(client, target, input, retentionOf(deps.config));
    return accepted(
      `Resumed: the stopped rotation goes on to regenerate the old key${oldKey} (Azure's safe-rotation check still applies); consumers must already use ${newKey} from Key Vault.`,
    );
  }
  const where = !status ? 'no rotation has run' : isActive(status) ? `the rotation is in phase ${custom?.phase ?? 'starting'}` : `the last rotation is ${rotationState(status)}${custom?.phase ? ` in ${custom.phase}` : ''}`;
  throw new ApiError(409, 'notWaitingForConsumers', `The rotation of ${target.name} is not waiting for consumers (${where}); nothing was sent.`);
};

/** The last run stopped (needs attention, or cancelled) while it waited for consumers: its key is published, the old one not regenerated. */
function stoppedAtConsumerWait(status: DurableOrchestrationStatus): boolean {
  const output = rotationOutputOf(status);
  if (output) return output.outcome === 'needsAttention' && output.attention?.phase === 'waitingForConsumers';
  return rotationState(status) === 'cancelled' && rotationStatusOf(status)?.phase === 'waitingForConsumers';
}

/** POST /rotations/{account}/cancel: terminate the running rotation; the keys stay as they are. */
export const cancelRotation: Operation = async (request, client, deps, caller) => {
  const target = resolveAccount(deps.config, accountFromRoute(request.params.account));
  const body = await readJsonBody(request, CANCEL_BODY);
  const instanceId = instanceIdOf(target);
  const status = await getRotationInstance(client, instanceId);
  if (!isActive(status)) {
    const where = status ? `the last rotation is ${rotationState(status)}` : 'no rotation has run';
    throw new ApiError(409, 'notRunning', `No rotation of ${target.name} is running (${where}); nothing was cancelled.`);
  }
  const phase = rotationStatusOf(status)?.phase ?? null;
  // The reason becomes the rotation's output: it records who cancelled.
  const reason = `${body.reason} (cancelled by ${caller.name})`;
  // durable-functions 3.5 puts the reason into the query string without encoding it.
  await client.terminate(instanceId, encodeURIComponent(reason));
  const links = linksFor(request, target);
  return jsonResponse(
    202,
    { account: accountRef(target), instanceId, state: 'cancelling', interruption: interruptionOf(phase, reason), links },
    { Location: links.status, 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
};

export interface RotationLinks {
  status: string;
  plan: string;
  consumersMoved: string;
  cancel: string;
}

/**
 * Links back into this API (not the durable runtime's own webhooks, which
 * carry the system key). The function key is left out: callers add their own.
 */
export function linksFor(request: HttpRequest, target: RotationTarget): RotationLinks {
  const url = new URL(request.url);
  const at = url.pathname.indexOf('/rotations');
  const base = `${url.origin}${at >= 0 ? url.pathname.slice(0, at) : '/api'}/rotations/${encodeURIComponent(target.name)}`;
  return { status: base, plan: `${base}/plan`, consumersMoved: `${base}/consumers-moved`, cancel: `${base}/cancel` };
}

/** The history's bounds (HISTORY_RETENTION_IN_DAYS, HISTORY_MAX_PER_ACCOUNT), with their defaults where a caller gave none. */
export function retentionOf(config: Partial<HistoryRetention>): HistoryRetention {
  return { historyRetentionInDays: config.historyRetentionInDays ?? 365, historyMaxPerAccount: config.historyMaxPerAccount ?? 100 };
}

function noRotation(target: RotationTarget): ApiError {
  return new ApiError(404, 'noRotation', `No rotation of ${target.name} has run yet; start one with POST /api/rotations {"account": "${target.name}"}.`);
}

async function getStatusWithInput(client: ApiClient, instanceId: string): Promise<DurableOrchestrationStatus | null> {
  const withInput: Pick<DurableClient, 'getStatus'> = { getStatus: (id) => client.getStatus(id, { showInput: true }) };
  return getRotationInstance(withInput, instanceId);
}

interface SecretFacts extends SecretAge {
  keyKind: KeyKind | null;
}

function secretFacts(target: RotationTarget, listed: Map<string, ListedSecret>): SecretFacts[] {
  const { secrets, problem } = secretAgesOf(target, listed);
  if (problem !== undefined) throw new Error(problem);
  return secrets.map(({ secretName, createdOn, tags }) => {
    const keyKind = isTaggedForAnotherAccount(tags, target.accountId) ? undefined : tags[SECRET_TAGS.keyKind];
    return { secretName, createdOn, keyKind: isKeyKind(keyKind) ? keyKind : null };
  });
}
