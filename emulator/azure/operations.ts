/**
 * Long-running ARM operations complete lazily: whenever the emulator is about
 * to serve a request (or its clock moves), operations whose completion time has
 * passed are applied at that completion time. Time in the emulator only moves
 * forward, so applying them late is indistinguishable from a timer.
 */
import { randomBytes } from 'node:crypto';
import type { AccountState, EmulatorState, OperationState } from './contracts.js';
import { settleKeyUsage } from './key-usage.js';

/** A Cosmos DB account key: 64 random bytes, base64, as Azure issues them. */
export function newAccountKeyValue(): string {
  return randomBytes(64).toString('base64');
}

/**
 * Completes due operations and makes due key uses visible. Mutates: call inside
 * `mutate`. `due` names what is due (see StateIndex), so that only those
 * entries are touched.
 */
export function settleDue(state: EmulatorState, now: Date, due: { operationIds: string[]; accountKeys: string[] }): void {
  const operations = due.operationIds
    .map((id) => state.operations[id])
    .filter((operation): operation is OperationState => operation?.status === 'InProgress' && Date.parse(operation.completesAt) <= now.getTime())
    .sort((a, b) => Date.parse(a.completesAt) - Date.parse(b.completesAt));
  for (const operation of operations) complete(state, operation);
  for (const key of due.accountKeys) {
    const account = state.accounts[key];
    if (account) settleKeyUsage(account, now);
  }
}

function complete(state: EmulatorState, operation: OperationState): void {
  const account = state.accounts[operation.accountId.toLowerCase()];
  if (!account) {
    operation.status = 'Failed';
    operation.error = { code: 'ResourceNotFound', message: `The account ${operation.accountId} no longer exists.` };
    return;
  }
  if (operation.plannedFailure) {
    // Failed as asked through the control API: nothing of the operation is applied.
    const { code, message, status } = operation.plannedFailure;
    operation.status = 'Failed';
    operation.error = { code, message };
    operation.failureStatus = status;
    delete operation.plannedFailure;
    return;
  }
  if (operation.kind === 'regenerateKey' && operation.keyKind) {
    account.keys[operation.keyKind] = {
      value: newAccountKeyValue(),
      // Regions the new value has not reached yet keep accepting this one (see regionalKeyValues).
      ...(account.regions?.some((region) => region.propagationSeconds > 0) ? { previousValue: account.keys[operation.keyKind].value } : {}),
      generationTime: operation.completesAt,
      // A fresh key has never been used: uses of the old value do not carry over.
      approximateLastUsageTime: null,
    };
  } else if (operation.kind === 'updateAccount' && operation.patch) {
    applyPatch(account, operation.patch);
  }
  operation.status = 'Succeeded';
}

function applyPatch(account: AccountState, patch: NonNullable<OperationState['patch']>): void {
  if (patch.capabilities) account.capabilities = [...patch.capabilities];
  if (patch.disableLocalAuth !== undefined) account.disableLocalAuth = patch.disableLocalAuth;
}
