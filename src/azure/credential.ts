/**
 * The identity the rotator calls Azure with.
 * - default: DefaultAzureCredential (managed identity in Azure, developer sign-in locally);
 *   with AZURE_CLIENT_ID, the user-assigned identity of that client ID.
 * - managed-identity: only the managed identity (no fallback to other sign-ins). The
 *   deployed app runs as a user-assigned identity, which Azure only picks with its
 *   client ID: without it the token request asks for a system-assigned identity the app
 *   does not have.
 * - emulator: a static token the local emulator accepts; refused without the
 *   emulator's CA, so it cannot be pointed at Azure by mistake.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';

const EMULATOR_TOKEN_LIFETIME_IN_MS = 3_600_000;

export type CredentialSettings = Pick<Config, 'azureCredential' | 'azureClientId' | 'emulatorCaCert'>;

/** Which credential the settings ask for, decided without constructing it. */
export interface CredentialPlan {
  kind: 'default' | 'managed-identity' | 'emulator';
  /** The user-assigned managed identity's client ID; null for a system-assigned identity (or the emulator). */
  clientId: string | null;
}

export function credentialPlan(config: CredentialSettings): CredentialPlan {
  switch (config.azureCredential) {
    case 'default':
    case 'managed-identity':
      return { kind: config.azureCredential, clientId: config.azureClientId || null };
    case 'emulator':
      if (!config.emulatorCaCert) {
        throw new ConfigError([
          { setting: 'AZURE_CREDENTIAL', message: '"emulator" is only for the local emulator and requires EMULATOR_CA_CERT_PATH' },
        ]);
      }
      return { kind: 'emulator', clientId: null };
    default:
      throw new ConfigError([{ setting: 'AZURE_CREDENTIAL', message: `unknown credential mode "${String(config.azureCredential)}"` }]);
  }
}

export function createCredential(config: CredentialSettings): TokenCredential {
  const plan = credentialPlan(config);
  switch (plan.kind) {
    case 'default':
      return new DefaultAzureCredential(plan.clientId ? { managedIdentityClientId: plan.clientId } : {});
    case 'managed-identity':
      return plan.clientId ? new ManagedIdentityCredential({ clientId: plan.clientId }) : new ManagedIdentityCredential();
    case 'emulator':
      return emulatorCredential();
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
