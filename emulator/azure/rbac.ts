/**
 * A deny list of ARM operations, set through the control API, so that a caller
 * whose role lacks an action (e.g. an account-scoped custom role, which cannot
 * read the subscription-level operation status of a regeneration) can be
 * tested. A denied request gets ARM's 403 `AuthorizationFailed` and changes
 * nothing; every other request is authorized, whatever the token.
 */
import type { EmulatorRequest, EmulatorResponse, RbacState } from './contracts.js';
import { ARM_OPERATIONS, type ArmOperation } from './arm-routes.js';
import { InputError } from './accounts.js';

/** The RBAC action ARM checks for each operation. */
export const ARM_ACTIONS: Readonly<Record<ArmOperation, string>> = {
  listAccountsBySubscription: 'Microsoft.DocumentDB/databaseAccounts/read',
  listAccountsByResourceGroup: 'Microsoft.DocumentDB/databaseAccounts/read',
  getAccount: 'Microsoft.DocumentDB/databaseAccounts/read',
  updateAccount: 'Microsoft.DocumentDB/databaseAccounts/write',
  listKeys: 'Microsoft.DocumentDB/databaseAccounts/listKeys/action',
  listReadOnlyKeys: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/action',
  getReadOnlyKeys: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/read',
  listConnectionStrings: 'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action',
  regenerateKey: 'Microsoft.DocumentDB/databaseAccounts/regenerateKey/action',
  getOperationStatus: 'Microsoft.DocumentDB/locations/operationsStatus/read',
  getOperationResult: 'Microsoft.DocumentDB/locations/operationResults/read',
};

/**
 * Who ARM names in the 403. The emulator does not read tokens (any bearer token
 * is accepted), so the caller is always this made-up principal.
 */
export const EMULATOR_PRINCIPAL_ID = '00000000-0000-0000-0000-0000000000e1';

/** Validates control `POST /rbac` input: `{ deny: [operation names] }`; throws InputError naming the field. */
export function parseRbacInput(body: unknown): RbacState {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((field) => field !== 'deny');
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: deny`);
  if (!Array.isArray(input.deny)) throw new InputError(`deny must be an array of ARM operation names, got ${JSON.stringify(input.deny)}`);
  const wrong = input.deny.filter((name) => !ARM_OPERATIONS.includes(name as ArmOperation));
  if (wrong.length) {
    throw new InputError(`deny holds unknown ARM operation(s) ${JSON.stringify(wrong)}; known: ${ARM_OPERATIONS.join(', ')}`);
  }
  return { deny: [...new Set(input.deny as ArmOperation[])] };
}

/** ARM's answer to a caller without the action, or undefined when the operation is allowed. */
export function denial(rbac: RbacState | undefined, operation: ArmOperation, request: EmulatorRequest): EmulatorResponse | undefined {
  if (!rbac?.deny.includes(operation)) return undefined;
  const scope = request.url.pathname;
  return {
    status: 403,
    // ARM marks authorization failures it decides itself (not the resource provider) as the gateway's.
    headers: { 'x-ms-failure-cause': 'gateway' },
    body: {
      error: {
        code: 'AuthorizationFailed',
        message:
          `The client '${EMULATOR_PRINCIPAL_ID}' with object id '${EMULATOR_PRINCIPAL_ID}' does not have authorization to perform ` +
          `action '${ARM_ACTIONS[operation]}' over scope '${scope}' or the scope is invalid. ` +
          'If access was recently granted, please refresh your credentials.',
      },
    },
  };
}
