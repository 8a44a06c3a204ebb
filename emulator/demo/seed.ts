/**
 * Setting the scene before a story starts: the scenario's accounts in the
 * emulator, the data the consumers read and write, and the Key Vault secrets
 * a previous rotation (or a person) would have published. Uses the same real
 * SDK clients as the app, trusting the emulator's CA.
 */
import { request as httpsRequest } from 'node:https';
import { createHttpsAgent, pipelineTlsOptions } from '../../src/azure/tls.js';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { CosmosClient } from '@azure/cosmos';
import { SecretClient } from '@azure/keyvault-secrets';
import type { AzureEmulator } from '../azure/index.js';
import type { FaultInput, ScenarioAccount } from './scenario.js';
import { KEY_CONTENT_TYPE, SECRET_TAGS } from '../../src/activities/secret-format.js';
import { CONSUMER_CONTAINER_ID, CONSUMER_DATABASE_ID, CONSUMER_PARTITION_KEY_PATH, SEED_ITEM_ID } from './consumers.js';

/** The emulator checks that a bearer token is sent, not who signed it. */
export const emulatorCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'demo-emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

export interface SeededAccount {
  name: string;
  id: string;
  documentEndpoint: string;
  secretName: string;
  readOnlySecretName: string;
}

export interface SecretNames {
  secretName: string;
  readOnlySecretName: string;
}

/** Secret names as the app derives them (templates with {account}, per-account overrides win). */
export function secretNamesFor(account: ScenarioAccount, settings: Record<string, string>): SecretNames {
  const name = typeof account.target.name === 'string' ? account.target.name : account.name;
  const render = (template: string): string => template.replaceAll('{account}', name);
  return {
    secretName: typeof account.target.secretName === 'string' ? account.target.secretName : render(settings.SECRET_NAME_TEMPLATE ?? '{account}-key'),
    readOnlySecretName:
      typeof account.target.readOnlySecretName === 'string'
        ? account.target.readOnlySecretName
        : render(settings.READONLY_SECRET_NAME_TEMPLATE ?? '{account}-readonly-key'),
  };
}

export function secretClientFor(emulator: Pick<AzureEmulator, 'keyVaultUrl' | 'caCertPem'>): SecretClient {
  return new SecretClient(emulator.keyVaultUrl, emulatorCredential, {
    disableChallengeResourceVerification: true,
    ...pipelineTlsOptions(emulator.caCertPem),
  });
}

/**
 * Creates the account with a database, a container and one item, and (unless
 * the story starts with no secret) publishes the active keys to Key Vault as
 * the app would, tagged with the key kind they hold.
 */
export async function seedAccount(
  emulator: AzureEmulator,
  account: ScenarioAccount,
  names: SecretNames,
  secrets: SecretClient,
  options: { readOnlySecret?: boolean } = {},
): Promise<SeededAccount> {
  const created = await emulator.createAccount({
    subscriptionId: account.subscriptionId,
    resourceGroup: account.resourceGroup,
    name: account.name,
    capabilities: account.capabilities,
    regenerationSeconds: account.regenerationSeconds,
    usageLagSeconds: account.usageLagSeconds,
  });
  const keys = emulator.accountKeys(created.id)!;

  // The app's data, written by its owner before the story with the active key (using the
  // other key here would mark it as in use and change the story).
  const agent = createHttpsAgent(emulator.caCertPem, { keepAlive: false });
  const cosmos = new CosmosClient({
    endpoint: created.documentEndpoint,
    key: keys[account.initialActiveKeyKind ?? 'primary'].value,
    agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  try {
    const { database } = await cosmos.databases.createIfNotExists({ id: CONSUMER_DATABASE_ID });
    const { container } = await database.containers.createIfNotExists({
      id: CONSUMER_CONTAINER_ID,
      partitionKey: { paths: [CONSUMER_PARTITION_KEY_PATH] },
    });
    await container.items.upsert({ id: SEED_ITEM_ID, tenant: account.name });
  } finally {
    cosmos.dispose();
    agent.destroy();
  }

  if (account.initialActiveKeyKind) {
    const readWrite = account.initialActiveKeyKind;
    const readOnly = readWrite === 'primary' ? 'primaryReadonly' : 'secondaryReadonly';
    // Tags and content type as the app publishes them (src/activities/secret-format.ts), without a
    // rotation ID: the earlier rotation that published it would also have regenerated the other key
    // afterwards, which the keys just created cannot show, so the app would take it for a rotation
    // that stopped part-way and resume it.
    // The read-only secret only where something reads it: a vault holding secrets nobody uses makes
    // every listing of it dearer (the schedule lists the whole vault, 25 secrets a page).
    const published: Array<readonly [string, typeof readWrite | typeof readOnly]> = [[names.secretName, readWrite]];
    if (options.readOnlySecret !== false) published.push([names.readOnlySecretName, readOnly]);
    for (const [secretName, keyKind] of published) {
      await secrets.setSecret(
        secretName,
        keys[keyKind].value,
        account.initialSecret === 'untagged' ? {} : { contentType: KEY_CONTENT_TYPE, tags: { [SECRET_TAGS.cosmosAccount]: created.id, [SECRET_TAGS.keyKind]: keyKind } },
      );
    }
  }
  return { name: account.name, id: created.id, documentEndpoint: created.documentEndpoint, ...names };
}

/** `POST /_emulator/faults`: the emulator's own validation applies. */
export async function addFault(emulator: Pick<AzureEmulator, 'controlUrl' | 'caCertPem'>, fault: FaultInput): Promise<{ id: string }> {
  const response = await controlRequest(emulator, 'POST', '/faults', fault);
  if (response.status !== 201) throw new Error(`the emulator refused the fault ${JSON.stringify(fault)}: ${JSON.stringify(response.body)}`);
  return response.body as { id: string };
}

export async function controlRequest(
  emulator: Pick<AzureEmulator, 'controlUrl' | 'caCertPem'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(`${emulator.controlUrl}${path}`),
      {
        method,
        ca: emulator.caCertPem,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
