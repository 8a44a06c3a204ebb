/**
 * The Event Grid events that tell a consumer to re-read its secret. Key Vault
 * sends `Microsoft.KeyVault.SecretNewVersionCreated` with data
 * `{Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP}` (Microsoft Learn,
 * "Azure Key Vault as Event Grid source"), in the Event Grid schema
 * (`eventType`, `topic`, `subject`, `data`) or the CloudEvents 1.0 schema
 * (`type`, `source`, `subject`, `data`). A webhook first receives
 * `Microsoft.EventGrid.SubscriptionValidationEvent` and must answer with its
 * `validationCode`. The @azure/eventgrid deserializer gives the same data in
 * camelCase, so both spellings are read.
 */

export const SECRET_NEW_VERSION_CREATED = 'Microsoft.KeyVault.SecretNewVersionCreated';
export const SUBSCRIPTION_VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';
/** The rotator's own event (its Event Grid topic, CloudEvents 1.0): data names the secret and the version it wrote. */
export const ROTATION_NEW_KEY_PUBLISHED = 'CosmosKeyRotation.newKeyPublished';

export interface SecretVersionEvent {
  vaultName: string | null;
  secretName: string;
  version: string | null;
}

export type ParsedEvent =
  | { kind: 'secretNewVersion'; secret: SecretVersionEvent }
  | { kind: 'subscriptionValidation'; validationCode: string }
  | { kind: 'other'; type: string | null };

export function parseEvent(event: unknown): ParsedEvent {
  if (typeof event !== 'object' || event === null) return { kind: 'other', type: null };
  const record = event as Record<string, unknown>;
  const type = stringField(record, 'eventType') ?? stringField(record, 'type') ?? null;
  const data = typeof record.data === 'object' && record.data !== null ? (record.data as Record<string, unknown>) : {};
  if (type === SUBSCRIPTION_VALIDATION) {
    const validationCode = stringField(data, 'validationCode') ?? stringField(data, 'ValidationCode');
    return validationCode ? { kind: 'subscriptionValidation', validationCode } : { kind: 'other', type };
  }
  if (type === ROTATION_NEW_KEY_PUBLISHED) {
    const secretName = stringField(data, 'secretName');
    if (!secretName) return { kind: 'other', type };
    return { kind: 'secretNewVersion', secret: { secretName, vaultName: null, version: stringField(data, 'secretVersion') ?? null } };
  }
  if (type !== SECRET_NEW_VERSION_CREATED) return { kind: 'other', type };
  const secretName = stringField(data, 'ObjectName') ?? stringField(data, 'objectName') ?? stringField(record, 'subject');
  if (!secretName) return { kind: 'other', type };
  return {
    kind: 'secretNewVersion',
    secret: {
      secretName,
      vaultName: stringField(data, 'VaultName') ?? stringField(data, 'vaultName') ?? null,
      version: stringField(data, 'Version') ?? stringField(data, 'version') ?? null,
    },
  };
}

/** The vault name as Event Grid gives it: the first label of the vault's host name (null for an IP address or localhost). */
export function vaultNameOf(keyVaultUrl: string): string | null {
  const host = new URL(keyVaultUrl).hostname.toLowerCase();
  if (host === 'localhost' || /^[\d.]+$/.test(host) || host.startsWith('[')) return null;
  return host.split('.')[0]!;
}

function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
