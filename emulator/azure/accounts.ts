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
  /**
   * Read regions beyond `location`, each with its own data-plane endpoint and
   * the time a regenerated key takes to be accepted there (default 0).
   */
  additionalRegions?: Array<{ location: string; propagationSeconds?: number }>;
}

export interface CreatedAccount {
  id: string;
  documentEndpoint: string;
  /** Each region's endpoint, the first region's being documentEndpoint. */
  regionalEndpoints: Array<{ location: string; documentEndpoint: string }>;
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
  'additionalRegions',
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
  const additionalRegions = parseRegions(input.additionalRegions, location);
  return {
    subscriptionId,
    resourceGroup,
    name,
    location,
    capabilities: [...new Set(capabilities as string[])],
    regenerationSeconds,
    usageLagSeconds,
    disableLocalAuth,
    additionalRegions,
  };
}

function parseRegions(value: unknown, location: string): Array<{ location: string; propagationSeconds: number }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InputError('additionalRegions must be an array like [{"location": "East US", "propagationSeconds": 60}]');
  const seen = new Set([normalisedRegion(location)]);
  return value.map((region, index) => {
    const field = `additionalRegions[${index}]`;
    if (typeof region !== 'object' || region === null || Array.isArray(region)) throw new InputError(`${field} must be an object like {"location": "East US"}`);
    const { location: name, propagationSeconds, ...rest } = region as Record<string, unknown>;
    if (Object.keys(rest).length) throw new InputError(`${field} has unknown field(s): ${Object.keys(rest).join(', ')}; allowed: location, propagationSeconds`);
    if (typeof name !== 'string' || !/^[A-Za-z0-9 ]{1,64}$/.test(name)) throw new InputError(`${field}.location must be a region name such as "East US", got ${JSON.stringify(name)}`);
    if (seen.has(normalisedRegion(name))) throw new InputError(`${field}.location ${JSON.stringify(name)} is already a region of the account`);
    seen.add(normalisedRegion(name));
    return { location: name, propagationSeconds: parseDuration(propagationSeconds, `${field}.propagationSeconds`, 0) };
  });
}

function normalisedRegion(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
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

export function newAccountState(
  input: Required<CreateAccountInput>,
  options: { dataPlanePort: number; regionPorts?: number[]; now: Date },
): AccountState {
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
    ...(input.additionalRegions.length
      ? {
          regions: input.additionalRegions.map((region, index) => ({
            location: region.location,
            propagationSeconds: region.propagationSeconds ?? 0,
            dataPlanePort: options.regionPorts?.[index] ?? 0,
          })),
        }
      : {}),
    keys,
    createdAt: generationTime,
    databases: {},
  };
}

export function documentEndpointOf(account: Pick<AccountState, 'dataPlanePort'>): string {
  return `https://127.0.0.1:${account.dataPlanePort}/`;
}

/** Every region of the account with its data-plane endpoint: the first (write) region serves the global endpoint. */
export function regionsOf(account: AccountState): Array<{ location: string; documentEndpoint: string; propagationSeconds: number }> {
  return [
    { location: account.location, documentEndpoint: documentEndpointOf(account), propagationSeconds: 0 },
    ...(account.regions ?? []).map((region) => ({ location: region.location, documentEndpoint: documentEndpointOf(region), propagationSeconds: region.propagationSeconds })),
  ];
}

/**
 * The key values a region accepts now: a key regenerated less than the
 * region's propagation time ago is still known there by its previous value.
 */
export function regionalKeyValues(account: AccountState, regionIndex: number, now: Date): Record<KeyKind, string> {
  const propagationMs = regionIndex === 0 ? 0 : (account.regions?.[regionIndex - 1]?.propagationSeconds ?? 0) * 1000;
  return Object.fromEntries(
    KEY_KINDS.map((kind) => {
      const key = account.keys[kind];
      const arrived = Date.parse(key.generationTime) + propagationMs <= now.getTime();
      return [kind, arrived || key.previousValue === undefined ? key.value : key.previousValue];
    }),
  ) as Record<KeyKind, string>;
}
