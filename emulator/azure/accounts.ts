/**
 * Creating emulated Cosmos DB accounts (control API `POST /accounts`): input
 * validation that names the field at fault, and the initial account state.
 */
import { KEY_KINDS, type AccountState, type KeyKind, type KeyState } from './contracts.js';
import { newAccountKeyValue } from './operations.js';

export interface CreateAccountInput {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Display name of the region, as ARM returns it. Default "West US". */
  location?: string;
  /** Capability names, e.g. "EnableKeyCheckBeforeRegenerationPreview". */
  capabilities?: string[];
  /** How long a key regeneration or account update takes, in emulator time. Default 60. */
  regenerationSeconds?: number;
  /** How long a data-plane use of a key takes to show in keysMetadata. Default 0. */
  usageLagSeconds?: number;
  disableLocalAuth?: boolean;
}

export interface CreatedAccount {
  id: string;
  documentEndpoint: string;
}

export const DEFAULT_LOCATION = 'West US';
export const DEFAULT_REGENERATION_SECONDS = 60;
export const DEFAULT_USAGE_LAG_SECONDS = 0;
/** Longest configurable duration: a week covers the slowest regeneration reported. */
const MAX_DURATION_SECONDS = 7 * 86_400;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Azure's rules: resource groups 1-90 of letters, digits, _-.() not ending in a period;
// Cosmos DB account names 3-44 of lower-case letters, digits and hyphens, not starting with a hyphen.
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9-]{2,43}$/;
const CAPABILITY = /^[A-Za-z][A-Za-z0-9]{0,127}$/;
const KNOWN_FIELDS = new Set([
  'subscriptionId',
  'resourceGroup',
  'name',
  'location',
  'capabilities',
  'regenerationSeconds',
  'usageLagSeconds',
  'disableLocalAuth',
]);

export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Throws an InputError naming the first field that is wrong. */
export function parseCreateAccountInput(body: unknown): Required<CreateAccountInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('the body must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((field) => !KNOWN_FIELDS.has(field));
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: ${[...KNOWN_FIELDS].join(', ')}`);

  const subscriptionId = input.subscriptionId;
  if (typeof subscriptionId !== 'string' || !GUID.test(subscriptionId)) {
    throw new InputError(`subscriptionId must be a GUID, got ${JSON.stringify(subscriptionId)}`);
  }
  const resourceGroup = input.resourceGroup;
  if (typeof resourceGroup !== 'string' || !RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    throw new InputError(
      `resourceGroup must be 1-90 letters, digits, '_', '-', '.', '(' or ')' not ending in '.', got ${JSON.stringify(resourceGroup)}`,
    );
  }
  const name = input.name;
  if (typeof name !== 'string' || !ACCOUNT_NAME.test(name)) {
    throw new InputError(
      `name must be 3-44 lower-case letters, digits or hyphens, starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  const location = input.location ?? DEFAULT_LOCATION;
  if (typeof location !== 'string' || !/^[A-Za-z0-9 ]{1,64}$/.test(location)) {
    throw new InputError(`location must be a region name such as "West US", got ${JSON.stringify(location)}`);
  }
  const capabilities = input.capabilities ?? [];
  if (!Array.isArray(capabilities) || capabilities.some((c) => typeof c !== 'string' || !CAPABILITY.test(c))) {
    throw new InputError(`capabilities must be an array of capability names such as "EnableKeyCheckBeforeRegenerationPreview"`);
  }
  const regenerationSeconds = parseDuration(input.regenerationSeconds, 'regenerationSeconds', DEFAULT_REGENERATION_SECONDS);
  const usageLagSeconds = parseDuration(input.usageLagSeconds, 'usageLagSeconds', DEFAULT_USAGE_LAG_SECONDS);
  const disableLocalAuth = input.disableLocalAuth ?? false;
  if (typeof disableLocalAuth !== 'boolean') {
    throw new InputError(`disableLocalAuth must be true or false, got ${JSON.stringify(disableLocalAuth)}`);
  }
  return {
    subscriptionId,
    resourceGroup,
    name,
    location,
    capabilities: [...new Set(capabilities as string[])],
    regenerationSeconds,
    usageLagSeconds,
    disableLocalAuth,
  };
}

function parseDuration(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DURATION_SECONDS) {
    throw new InputError(`${field} must be a number of seconds between 0 and ${MAX_DURATION_SECONDS}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function accountResourceId(input: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `/subscriptions/${input.subscriptionId}/resourceGroups/${input.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${input.name}`;
}

export function newAccountState(input: Required<CreateAccountInput>, options: { dataPlanePort: number; now: Date }): AccountState {
  const generationTime = options.now.toISOString();
  const keys = Object.fromEntries(
    KEY_KINDS.map((kind): [KeyKind, KeyState] => [kind, { value: newAccountKeyValue(), generationTime, approximateLastUsageTime: null }]),
  ) as Record<KeyKind, KeyState>;
  return {
    id: accountResourceId(input),
    subscriptionId: input.subscriptionId,
    resourceGroup: input.resourceGroup,
    name: input.name,
    location: input.location,
    kind: 'GlobalDocumentDB',
    capabilities: input.capabilities,
    disableLocalAuth: input.disableLocalAuth,
    regenerationSeconds: input.regenerationSeconds,
    usageLagSeconds: input.usageLagSeconds,
    dataPlanePort: options.dataPlanePort,
    keys,
    createdAt: generationTime,
    databases: {},
  };
}

export function documentEndpointOf(account: Pick<AccountState, 'dataPlanePort'>): string {
  return `https://127.0.0.1:${account.dataPlanePort}/`;
}
