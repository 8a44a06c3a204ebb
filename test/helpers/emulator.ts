/**
 * Test helpers: an in-process emulator on a manual clock, and the real,
 * unmodified SDK clients pointed at it, trusting its CA explicitly (never by
 * turning TLS verification off).
 */
import { Agent, request } from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { CosmosDBManagementClient } from '@azure/arm-cosmosdb';
import { CosmosClient } from '@azure/cosmos';
import { SecretClient } from '@azure/keyvault-secrets';
import { VirtualClock } from '../../emulator/clock.js';
import { startAzureEmulator, type AzureEmulator, type AzureEmulatorOptions } from '../../emulator/azure/index.js';

export const ARM_API_VERSION = '2026-04-01-preview';
/** A fixed start so that times in assertions read naturally. */
export const TEST_START = '2026-05-01T08:00:00.000Z';
export const SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000001';

/** Any bearer token: the emulator checks that one is sent, not who signed it. */
export const staticTokenCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

/** Starts an emulator on a manual clock (at TEST_START unless a clock is given). */
export async function startTestEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  return startAzureEmulator({ clock: options.clock ?? new VirtualClock('manual', TEST_START), ...options });
}

export function armClient(
  emulator: Pick<AzureEmulator, 'armEndpoint' | 'caCertPem'>,
  subscriptionId: string = SUBSCRIPTION_ID,
  credential: TokenCredential = staticTokenCredential,
): CosmosDBManagementClient {
  return new CosmosDBManagementClient(credential, subscriptionId, {
    endpoint: emulator.armEndpoint,
    apiVersion: ARM_API_VERSION,
    tlsOptions: { ca: emulator.caCertPem },
  });
}

export function secretClient(emulator: Pick<AzureEmulator, 'keyVaultUrl' | 'caCertPem'>): SecretClient {
  return new SecretClient(emulator.keyVaultUrl, staticTokenCredential, {
    // A loopback vault URL is not a *.vault.azure.net host the challenge could be verified against.
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: emulator.caCertPem },
  });
}

export function cosmosClient(endpoint: string, key: string, emulator: Pick<AzureEmulator, 'caCertPem'>): CosmosClient {
  return new CosmosClient({
    endpoint,
    key,
    agent: new Agent({ ca: emulator.caCertPem }),
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the text when it is not JSON, or undefined when empty. */
  body: unknown;
}

/** One HTTPS request trusting the emulator's CA; for what the SDKs cannot send or do not show. */
export async function httpsRequest(
  url: string,
  options: { ca: string; method?: string; headers?: Record<string, string>; body?: unknown },
): Promise<RawResponse> {
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(url), { method: options.method ?? 'GET', ca: options.ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text || undefined;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Calls the control API (JSON in and out). */
export function control(
  emulator: Pick<AzureEmulator, 'controlUrl' | 'caCertPem'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawResponse> {
  return httpsRequest(`${emulator.controlUrl}${path}`, { ca: emulator.caCertPem, method, body });
}

/** Calls ARM with a bearer token (or the given headers), e.g. to see status codes and headers. */
export function armRequest(
  emulator: Pick<AzureEmulator, 'armEndpoint' | 'caCertPem'>,
  method: string,
  pathAndQuery: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return httpsRequest(`${emulator.armEndpoint}${pathAndQuery}`, {
    ca: emulator.caCertPem,
    method,
    headers: options.headers ?? { authorization: 'Bearer emulator-token' },
    body: options.body,
  });
}

/** The ARM path of an account. */
export function accountPath(resourceGroup: string, name: string, subscriptionId: string = SUBSCRIPTION_ID): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${name}`;
}
