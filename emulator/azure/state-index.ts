/**
 * What the emulator asks of its state on every request, answered without
 * walking it: when the next operation completes or key use becomes visible
 * (so that most requests settle nothing), and which operation runs on an
 * account. Kept up to date from the entries each change touched, so its cost
 * per request does not grow with the number of accounts or of operations ever
 * run.
 */
import { KEY_KINDS, type AccountState, type EmulatorState, type OperationState } from './contracts.js';
import type { TouchedKeys } from './state-store.js';

export class StateIndex {
  /** Completion time of each operation still in progress, by id. */
  private readonly operationDueMs = new DueTimes();
  /** When the earliest pending key use of each account becomes visible, by account key. */
  private readonly usageDueMs = new DueTimes();
  /** The operation in progress on each account (ARM runs one at a time), by account key. */
  private readonly runningByAccount = new Map<string, string>();
  /** The four key values of each account, to notice a change. */
  private readonly keyValues = new Map<string, string>();
  /** The scope (`subscription` or `subscription/group`, lower case) of each account, and how many accounts each scope holds. */
  private readonly scopeOf = new Map<string, string[]>();
  private readonly accountsInScope = new Map<string, number>();
  /** Counts changes of any account's key values (including accounts created or deleted). */
  keysRevision = 0;

  constructor(state: EmulatorState) {
    this.update(state, { accounts: new Set(Object.keys(state.accounts)), operations: new Set(Object.keys(state.operations)) });
  }

  update(state: EmulatorState, touched: TouchedKeys): void {
    for (const id of touched.operations) {
      const operation = state.operations[id];
      const accountKey = operation?.accountId.toLowerCase();
      if (operation?.status === 'InProgress') {
        this.operationDueMs.set(id, Date.parse(operation.completesAt));
        this.runningByAccount.set(accountKey!, id);
      } else {
        this.operationDueMs.delete(id);
        if (accountKey !== undefined && this.runningByAccount.get(accountKey) === id) this.runningByAccount.delete(accountKey);
      }
    }
    for (const key of touched.accounts) {
      const account = state.accounts[key];
      this.placeAccount(key, account);
      const values = account ? KEY_KINDS.map((kind) => account.keys[kind].value).join(' ') : undefined;
      if (values !== this.keyValues.get(key)) {
        this.keysRevision += 1;
        if (values === undefined) this.keyValues.delete(key);
        else this.keyValues.set(key, values);
      }
      const dueMs = account ? earliestPendingUseVisibleMs(account) : undefined;
      if (dueMs === undefined) this.usageDueMs.delete(key);
      else this.usageDueMs.set(key, dueMs);
    }
  }

  /** How many accounts a subscription holds, or one of its resource groups (case-insensitive). */
  accountCount(subscriptionId: string, resourceGroup?: string): number {
    const scope = resourceGroup === undefined ? subscriptionId.toLowerCase() : `${subscriptionId.toLowerCase()}/${resourceGroup.toLowerCase()}`;
    return this.accountsInScope.get(scope) ?? 0;
  }

  private placeAccount(key: string, account: AccountState | undefined): void {
    const scopes = account ? [account.subscriptionId.toLowerCase(), `${account.subscriptionId.toLowerCase()}/${account.resourceGroup.toLowerCase()}`] : [];
    const before = this.scopeOf.get(key) ?? [];
    if (before.join('|') === scopes.join('|')) return;
    for (const scope of before) this.accountsInScope.set(scope, (this.accountsInScope.get(scope) ?? 1) - 1);
    for (const scope of scopes) this.accountsInScope.set(scope, (this.accountsInScope.get(scope) ?? 0) + 1);
    if (account) this.scopeOf.set(key, scopes);
    else this.scopeOf.delete(key);
  }

  /** True when an operation has completed or a key use has become visible by `nowMs`. */
  needsSettling(nowMs: number): boolean {
    return (this.operationDueMs.earliest() ?? Infinity) <= nowMs || (this.usageDueMs.earliest() ?? Infinity) <= nowMs;
  }

  /** What is due by `nowMs`: operations to complete and accounts whose key usage to settle. */
  due(nowMs: number): { operationIds: string[]; accountKeys: string[] } {
    return { operationIds: this.operationDueMs.dueBy(nowMs), accountKeys: this.usageDueMs.dueBy(nowMs) };
  }

  runningOperation(state: EmulatorState, accountKey: string): OperationState | undefined {
    const id = this.runningByAccount.get(accountKey);
    return id === undefined ? undefined : state.operations[id];
  }
}

function earliestPendingUseVisibleMs(account: AccountState): number | undefined {
  let earliest: number | undefined;
  for (const key of Object.values(account.keys)) {
    for (const use of key.pendingUsageTimes ?? []) {
      const visibleMs = Date.parse(use) + account.usageLagSeconds * 1000;
      if (earliest === undefined || visibleMs < earliest) earliest = visibleMs;
    }
  }
  return earliest;
}

/** Due times by key, with the earliest kept at hand: recomputed only after the earliest left or moved later. */
class DueTimes {
  private readonly byKey = new Map<string, number>();
  private earliestMs: number | undefined;
  private stale = false;

  set(key: string, dueMs: number): void {
    const previous = this.byKey.get(key);
    this.byKey.set(key, dueMs);
    if (this.stale) return;
    if (previous !== undefined && previous === this.earliestMs && dueMs > previous) this.stale = true;
    else if (this.earliestMs === undefined || dueMs < this.earliestMs) this.earliestMs = dueMs;
  }

  delete(key: string): void {
    const previous = this.byKey.get(key);
    if (previous === undefined) return;
    this.byKey.delete(key);
    if (previous === this.earliestMs) this.stale = true;
  }

  earliest(): number | undefined {
    if (this.stale) {
      this.earliestMs = undefined;
      for (const dueMs of this.byKey.values()) if (this.earliestMs === undefined || dueMs < this.earliestMs) this.earliestMs = dueMs;
      this.stale = false;
    }
    return this.earliestMs;
  }

  dueBy(nowMs: number): string[] {
    return [...this.byKey].filter(([, dueMs]) => dueMs <= nowMs).map(([key]) => key);
  }
}
