/**
 * What one account's rotation needs to know, resolved from the app settings
 * (src/config.ts) and passed to the orchestrator as input: plain JSON, no
 * secrets, so an orchestrator never reads the environment.
 */
import type { KeyPairName } from './keys.js';
import type { RotationWindow } from './rotation-window.js';

export interface AccountRotationSettings {
  /** ARM resource ID of the Cosmos DB account. */
  accountId: string;
  accountName: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Key Vault secret that holds the active read-write key. */
  secretName: string;
  /** Key Vault secret that holds the active read-only key (used when rotateReadOnlyKeys). */
  readOnlySecretName: string;
  /** Key Vault secret for the read-write connection string, or null when not published. */
  connectionStringSecretName: string | null;
  rotateReadOnlyKeys: boolean;
  rotationIntervalInDays: number;
  idleWindowInHours: number;
  usageMarginInMinutes: number;
  validationProbeCount: number;
  validationSpreadInMinutes: number;
  standbyWaitMaxInHours: number;
  consumerWaitMaxInHours: number;
  consumerCheckIntervalInMinutes: number;
  secretExpiryInDays: number;
  /** When keys may be regenerated (UTC); empty or absent (inputs of rotations started before windows existed): any time. */
  rotationWindows?: RotationWindow[];
}

/** A key pair a rotation of this account rotates, with the secret consumers read it from. */
export interface RotatedPair {
  pair: KeyPairName;
  secretName: string;
}

/** The pairs a rotation of this account rotates, in order: read-write, then read-only when configured. */
export function rotatedPairs(settings: Pick<AccountRotationSettings, 'secretName' | 'readOnlySecretName' | 'rotateReadOnlyKeys'>): RotatedPair[] {
  return [
    { pair: 'readWrite', secretName: settings.secretName },
    ...(settings.rotateReadOnlyKeys ? [{ pair: 'readOnly' as const, secretName: settings.readOnlySecretName }] : []),
  ];
}
