/**
 * The emulator's state and its persistence. Every change goes through
 * `mutate`, which works on a draft: a change that throws leaves nothing behind,
 * and with a data directory the new state reaches disk (temp file + rename)
 * before `mutate` returns, so a crash never leaves a half-written file.
 *
 * The draft copies only what the change touches: the large records (accounts,
 * operations, secrets) are copied entry by entry on first access, so a change
 * to one account of thousands costs as much as a change to the only one. A
 * change that walks a whole record (Object.values) copies all of it: walk the
 * read-only `state` to find the keys, then touch those in the draft.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VirtualClock } from '../clock.js';
import type { EmulatorState } from './contracts.js';

export const STATE_FILE = 'state.json';

export function createFreshState(clock: VirtualClock): EmulatorState {
  return {
    schemaVersion: 1,
    clock: clock.snapshot(),
    accounts: {},
    operations: {},
    keyVault: { secrets: {}, deleted: {} },
    faults: [],
    operationFailures: [],
    rbac: { deny: [] },
  };
}

/**
 * Reads `state.json` from `directory`; undefined when there is none yet.
 * A file that exists but cannot be used is an error, never a silent reset:
 * resetting would throw away keys that consumers may still hold.
 */
export function readStateFile(directory: string): EmulatorState | undefined {
  const path = join(directory, STATE_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`emulator state file ${path} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  const problem = describeShapeProblem(parsed);
  if (problem) throw new Error(`emulator state file ${path} cannot be used: ${problem}; fix or remove it`);
  return parsed as EmulatorState;
}

function describeShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it does not hold a JSON object';
  if (value.schemaVersion !== 1) return `unknown schemaVersion ${JSON.stringify(value.schemaVersion)} (this emulator reads 1)`;
  if (!isObject(value.clock) || (value.clock.mode !== 'manual' && value.clock.mode !== 'real')) return '"clock" is missing or has no valid mode';
  if (!isObject(value.accounts)) return '"accounts" is not an object';
  if (!isObject(value.operations)) return '"operations" is not an object';
  if (!isObject(value.keyVault) || !isObject(value.keyVault.secrets) || !isObject(value.keyVault.deleted)) {
    return '"keyVault.secrets" or "keyVault.deleted" is not an object';
  }
  if (!Array.isArray(value.faults)) return '"faults" is not an array';
  // Both are optional: files written before they existed lack them.
  if (value.operationFailures !== undefined && !Array.isArray(value.operationFailures)) return '"operationFailures" is not an array';
  if (value.rbac !== undefined && (!isObject(value.rbac) || !Array.isArray(value.rbac.deny))) return '"rbac.deny" is not an array';
  for (const [key, account] of Object.entries(value.accounts)) {
    if (!isObject(account) || typeof account.id !== 'string' || !isObject(account.keys) || typeof account.dataPlanePort !== 'number') {
      return `account "${key}" is incomplete`;
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Which entries of the large records a change touched (read or written), by key. */
export interface TouchedKeys {
  accounts: ReadonlySet<string>;
  operations: ReadonlySet<string>;
}

export class StateStore {
  private readonly current: EmulatorState;
  private mutating = false;
  private readonly listeners: Array<(touched: TouchedKeys) => void> = [];

  constructor(
    initial: EmulatorState,
    private readonly clock: VirtualClock,
    private readonly directory: string | undefined,
  ) {
    this.current = initial;
  }

  /** The live state: read it, never change it (changes go through `mutate`). */
  get state(): EmulatorState {
    return this.current;
  }

  /** Called after each change with the record entries it touched (for indexes over the state). */
  onChange(listener: (touched: TouchedKeys) => void): void {
    this.listeners.push(listener);
  }

  mutate<T>(change: (state: EmulatorState) => T): T {
    // A nested change would work on a stale draft and be overwritten by the outer one.
    if (this.mutating) throw new Error('emulator state changes cannot be nested: call mutate once per change');
    this.mutating = true;
    try {
      const draft = new StateDraft(this.current);
      const result = change(draft.state);
      const touched = draft.commitInto(this.current);
      this.current.clock = this.clock.snapshot();
      this.write(this.current);
      for (const listener of this.listeners) listener(touched);
      return result;
    } finally {
      this.mutating = false;
    }
  }

  /** Writes the current state (e.g. after the clock moved). */
  flush(): void {
    this.current.clock = this.clock.snapshot();
    this.write(this.current);
  }

  snapshot(): EmulatorState {
    return structuredClone({ ...this.current, clock: this.clock.snapshot() });
  }

  private write(state: EmulatorState): void {
    if (!this.directory) return;
    const path = join(this.directory, STATE_FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state, null, 2));
    renameSync(temporary, path);
  }
}

const DELETED = Symbol('deleted');

/**
 * A copy-on-access view of one record (`accounts`, `operations`, ...): an entry
 * is deep-copied the first time the change reads it, assignments and deletions
 * are kept aside, and nothing reaches the base record until `commitInto`.
 */
class RecordDraft<T> {
  private readonly changes = new Map<string, T | typeof DELETED>();
  readonly view: Record<string, T>;

  constructor(private readonly base: Record<string, T>) {
    const keys = (): string[] => {
      const present = new Set(Object.keys(base));
      for (const [key, value] of this.changes) {
        if (value === DELETED) present.delete(key);
        else present.add(key);
      }
      return [...present];
    };
    this.view = new Proxy({} as Record<string, T>, {
      get: (_target, key) => (typeof key === 'string' ? this.entry(key) : undefined),
      set: (_target, key, value: T) => {
        if (typeof key !== 'string') return false;
        this.changes.set(key, value);
        return true;
      },
      deleteProperty: (_target, key) => {
        if (typeof key === 'string') this.changes.set(key, DELETED);
        return true;
      },
      has: (_target, key) => typeof key === 'string' && this.entry(key) !== undefined,
      ownKeys: () => keys(),
      getOwnPropertyDescriptor: (_target, key) => {
        if (typeof key !== 'string') return undefined;
        const value = this.entry(key);
        return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
      },
    });
  }

  private entry(key: string): T | undefined {
    const changed = this.changes.get(key);
    if (changed !== undefined) return changed === DELETED ? undefined : changed;
    if (!Object.hasOwn(this.base, key)) return undefined;
    const copy = structuredClone(this.base[key]!);
    this.changes.set(key, copy);
    return copy;
  }

  /** Applies the change to `target` (the live record) and says which keys it touched. */
  commitInto(target: Record<string, T>): Set<string> {
    for (const [key, value] of this.changes) {
      if (value === DELETED) delete target[key];
      else target[key] = value;
    }
    return new Set(this.changes.keys());
  }
}

/** A draft of the whole state: the large records copy on access, the small parts are copied whole. */
class StateDraft {
  readonly state: EmulatorState;
  private readonly accounts: RecordDraft<EmulatorState['accounts'][string]>;
  private readonly operations: RecordDraft<EmulatorState['operations'][string]>;
  private readonly secrets: RecordDraft<EmulatorState['keyVault']['secrets'][string]>;
  private readonly deleted: RecordDraft<EmulatorState['keyVault']['deleted'][string]>;

  constructor(base: EmulatorState) {
    this.accounts = new RecordDraft(base.accounts);
    this.operations = new RecordDraft(base.operations);
    this.secrets = new RecordDraft(base.keyVault.secrets);
    this.deleted = new RecordDraft(base.keyVault.deleted);
    const { accounts: _accounts, operations: _operations, keyVault: _keyVault, ...small } = base;
    this.state = {
      ...structuredClone(small),
      accounts: this.accounts.view,
      operations: this.operations.view,
      keyVault: { secrets: this.secrets.view, deleted: this.deleted.view },
    };
  }

  commitInto(target: EmulatorState): TouchedKeys {
    const draft = this.state;
    const touched = {
      accounts: this.accounts.commitInto(target.accounts),
      operations: this.operations.commitInto(target.operations),
    };
    this.secrets.commitInto(target.keyVault.secrets);
    this.deleted.commitInto(target.keyVault.deleted);
    const { accounts: _accounts, operations: _operations, keyVault: _keyVault, ...small } = draft;
    for (const key of Object.keys(target) as Array<keyof EmulatorState>) {
      if (!(key in draft)) delete target[key];
    }
    Object.assign(target, small);
    return touched;
  }
}
