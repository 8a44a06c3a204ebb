/**
 * The control API under `/_emulator` on the ARM port: what a test, the demo or
 * a user needs to set the scene (accounts, key usage, clock, faults) and look
 * at it (state, request counts). Loopback only; JSON in and out.
 */
import type { VirtualClock } from '../clock.js';
import {
  KEY_KINDS,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorState,
  type FaultRule,
  type KeyKind,
  type OperationFailure,
  type OperationFailureRule,
  type OperationState,
  type RbacState,
} from './contracts.js';
import { InputError, type CreatedAccount } from './accounts.js';
import { parseFaultInput } from './faults.js';
import { parseFailNextInput, parseFailNowInput } from './operation-failures.js';
import { parseRbacInput } from './rbac.js';
import type { EmulatorStats } from './request-stats.js';
import { azureThrottling, type ThrottlingSettings } from './throttling.js';

export const CONTROL_PREFIX = '/_emulator';

export interface ControlDependencies {
  clock: VirtualClock;
  state(): EmulatorState;
  createAccount(body: unknown): Promise<CreatedAccount>;
  recordKeyUse(input: unknown): { accountId: string; keyKind: KeyKind; at: string };
  addFault(rule: FaultRule): void;
  clearFaults(): number;
  stats(): EmulatorStats;
  resetStats(): void;
  addOperationFailure(rule: OperationFailureRule): void;
  clearOperationFailures(): number;
  /** Marks an operation in flight to fail; throws NotFoundError (unknown id) or ConflictError (already ended). */
  failOperation(operationId: string, failure: OperationFailure): OperationState;
  setRbac(rbac: RbacState): void;
  throttling(): ThrottlingSettings;
  /** Merges a partial change (throws InputError); the buckets start full again. */
  setThrottling(input: unknown): ThrottlingSettings;
}

/** Thrown by control operations for a request that conflicts with the state (e.g. an existing account). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** Thrown by control operations for something that does not exist (e.g. an unknown operation id). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

const FAIL_OPERATION_ROUTE = /^POST \/operations\/([^/]+)\/fail$/;

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function reply(status: number, body?: unknown): EmulatorResponse {
  return { status, body };
}

function fail(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}

export async function handleControl(
  request: EmulatorRequest,
  remoteAddress: string | undefined,
  dependencies: ControlDependencies,
): Promise<EmulatorResponse> {
  if (!remoteAddress || !LOOPBACK.has(remoteAddress)) {
    return fail(403, 'Forbidden', 'The control API answers loopback clients only.');
  }
  const path = request.url.pathname.slice(CONTROL_PREFIX.length).replace(/\/+$/, '') || '/';
  const route = `${request.method} ${path}`;
  try {
    const failOperation = FAIL_OPERATION_ROUTE.exec(route);
    if (failOperation) {
      const failure = parseFailNowInput(parseOptionalBody(request));
      return reply(200, dependencies.failOperation(decodeURIComponent(failOperation[1]!), failure));
    }
    switch (route) {
      case 'POST /accounts':
        return reply(201, await dependencies.createAccount(parseBody(request)));
      case 'POST /key-usage':
        return reply(200, dependencies.recordKeyUse(parseBody(request)));
      case 'GET /state':
        return reply(200, dependencies.state());
      case 'GET /clock':
        return reply(200, clockBody(dependencies.clock));
      case 'PUT /clock':
        setClock(dependencies.clock, parseBody(request));
        return reply(200, clockBody(dependencies.clock));
      case 'POST /clock/advance':
        advanceClock(dependencies.clock, parseBody(request));
        return reply(200, clockBody(dependencies.clock));
      case 'POST /faults': {
        const rule = parseFaultInput(parseBody(request));
        dependencies.addFault(rule);
        return reply(201, rule);
      }
      case 'GET /faults':
        return reply(200, { faults: dependencies.state().faults });
      case 'DELETE /faults':
        return reply(200, { removed: dependencies.clearFaults() });
      case 'POST /operations/fail-next': {
        const rule = parseFailNextInput(parseBody(request), dependencies.state());
        dependencies.addOperationFailure(rule);
        return reply(201, rule);
      }
      case 'GET /operations/fail-next':
        return reply(200, { rules: dependencies.state().operationFailures ?? [] });
      case 'DELETE /operations/fail-next':
        return reply(200, { removed: dependencies.clearOperationFailures() });
      case 'GET /rbac':
        return reply(200, rbacBody(dependencies.state()));
      case 'POST /rbac':
      case 'PUT /rbac':
        dependencies.setRbac(parseRbacInput(parseBody(request)));
        return reply(200, rbacBody(dependencies.state()));
      case 'DELETE /rbac':
        dependencies.setRbac({ deny: [] });
        return reply(200, rbacBody(dependencies.state()));
      case 'GET /throttling':
        return reply(200, dependencies.throttling());
      case 'PUT /throttling':
        return reply(200, dependencies.setThrottling(parseBody(request)));
      case 'DELETE /throttling':
        // Back to Azure's published numbers, on.
        return reply(200, dependencies.setThrottling(azureThrottling()));
      case 'GET /stats':
        return reply(200, dependencies.stats());
      case 'DELETE /stats':
        dependencies.resetStats();
        return reply(200, dependencies.stats());
      default:
        return fail(404, 'NotFound', `The control API has no ${route}. See emulator/README.md for its endpoints.`);
    }
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'InputError') return fail(400, 'BadRequest', (error as Error).message);
    if (name === 'ConflictError') return fail(409, 'Conflict', (error as Error).message);
    if (name === 'NotFoundError') return fail(404, 'NotFound', (error as Error).message);
    throw error;
  }
}

function parseBody(request: EmulatorRequest): unknown {
  const text = request.body.toString('utf8');
  if (!text.trim()) throw new InputError('the body is empty; a JSON object is expected');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** As parseBody, but an empty body is an empty object (every field optional). */
function parseOptionalBody(request: EmulatorRequest): unknown {
  return request.body.toString('utf8').trim() ? parseBody(request) : {};
}

function rbacBody(state: EmulatorState): RbacState {
  return { deny: state.rbac?.deny ?? [] };
}

function clockBody(clock: VirtualClock): { now: string; mode: string } {
  return { now: clock.now().toISOString(), mode: clock.mode };
}

function setClock(clock: VirtualClock, body: unknown): void {
  const now = (body as { now?: unknown } | null)?.now;
  if (typeof now !== 'string' || Number.isNaN(Date.parse(now))) {
    throw new InputError(`now must be an ISO-8601 date-time string, got ${JSON.stringify(now)}`);
  }
  moveClock(() => clock.set(now));
}

function advanceClock(clock: VirtualClock, body: unknown): void {
  const seconds = (body as { seconds?: unknown } | null)?.seconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InputError(`seconds must be a number >= 0, got ${JSON.stringify(seconds)}`);
  }
  moveClock(() => clock.advance(seconds * 1000));
}

function moveClock(move: () => void): void {
  try {
    move();
  } catch (error) {
    // The clock refuses to go back; say so to the caller rather than fail the server.
    throw new InputError((error as Error).message);
  }
}

/** Validates `POST /key-usage` input; `at` defaults to now and may not be in the future. */
export function parseKeyUseInput(body: unknown, now: Date): { accountId: string; keyKind: KeyKind; at: Date } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((field) => !['accountId', 'keyKind', 'at'].includes(field));
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: accountId, keyKind, at`);
  if (typeof input.accountId !== 'string' || !input.accountId) throw new InputError('accountId must be the resource ID of an emulated account');
  const keyKind = KEY_KINDS.find((kind) => kind === input.keyKind);
  if (!keyKind) throw new InputError(`keyKind must be one of ${KEY_KINDS.join(', ')}, got ${JSON.stringify(input.keyKind)}`);
  let at = now;
  if (input.at !== undefined) {
    if (typeof input.at !== 'string' || Number.isNaN(Date.parse(input.at))) {
      throw new InputError(`at must be an ISO-8601 date-time string, got ${JSON.stringify(input.at)}`);
    }
    at = new Date(input.at);
    if (at.getTime() > now.getTime()) throw new InputError(`at (${input.at}) is after the emulator's clock (${now.toISOString()})`);
  }
  return { accountId: input.accountId, keyKind, at };
}
