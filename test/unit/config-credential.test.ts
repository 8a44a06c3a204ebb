/**
 * AZURE_CREDENTIAL picks the identity; the static emulator token cannot be
 * used without the emulator's CA, so it can never reach Azure by mistake.
 */
import { describe, expect, it } from 'vitest';
import { createCredential } from '../../src/azure/credential.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('createCredential', () => {
  it('when AZURE_CREDENTIAL is default, then DefaultAzureCredential is used', () => {
    expect(createCredential({ azureCredential: 'default', azureClientId: null, emulatorCaCert: null }).constructor.name).toBe('DefaultAzureCredential');
  });

  it('when AZURE_CREDENTIAL is managed-identity, with or without a client ID, then only the managed identity is used', () => {
    expect(createCredential({ azureCredential: 'managed-identity', azureClientId: null, emulatorCaCert: null }).constructor.name).toBe('ManagedIdentityCredential');
    expect(createCredential({ azureCredential: 'managed-identity', azureClientId: '11111111-2222-3333-4444-555555555555', emulatorCaCert: null }).constructor.name).toBe(
      'ManagedIdentityCredential',
    );
  });

  it('when AZURE_CREDENTIAL is emulator without the emulator CA, then it is refused as a config error', () => {
    expect(() => createCredential({ azureCredential: 'emulator', azureClientId: null, emulatorCaCert: null })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/AZURE_CREDENTIAL: "emulator" is only for the local emulator/) }),
    );
  });

  it('when AZURE_CREDENTIAL is emulator with the CA, then a static bearer token is issued', async () => {
    const token = await createCredential({ azureCredential: 'emulator', azureClientId: null, emulatorCaCert: PEM }).getToken('https://management.azure.com/.default');
    expect(token?.token).toBeTruthy();
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });
});
