/**
 * azd postprovision hook (preview feature, off by default): turns on Cosmos DB
 * safe key rotation on every target account when the environment sets
 * ENABLE_SAFE_KEY_ROTATION=true.
 *
 * Why a hook and not Bicep: Bicep can only PUT a whole account, and a PUT built
 * from this template would reset every account setting the template does not
 * know. This hook PATCHes `properties.capabilities` alone, keeping the
 * capabilities the account already has, with the deploying user's own azd
 * sign-in: the rotator's identity never gets write access to the accounts.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CosmosDBManagementClient, type CosmosDBManagementClientOptionalParams } from '@azure/arm-cosmosdb';
import { AzureDeveloperCliCredential, type TokenCredential } from '@azure/identity';
import { parseAccountId } from '../../src/config.js';

export const SAFE_KEY_ROTATION_CAPABILITIES = [
  'EnableKeyCheckBeforeRegenerationPreview',
  'EnableAccountKeysLastUsageCheckInDisableLocalAuth',
] as const;

/**
 * The full capability list to send so that both safe-rotation capabilities are on
 * and none the account has is lost (the PATCH replaces the list), or null when
 * both are already there.
 */
export function capabilitiesWithSafeKeyRotation(current: readonly string[]): string[] | null {
  const present = new Set(current.map((name) => name.toLowerCase()));
  const missing = SAFE_KEY_ROTATION_CAPABILITIES.filter((name) => !present.has(name.toLowerCase()));
  return missing.length === 0 ? null : [...current, ...missing];
}

export type SafeKeyRotationOutcome = 'already-enabled' | 'enabled';

export interface EnableSafeKeyRotationOptions {
  accountIds: readonly string[];
  credential: TokenCredential;
  /** ARM endpoint; default the public cloud's. */
  endpoint?: string;
  /** Passed to every management client (e.g. a CA to trust, a poll interval for tests). */
  clientOptions?: CosmosDBManagementClientOptionalParams;
  updateIntervalInMs?: number;
  log?: (line: string) => void;
}

export async function enableSafeKeyRotation(options: EnableSafeKeyRotationOptions): Promise<Map<string, SafeKeyRotationOutcome>> {
  const log = options.log ?? ((line: string) => console.log(line));
  const outcomes = new Map<string, SafeKeyRotationOutcome>();
  const clients = new Map<string, CosmosDBManagementClient>();
  for (const accountId of options.accountIds) {
    const parsed = parseAccountId(accountId);
    if (!parsed) throw new Error(`"${accountId}" is not a Cosmos DB account resource ID`);
    let client = clients.get(parsed.subscriptionId);
    if (!client) {
      client = new CosmosDBManagementClient(options.credential, parsed.subscriptionId, {
        ...options.clientOptions,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
      clients.set(parsed.subscriptionId, client);
    }
    const account = await client.databaseAccounts.get(parsed.resourceGroup, parsed.accountName);
    const current = (account.capabilities ?? []).map((capability) => capability.name).filter((name): name is string => !!name);
    const next = capabilitiesWithSafeKeyRotation(current);
    if (!next) {
      log(`safe key rotation: already on for ${parsed.accountName}`);
      outcomes.set(accountId, 'already-enabled');
      continue;
    }
    log(`safe key rotation: turning on for ${parsed.accountName} (capabilities: ${next.join(', ')}); this can take a few minutes`);
    await client.databaseAccounts.beginUpdateAndWait(
      parsed.resourceGroup,
      parsed.accountName,
      { capabilities: next.map((name) => ({ name })) },
      options.updateIntervalInMs === undefined ? {} : { updateIntervalInMs: options.updateIntervalInMs },
    );
    outcomes.set(accountId, 'enabled');
  }
  return outcomes;
}

/** Reads the azd environment (outputs of infra/main.bicep) and acts on it; returns the exit code. */
export async function runHook(env: NodeJS.ProcessEnv, credential?: TokenCredential): Promise<number> {
  if ((env.ENABLE_SAFE_KEY_ROTATION ?? '').toLowerCase() !== 'true') {
    console.log('safe key rotation: not requested (ENABLE_SAFE_KEY_ROTATION is not true); accounts left unchanged');
    return 0;
  }
  const accountIds = (env.ROTATION_TARGET_ACCOUNT_IDS ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (accountIds.length === 0) {
    console.log('safe key rotation: no target accounts (ROTATION_TARGET_ACCOUNT_IDS is empty)');
    return 0;
  }
  try {
    await enableSafeKeyRotation({
      accountIds,
      credential: credential ?? new AzureDeveloperCliCredential(env.AZURE_TENANT_ID ? { tenantId: env.AZURE_TENANT_ID } : {}),
      ...(env.AZURE_RESOURCE_MANAGER_ENDPOINT ? { endpoint: env.AZURE_RESOURCE_MANAGER_ENDPOINT.replace(/\/+$/, '') } : {}),
    });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      `safe key rotation: could not turn it on (${message}). It needs Microsoft.DocumentDB/databaseAccounts/write on each account ` +
        '(e.g. "DocumentDB Account Contributor") for the signed-in user, or run the `az cosmosdb update --capabilities` command in the README (Deploy to Azure). ' +
        'The rotator works without it; it only loses ARM\'s own check before a regeneration.',
    );
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runHook(process.env);
}
