/**
 * The scenario file format (version 1) behind `npm run demo -- --scenario FILE`,
 * documented in docs/scenarios.md. Files are validated strictly: an unknown
 * field or a bad value is an error that names the field (`consumers[1].callEvery`),
 * so a typo never silently changes the story a scenario tells.
 */
import { ScheduleError, parseSchedule } from './ncrontab.js';
import { readFile } from 'node:fs/promises';
import { KEY_KINDS, type FaultRule, type KeyKind } from '../azure/contracts.js';
import { ACTIVITY_NAMES } from '../../src/activities/contracts.js';
import { SETTINGS, SETTING_NAMES, loadConfig } from '../../src/config.js';

export const SCENARIO_VERSION = 1;

export const DEFAULT_START = '2025-03-03T00:00:00.000Z';
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000de00';
export const DEFAULT_RESOURCE_GROUP = 'rotation-demo';

/** Settings the runner sets itself to point the app at the emulator: a scenario cannot override them. */
export const RUNNER_OWNED_SETTINGS = ['KEY_VAULT_URL', 'ARM_ENDPOINT', 'AZURE_CREDENTIAL', 'EMULATOR_CA_CERT_PATH', 'ROTATION_TARGETS', 'ROTATION_TARGETS_BLOB_URL', 'ROTATION_EVENTS_TOPIC_ENDPOINT'] as const;

export type ConsumerAccess = 'readWrite' | 'readOnly';
/**
 * keyInHand: reads the secret every refreshEvery and calls with the key it holds (a Key Vault
 * reference, or an app that caches the key). rotatingClient: uses packages/rotating-cosmos-client,
 * which re-reads every refreshEvery and also when Cosmos DB answers 401.
 */
export type ConsumerKind = 'keyInHand' | 'rotatingClient';
/** timer: reads Key Vault every refreshEvery only; onEvent: also at once when the rotator's newKeyPublished event for its secret arrives. */
export type ConsumerRefresh = 'timer' | 'onEvent';
export const CONSUMER_REFRESH_MODES: readonly ConsumerRefresh[] = ['timer', 'onEvent'];
export const CONSUMER_KINDS: readonly ConsumerKind[] = ['keyInHand', 'rotatingClient'];

export interface ScenarioAccount {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  capabilities: string[];
  regenerationSeconds: number;
  usageLagSeconds: number;
  /** Listed in ROTATION_TARGETS (the app may rotate it). */
  configured: boolean;
  /** Per-account overrides in ROTATION_TARGETS (the object form), e.g. rotationIntervalInDays. */
  target: Record<string, unknown>;
  /** Which key the Key Vault secrets hold before the story starts; null: no secret yet (first rotation). */
  initialActiveKeyKind: 'primary' | 'secondary' | null;
  /** How old the seeded secrets are at the start, in ms (the timer starts rotations for old ones). */
  secretAgeMs: number;
  /** untagged: the secrets hold the key as a person put it there, with no tags (the app adopts them by value). */
  initialSecret: 'tagged' | 'untagged';
}

export interface ScenarioConsumer {
  name: string;
  account: string;
  kind: ConsumerKind;
  /** How many identical instances (each its own clients, calls spread over the interval). */
  count: number;
  access: ConsumerAccess;
  /** How often the latest Key Vault secret version is read. */
  refreshEveryMs: number;
  /** Whether the rotator's events make it read at once (subscribed to the Event Grid topic). */
  refresh: ConsumerRefresh;
  /** How often the data plane is called with the key in hand. */
  callEveryMs: number;
  /** Uses this key (copied from the portal, say) instead of Key Vault... */
  pinnedKeyKind: KeyKind | null;
  /** ...until this offset from the start; null: for the whole run. */
  pinnedUntilMs: number | null;
  startAtMs: number;
  /** Stops calling at this offset (the app was shut down); null: runs to the end. */
  stopAtMs: number | null;
}

/** A fault rule as the emulator's control API takes it (the emulator assigns the id). */
export type FaultInput = Omit<FaultRule, 'id'>;

export type ScenarioAction =
  | { atMs: number; type: 'timer' }
  | { atMs: number; type: 'start'; account: string; force: boolean; reason: string | null; expectStatus: number | null }
  | { atMs: number; type: 'consumersMoved'; account: string; note: string | null; expectStatus: number | null }
  | { atMs: number; type: 'cancel'; account: string; reason: string | null; expectStatus: number | null }
  | { atMs: number; type: 'http'; method: 'GET' | 'POST'; path: string; body: unknown; expectStatus: number | null; print: boolean }
  /** forMs: the fault lasts this long (virtual time) instead of a count; the runner removes it then. */
  | { atMs: number; type: 'fault'; fault: FaultInput; forMs: number | null }
  /**
   * afterActivity: the crash waits for that activity (e.g. publishKey) instead of the next one;
   * beforeActivity: the host dies just before that activity runs (it never ran).
   */
  | { atMs: number; type: 'crash'; afterActivity: string | null; beforeActivity?: string }
  /** The next `times` regenerations of the account's key (any key when null) run, then Azure reports them Failed. */
  | { atMs: number; type: 'failRegeneration'; account: string; keyKind: KeyKind | null; times: number; message: string | null }
  /** Someone changes the account outside the app: turns disableLocalAuth on or off, sets its capabilities, or deletes it. */
  | { atMs: number; type: 'changeAccount'; account: string; disableLocalAuth?: boolean; capabilities?: string[]; deleted?: true };

export type ExpectedOutcome = 'rotated' | 'needsAttention' | 'failed' | 'cancelled' | 'running' | 'notStarted';
export const EXPECTED_OUTCOMES: readonly ExpectedOutcome[] = ['rotated', 'needsAttention', 'failed', 'cancelled', 'running', 'notStarted'];

export interface AccountExpectation {
  outcome?: ExpectedOutcome;
  activeKeyKind?: KeyKind;
  /** Key kinds regenerated during the run, in order. */
  regenerated?: KeyKind[];
  /** Phases the rotation must have gone through (any order). */
  phasesInclude?: string[];
  /** Phases it must never have entered. */
  phasesExclude?: string[];
  /** The outcome of every run, in order (e.g. cancelled, then rotated). */
  runs?: ExpectedOutcome[];
  /** Versions of the read-write secret at the end, the seeded one included. */
  secretVersions?: number;
  /** A key kind must not be regenerated before this offset from the start. */
  notRegeneratedBefore?: Partial<Record<KeyKind, number>>;
  /** How the waits ended over all runs, in order, as "wait:ended" (e.g. "consumers:operator"). */
  waitEndings?: string[];
}

export interface FailureBounds {
  atLeast: number | null;
  atMost: number | null;
  /** The only causes allowed; null: any. */
  causes: FailureCause[] | null;
}

export interface ScenarioExpectations {
  noConsumerFailures: boolean;
  /** true: a consumer's failed Key Vault read fails the run too (they are counted apart from data-plane calls). */
  noKeyVaultReadFailures: boolean;
  /** Bounds on ARM's 429 answers (to the app and to anyone else): a paced fleet gets none. */
  armThrottled: { atLeast: number | null; atMost: number | null } | null;
  /** What every account must show (a fleet's accounts have no expectations of their own). */
  everyAccount: AccountExpectation | null;
  /** Bounds on all consumers' failures together, when some are part of the story. */
  consumerFailures: FailureBounds | null;
  /** Bounds per consumer (by name). */
  consumers: Record<string, FailureBounds>;
  accounts: Record<string, AccountExpectation>;
}

export interface Scenario {
  version: 1;
  name: string;
  title: string;
  description: string;
  start: string;
  runForMs: number;
  settings: Record<string, string>;
  /** The runner fires the app's timer trigger at each occurrence of its ROTATION_SCHEDULE as virtual time passes. */
  scheduledTimer: boolean;
  /** The story ends as soon as every configured account's last run has rotated it (runFor is then an upper bound). */
  stopWhenAllRotated: boolean;
  /**
   * Where the runner lists the configured accounts for the app: the ROTATION_TARGETS setting, or a blob in the
   * emulator's storage named by ROTATION_TARGETS_BLOB_URL (the form for fleets too large for one app setting).
   */
  targets: 'setting' | 'blob';
  accounts: ScenarioAccount[];
  consumers: ScenarioConsumer[];
  actions: ScenarioAction[];
  expect: ScenarioExpectations;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not a valid scenario:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(path, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(path, [`is not JSON: ${(error as Error).message}`]);
  }
  return parseScenario(json, { source: path });
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** "90s", "15m", "26h", "3d", "1d2h30m" -> ms. */
export function parseDuration(text: string): number | null {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!text || !match) return null;
  const [, d, h, m, s] = match;
  return Number(d ?? 0) * UNIT_MS.d! + Number(h ?? 0) * UNIT_MS.h! + Number(m ?? 0) * UNIT_MS.m! + Number(s ?? 0) * UNIT_MS.s!;
}

/** ms -> "1d2h30m" (the inverse of parseDuration, for timelines). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0m';
  let rest = Math.round(ms / 1000);
  let text = '';
  for (const [unit, seconds] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const amount = Math.floor(rest / seconds);
    if (amount) text += `${amount}${unit}`;
    rest -= amount * seconds;
  }
  return text;
}

const ACCOUNT_NAME = /^[a-z0-9][a-z0-9-]{1,42}[a-z0-9]$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SETTING_NAME = /^[A-Z][A-Z0-9_]*$/;
const MAX_RUN_MS = 60 * UNIT_MS.d!;

/**
 * Collects problems as it walks the JSON; every accessor names the field path,
 * so errors read "accounts[0].regenerationSeconds must be ...".
 */
class Reader {
  readonly problems: string[] = [];

  problem(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  object(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problem(path, `must be an object, got ${describe(value)}`);
      return null;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.problem(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
    }
    return record;
  }

  string(record: Record<string, unknown>, path: string, key: string, options: { required?: boolean; pattern?: RegExp; hint?: string } = {}): string | undefined {
    const value = record[key];
    if (value === undefined) {
      if (options.required) this.problem(join(path, key), 'is required');
      return undefined;
    }
    if (typeof value !== 'string' || value.length === 0) {
      this.problem(join(path, key), `must be a non-empty string, got ${describe(value)}`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(value)) {
      this.problem(join(path, key), `${options.hint ?? `must match ${options.pattern}`}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  integer(record: Record<string, unknown>, path: string, key: string, options: { min: number; max: number }): number | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || (value as number) < options.min || (value as number) > options.max) {
      this.problem(join(path, key), `must be a whole number from ${options.min} to ${options.max}, got ${describe(value)}`);
      return undefined;
    }
    return value as number;
  }

  boolean(record: Record<string, unknown>, path: string, key: string): boolean | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      this.problem(join(path, key), `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  duration(record: Record<string, unknown>, path: string, key: string, options: { required?: boolean; positive?: boolean } = {}): number | undefined {
    const text = this.string(record, path, key, { required: options.required });
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === null) {
      this.problem(join(path, key), `must be a duration such as "90s", "15m", "26h", "3d" or "1d2h30m", got ${JSON.stringify(text)}`);
      return undefined;
    }
    if (options.positive && ms === 0) {
      this.problem(join(path, key), 'must be longer than zero');
      return undefined;
    }
    return ms;
  }

  oneOf<T extends string>(record: Record<string, unknown>, path: string, key: string, values: readonly T[], options: { required?: boolean } = {}): T | undefined {
    const value = record[key];
    if (value === undefined) {
      if (options.required) this.problem(join(path, key), `is required (one of ${values.join(', ')})`);
      return undefined;
    }
    if (typeof value !== 'string' || !values.includes(value as T)) {
      this.problem(join(path, key), `must be one of ${values.join(', ')}, got ${describe(value)}`);
      return undefined;
    }
    return value as T;
  }

  array(record: Record<string, unknown>, path: string, key: string): unknown[] {
    const value = record[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.problem(join(path, key), `must be an array, got ${describe(value)}`);
      return [];
    }
    return value;
  }

  stringList<T extends string>(record: Record<string, unknown>, path: string, key: string, values?: readonly T[]): T[] | undefined {
    if (record[key] === undefined) return undefined;
    const items = this.array(record, path, key);
    const result: T[] = [];
    items.forEach((item, index) => {
      const itemPath = `${join(path, key)}[${index}]`;
      if (typeof item !== 'string' || !item) this.problem(itemPath, `must be a non-empty string, got ${describe(item)}`);
      else if (values && !values.includes(item as T)) this.problem(itemPath, `must be one of ${values.join(', ')}, got ${JSON.stringify(item)}`);
      else result.push(item as T);
    });
    return result;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

const TOP_FIELDS = ['$schema', 'version', 'name', 'title', 'description', 'start', 'runFor', 'settings', 'scheduledTimer', 'stopWhenAllRotated', 'targets', 'accounts', 'fleet', 'consumers', 'actions', 'expect'] as const;
const ACCOUNT_FIELDS = ['name', 'subscriptionId', 'resourceGroup', 'capabilities', 'regenerationSeconds', 'usageLagSeconds', 'configured', 'target', 'initialActiveKeyKind', 'secretAge', 'initialSecret'] as const;
const TARGET_FIELDS = ['name', 'secretName', 'connectionStringSecretName', 'readOnlySecretName', 'rotationIntervalInDays', 'rotateReadOnlyKeys', 'publishConnectionString'] as const;
const CONSUMER_FIELDS = ['name', 'account', 'kind', 'count', 'access', 'refresh', 'refreshEvery', 'callEvery', 'pinnedKeyKind', 'pinnedUntil', 'startAt', 'stopAt'] as const;
/** An account template generates its names and subscriptions; a consumer template its name and account (and staggers its start). */
const FLEET_FIELDS = ['count', 'namePrefix', 'subscriptions', ...ACCOUNT_FIELDS.filter((field) => field !== 'name' && field !== 'subscriptionId'), 'consumers'] as const;
const FLEET_CONSUMER_FIELDS = [...CONSUMER_FIELDS.filter((field) => field !== 'name' && field !== 'account'), 'staggerOver'] as const;
/** Up to this many accounts in one fleet entry (the bench's largest fleet is 5,000). */
export const MAX_FLEET_COUNT = 10_000;
const MAX_FLEET_SUBSCRIPTIONS = 1000;
const ACTION_TYPES = ['timer', 'start', 'force', 'consumersMoved', 'cancel', 'http', 'fault', 'crash', 'failRegeneration', 'changeAccount'] as const;
const ACTION_FIELDS: Record<(typeof ACTION_TYPES)[number], readonly string[]> = {
  timer: [],
  start: ['account', 'force', 'reason', 'expectStatus'],
  force: ['account', 'reason', 'expectStatus'],
  consumersMoved: ['account', 'note', 'expectStatus'],
  cancel: ['account', 'reason', 'expectStatus'],
  http: ['method', 'path', 'body', 'expectStatus', 'print'],
  fault: ['service', 'method', 'pathPattern', 'status', 'retryAfterSeconds', 'delayMs', 'times', 'for'],
  crash: ['afterActivity', 'beforeActivity'],
  failRegeneration: ['account', 'keyKind', 'times', 'message'],
  changeAccount: ['account', 'disableLocalAuth', 'capabilities', 'deleted'],
};
const EXPECT_FIELDS = ['noConsumerFailures', 'noKeyVaultReadFailures', 'consumerFailures', 'consumers', 'armThrottled', 'everyAccount', 'accounts'] as const;
const ACCOUNT_EXPECT_FIELDS = ['outcome', 'activeKeyKind', 'regenerated', 'phasesInclude', 'phasesExclude', 'runs', 'secretVersions', 'notRegeneratedBefore', 'waitEndings'] as const;
const ACTIVITY_NAME_LIST = Object.values(ACTIVITY_NAMES);
const WAIT_ENDINGS = ['standbyIdle', 'consumers', 'refusals'].flatMap((wait) => ['idle', 'operator', 'forced', 'boundPassed'].map((ended) => `${wait}:${ended}`));

/** Validates parsed JSON into a Scenario; throws ScenarioError listing every problem with its field. */
export function parseScenario(json: unknown, options: { source: string }): Scenario {
  const read = new Reader();
  const top = read.object(json, '', TOP_FIELDS);
  if (!top) throw new ScenarioError(options.source, read.problems.map((problem) => problem.replace(/^: /, 'the file ')));

  if (top.version !== SCENARIO_VERSION) {
    read.problem('version', `must be ${SCENARIO_VERSION} (the only format version this runner reads), got ${describe(top.version)}`);
  }
  const name = read.string(top, '', 'name', { required: true, pattern: /^[a-z0-9][a-z0-9-]*$/, hint: 'must be lower-case letters, digits and dashes' }) ?? 'scenario';
  const title = read.string(top, '', 'title') ?? name;
  const description = read.string(top, '', 'description') ?? '';
  let start = DEFAULT_START;
  const startText = read.string(top, '', 'start');
  if (startText !== undefined) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/.test(startText) || Number.isNaN(Date.parse(startText))) {
      read.problem('start', `must be a UTC ISO-8601 time such as "2025-03-03T00:00:00Z", got ${JSON.stringify(startText)}`);
    } else start = new Date(startText).toISOString();
  }
  const runForMs = read.duration(top, '', 'runFor', { required: true, positive: true }) ?? UNIT_MS.d!;
  if (runForMs > MAX_RUN_MS) read.problem('runFor', `must be at most 60d, got ${formatDuration(runForMs)}`);

  const settings = readSettings(read, top.settings);
  const fleet = readFleet(read, top, runForMs);
  const accounts = readAccounts(read, top, fleet);
  const accountNames = new Set(accounts.map((account) => account.name));
  const consumers = readConsumers(read, top, accountNames, runForMs, fleetConsumers(fleet));
  const actions = readActions(read, top, accountNames, runForMs);
  const expect = readExpectations(read, top.expect, accountNames, new Set(consumers.map((consumer) => consumer.name)));

  const scheduledTimer = read.boolean(top, '', 'scheduledTimer') ?? false;
  const stopWhenAllRotated = read.boolean(top, '', 'stopWhenAllRotated') ?? false;
  const targets = read.oneOf(top, '', 'targets', ['setting', 'blob'] as const) ?? 'setting';
  if (scheduledTimer) {
    try {
      parseSchedule(settings.ROTATION_SCHEDULE ?? SETTINGS.rotationSchedule.default ?? '');
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      read.problem('settings.ROTATION_SCHEDULE', `${error.message} (with scheduledTimer)`);
    }
  }
  if (read.problems.length) throw new ScenarioError(options.source, read.problems);
  return { version: 1, name, title, description, start, runForMs, settings, scheduledTimer, stopWhenAllRotated, targets, accounts, consumers, actions, expect };
}

function readSettings(read: Reader, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    read.problem('settings', `must be an object of app settings, got ${describe(value)}`);
    return {};
  }
  const settings: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    const path = `settings.${key}`;
    if (!SETTING_NAME.test(key)) read.problem(path, 'is not an app setting name (upper-case letters, digits and underscores)');
    else if ((RUNNER_OWNED_SETTINGS as readonly string[]).includes(key)) {
      read.problem(path, `is set by the runner to point the app at the emulator${key === 'ROTATION_TARGETS' ? ' (describe accounts under "accounts", per-account overrides under accounts[].target)' : ''}`);
    } else if (!SETTING_NAMES.includes(key)) read.problem(path, 'is not a setting the app reads (see the app settings table in README.md)');
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') settings[key] = String(raw);
    else read.problem(path, `must be a string, number or boolean, got ${describe(raw)}`);
  }
  for (const problem of configProblems(settings)) read.problem(`settings.${problem.setting}`, problem.message);
  return settings;
}

/** The app's own validation of the scenario's settings, with stand-ins for the ones the runner sets. */
function configProblems(settings: Record<string, string>): Array<{ setting: string; message: string }> {
  try {
    loadConfig({
      KEY_VAULT_URL: 'https://scenario-check.vault.azure.net',
      ROTATION_TARGETS: JSON.stringify(['/subscriptions/00000000-0000-4000-8000-00000000de00/resourceGroups/rotation-demo/providers/Microsoft.DocumentDB/databaseAccounts/check']),
      ...settings,
    });
    return [];
  } catch (error) {
    const problems = (error as { problems?: Array<{ setting: string; message: string }> }).problems ?? [];
    // Only what the scenario set: the stand-ins are not the scenario's to fix.
    return problems.filter((problem) => Object.hasOwn(settings, problem.setting));
  }
}

function readAccounts(read: Reader, top: Record<string, unknown>, fleet: FleetEntry[]): ScenarioAccount[] {
  const items = read.array(top, '', 'accounts');
  const hasFleet = top.fleet !== undefined;
  if (top.accounts !== undefined && items.length === 0 && Array.isArray(top.accounts) && !hasFleet) read.problem('accounts', 'must list at least one account (or give a fleet)');
  if (top.accounts === undefined && !hasFleet) read.problem('accounts', 'is required (at least one account, or a fleet)');
  const accounts: ScenarioAccount[] = [];
  const seen = new Set<string>();
  const add = (account: ScenarioAccount, path: string): void => {
    if (seen.has(account.name)) read.problem(path, `${JSON.stringify(account.name)} is used by another account`);
    seen.add(account.name);
    accounts.push(account);
  };
  items.forEach((item, index) => {
    const path = `accounts[${index}]`;
    const record = read.object(item, path, ACCOUNT_FIELDS);
    if (!record) return;
    const name = read.string(record, path, 'name', {
      required: true,
      pattern: ACCOUNT_NAME,
      hint: 'must be a Cosmos DB account name (3-44 lower-case letters, digits and dashes)',
    });
    const subscriptionId = read.string(record, path, 'subscriptionId', { pattern: GUID, hint: 'must be a GUID' }) ?? DEFAULT_SUBSCRIPTION_ID;
    const settings = readAccountSettings(read, record, path);
    if (name !== undefined) add({ name, subscriptionId, ...settings }, `${path}.name`);
  });
  for (const generated of fleetAccounts(fleet)) add(generated.account, generated.path);
  return accounts;
}

/** Every account field but its name and subscription: shared by accounts[] and fleet[] templates. */
function readAccountSettings(read: Reader, record: Record<string, unknown>, path: string): Omit<ScenarioAccount, 'name' | 'subscriptionId'> {
  const resourceGroup = read.string(record, path, 'resourceGroup', { pattern: /^[-\w.()]{1,90}$/, hint: 'must be a resource group name' }) ?? DEFAULT_RESOURCE_GROUP;
  const capabilities = read.stringList(record, path, 'capabilities') ?? [];
  const regenerationSeconds = read.integer(record, path, 'regenerationSeconds', { min: 0, max: 7 * 86_400 }) ?? 60;
  const usageLagSeconds = read.integer(record, path, 'usageLagSeconds', { min: 0, max: 7 * 86_400 }) ?? 0;
  const configured = read.boolean(record, path, 'configured') ?? true;
  let target: Record<string, unknown> = {};
  if (record.target !== undefined) {
    const targetRecord = read.object(record.target, `${path}.target`, TARGET_FIELDS);
    if (targetRecord) target = { ...targetRecord };
  }
  let initialActiveKeyKind: ScenarioAccount['initialActiveKeyKind'] = 'primary';
  if (record.initialActiveKeyKind === null) initialActiveKeyKind = null;
  else initialActiveKeyKind = read.oneOf(record, path, 'initialActiveKeyKind', ['primary', 'secondary'] as const) ?? 'primary';
  const secretAgeMs = read.duration(record, path, 'secretAge') ?? 0;
  const initialSecret = read.oneOf(record, path, 'initialSecret', ['tagged', 'untagged'] as const) ?? 'tagged';
  if (initialActiveKeyKind === null && record.initialSecret !== undefined) read.problem(`${path}.initialSecret`, 'has no meaning when initialActiveKeyKind is null (no secret is seeded)');
  if (initialActiveKeyKind === null && record.secretAge !== undefined) {
    read.problem(`${path}.secretAge`, 'has no meaning when initialActiveKeyKind is null (no secret is seeded)');
  }
  return { resourceGroup, capabilities, regenerationSeconds, usageLagSeconds, configured, target, initialActiveKeyKind, secretAgeMs, initialSecret };
}

/**
 * The i-th subscription of a fleet (1-based): a fixed GUID, so the same file
 * gives the same resource IDs on every run, and fleets with the same number
 * of subscriptions share them.
 */
export function fleetSubscriptionId(index: number): string {
  return `00000000-0000-4000-8000-f1ee7${String(index).padStart(7, '0')}`;
}

/** "acct" and 200 accounts: acct-001 ... acct-200 (the number padded to the count's width). */
export function fleetAccountName(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index).padStart(String(count).length, '0')}`;
}

interface FleetEntry {
  path: string;
  count: number;
  namePrefix: string;
  subscriptionIds: string[];
  settings: Omit<ScenarioAccount, 'name' | 'subscriptionId'>;
  consumers: (Omit<ScenarioConsumer, 'name' | 'account'> & { staggerOverMs: number }) | null;
}

/** fleet[]: each entry generates `count` accounts named namePrefix-NNN, dealt round-robin over its subscriptions. */
function readFleet(read: Reader, top: Record<string, unknown>, runForMs: number): FleetEntry[] {
  const entries: FleetEntry[] = [];
  const items = read.array(top, '', 'fleet');
  if (Array.isArray(top.fleet) && items.length === 0) read.problem('fleet', 'must list at least one entry (or leave it out)');
  items.forEach((item, index) => {
    const path = `fleet[${index}]`;
    const record = read.object(item, path, FLEET_FIELDS);
    if (!record) return;
    if (record.count === undefined) read.problem(`${path}.count`, `is required (how many accounts, 1 to ${MAX_FLEET_COUNT})`);
    const count = read.integer(record, path, 'count', { min: 1, max: MAX_FLEET_COUNT });
    const namePrefix = read.string(record, path, 'namePrefix', {
      required: true,
      pattern: /^[a-z0-9][a-z0-9-]{0,30}$/,
      hint: 'must be 1-31 lower-case letters, digits and dashes, starting with a letter or digit (names are PREFIX-001, PREFIX-002, ...)',
    });
    const subscriptionIds = readFleetSubscriptions(read, record, path);
    const settings = readAccountSettings(read, record, path);
    if (count !== undefined && subscriptionIds.length > count) read.problem(`${path}.subscriptions`, `gives ${subscriptionIds.length} subscriptions for ${count} accounts: some would hold none`);
    let consumers: FleetEntry['consumers'] = null;
    if (record.consumers !== undefined) {
      const consumerPath = `${path}.consumers`;
      const consumerRecord = read.object(record.consumers, consumerPath, FLEET_CONSUMER_FIELDS);
      if (consumerRecord) {
        const staggerOverMs = read.duration(consumerRecord, consumerPath, 'staggerOver') ?? 0;
        consumers = { ...readConsumerSettings(read, consumerRecord, consumerPath, runForMs), staggerOverMs };
      }
    }
    if (count !== undefined && namePrefix !== undefined) entries.push({ path, count, namePrefix, subscriptionIds, settings, consumers });
  });
  return entries;
}

function readFleetSubscriptions(read: Reader, record: Record<string, unknown>, path: string): string[] {
  const value = record.subscriptions;
  if (value === undefined) return [DEFAULT_SUBSCRIPTION_ID];
  if (typeof value === 'number') {
    const count = read.integer(record, path, 'subscriptions', { min: 1, max: MAX_FLEET_SUBSCRIPTIONS });
    return count === undefined ? [DEFAULT_SUBSCRIPTION_ID] : Array.from({ length: count }, (_, index) => fleetSubscriptionId(index + 1));
  }
  if (!Array.isArray(value)) {
    read.problem(`${path}.subscriptions`, `must be a number of subscriptions (1 to ${MAX_FLEET_SUBSCRIPTIONS}) or an array of subscription GUIDs, got ${describe(value)}`);
    return [DEFAULT_SUBSCRIPTION_ID];
  }
  const ids = read.stringList(record, path, 'subscriptions') ?? [];
  ids.forEach((id, index) => {
    if (!GUID.test(id)) read.problem(`${path}.subscriptions[${index}]`, `must be a GUID, got ${JSON.stringify(id)}`);
  });
  if (value.length === 0) read.problem(`${path}.subscriptions`, 'must list at least one subscription');
  if (new Set(ids.map((id) => id.toLowerCase())).size !== ids.length) read.problem(`${path}.subscriptions`, 'lists a subscription twice');
  return ids.length ? ids : [DEFAULT_SUBSCRIPTION_ID];
}

/** The accounts the fleet generates, each with the field path its name problems are reported under. */
function fleetAccounts(fleet: FleetEntry[]): Array<{ account: ScenarioAccount; path: string }> {
  return fleet.flatMap((entry) =>
    Array.from({ length: entry.count }, (_, index) => ({
      account: { name: fleetAccountName(entry.namePrefix, index + 1, entry.count), subscriptionId: entry.subscriptionIds[index % entry.subscriptionIds.length]!, ...entry.settings },
      path: `${entry.path}.namePrefix`,
    })),
  );
}

/** The consumers the fleet generates: one per account (with its template's instance count), named ACCOUNT-app. */
function fleetConsumers(fleet: FleetEntry[]): ScenarioConsumer[] {
  return fleet.flatMap((entry) => {
    const template = entry.consumers;
    if (!template) return [];
    const { staggerOverMs, ...consumer } = template;
    return Array.from({ length: entry.count }, (_, index) => {
      const account = fleetAccountName(entry.namePrefix, index + 1, entry.count);
      const startAtMs = consumer.startAtMs + Math.floor((staggerOverMs * index) / entry.count);
      return { ...consumer, name: `${account}-app`, account, startAtMs };
    });
  });
}

function readConsumers(read: Reader, top: Record<string, unknown>, accountNames: Set<string>, runForMs: number, generated: ScenarioConsumer[]): ScenarioConsumer[] {
  const consumers: ScenarioConsumer[] = [];
  const seen = new Set<string>();
  const add = (consumer: ScenarioConsumer, path: string): void => {
    if (seen.has(consumer.name)) read.problem(path, `${JSON.stringify(consumer.name)} is used by another consumer`);
    seen.add(consumer.name);
    consumers.push(consumer);
  };
  read.array(top, '', 'consumers').forEach((item, index) => {
    const path = `consumers[${index}]`;
    const record = read.object(item, path, CONSUMER_FIELDS);
    if (!record) return;
    const name = read.string(record, path, 'name', { required: true, pattern: /^[\w.-]+$/, hint: 'must be letters, digits, dots, dashes or underscores' });
    const account = read.string(record, path, 'account', { required: true });
    if (account !== undefined && !accountNames.has(account)) {
      read.problem(`${path}.account`, `${JSON.stringify(account)} is not one of the scenario's accounts (${someNames(accountNames)})`);
    }
    const settings = readConsumerSettings(read, record, path, runForMs);
    if (name !== undefined && account !== undefined) add({ name, account, ...settings }, `${path}.name`);
  });
  for (const consumer of generated) add(consumer, 'fleet');
  return consumers;
}

/** Every consumer field but its name and account: shared by consumers[] and the fleet's consumer template. */
function readConsumerSettings(read: Reader, record: Record<string, unknown>, path: string, runForMs: number): Omit<ScenarioConsumer, 'name' | 'account'> {
  const kind = read.oneOf(record, path, 'kind', CONSUMER_KINDS) ?? 'keyInHand';
  const count = read.integer(record, path, 'count', { min: 1, max: 50 }) ?? 1;
  const access = read.oneOf(record, path, 'access', ['readWrite', 'readOnly'] as const) ?? 'readWrite';
  const refreshEveryMs = read.duration(record, path, 'refreshEvery', { positive: true }) ?? UNIT_MS.h!;
  const refresh = read.oneOf(record, path, 'refresh', CONSUMER_REFRESH_MODES) ?? 'timer';
  if (refresh === 'onEvent' && pinnedKeyKindOf(record)) read.problem(`${path}.refresh`, 'a consumer pinned to a copied key does not read Key Vault on events');
  const callEveryMs = read.duration(record, path, 'callEvery', { positive: true }) ?? 5 * UNIT_MS.m!;
  if (callEveryMs < UNIT_MS.s!) read.problem(`${path}.callEvery`, 'must be at least 1s');
  const pinnedKeyKind = read.oneOf(record, path, 'pinnedKeyKind', KEY_KINDS) ?? null;
  const pinnedUntilMs = read.duration(record, path, 'pinnedUntil') ?? null;
  if (pinnedUntilMs !== null && pinnedKeyKind === null) read.problem(`${path}.pinnedUntil`, 'needs pinnedKeyKind');
  if (pinnedKeyKind && kind === 'rotatingClient') read.problem(`${path}.pinnedKeyKind`, 'a rotatingClient consumer reads its key from Key Vault (use kind "keyInHand" for a copied key)');
  if (pinnedKeyKind && access === 'readWrite' && pinnedKeyKind.endsWith('Readonly')) {
    read.problem(`${path}.pinnedKeyKind`, `a readWrite consumer cannot be pinned to the read-only key ${pinnedKeyKind} (set access to readOnly)`);
  }
  const startAtMs = read.duration(record, path, 'startAt') ?? 0;
  const stopAtMs = read.duration(record, path, 'stopAt') ?? null;
  if (stopAtMs !== null && stopAtMs <= startAtMs) read.problem(`${path}.stopAt`, 'must be after startAt');
  if (startAtMs > runForMs) read.problem(`${path}.startAt`, 'is after the end of the run (runFor)');
  return { kind, count, access, refresh, refreshEveryMs, callEveryMs, pinnedKeyKind, pinnedUntilMs, startAtMs, stopAtMs };
}

/** A fleet has thousands of names: an error lists the first few. */
function someNames(names: Set<string>): string {
  if (names.size === 0) return 'none';
  const first = [...names].slice(0, 10);
  return names.size > first.length ? `${first.join(', ')}, ... ${names.size - first.length} more` : first.join(', ');
}

function readActions(read: Reader, top: Record<string, unknown>, accountNames: Set<string>, runForMs: number): ScenarioAction[] {
  const actions: ScenarioAction[] = [];
  read.array(top, '', 'actions').forEach((item, index) => {
    const path = `actions[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      read.problem(path, `must be an object, got ${describe(item)}`);
      return;
    }
    const type = read.oneOf(item as Record<string, unknown>, path, 'type', ACTION_TYPES, { required: true });
    if (!type) return;
    const record = read.object(item, path, ['at', 'type', ...ACTION_FIELDS[type]]);
    if (!record) return;
    const atMs = read.duration(record, path, 'at', { required: true });
    if (atMs === undefined) return;
    if (atMs > runForMs) read.problem(`${path}.at`, `is after the end of the run (runFor ${formatDuration(runForMs)})`);
    const expectStatus = read.integer(record, path, 'expectStatus', { min: 100, max: 599 }) ?? null;
    const account = (): string | undefined => {
      const value = read.string(record, path, 'account', { required: true });
      if (value !== undefined && !accountNames.has(value)) {
        read.problem(`${path}.account`, `${JSON.stringify(value)} is not one of the scenario's accounts (${someNames(accountNames)})`);
      }
      return value;
    };
    switch (type) {
      case 'timer':
        actions.push({ atMs, type });
        break;
      case 'changeAccount': {
        const name = account();
        const disableLocalAuth = read.boolean(record, path, 'disableLocalAuth');
        const deleted = read.boolean(record, path, 'deleted');
        const capabilities = record.capabilities === undefined ? undefined : read.array(record, path, 'capabilities');
        if (capabilities !== undefined && !capabilities.every((item) => typeof item === 'string' && item.length > 0)) read.problem(`${path}.capabilities`, 'must be an array of capability names');
        if (deleted === false) read.problem(`${path}.deleted`, 'can only be true (leave it out to keep the account)');
        if (deleted === true && (disableLocalAuth !== undefined || capabilities !== undefined)) read.problem(`${path}.deleted`, 'cannot be given with other changes: a deleted account has none');
        if (deleted === undefined && disableLocalAuth === undefined && capabilities === undefined) read.problem(path, 'a changeAccount needs disableLocalAuth, capabilities or deleted');
        if (name !== undefined) {
          actions.push({
            atMs,
            type,
            account: name,
            ...(disableLocalAuth !== undefined ? { disableLocalAuth } : {}),
            ...(capabilities !== undefined ? { capabilities: capabilities as string[] } : {}),
            ...(deleted === true ? { deleted: true as const } : {}),
          });
        }
        break;
      }
      case 'failRegeneration': {
        const name = account();
        const keyKind = read.oneOf(record, path, 'keyKind', KEY_KINDS) ?? null;
        const times = read.integer(record, path, 'times', { min: 1, max: 10_000 }) ?? 1;
        const message = read.string(record, path, 'message') ?? null;
        if (name !== undefined) actions.push({ atMs, type, account: name, keyKind, times, message });
        break;
      }
      case 'crash': {
        const afterActivity = read.oneOf(record, path, 'afterActivity', ACTIVITY_NAME_LIST) ?? null;
        const beforeActivity = read.oneOf(record, path, 'beforeActivity', ACTIVITY_NAME_LIST);
        if (beforeActivity !== undefined && afterActivity !== null) read.problem(`${path}.beforeActivity`, 'cannot be given with "afterActivity": a crash is aimed before or after one activity');
        actions.push({ atMs, type, afterActivity, ...(beforeActivity !== undefined ? { beforeActivity } : {}) });
        break;
      }
      case 'start':
      case 'force': {
        const name = account();
        const force = type === 'force' ? true : (read.boolean(record, path, 'force') ?? false);
        const reason = read.string(record, path, 'reason') ?? null;
        if (name !== undefined) actions.push({ atMs, type: 'start', account: name, force, reason, expectStatus });
        break;
      }
      case 'consumersMoved': {
        const name = account();
        const note = read.string(record, path, 'note') ?? null;
        if (name !== undefined) actions.push({ atMs, type, account: name, note, expectStatus });
        break;
      }
      case 'cancel': {
        const name = account();
        const reason = read.string(record, path, 'reason') ?? null;
        if (name !== undefined) actions.push({ atMs, type, account: name, reason, expectStatus });
        break;
      }
      case 'http': {
        const method = read.oneOf(record, path, 'method', ['GET', 'POST'] as const, { required: true });
        const httpPath = read.string(record, path, 'path', { required: true, pattern: /^\/api\//, hint: 'must be an app route starting with /api/' });
        const print = read.boolean(record, path, 'print') ?? false;
        if (method && httpPath) actions.push({ atMs, type, method, path: httpPath, body: record.body ?? null, expectStatus, print });
        break;
      }
      case 'fault': {
        const forMs = read.duration(record, path, 'for', { positive: true }) ?? null;
        const fault = readFault(read, record, path, forMs !== null);
        if (fault) actions.push({ atMs, type, fault, forMs });
        break;
      }
    }
  });
  // Stable by time: actions at the same time keep their file order.
  return actions.map((action, index) => ({ action, index })).sort((a, b) => a.action.atMs - b.action.atMs || a.index - b.index).map(({ action }) => action);
}

/** A fault given `for` a span of time matches every request in it, up to the emulator's limit. */
const FAULT_TIMES_FOR_A_SPAN = 10_000;

function readFault(read: Reader, record: Record<string, unknown>, path: string, forSpan: boolean): FaultInput | undefined {
  const before = read.problems.length;
  const service = read.oneOf(record, path, 'service', ['arm', 'cosmos', 'keyvault'] as const, { required: true });
  const method = read.string(record, path, 'method', { pattern: /^[A-Za-z]{3,10}$/, hint: 'must be an HTTP method such as "POST"' });
  const pathPattern = read.string(record, path, 'pathPattern');
  if (pathPattern !== undefined) {
    try {
      new RegExp(pathPattern, 'i');
    } catch (error) {
      read.problem(`${path}.pathPattern`, `is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  const status = read.integer(record, path, 'status', { min: 400, max: 599 });
  const retryAfterSeconds = read.integer(record, path, 'retryAfterSeconds', { min: 0, max: 3600 });
  const delayMs = read.integer(record, path, 'delayMs', { min: 0, max: 120_000 });
  const times = forSpan ? FAULT_TIMES_FOR_A_SPAN : read.integer(record, path, 'times', { min: 1, max: 10_000 });
  if (forSpan && record.times !== undefined) read.problem(`${path}.times`, 'cannot be given with "for": a fault lasts either a number of requests or a span of time');
  if (!forSpan && record.times === undefined) read.problem(`${path}.times`, 'is required (how many matching requests fail), or give "for" (a span of time)');
  if (status === undefined && delayMs === undefined && record.status === undefined && record.delayMs === undefined) {
    read.problem(path, 'a fault needs a status, a delayMs, or both');
  }
  if (retryAfterSeconds !== undefined && record.status === undefined) read.problem(`${path}.retryAfterSeconds`, 'needs a status (e.g. 429 or 503)');
  if (read.problems.length > before || !service || times === undefined) return undefined;
  const fault: FaultInput = { service, times };
  if (method !== undefined) fault.method = method.toUpperCase();
  if (pathPattern !== undefined) fault.pathPattern = pathPattern;
  if (status !== undefined) fault.status = status;
  if (retryAfterSeconds !== undefined) fault.retryAfterSeconds = retryAfterSeconds;
  if (delayMs !== undefined) fault.delayMs = delayMs;
  return fault;
}

function readExpectations(read: Reader, value: unknown, accountNames: Set<string>, consumerNames: Set<string>): ScenarioExpectations {
  const expectations: ScenarioExpectations = {
    noConsumerFailures: false,
    noKeyVaultReadFailures: false,
    armThrottled: null,
    everyAccount: null,
    consumerFailures: null,
    consumers: {},
    accounts: {},
  };
  if (value === undefined) return expectations;
  const record = read.object(value, 'expect', EXPECT_FIELDS);
  if (!record) return expectations;
  expectations.noConsumerFailures = read.boolean(record, 'expect', 'noConsumerFailures') ?? false;
  expectations.noKeyVaultReadFailures = read.boolean(record, 'expect', 'noKeyVaultReadFailures') ?? false;
  if (record.consumerFailures !== undefined) {
    expectations.consumerFailures = readFailureBounds(read, record.consumerFailures, 'expect.consumerFailures');
    if (expectations.noConsumerFailures) read.problem('expect.consumerFailures', 'contradicts noConsumerFailures: true (use one or the other)');
  }
  if (record.armThrottled !== undefined) {
    const bounds = read.object(record.armThrottled, 'expect.armThrottled', ['atLeast', 'atMost']);
    if (bounds) {
      const atLeast = read.integer(bounds, 'expect.armThrottled', 'atLeast', { min: 0, max: 1_000_000 }) ?? null;
      const atMost = read.integer(bounds, 'expect.armThrottled', 'atMost', { min: 0, max: 1_000_000 }) ?? null;
      if (atLeast !== null && atMost !== null && atLeast > atMost) read.problem('expect.armThrottled', 'atLeast is greater than atMost');
      expectations.armThrottled = { atLeast, atMost };
    }
  }
  if (record.consumers !== undefined) {
    const byConsumer = read.object(record.consumers, 'expect.consumers', [...consumerNames]);
    for (const [name, item] of Object.entries(byConsumer ?? {})) {
      if (!consumerNames.has(name)) continue;
      const bounds = readFailureBounds(read, item, `expect.consumers.${name}`);
      if (bounds) expectations.consumers[name] = bounds;
    }
  }
  if (record.everyAccount !== undefined) expectations.everyAccount = readAccountExpectation(read, record.everyAccount, 'expect.everyAccount');
  if (record.accounts !== undefined) {
    const byAccount = read.object(record.accounts, 'expect.accounts', [...accountNames]);
    for (const [name, item] of Object.entries(byAccount ?? {})) {
      if (!accountNames.has(name)) continue;
      const expectation = readAccountExpectation(read, item, `expect.accounts.${name}`);
      if (expectation) expectations.accounts[name] = expectation;
    }
  }
  return expectations;
}

function readAccountExpectation(read: Reader, item: unknown, path: string): AccountExpectation | null {
  const accountRecord = read.object(item, path, ACCOUNT_EXPECT_FIELDS);
  if (!accountRecord) return null;
  const expectation: AccountExpectation = {};
  const outcome = read.oneOf(accountRecord, path, 'outcome', EXPECTED_OUTCOMES);
  if (outcome) expectation.outcome = outcome;
  const activeKeyKind = read.oneOf(accountRecord, path, 'activeKeyKind', KEY_KINDS);
  if (activeKeyKind) expectation.activeKeyKind = activeKeyKind;
  const regenerated = read.stringList(accountRecord, path, 'regenerated', KEY_KINDS);
  if (regenerated) expectation.regenerated = regenerated;
  const phasesInclude = read.stringList(accountRecord, path, 'phasesInclude');
  if (phasesInclude) expectation.phasesInclude = phasesInclude;
  const phasesExclude = read.stringList(accountRecord, path, 'phasesExclude');
  if (phasesExclude) expectation.phasesExclude = phasesExclude;
  const runs = read.stringList(accountRecord, path, 'runs', EXPECTED_OUTCOMES);
  if (runs) expectation.runs = runs;
  const secretVersions = read.integer(accountRecord, path, 'secretVersions', { min: 0, max: 10_000 });
  if (secretVersions !== undefined) expectation.secretVersions = secretVersions;
  const waitEndings = read.stringList(accountRecord, path, 'waitEndings', WAIT_ENDINGS);
  if (waitEndings) expectation.waitEndings = waitEndings;
  if (accountRecord.notRegeneratedBefore !== undefined) {
    const notBefore = read.object(accountRecord.notRegeneratedBefore, `${path}.notRegeneratedBefore`, KEY_KINDS);
    const offsets: Partial<Record<KeyKind, number>> = {};
    for (const keyKind of KEY_KINDS) {
      const offsetMs = notBefore ? read.duration(notBefore, `${path}.notRegeneratedBefore`, keyKind) : undefined;
      if (offsetMs !== undefined) offsets[keyKind] = offsetMs;
    }
    expectation.notRegeneratedBefore = offsets;
  }
  return expectation;
}

function readFailureBounds(read: Reader, value: unknown, path: string): FailureBounds | null {
  const bounds = read.object(value, path, ['atLeast', 'atMost', 'causes']);
  if (!bounds) return null;
  const atLeast = read.integer(bounds, path, 'atLeast', { min: 0, max: 1_000_000 }) ?? null;
  const atMost = read.integer(bounds, path, 'atMost', { min: 0, max: 1_000_000 }) ?? null;
  if (atLeast !== null && atMost !== null && atLeast > atMost) read.problem(path, 'atLeast is greater than atMost');
  const causes = read.stringList(bounds, path, 'causes', FAILURE_CAUSES) ?? null;
  return { atLeast, atMost, causes };
}

/** Why a consumer's call failed, as the report counts them. */
export const FAILURE_CAUSES = [
  'unauthorized',
  'forbidden',
  'throttled',
  'serverError',
  'otherHttpError',
  'network',
  'clientError',
  'noKey',
] as const;
export type FailureCause = (typeof FAILURE_CAUSES)[number];

function pinnedKeyKindOf(record: Record<string, unknown>): boolean {
  return typeof record.pinnedKeyKind === 'string';
}
