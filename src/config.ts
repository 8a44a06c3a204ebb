/**
 * Every app setting the rotator reads, validated once at start-up.
 *
 * The settings are a table (env name, doc, default, parser) rather than
 * scattered `process.env` reads, so the README, infra and
 * local.settings.sample.json can be checked against one list, and a bad
 * deployment fails with one message naming every setting that is wrong.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from './errors.js';
import type { AccountRotationSettings } from './domain/settings.js';
import { parseRotationWindows, type RotationWindow } from './domain/rotation-window.js';

export type { AccountRotationSettings } from './domain/settings.js';

export type CredentialMode = 'default' | 'managed-identity' | 'emulator';

/** Who lets callers into the operator API: function keys, or App Service authentication with Microsoft Entra ID. */
export type OperatorApiAuth = 'function-key' | 'entra-id';

/** One configured account: the orchestrator's input plus the name operators use for it. */
export interface RotationTarget extends AccountRotationSettings {
  /** How operators and secret names refer to the account (the `name` override, else the account name). */
  name: string;
}

/** The defaults every target's own settings start from. */
type RotationDefaults = Pick<
  AccountRotationSettings,
  | 'rotationIntervalInDays'
  | 'idleWindowInHours'
  | 'usageMarginInMinutes'
  | 'validationProbeCount'
  | 'validationSpreadInMinutes'
  | 'standbyWaitMaxInHours'
  | 'consumerWaitMaxInHours'
  | 'consumerCheckIntervalInMinutes'
  | 'rotateReadOnlyKeys'
  | 'secretExpiryInDays'
  | 'rotationWindows'
>;

/** The settings a target's own fields fall back to, wherever the list comes from. */
export type TargetDefaults = RotationDefaults &
  Pick<Config, 'publishConnectionString' | 'secretNameTemplate' | 'readOnlySecretNameTemplate' | 'connectionStringSecretNameTemplate'>;

/**
 * Where the accounts to rotate are listed: ROTATION_TARGETS itself (validated with the
 * other settings), or a JSON blob named by ROTATION_TARGETS_BLOB_URL, read and validated
 * at each use (src/target-source.ts). Read the list through the runtime's target source,
 * never from here, so that both kinds reach every reader the same way.
 */
/** The accounts to rotate, as every reader receives them (from the runtime's target source). */
export interface TargetList {
  targets: RotationTarget[];
}

export type TargetsSetting = { kind: 'setting'; targets: RotationTarget[] } | { kind: 'blob'; blobUrl: string };

export interface Config extends RotationDefaults {
  keyVaultUrl: string;
  targetsSource: TargetsSetting;
  rotationSchedule: string;
  publishConnectionString: boolean;
  secretNameTemplate: string;
  readOnlySecretNameTemplate: string;
  connectionStringSecretNameTemplate: string;
  armEndpoint: string;
  /** api-version of Microsoft.DocumentDB the adapters send; only 2026-04-01-preview reports key usage times. */
  cosmosArmApiVersion: string;
  /** The ARM budget per subscription and worker process. */
  armReadsPerSecond: number;
  armWritesPerSecond: number;
  keyVaultRequestsPerSecond: number;
  keyVaultSecretSetsPerSecond: number;
  azureCredential: CredentialMode;
  azureClientId: string | null;
  emulatorCaCertPath: string | null;
  /** PEM text of EMULATOR_CA_CERT_PATH, read once (a public certificate, not a secret). */
  emulatorCaCert: string | null;
  /** The schedule starts rotations while fewer than this many run (all accounts, operator-started ones included). */
  maxRotationsInFlight: number;
  /** The same bound within one subscription (ARM throttles per subscription). */
  maxRotationsInFlightPerSubscription: number;
  failedRotationRetryInHours: number;
  historyRetentionInDays: number;
  historyMaxPerAccount: number;
  localAuthUnusedInDays: number;
  durableTaskHubName: string;
  operatorApiAuth: OperatorApiAuth;
  /** Where rotation events go, or null when they are off. */
  rotationEventsTopicEndpoint: string | null;
}

/** Thrown by a parser: the message says what is expected, the table adds the setting's name. */
class InvalidSetting extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

interface SettingSpec<T> {
  env: string;
  doc: string;
  /** The default as the text an operator would write; undefined when the setting is required or optional-empty. */
  default?: string;
  required?: boolean;
  /** A value for local.settings.sample.json. */
  example: string;
  parse(raw: string): T;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

function integer(options: { min: number; max: number }): (raw: string) => number {
  return (raw) => {
    if (!/^-?\d+$/.test(raw)) throw new InvalidSetting([`expected a whole number from ${options.min} to ${options.max}, got "${raw}"`]);
    const value = Number(raw);
    if (value < options.min || value > options.max) {
      throw new InvalidSetting([`expected a whole number from ${options.min} to ${options.max}, got ${value}`]);
    }
    return value;
  };
}

function boolean(raw: string): boolean {
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new InvalidSetting([`expected true or false, got "${raw}"`]);
}

function httpsUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidSetting([`expected an https URL, got "${raw}"`]);
  }
  if (url.protocol !== 'https:') throw new InvalidSetting([`expected an https URL (Azure SDKs send tokens over https only), got "${raw}"`]);
  if (url.search || url.hash) throw new InvalidSetting([`expected a URL without query or fragment, got "${raw}"`]);
  return url.href.replace(/\/+$/, '');
}

/** A blob's URL without a SAS token: `https://{account}.blob.../{container}/{blob}`, or path-style `https://{host}/{account}/{container}/{blob}` (the local emulator). */
function blobUrl(raw: string): string {
  // A SAS token is a credential: never echo it, and never keep one in an app setting.
  if (raw.includes('?')) throw new InvalidSetting(['expected the blob\'s URL without a SAS token or other query: the app reads the blob with its managed identity']);
  const url = httpsUrl(raw);
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  const pathStyle = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]|localhost)$/i.test(new URL(url).hostname);
  if (segments.length < (pathStyle ? 3 : 2)) {
    throw new InvalidSetting([`expected the URL of a blob, https://{account}.blob.core.windows.net/{container}/{blob}, got "${raw}"`]);
  }
  return url;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ARM api-versions are dates, previews end in -preview: `2026-03-15`, `2026-04-01-preview`. */
function armApiVersion(raw: string): string {
  const value = raw.trim();
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(value) || Number.isNaN(Date.parse(value.slice(0, 10)))) {
    throw new InvalidSetting([`expected an ARM api-version such as 2026-04-01-preview or 2026-03-15, got ${JSON.stringify(raw)}`]);
  }
  return value;
}

function guid(raw: string): string {
  if (!GUID.test(raw)) throw new InvalidSetting([`expected a GUID (the identity's client ID), got "${raw}"`]);
  return raw;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

function secretNameTemplate(raw: string): string {
  const rendered = raw.replaceAll('{account}', 'account');
  if (/[{}]/.test(rendered)) throw new InvalidSetting([`the only placeholder is {account}, got "${raw}"`]);
  if (!SECRET_NAME.test(rendered)) {
    throw new InvalidSetting([`expected a Key Vault secret name (letters, digits, dashes; at most 127) with an optional {account} placeholder, got "${raw}"`]);
  }
  return raw;
}

/** The six NCRONTAB fields as the Functions timer trigger reads them (the demo runner's scheduled timer reads the same). */
export const NCRONTAB_FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day-of-week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

/** NCRONTAB as the Functions timer trigger reads it: six fields, seconds first. */
function ncrontab(raw: string): string {
  const fields = raw.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new InvalidSetting([`expected an NCRONTAB expression with six fields "{second} {minute} {hour} {day} {month} {day-of-week}", got "${raw}"`]);
  }
  const problems: string[] = [];
  fields.forEach((field, index) => {
    const spec = NCRONTAB_FIELDS[index]!;
    if (!cronFieldIsValid(field, spec)) problems.push(`the ${spec.name} field "${field}" is not valid (expected *, numbers ${spec.min}-${spec.max}, ranges, lists or steps)`);
  });
  if (problems.length) throw new InvalidSetting(problems);
  return fields.join(' ');
}

function cronFieldIsValid(field: string, spec: { min: number; max: number; names?: readonly string[] }): boolean {
  const value = (text: string): number | null => {
    if (/^\d+$/.test(text)) {
      const number = Number(text);
      return number >= spec.min && number <= spec.max ? number : null;
    }
    const index = spec.names?.indexOf(text.toLowerCase()) ?? -1;
    return index >= 0 ? index + spec.min : null;
  };
  return field.split(',').every((part) => {
    const [range, step, ...rest] = part.split('/');
    if (rest.length || range === undefined || range === '') return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return false;
    if (range === '*') return true;
    const bounds = range.split('-');
    if (bounds.length > 2) return false;
    const numbers = bounds.map(value);
    if (numbers.some((number) => number === null)) return false;
    return numbers.length === 1 || numbers[0]! <= numbers[1]!;
  });
}

function credentialMode(raw: string): CredentialMode {
  if (raw === 'default' || raw === 'managed-identity' || raw === 'emulator') return raw;
  throw new InvalidSetting([`expected "default", "managed-identity" or "emulator", got "${raw}"`]);
}

function operatorApiAuth(raw: string): OperatorApiAuth {
  if (raw === 'function-key' || raw === 'entra-id') return raw;
  throw new InvalidSetting([`expected "function-key" or "entra-id", got "${raw}"`]);
}

function pemFile(raw: string): { path: string; pem: string } {
  let pem: string;
  try {
    pem = readFileSync(raw, 'utf8');
  } catch (error) {
    throw new InvalidSetting([`expected a readable PEM file, but "${raw}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new InvalidSetting([`expected a PEM certificate in "${raw}"`]);
  return { path: raw, pem };
}

function rotationWindows(raw: string): RotationWindow[] {
  try {
    return parseRotationWindows(raw);
  } catch (error) {
    throw new InvalidSetting([(error as Error).message]);
  }
}

function taskHubName(raw: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(raw)) {
    throw new InvalidSetting([`expected 3 to 45 letters and digits starting with a letter (a Durable task hub name), got "${raw}"`]);
  }
  return raw;
}

/** What ROTATION_TARGETS holds before the global settings are applied. */
interface TargetSpec {
  resourceId: string;
  subscriptionId: string;
  resourceGroup: string;
  accountName: string;
  name?: string;
  secretName?: string;
  readOnlySecretName?: string;
  connectionStringSecretName?: string;
  rotationIntervalInDays?: number;
  rotateReadOnlyKeys?: boolean;
  publishConnectionString?: boolean;
  rotationWindows?: RotationWindow[];
}

const RESOURCE_ID =
  /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([-\w.()]{1,90})\/providers\/Microsoft\.DocumentDB\/databaseAccounts\/([a-z0-9][a-z0-9-]{1,48}[a-z0-9])$/i;

export interface ParsedAccountId {
  subscriptionId: string;
  resourceGroup: string;
  accountName: string;
}

/** Splits a Cosmos DB account resource ID, or returns null when it is not one. */
export function parseAccountId(resourceId: string): ParsedAccountId | null {
  const match = RESOURCE_ID.exec(resourceId);
  if (!match || match[2]!.endsWith('.')) return null;
  return { subscriptionId: match[1]!, resourceGroup: match[2]!, accountName: match[3]! };
}

const OVERRIDE_FIELDS = {
  resourceId: 'string',
  name: 'string',
  secretName: 'string',
  readOnlySecretName: 'string',
  connectionStringSecretName: 'string',
  rotationIntervalInDays: 'integer',
  rotateReadOnlyKeys: 'boolean',
  publishConnectionString: 'boolean',
  rotationWindows: 'string',
} as const;

function targets(raw: string): TargetSpec[] {
  const { specs, problems } = targetSpecsOf(raw);
  if (problems.length) throw new InvalidSetting(problems);
  return specs;
}

/** Parses a target list (ROTATION_TARGETS or the targets blob): every entry's problems, never a partial list. */
function targetSpecsOf(raw: string): { specs: TargetSpec[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { specs: [], problems: ['expected a JSON array of Cosmos DB account resource IDs or objects {"resourceId", ...}, but it is not valid JSON'] };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return { specs: [], problems: ['expected a non-empty JSON array of Cosmos DB account resource IDs or objects {"resourceId", ...}'] };
  }
  const problems: string[] = [];
  const specs: TargetSpec[] = [];
  parsed.forEach((item: unknown, index) => {
    const where = `item ${index}`;
    const object: Record<string, unknown> | null =
      typeof item === 'string' ? { resourceId: item } : item && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : null;
    if (!object) {
      problems.push(`${where}: expected a resource ID string or an object with "resourceId"`);
      return;
    }
    const itemProblems: string[] = [];
    for (const [field, value] of Object.entries(object)) {
      const type = OVERRIDE_FIELDS[field as keyof typeof OVERRIDE_FIELDS];
      if (!type) {
        itemProblems.push(`${where}: unknown field "${field}" (allowed: ${Object.keys(OVERRIDE_FIELDS).join(', ')})`);
      } else if (type === 'string' && (typeof value !== 'string' || value.trim() === '')) {
        itemProblems.push(`${where}: "${field}" must be a non-empty string`);
      } else if (type === 'boolean' && typeof value !== 'boolean') {
        itemProblems.push(`${where}: "${field}" must be true or false`);
      } else if (type === 'integer' && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 3650)) {
        itemProblems.push(`${where}: "${field}" must be a whole number of days from 1 to 3650`);
      }
    }
    if (typeof object.resourceId !== 'string') {
      if (!('resourceId' in object)) itemProblems.push(`${where}: "resourceId" is required`);
      problems.push(...itemProblems);
      return;
    }
    const id = parseAccountId(object.resourceId);
    if (!id) {
      itemProblems.push(
        `${where}: "${object.resourceId}" is not a Cosmos DB account resource ID (expected /subscriptions/{guid}/resourceGroups/{group}/providers/Microsoft.DocumentDB/databaseAccounts/{account})`,
      );
    }
    for (const field of ['secretName', 'readOnlySecretName', 'connectionStringSecretName'] as const) {
      const value = object[field];
      if (typeof value === 'string' && value.trim() !== '' && !SECRET_NAME.test(value)) {
        itemProblems.push(`${where}: "${field}" "${value}" is not a Key Vault secret name (letters, digits, dashes; at most 127)`);
      }
    }
    if (object.publishConnectionString === false && typeof object.connectionStringSecretName === 'string') {
      itemProblems.push(`${where}: "connectionStringSecretName" is set but "publishConnectionString" is false`);
    }
    let windows: RotationWindow[] | undefined;
    if (typeof object.rotationWindows === 'string' && object.rotationWindows.trim() !== '') {
      try {
        windows = parseRotationWindows(object.rotationWindows);
      } catch (error) {
        itemProblems.push(`${where}: "rotationWindows": ${(error as Error).message}`);
      }
    }
    if (itemProblems.length || !id) {
      problems.push(...itemProblems);
      return;
    }
    specs.push({
      resourceId: object.resourceId,
      ...id,
      ...(object as Omit<TargetSpec, 'resourceId' | 'rotationWindows' | keyof ParsedAccountId>),
      ...(windows ? { rotationWindows: windows } : {}),
    });
  });
  const seen = new Map<string, number>();
  specs.forEach((spec, index) => {
    const key = spec.resourceId.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) problems.push(`the account ${spec.resourceId} is listed twice (items ${first} and ${index})`);
    else seen.set(key, index);
  });
  return { specs: problems.length ? [] : specs, problems };
}

/**
 * The settings table. Order is the order of the README table and of
 * local.settings.sample.json.
 */
export const SETTINGS = {
  keyVaultUrl: setting({
    env: 'KEY_VAULT_URL',
    doc: 'Vault that consumers read the keys from, e.g. https://my-vault.vault.azure.net',
    required: true,
    example: 'https://127.0.0.1:8444',
    parse: httpsUrl,
  }),
  targets: setting({
    env: 'ROTATION_TARGETS',
    doc: 'JSON array: Cosmos DB account resource IDs, or objects {"resourceId", "name"?, "secretName"?, "readOnlySecretName"?, "connectionStringSecretName"?, "rotationIntervalInDays"?, "rotateReadOnlyKeys"?, "publishConnectionString"?, "rotationWindows"?}. Required unless ROTATION_TARGETS_BLOB_URL is set',
    example: '["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.DocumentDB/databaseAccounts/my-account"]',
    parse: targets,
  }),
  targetsBlobUrl: setting({
    env: 'ROTATION_TARGETS_BLOB_URL',
    doc: 'Instead of ROTATION_TARGETS, for fleets too large for one app setting: the URL of a blob holding the same JSON array, e.g. https://mystorage.blob.core.windows.net/rotation-targets/targets.json, read with the app\'s identity (role Storage Blob Data Reader) and validated at each use; a run that finds it invalid or unreadable starts nothing',
    example: '',
    parse: blobUrl,
  }),
  rotationSchedule: setting({
    env: 'ROTATION_SCHEDULE',
    doc: 'NCRONTAB (six fields, UTC) of the timer that starts due rotations (hourly by default: a run lists secret properties and instances, a few requests per hundred accounts)',
    default: '0 0 * * * *',
    example: '0 0 * * * *',
    parse: ncrontab,
  }),
  rotationIntervalInDays: setting({
    env: 'ROTATION_INTERVAL_IN_DAYS',
    doc: 'An account is due when its secret is older than this many days',
    default: '30',
    example: '30',
    parse: integer({ min: 1, max: 3650 }),
  }),
  idleWindowInHours: setting({
    env: 'IDLE_WINDOW_IN_HOURS',
    doc: 'How long a key must be unused before it is regenerated (Cosmos DB safe rotation checks 12 hours)',
    default: '12',
    example: '12',
    parse: integer({ min: 1, max: 720 }),
  }),
  usageMarginInMinutes: setting({
    env: 'USAGE_MARGIN_IN_MINUTES',
    doc: 'Added to last-use times, which Azure reports approximately',
    default: '30',
    example: '30',
    parse: integer({ min: 0, max: 1440 }),
  }),
  validationProbeCount: setting({
    env: 'VALIDATION_PROBE_COUNT',
    doc: 'Consecutive data-plane successes a new key needs before it is published',
    default: '3',
    example: '3',
    parse: integer({ min: 1, max: 100 }),
  }),
  validationSpreadInMinutes: setting({
    env: 'VALIDATION_SPREAD_IN_MINUTES',
    doc: 'The validation probes are spread over this many minutes',
    default: '5',
    example: '5',
    parse: integer({ min: 0, max: 1440 }),
  }),
  standbyWaitMaxInHours: setting({
    env: 'STANDBY_WAIT_MAX_IN_HOURS',
    doc: 'How long to wait for a standby key that is still in use before stopping',
    default: '48',
    example: '48',
    parse: integer({ min: 0, max: 2160 }),
  }),
  consumerWaitMaxInHours: setting({
    env: 'CONSUMER_WAIT_MAX_IN_HOURS',
    doc: 'How long to wait for consumers to leave the old key before the rotation needs attention',
    default: '72',
    example: '72',
    parse: integer({ min: 1, max: 2160 }),
  }),
  consumerCheckIntervalInMinutes: setting({
    env: 'CONSUMER_CHECK_INTERVAL_IN_MINUTES',
    doc: 'How often the usage of the old key is re-inspected while waiting for consumers',
    default: '60',
    example: '60',
    parse: integer({ min: 1, max: 10080 }),
  }),
  rotationWindows: setting({
    env: 'ROTATION_WINDOWS',
    doc: 'When keys may be regenerated, in UTC: days and hours such as "Mon-Fri 08:00-17:00", several separated by ";" (empty: any time); a rotation that reaches a regeneration outside them waits for the next one, a forced one does not. Per account: "rotationWindows" in ROTATION_TARGETS',
    example: '',
    parse: rotationWindows,
  }),
  rotateReadOnlyKeys: setting({
    env: 'ROTATE_READONLY_KEYS',
    doc: 'Also rotate the read-only key pair (published in its own secret)',
    default: 'false',
    example: 'false',
    parse: boolean,
  }),
  publishConnectionString: setting({
    env: 'PUBLISH_CONNECTION_STRING',
    doc: 'Also publish the read-write connection string in its own secret',
    default: 'false',
    example: 'false',
    parse: boolean,
  }),
  secretNameTemplate: setting({
    env: 'SECRET_NAME_TEMPLATE',
    doc: 'Name of the secret holding the active read-write key; {account} is the account name',
    default: '{account}-key',
    example: '{account}-key',
    parse: secretNameTemplate,
  }),
  readOnlySecretNameTemplate: setting({
    env: 'READONLY_SECRET_NAME_TEMPLATE',
    doc: 'Name of the secret holding the active read-only key',
    default: '{account}-readonly-key',
    example: '{account}-readonly-key',
    parse: secretNameTemplate,
  }),
  connectionStringSecretNameTemplate: setting({
    env: 'CONNECTION_STRING_SECRET_NAME_TEMPLATE',
    doc: 'Name of the secret holding the active read-write connection string',
    default: '{account}-connection-string',
    example: '{account}-connection-string',
    parse: secretNameTemplate,
  }),
  secretExpiryInDays: setting({
    env: 'SECRET_EXPIRY_IN_DAYS',
    doc: 'expiresOn of each published secret version, in days; must exceed every rotation interval',
    default: '90',
    example: '90',
    parse: integer({ min: 1, max: 3650 }),
  }),
  armEndpoint: setting({
    env: 'ARM_ENDPOINT',
    doc: 'Azure Resource Manager endpoint (sovereign clouds, or the local emulator)',
    default: 'https://management.azure.com',
    example: 'https://127.0.0.1:8443',
    parse: httpsUrl,
  }),
  cosmosArmApiVersion: setting({
    env: 'COSMOS_ARM_API_VERSION',
    doc: 'api-version of the Cosmos DB resource provider (Microsoft.DocumentDB). Only `2026-04-01-preview` reports when each key was last used; on the stable `2026-03-15` the old key counts as in use until an operator confirms consumers moved or `CONSUMER_WAIT_MAX_IN_HOURS` has passed since publishing',
    default: '2026-04-01-preview',
    example: '2026-04-01-preview',
    parse: armApiVersion,
  }),
  // The ARM budget (src/azure/arm-budget.ts): per subscription and worker process.
  armReadsPerSecond: setting({
    env: 'ARM_READS_PER_SECOND',
    doc: 'Most ARM reads (GET) the app sends per second to one subscription, from one worker process (Azure refills 25 per second)',
    default: '20',
    example: '20',
    parse: integer({ min: 1, max: 250 }),
  }),
  armWritesPerSecond: setting({
    env: 'ARM_WRITES_PER_SECOND',
    doc: 'Most ARM writes (POST actions such as listKeys and regenerateKey, PUT, PATCH, DELETE) the app sends per second to one subscription, from one worker process (Azure refills 10 per second)',
    default: '5',
    example: '5',
    parse: integer({ min: 1, max: 200 }),
  }),
  // The Key Vault budget (the same module): per vault and worker process, leaving most of the vault to the consumers.
  keyVaultRequestsPerSecond: setting({
    env: 'KEY_VAULT_REQUESTS_PER_SECOND',
    doc: 'Most Key Vault requests other than secret sets (reads, lists, tag updates) the app sends per second to the vault, from one worker process (the vault takes 4,000 in 10 seconds, consumers\' reads included)',
    default: '100',
    example: '100',
    parse: integer({ min: 1, max: 400 }),
  }),
  keyVaultSecretSetsPerSecond: setting({
    env: 'KEY_VAULT_SECRET_SETS_PER_SECOND',
    doc: 'Most new secret versions (Set Secret) the app writes per second to the vault, from one worker process (the vault takes 300 in 10 seconds)',
    default: '10',
    example: '10',
    parse: integer({ min: 1, max: 30 }),
  }),
  azureCredential: setting({
    env: 'AZURE_CREDENTIAL',
    doc: '"default" (DefaultAzureCredential), "managed-identity", or "emulator" (a static token; only with EMULATOR_CA_CERT_PATH)',
    default: 'default',
    example: 'emulator',
    parse: credentialMode,
  }),
  azureClientId: setting({
    env: 'AZURE_CLIENT_ID',
    doc: 'Client ID of the user-assigned managed identity (empty: system-assigned or developer sign-in)',
    example: '',
    parse: guid,
  }),
  emulatorCaCert: setting({
    env: 'EMULATOR_CA_CERT_PATH',
    doc: 'PEM file of the local emulator\'s CA, trusted explicitly by every SDK client (empty in Azure)',
    example: '.emulator-data/ca.pem',
    parse: pemFile,
  }),
  maxRotationsInFlight: setting({
    env: 'MAX_ROTATIONS_IN_FLIGHT',
    doc: 'The timer starts due rotations while fewer than this many are running, over all accounts (operator-started ones count too); the rest start in a later run, most overdue first',
    default: '2000',
    example: '2000',
    parse: integer({ min: 1, max: 100000 }),
  }),
  maxRotationsInFlightPerSubscription: setting({
    env: 'MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION',
    doc: 'The same bound within one Azure subscription, whose ARM requests share one throttling budget',
    default: '200',
    example: '200',
    parse: integer({ min: 1, max: 100000 }),
  }),
  failedRotationRetryInHours: setting({
    env: 'FAILED_ROTATION_RETRY_IN_HOURS',
    doc: 'When the schedule may restart a failed or needs-attention rotation',
    default: '24',
    example: '24',
    parse: integer({ min: 1, max: 8760 }),
  }),
  historyRetentionInDays: setting({
    env: 'HISTORY_RETENTION_IN_DAYS',
    doc: 'Finished rotations are kept in the history this many days, then purged from the task hub by the timer',
    default: '365',
    example: '365',
    parse: integer({ min: 1, max: 3650 }),
  }),
  historyMaxPerAccount: setting({
    env: 'HISTORY_MAX_PER_ACCOUNT',
    doc: 'At most this many earlier rotations are kept per account; the oldest beyond it are purged',
    default: '100',
    example: '100',
    parse: integer({ min: 1, max: 10000 }),
  }),
  localAuthUnusedInDays: setting({
    env: 'LOCAL_AUTH_UNUSED_IN_DAYS',
    doc: 'The key report calls an account ready to disable local (key) authentication when none of its four keys was used for this many days',
    default: '30',
    example: '30',
    parse: integer({ min: 1, max: 3650 }),
  }),
  durableTaskHubName: setting({
    env: 'DURABLE_TASK_HUB_NAME',
    doc: 'Durable Functions task hub name (host.json reads it)',
    default: 'cosmoskeyrotation',
    example: 'cosmoskeyrotation',
    parse: taskHubName,
  }),
  operatorApiAuth: setting({
    env: 'OPERATOR_API_AUTH',
    doc: '"function-key": function keys guard the operator API; "entra-id": App Service authentication signs callers in with Microsoft Entra ID, and the app checks their app roles (Reader, Operator, Forcer) from x-ms-client-principal, which it ignores otherwise',
    default: 'function-key',
    example: 'function-key',
    parse: operatorApiAuth,
  }),
  rotationEventsTopicEndpoint: setting({
    env: 'ROTATION_EVENTS_TOPIC_ENDPOINT',
    doc: 'Event Grid topic endpoint the rotation events go to as CloudEvents (e.g. https://my-topic.westeurope-1.eventgrid.azure.net/api/events); empty: no events, telemetry only',
    example: 'https://127.0.0.1:8445/api/events',
    parse: httpsUrl,
  }),
} as const;

/**
 * OPERATOR_API_AUTH alone, for the trigger registrations (made before the whole config is read).
 * Anything but "entra-id" keeps function keys on: a mistyped value never opens the API, and
 * loadConfig then refuses every call, naming the setting.
 */
export function operatorApiAuthOf(env: NodeJS.ProcessEnv = process.env): OperatorApiAuth {
  return env[SETTINGS.operatorApiAuth.env]?.trim() === 'entra-id' ? 'entra-id' : 'function-key';
}

/**
 * Settings an earlier version read and this one does not: set, they refuse
 * the start with what replaced them, rather than being silently ignored (a
 * deployment that still sets them expects a behaviour it no longer gets).
 */
export const RETIRED_SETTINGS: Readonly<Record<string, string>> = {
  MAX_STARTS_PER_RUN: `is no longer read: the schedule now bounds rotations in flight, not starts per run. Remove it and set ${SETTINGS.maxRotationsInFlight.env} (default ${SETTINGS.maxRotationsInFlight.default}) if you need a bound`,
  MAX_STARTS_PER_SUBSCRIPTION: `is no longer read: the schedule now bounds rotations in flight per subscription, not starts per run. Remove it and set ${SETTINGS.maxRotationsInFlightPerSubscription.env} (default ${SETTINGS.maxRotationsInFlightPerSubscription.default}) if you need a bound`,
};

/** Every app setting the rotator reads, in table order. */
export const SETTING_NAMES: readonly string[] = Object.values(SETTINGS).map((spec) => spec.env);

type Complete = { [K in keyof typeof SETTINGS]: ReturnType<(typeof SETTINGS)[K]['parse']> };
type Parsed = { [K in keyof Complete]: Complete[K] | undefined };

export function renderSecretName(template: string, name: string): string {
  return template.replaceAll('{account}', name);
}

/**
 * Reads and validates every setting; throws one ConfigError listing each
 * problem (setting name and what is expected).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const parsed = {} as Record<string, unknown>;
  for (const [key, spec] of Object.entries(SETTINGS) as [keyof typeof SETTINGS, SettingSpec<unknown>][]) {
    const raw = env[spec.env]?.trim();
    const text = raw === undefined || raw === '' ? spec.default : raw;
    if (text === undefined) {
      if (spec.required) problems.push({ setting: spec.env, message: `is required: ${spec.doc}` });
      parsed[key] = undefined;
      continue;
    }
    try {
      parsed[key] = spec.parse(text);
    } catch (error) {
      if (!(error instanceof InvalidSetting)) throw error;
      for (const message of error.problems) problems.push({ setting: spec.env, message });
    }
  }
  const values = parsed as Parsed;
  for (const [retired, message] of Object.entries(RETIRED_SETTINGS)) {
    if (env[retired] !== undefined && env[retired]!.trim() !== '') problems.push({ setting: retired, message });
  }

  if (values.azureCredential === 'emulator' && !values.emulatorCaCert && !problems.some((p) => p.setting === 'EMULATOR_CA_CERT_PATH')) {
    problems.push({
      setting: 'AZURE_CREDENTIAL',
      message: '"emulator" is only for the local emulator and requires EMULATOR_CA_CERT_PATH (use "default" or "managed-identity" in Azure)',
    });
  }

  const targetsProblem = targetsSettingProblem(env, values.targets !== undefined || problems.some((p) => p.setting === SETTINGS.targets.env));
  if (targetsProblem) problems.push(targetsProblem);
  // Clashes between targets (shared secret names...) are checked whenever the settings they depend on are valid.
  const canResolve = (['targets', 'secretNameTemplate', 'readOnlySecretNameTemplate', 'connectionStringSecretNameTemplate', 'rotateReadOnlyKeys', 'publishConnectionString', 'rotationIntervalInDays'] as const).every(
    (key) => values[key] !== undefined,
  );
  const targetList = canResolve ? resolveTargets(values.targets!, targetDefaultsOf(values as Complete), SETTINGS.targets.env, problems) : [];

  if (problems.length) throw new ConfigError(problems);
  const complete = values as Complete;
  return {
    keyVaultUrl: complete.keyVaultUrl,
    targetsSource: values.targetsBlobUrl ? { kind: 'blob', blobUrl: values.targetsBlobUrl } : { kind: 'setting', targets: targetList },
    rotationSchedule: complete.rotationSchedule,
    rotationIntervalInDays: complete.rotationIntervalInDays,
    idleWindowInHours: complete.idleWindowInHours,
    usageMarginInMinutes: complete.usageMarginInMinutes,
    validationProbeCount: complete.validationProbeCount,
    validationSpreadInMinutes: complete.validationSpreadInMinutes,
    standbyWaitMaxInHours: complete.standbyWaitMaxInHours,
    consumerWaitMaxInHours: complete.consumerWaitMaxInHours,
    consumerCheckIntervalInMinutes: complete.consumerCheckIntervalInMinutes,
    rotationWindows: values.rotationWindows ?? [],
    rotateReadOnlyKeys: complete.rotateReadOnlyKeys,
    publishConnectionString: complete.publishConnectionString,
    secretNameTemplate: complete.secretNameTemplate,
    readOnlySecretNameTemplate: complete.readOnlySecretNameTemplate,
    connectionStringSecretNameTemplate: complete.connectionStringSecretNameTemplate,
    secretExpiryInDays: complete.secretExpiryInDays,
    armEndpoint: complete.armEndpoint,
    cosmosArmApiVersion: complete.cosmosArmApiVersion,
    armReadsPerSecond: complete.armReadsPerSecond,
    armWritesPerSecond: complete.armWritesPerSecond,
    keyVaultRequestsPerSecond: complete.keyVaultRequestsPerSecond,
    keyVaultSecretSetsPerSecond: complete.keyVaultSecretSetsPerSecond,
    azureCredential: complete.azureCredential,
    azureClientId: values.azureClientId ?? null,
    emulatorCaCertPath: values.emulatorCaCert?.path ?? null,
    emulatorCaCert: values.emulatorCaCert?.pem ?? null,
    maxRotationsInFlight: complete.maxRotationsInFlight,
    maxRotationsInFlightPerSubscription: complete.maxRotationsInFlightPerSubscription,
    failedRotationRetryInHours: complete.failedRotationRetryInHours,
    historyRetentionInDays: complete.historyRetentionInDays,
    historyMaxPerAccount: complete.historyMaxPerAccount,
    localAuthUnusedInDays: complete.localAuthUnusedInDays,
    durableTaskHubName: complete.durableTaskHubName,
    operatorApiAuth: complete.operatorApiAuth,
    rotationEventsTopicEndpoint: values.rotationEventsTopicEndpoint ?? null,
  };
}

/** Exactly one of ROTATION_TARGETS and ROTATION_TARGETS_BLOB_URL: two lists would leave it unclear which accounts may be rotated. */
function targetsSettingProblem(env: NodeJS.ProcessEnv, targetsGiven: boolean): ConfigProblem | undefined {
  const blobGiven = Boolean(env[SETTINGS.targetsBlobUrl.env]?.trim());
  if (targetsGiven && blobGiven) {
    return {
      setting: SETTINGS.targets.env,
      message: `is set together with ${SETTINGS.targetsBlobUrl.env}: list the accounts in one place only (empty ${SETTINGS.targets.env} to use the blob, or empty ${SETTINGS.targetsBlobUrl.env} to use the setting)`,
    };
  }
  if (!targetsGiven && !blobGiven) {
    return { setting: SETTINGS.targets.env, message: `is required (or ${SETTINGS.targetsBlobUrl.env}, for a list too large for one app setting): ${SETTINGS.targets.doc}` };
  }
  return undefined;
}

/** Settings no target overrides: every target takes them as they are. */
const GLOBAL_ONLY_KEYS = [
  'idleWindowInHours',
  'usageMarginInMinutes',
  'validationProbeCount',
  'validationSpreadInMinutes',
  'standbyWaitMaxInHours',
  'consumerWaitMaxInHours',
  'consumerCheckIntervalInMinutes',
  'secretExpiryInDays',
] as const satisfies ReadonlyArray<keyof TargetDefaults>;

function globalOnlySettings(values: TargetDefaults): Pick<TargetDefaults, (typeof GLOBAL_ONLY_KEYS)[number]> {
  return Object.fromEntries(GLOBAL_ONLY_KEYS.map((key) => [key, values[key]])) as Pick<TargetDefaults, (typeof GLOBAL_ONLY_KEYS)[number]>;
}

function targetDefaultsOf(values: Complete): TargetDefaults {
  return {
    ...globalOnlySettings(values),
    rotationIntervalInDays: values.rotationIntervalInDays,
    rotateReadOnlyKeys: values.rotateReadOnlyKeys,
    rotationWindows: values.rotationWindows ?? [],
    publishConnectionString: values.publishConnectionString,
    secretNameTemplate: values.secretNameTemplate,
    readOnlySecretNameTemplate: values.readOnlySecretNameTemplate,
    connectionStringSecretNameTemplate: values.connectionStringSecretNameTemplate,
  };
}

/** At most this many problems of one target list are named; a file of thousands stays one readable error. */
const MAX_TARGET_PROBLEMS = 20;

/**
 * Parses and validates a whole target list against the global settings, as
 * ROTATION_TARGETS is: the targets, or every problem (each naming its item) and
 * no targets at all, so that nothing is ever rotated from a half-valid list.
 * `setting` is who the problems are reported against.
 */
export function parseTargetList(raw: string, defaults: TargetDefaults, setting: string): { targets: RotationTarget[]; problems: ConfigProblem[] } {
  const { specs, problems: specProblems } = targetSpecsOf(raw);
  const problems: ConfigProblem[] = specProblems.map((message) => ({ setting, message }));
  const targets = specProblems.length ? [] : resolveTargets(specs, defaults, setting, problems, setting);
  if (problems.length > MAX_TARGET_PROBLEMS) {
    const more = problems.length - MAX_TARGET_PROBLEMS;
    problems.splice(MAX_TARGET_PROBLEMS, more, { setting, message: `and ${more} more problem(s) like these` });
  }
  return { targets: problems.length ? [] : targets, problems };
}

/** Applies the global settings to each target; adds a problem for every clash. */
function resolveTargets(specs: TargetSpec[], values: TargetDefaults, setting: string, problems: ConfigProblem[], expirySetting: string = SETTINGS.secretExpiryInDays.env): RotationTarget[] {
  const resolved = specs.map((spec): RotationTarget => {
    const name = spec.name ?? spec.accountName;
    const publishConnectionString = spec.publishConnectionString ?? (spec.connectionStringSecretName !== undefined || values.publishConnectionString);
    return {
      name,
      accountId: spec.resourceId,
      accountName: spec.accountName,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      secretName: spec.secretName ?? renderSecretName(values.secretNameTemplate, name),
      readOnlySecretName: spec.readOnlySecretName ?? renderSecretName(values.readOnlySecretNameTemplate, name),
      connectionStringSecretName: publishConnectionString
        ? (spec.connectionStringSecretName ?? renderSecretName(values.connectionStringSecretNameTemplate, name))
        : null,
      rotateReadOnlyKeys: spec.rotateReadOnlyKeys ?? values.rotateReadOnlyKeys,
      rotationIntervalInDays: spec.rotationIntervalInDays ?? values.rotationIntervalInDays,
      ...globalOnlySettings(values),
      rotationWindows: spec.rotationWindows ?? values.rotationWindows ?? [],
    };
  });

  const owners = new Map<string, string>();
  const names = new Map<string, string>();
  for (const target of resolved) {
    const nameKey = target.name.toLowerCase();
    const nameOwner = names.get(nameKey);
    if (nameOwner) problems.push({ setting, message: `the name "${target.name}" is used by both ${nameOwner} and ${target.accountId}: give one a different "name"` });
    else names.set(nameKey, target.accountId);

    const secretNames = [target.secretName, ...(target.rotateReadOnlyKeys ? [target.readOnlySecretName] : []), ...(target.connectionStringSecretName ? [target.connectionStringSecretName] : [])];
    for (const secretName of secretNames) {
      if (!SECRET_NAME.test(secretName)) {
        problems.push({ setting, message: `${target.accountId}: the secret name "${secretName}" is not a Key Vault secret name (letters, digits, dashes; at most 127)` });
        continue;
      }
      // Key Vault names are case-insensitive; two writers to one secret would overwrite each other's keys.
      const key = secretName.toLowerCase();
      const owner = owners.get(key);
      if (owner) {
        problems.push({
          setting,
          message:
            owner === target.accountId
              ? `${target.accountId}: the secret "${secretName}" would hold two different values: give each a different name`
              : `the secret "${secretName}" would be written by both ${owner} and ${target.accountId}: put {account} in the name template or override "secretName"`,
        });
      } else {
        owners.set(key, target.accountId);
      }
    }
    if (values.secretExpiryInDays !== undefined && values.secretExpiryInDays <= target.rotationIntervalInDays) {
      problems.push({
        setting: expirySetting,
        message: `${expirySetting === SETTINGS.secretExpiryInDays.env ? '' : `SECRET_EXPIRY_IN_DAYS: `}${values.secretExpiryInDays} days must exceed the rotation interval of ${target.accountId} (${target.rotationIntervalInDays} days), or the secret expires before the next rotation`,
      });
    }
  }
  return resolved;
}

/**
 * The configured target for a resource ID (case-insensitive), an account
 * name or a target's `name`; undefined when the account is not configured.
 */
export function findTarget(config: TargetList, accountOrName: string): RotationTarget | undefined {
  const wanted = accountOrName.trim().toLowerCase();
  if (wanted.startsWith('/')) return config.targets.find((target) => target.accountId.toLowerCase() === wanted);
  return (
    config.targets.find((target) => target.name.toLowerCase() === wanted) ??
    config.targets.find((target) => target.accountName.toLowerCase() === wanted)
  );
}

/** The orchestrator's input for a target: exactly AccountRotationSettings, nothing else. */
export function rotationSettingsOf(target: RotationTarget): AccountRotationSettings {
  const { name: _name, ...settings } = target;
  return settings;
}

/** The targets of ROTATION_TARGETS; throws when the list is in a blob (read it through the runtime's target source instead). */
export function settingTargets(config: Pick<Config, 'targetsSource'>): RotationTarget[] {
  if (config.targetsSource.kind !== 'setting') throw new Error('the targets are in ROTATION_TARGETS_BLOB_URL: read them through the target source');
  return config.targetsSource.targets;
}
