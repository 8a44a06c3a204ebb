/**
 * The emulator's state and its persistence. Every change goes through
 * `mutate`, which works on a copy: a change that throws leaves nothing behind,
 * and with a data directory the new state reaches disk (temp file + rename)
 * before it becomes visible, so a crash never leaves a half-written file.
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

export class StateStore {
  private current: EmulatorState;
  private mutating = false;

  constructor(
    initial: EmulatorState,
    private readonly clock: VirtualClock,
    private readonly directory: string | undefined,
  ) {
    this.current = initial;
  }

  get state(): EmulatorState {
    return this.current;
  }

  mutate<T>(change: (state: EmulatorState) => T): T {
    // A nested change would work on a stale copy and be overwritten by the outer one.
    if (this.mutating) throw new Error('emulator state changes cannot be nested: call mutate once per change');
    this.mutating = true;
    try {
      const draft = structuredClone(this.current);
      const result = change(draft);
      draft.clock = this.clock.snapshot();
      this.write(draft);
      this.current = draft;
      return result;
    } finally {
      this.mutating = false;
    }
  }

  /** Writes the current state (e.g. after the clock moved). */
  flush(): void {
    this.current = { ...this.current, clock: this.clock.snapshot() };
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
