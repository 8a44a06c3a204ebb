/**
 * The identity the rotator calls Azure with.
 * - default: DefaultAzureCredential (managed identity in Azure, developer sign-in locally);
 *   with AZURE_CLIENT_ID, the user-assigned identity of that client ID.
 * - managed-identity: only the managed identity (no fallback to other sign-ins).
 * - emulator: a static token the local emulator accepts; refused without the
 *   emulator's CA, so it cannot be pointed at Azure by mistake.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';

const EMULATOR_TOKEN_LIFETIME_IN_MS = 3_600_000;

export type CredentialSettings = Pick<Config, 'azureCredential' | 'azureClientId' | 'emulatorCaCert'>;

export function createCredential(config: CredentialSettings): TokenCredential {
  switch (config.azureCredential) {
    case 'default':
      return new DefaultAzureCredential(config.azureClientId ? { managedIdentityClientId: config.azureClientId } : {});
    case 'managed-identity':
      return config.azureClientId ? new ManagedIdentityCredential({ clientId: config.azureClientId }) : new ManagedIdentityCredential();
    case 'emulator':
      if (!config.emulatorCaCert) {
        throw new ConfigError([
          { setting: 'AZURE_CREDENTIAL', message: '"emulator" is only for the local emulator and requires EMULATOR_CA_CERT_PATH' },
        ]);
      }
      return emulatorCredential();
    default:
      throw new ConfigError([{ setting: 'AZURE_CREDENTIAL', message: `unknown credential mode "${String(config.azureCredential)}"` }]);
  }
}

/** The emulator checks that a bearer token is sent, not who signed it. */
function emulatorCredential(): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token: 'local-emulator-token', expiresOnTimestamp: Date.now() + EMULATOR_TOKEN_LIFETIME_IN_MS };
    },
  };
}
