/**
 * Test helpers: an in-process emulator on a manual clock, and the real,
 * unmodified SDK clients pointed at it, trusting its CA explicitly (never by
 * turning TLS verification off).
 */
import { Agent } from 'node:https';
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

/** Calls the control API (JSON in and out); returns status and parsed body. */
export async function control(
  emulator: Pick<AzureEmulator, 'controlUrl' | 'caCertPem'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:https');
  const url = new URL(`${emulator.controlUrl}${path}`);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
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
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
