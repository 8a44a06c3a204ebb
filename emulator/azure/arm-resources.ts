/**
 * How an emulated account looks through ARM: the databaseAccounts resource,
 * its keys and connection strings, in the shapes @azure/arm-cosmosdb reads.
 */
import type { AccountState, KeyKind } from './contracts.js';
import { documentEndpointOf, regionsOf } from './accounts.js';
import { visibleLastUsage } from './key-usage.js';

/** ARM property names of each key kind (listKeys, keysMetadata). */
export const KEY_PROPERTY: Record<KeyKind, string> = {
  primary: 'primaryMasterKey',
  secondary: 'secondaryMasterKey',
  primaryReadonly: 'primaryReadonlyMasterKey',
  secondaryReadonly: 'secondaryReadonlyMasterKey',
};

const CONNECTION_STRING_KINDS: { keyKind: KeyKind; armKeyKind: string; description: string }[] = [
  { keyKind: 'primary', armKeyKind: 'Primary', description: 'Primary SQL Connection String' },
  { keyKind: 'secondary', armKeyKind: 'Secondary', description: 'Secondary SQL Connection String' },
  { keyKind: 'primaryReadonly', armKeyKind: 'PrimaryReadonly', description: 'Primary Read-Only SQL Connection String' },
  { keyKind: 'secondaryReadonly', armKeyKind: 'SecondaryReadonly', description: 'Secondary Read-Only SQL Connection String' },
];

/** The first api-version whose keysMetadata carries approximateLastUsageTime. */
export const USAGE_METADATA_API_VERSION = '2026-04-01-preview';

export function supportsUsageMetadata(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= USAGE_METADATA_API_VERSION.slice(0, 10);
}

export function armAccount(
  account: AccountState,
  options: { apiVersion: string; now: Date; provisioningState: 'Succeeded' | 'Updating' },
): Record<string, unknown> {
  const documentEndpoint = documentEndpointOf(account);
  // One entry per region, each with its own data-plane endpoint (the spec's CosmosDBDatabaseAccountGet.json
  // example: locations[].documentEndpoint like https://ddb1-eastus.documents.azure.com:443/).
  const locations = regionsOf(account).map((region, failoverPriority) => ({
    id: `${account.name}-${region.location.toLowerCase().replace(/\s+/g, '')}`,
    locationName: region.location,
    documentEndpoint: region.documentEndpoint,
    provisioningState: 'Succeeded',
    failoverPriority,
    isZoneRedundant: false,
  }));
  const keysMetadata: Record<string, Record<string, string>> = {};
  for (const [kind, property] of Object.entries(KEY_PROPERTY) as [KeyKind, string][]) {
    const metadata: Record<string, string> = { generationTime: account.keys[kind].generationTime };
    const lastUse = visibleLastUsage(account, kind, options.now);
    // Azure omits the field when no data-plane use was recorded, and older api-versions lack it.
    if (lastUse && supportsUsageMetadata(options.apiVersion)) metadata.approximateLastUsageTime = lastUse;
    keysMetadata[property] = metadata;
  }
  return {
    id: account.id,
    name: account.name,
    location: account.location,
    type: 'Microsoft.DocumentDB/databaseAccounts',
    kind: account.kind,
    tags: {},
    identity: { type: 'None' },
    systemData: { createdAt: account.createdAt },
    properties: {
      provisioningState: options.provisioningState,
      documentEndpoint,
      databaseAccountOfferType: 'Standard',
      ipRules: [],
      isVirtualNetworkFilterEnabled: false,
      enableAutomaticFailover: false,
      enableMultipleWriteLocations: false,
      publicNetworkAccess: 'Enabled',
      consistencyPolicy: { defaultConsistencyLevel: 'Session', maxIntervalInSeconds: 5, maxStalenessPrefix: 100 },
      capabilities: account.capabilities.map((name) => ({ name })),
      writeLocations: locations.slice(0, 1),
      readLocations: locations,
      locations,
      failoverPolicies: locations.map(({ id, locationName, failoverPriority }) => ({ id, locationName, failoverPriority })),
      virtualNetworkRules: [],
      disableLocalAuth: account.disableLocalAuth,
      createMode: 'Default',
      keysMetadata,
    },
  };
}

export function armKeys(account: AccountState): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(KEY_PROPERTY) as [KeyKind, string][]).map(([kind, property]) => [property, account.keys[kind].value]),
  );
}

export function armReadOnlyKeys(account: AccountState): Record<string, string> {
  return {
    primaryReadonlyMasterKey: account.keys.primaryReadonly.value,
    secondaryReadonlyMasterKey: account.keys.secondaryReadonly.value,
  };
}

export function armConnectionStrings(account: AccountState): { connectionStrings: Record<string, string>[] } {
  const endpoint = documentEndpointOf(account);
  return {
    connectionStrings: CONNECTION_STRING_KINDS.map(({ keyKind, armKeyKind, description }) => ({
      connectionString: `AccountEndpoint=${endpoint};AccountKey=${account.keys[keyKind].value};`,
      description,
      keyKind: armKeyKind,
      type: 'Sql',
    })),
  };
}
