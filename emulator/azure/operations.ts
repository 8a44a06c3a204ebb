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

/** Cheap check so that most requests do not copy the state. */
export function needsSettling(state: EmulatorState, now: Date): boolean {
  const nowMs = now.getTime();
  for (const operation of Object.values(state.operations)) {
    if (operation.status === 'InProgress' && Date.parse(operation.completesAt) <= nowMs) return true;
  }
  for (const account of Object.values(state.accounts)) {
    const visibleBeforeMs = nowMs - account.usageLagSeconds * 1000;
    for (const key of Object.values(account.keys)) {
      if (key.pendingUsageTimes?.some((use) => Date.parse(use) <= visibleBeforeMs)) return true;
    }
  }
  return false;
}

/** Completes due operations and makes due key uses visible. Mutates: call inside `mutate`. */
export function settleDue(state: EmulatorState, now: Date): void {
  const due = Object.values(state.operations)
    .filter((operation) => operation.status === 'InProgress' && Date.parse(operation.completesAt) <= now.getTime())
    .sort((a, b) => Date.parse(a.completesAt) - Date.parse(b.completesAt));
  for (const operation of due) complete(state, operation);
  for (const account of Object.values(state.accounts)) settleKeyUsage(account, now);
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

/** The operation still running on an account, if any: ARM allows one at a time. */
export function runningOperation(state: EmulatorState, accountKey: string): OperationState | undefined {
  return Object.values(state.operations).find(
    (operation) => operation.status === 'InProgress' && operation.accountId.toLowerCase() === accountKey,
  );
}
