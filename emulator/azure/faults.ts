/**
 * Fault injection: rules set through the control API make the next matching
 * requests of a service fail (with that service's error shape) or slow down,
 * so retry and back-off paths can be exercised against the real SDKs.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, EmulatorState, FaultRule } from './contracts.js';
import { InputError } from './accounts.js';

export type ServiceName = FaultRule['service'];
export const SERVICE_NAMES: readonly ServiceName[] = ['arm', 'cosmos', 'keyvault', 'eventgrid', 'storage'];

const MAX_DELAY_MS = 120_000;
const MAX_TIMES = 10_000;
const KNOWN_FIELDS = new Set(['service', 'method', 'pathPattern', 'status', 'retryAfterSeconds', 'delayMs', 'times']);

/** Validates control input into a rule (with a fresh id); throws InputError naming the field. */
export function parseFaultInput(body: unknown): FaultRule {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((field) => !KNOWN_FIELDS.has(field));
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: ${[...KNOWN_FIELDS].join(', ')}`);
  const service = input.service;
  if (typeof service !== 'string' || !SERVICE_NAMES.includes(service as ServiceName)) {
    throw new InputError(`service must be one of ${SERVICE_NAMES.join(', ')}, got ${JSON.stringify(service)}`);
  }
  const rule: FaultRule = { id: randomUUID(), service: service as ServiceName, times: 0 };
  if (input.method !== undefined) {
    if (typeof input.method !== 'string' || !/^[A-Za-z]{3,10}$/.test(input.method)) {
      throw new InputError(`method must be an HTTP method such as "GET", got ${JSON.stringify(input.method)}`);
    }
    rule.method = input.method.toUpperCase();
  }
  if (input.pathPattern !== undefined) {
    if (typeof input.pathPattern !== 'string') throw new InputError('pathPattern must be a regular expression as a string');
    try {
      new RegExp(input.pathPattern, 'i');
    } catch (error) {
      throw new InputError(`pathPattern is not a valid regular expression: ${(error as Error).message}`);
    }
    rule.pathPattern = input.pathPattern;
  }
  if (input.status !== undefined) {
    if (!Number.isInteger(input.status) || (input.status as number) < 400 || (input.status as number) > 599) {
      throw new InputError(`status must be an HTTP error status between 400 and 599, got ${JSON.stringify(input.status)}`);
    }
    rule.status = input.status as number;
  }
  if (input.retryAfterSeconds !== undefined) {
    if (!Number.isInteger(input.retryAfterSeconds) || (input.retryAfterSeconds as number) < 0) {
      throw new InputError(`retryAfterSeconds must be a whole number of seconds >= 0, got ${JSON.stringify(input.retryAfterSeconds)}`);
    }
    if (rule.status === undefined) throw new InputError('retryAfterSeconds needs a status (e.g. 429 or 503)');
    rule.retryAfterSeconds = input.retryAfterSeconds as number;
  }
  if (input.delayMs !== undefined) {
    if (!Number.isInteger(input.delayMs) || (input.delayMs as number) < 0 || (input.delayMs as number) > MAX_DELAY_MS) {
      throw new InputError(`delayMs must be a whole number of milliseconds between 0 and ${MAX_DELAY_MS}, got ${JSON.stringify(input.delayMs)}`);
    }
    rule.delayMs = input.delayMs as number;
  }
  if (rule.status === undefined && rule.delayMs === undefined) throw new InputError('a fault needs a status, a delayMs, or both');
  if (!Number.isInteger(input.times) || (input.times as number) < 1 || (input.times as number) > MAX_TIMES) {
    throw new InputError(`times must be a whole number between 1 and ${MAX_TIMES}, got ${JSON.stringify(input.times)}`);
  }
  rule.times = input.times as number;
  return rule;
}

export function faultMatches(rule: FaultRule, service: ServiceName, request: EmulatorRequest): boolean {
  if (rule.times <= 0 || rule.service !== service) return false;
  if (rule.method && rule.method !== request.method.toUpperCase()) return false;
  if (rule.pathPattern && !new RegExp(rule.pathPattern, 'i').test(request.url.pathname)) return false;
  return true;
}

/** Takes one use of the first matching rule (removing spent rules). Mutates: call inside `mutate`. */
export function takeFault(state: EmulatorState, service: ServiceName, request: EmulatorRequest): FaultRule | undefined {
  const index = state.faults.findIndex((rule) => faultMatches(rule, service, request));
  if (index < 0) return undefined;
  const rule = state.faults[index]!;
  const taken = { ...rule };
  rule.times -= 1;
  if (rule.times <= 0) state.faults.splice(index, 1);
  return taken;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  408: 'RequestTimeout',
  409: 'Conflict',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The injected failure, shaped like the real service's errors. */
export function faultResponse(service: ServiceName, rule: FaultRule & { status: number }): EmulatorResponse {
  const code = REASONS[rule.status] ?? (rule.status >= 500 ? 'InternalServerError' : 'BadRequest');
  const message = `Injected fault ${rule.id}: the emulator answers ${rule.status} as requested through the control API.`;
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(rule.retryAfterSeconds);
    // @azure/cosmos reads its back-off from this header rather than Retry-After.
    if (service === 'cosmos') headers['x-ms-retry-after-ms'] = String(rule.retryAfterSeconds * 1000);
  }
  // Storage answers XML, its code also in x-ms-error-code (blob.ts).
  if (service === 'storage') {
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    return { status: rule.status, headers: { ...headers, 'x-ms-error-code': code, 'content-type': 'application/xml' }, body: xml };
  }
  // Cosmos DB puts code and message at the top level; ARM, Key Vault and Event Grid nest them under "error".
  const body = service === 'cosmos' ? { code, message } : { error: { code, message } };
  return { status: rule.status, headers, body };
}
