/**
 * AZURE_CREDENTIAL picks the identity; the static emulator token cannot be
 * used without the emulator's CA, so it can never reach Azure by mistake.
 *
 * The deployed app runs as a user-assigned managed identity, which Azure only
 * hands a token for when the request names its client ID. The last tests check
 * that on the wire: a loopback server plays the App Service / Functions identity
 * endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER, as the platform sets them), and
 * the real @azure/identity credential asks it for a token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createCredential, credentialPlan } from '../../src/azure/credential.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

/** What the identity endpoint was asked: one entry per token request. */
interface TokenRequest {
  resource: string | null;
  clientId: string | null;
  secretHeader: string | undefined;
}

const IDENTITY_HEADER = 'identity-header-for-this-test';
const tokenRequests: TokenRequest[] = [];
const identityEndpoint: Server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const resource = url.searchParams.get('resource');
  tokenRequests.push({ resource, clientId: url.searchParams.get('client_id'), secretHeader: request.headers['x-identity-header'] as string | undefined });
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      access_token: `token-for-${url.searchParams.get('client_id') ?? 'system-assigned'}`,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: 'Bearer',
    }),
  );
});
await new Promise<void>((listening) => identityEndpoint.listen(0, '127.0.0.1', listening));

// Set before any credential exists: the SDK picks the managed identity source once per process, as
// the Functions host's environment is fixed before the app starts. Restored after the last test.
const savedEnvironment = new Map<string, string | undefined>(
  ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_CLIENT_ID', 'AZURE_TOKEN_CREDENTIALS'].map((name) => [name, process.env[name]]),
);
process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${(identityEndpoint.address() as AddressInfo).port}/msi/token`;
process.env.IDENTITY_HEADER = IDENTITY_HEADER;
// The client ID must come from the settings the app passes, not from the SDK reading the environment.
delete process.env.AZURE_CLIENT_ID;
delete process.env.AZURE_TOKEN_CREDENTIALS;

describe('credentialPlan', () => {
  it('when AZURE_CREDENTIAL is managed-identity with AZURE_CLIENT_ID, then the plan is that user-assigned identity', () => {
    expect(credentialPlan({ azureCredential: 'managed-identity', azureClientId: CLIENT_ID, emulatorCaCert: null })).toEqual({
      kind: 'managed-identity',
      clientId: CLIENT_ID,
    });
  });

  it('when AZURE_CREDENTIAL is default with AZURE_CLIENT_ID, then the plan keeps the client ID for the managed identity in the chain', () => {
    expect(credentialPlan({ azureCredential: 'default', azureClientId: CLIENT_ID, emulatorCaCert: null })).toEqual({ kind: 'default', clientId: CLIENT_ID });
  });

  it('when AZURE_CLIENT_ID is unset or empty, then the plan is the system-assigned identity', () => {
    expect(credentialPlan({ azureCredential: 'managed-identity', azureClientId: null, emulatorCaCert: null })).toEqual({ kind: 'managed-identity', clientId: null });
    expect(credentialPlan({ azureCredential: 'default', azureClientId: '', emulatorCaCert: null })).toEqual({ kind: 'default', clientId: null });
  });

  it('when AZURE_CREDENTIAL is emulator with the CA, then no client ID is involved', () => {
    expect(credentialPlan({ azureCredential: 'emulator', azureClientId: CLIENT_ID, emulatorCaCert: PEM })).toEqual({ kind: 'emulator', clientId: null });
  });

  it('when AZURE_CREDENTIAL is emulator without the emulator CA, then it is refused as a config error', () => {
    expect(() => credentialPlan({ azureCredential: 'emulator', azureClientId: null, emulatorCaCert: null })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/AZURE_CREDENTIAL: "emulator" is only for the local emulator/) }),
    );
    expect(() => createCredential({ azureCredential: 'emulator', azureClientId: null, emulatorCaCert: null })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });

  it('when AZURE_CREDENTIAL names an unknown mode, then it is refused as a config error', () => {
    const settings = { azureCredential: 'client-secret', azureClientId: null, emulatorCaCert: null } as unknown as Parameters<typeof credentialPlan>[0];
    expect(() => credentialPlan(settings)).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/unknown credential mode "client-secret"/) }));
  });
});

describe('createCredential', () => {
  it('when AZURE_CREDENTIAL is default, then DefaultAzureCredential is used', () => {
    expect(createCredential({ azureCredential: 'default', azureClientId: null, emulatorCaCert: null }).constructor.name).toBe('DefaultAzureCredential');
  });

  it('when AZURE_CREDENTIAL is managed-identity, with or without a client ID, then only the managed identity is used', () => {
    expect(createCredential({ azureCredential: 'managed-identity', azureClientId: null, emulatorCaCert: null }).constructor.name).toBe('ManagedIdentityCredential');
    expect(createCredential({ azureCredential: 'managed-identity', azureClientId: CLIENT_ID, emulatorCaCert: null }).constructor.name).toBe('ManagedIdentityCredential');
  });

  it('when AZURE_CREDENTIAL is emulator with the CA, then a static bearer token is issued', async () => {
    const token = await createCredential({ azureCredential: 'emulator', azureClientId: null, emulatorCaCert: PEM }).getToken('https://management.azure.com/.default');
    expect(token?.token).toBeTruthy();
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });
});

describe('the token request a managed identity credential sends (App Service identity endpoint on loopback)', () => {
  afterAll(async () => {
    for (const [name, value] of savedEnvironment) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await new Promise<void>((closed) => identityEndpoint.close(() => closed()));
  });

  // Each test asks for its own resource: the SDK caches tokens per process.
  it('when AZURE_CREDENTIAL is managed-identity with AZURE_CLIENT_ID, then the token is requested for that client ID', async () => {
    const credential = createCredential({ azureCredential: 'managed-identity', azureClientId: CLIENT_ID, emulatorCaCert: null });

    const token = await credential.getToken('https://management.azure.com/.default');

    expect(token?.token).toBe(`token-for-${CLIENT_ID}`);
    expect(tokenRequests.filter((request) => request.resource === 'https://management.azure.com')).toEqual([
      { resource: 'https://management.azure.com', clientId: CLIENT_ID, secretHeader: IDENTITY_HEADER },
    ]);
  });

  it('when AZURE_CREDENTIAL is default with AZURE_CLIENT_ID, then the managed identity in the chain requests the token for that client ID', async () => {
    const otherClientId = '66666666-7777-8888-9999-000000000000';
    const credential = createCredential({ azureCredential: 'default', azureClientId: otherClientId, emulatorCaCert: null });

    const token = await credential.getToken('https://vault.azure.net/.default');

    expect(token?.token).toBe(`token-for-${otherClientId}`);
    expect(tokenRequests.filter((request) => request.resource === 'https://vault.azure.net').map((request) => request.clientId)).toEqual([otherClientId]);
  });

  it('when AZURE_CLIENT_ID is unset, then the token is requested for the system-assigned identity (no client ID sent)', async () => {
    const credential = createCredential({ azureCredential: 'managed-identity', azureClientId: null, emulatorCaCert: null });

    const token = await credential.getToken('https://storage.azure.com/.default');

    expect(token?.token).toBe('token-for-system-assigned');
    expect(tokenRequests.filter((request) => request.resource === 'https://storage.azure.com').map((request) => request.clientId)).toEqual([null]);
  });
});
