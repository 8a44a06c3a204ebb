/**
 * Regenerations that fail the way ARM reports it: accepted (202), running for
 * the account's duration, then ending with status "Failed" and an error, the
 * key unchanged. Rules set through the control API pick the next
 * regenerations of an account; an operation in flight can also be marked.
 */
import { randomUUID } from 'node:crypto';
import { KEY_KINDS, type EmulatorState, type KeyKind, type OperationFailure, type OperationFailureRule } from './contracts.js';
import { InputError } from './accounts.js';

const MAX_TIMES = 10_000;
const MAX_MESSAGE_LENGTH = 2_000;
const DEFAULT_FAILURE: OperationFailure = {
  code: 'InternalServerError',
  message: 'The regeneration failed: the emulator was asked to fail it through the control API.',
  status: 500,
};
const FAILURE_FIELDS = ['code', 'message', 'status'] as const;
const RULE_FIELDS = ['accountId', 'keyKind', 'times', ...FAILURE_FIELDS] as const;

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function refuseUnknown(input: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(input).filter((field) => !allowed.includes(field));
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
}

/** Validates `{ code?, message?, status? }`, filling ARM-like defaults. */
function parseFailure(input: Record<string, unknown>): OperationFailure {
  const failure = { ...DEFAULT_FAILURE };
  if (input.code !== undefined) {
    if (typeof input.code !== 'string' || !/^[A-Za-z][A-Za-z0-9.]{0,99}$/.test(input.code)) {
      throw new InputError(`code must be an ARM error code such as "InternalServerError" (letters, digits, dots), got ${JSON.stringify(input.code)}`);
    }
    failure.code = input.code;
  }
  if (input.message !== undefined) {
    if (typeof input.message !== 'string' || !input.message.trim() || input.message.length > MAX_MESSAGE_LENGTH) {
      throw new InputError(`message must be a non-empty string of at most ${MAX_MESSAGE_LENGTH} characters, got ${JSON.stringify(input.message)}`);
    }
    failure.message = input.message;
  }
  if (input.status !== undefined) {
    if (!Number.isInteger(input.status) || (input.status as number) < 400 || (input.status as number) > 599) {
      throw new InputError(`status must be an HTTP error status between 400 and 599, got ${JSON.stringify(input.status)}`);
    }
    failure.status = input.status as number;
  }
  return failure;
}

/** Validates control `POST /operations/fail-next` input into a rule (with a fresh id); the account must exist. */
export function parseFailNextInput(body: unknown, state: EmulatorState): OperationFailureRule {
  const input = asObject(body);
  refuseUnknown(input, RULE_FIELDS);
  if (typeof input.accountId !== 'string' || !input.accountId) throw new InputError('accountId must be the resource ID of an emulated account');
  const account = state.accounts[input.accountId.toLowerCase()];
  if (!account) throw new InputError(`accountId: there is no account ${input.accountId}`);
  let keyKind: KeyKind | undefined;
  if (input.keyKind !== undefined) {
    keyKind = KEY_KINDS.find((kind) => kind === input.keyKind);
    if (!keyKind) throw new InputError(`keyKind must be one of ${KEY_KINDS.join(', ')}, got ${JSON.stringify(input.keyKind)}`);
  }
  let times = 1;
  if (input.times !== undefined) {
    if (!Number.isInteger(input.times) || (input.times as number) < 1 || (input.times as number) > MAX_TIMES) {
      throw new InputError(`times must be a whole number between 1 and ${MAX_TIMES}, got ${JSON.stringify(input.times)}`);
    }
    times = input.times as number;
  }
  return { id: randomUUID(), accountId: account.id, ...(keyKind ? { keyKind } : {}), times, ...parseFailure(input) };
}

/** Validates control `POST /operations/{id}/fail` input (an empty body takes the defaults). */
export function parseFailNowInput(body: unknown): OperationFailure {
  const input = asObject(body ?? {});
  refuseUnknown(input, FAILURE_FIELDS);
  return parseFailure(input);
}

/**
 * Takes one use of the first rule for a regeneration of this account and key
 * (removing spent rules); the failure the new operation should end with, if any.
 * Mutates: call inside `mutate`.
 */
export function takeOperationFailure(state: EmulatorState, accountId: string, keyKind: KeyKind): OperationFailure | undefined {
  const rules = state.operationFailures ?? [];
  const index = rules.findIndex(
    (rule) => rule.times > 0 && rule.accountId.toLowerCase() === accountId.toLowerCase() && (rule.keyKind === undefined || rule.keyKind === keyKind),
  );
  if (index < 0) return undefined;
  const rule = rules[index]!;
  rule.times -= 1;
  if (rule.times <= 0) rules.splice(index, 1);
  return { code: rule.code, message: rule.message, status: rule.status };
}
