/**
 * How cosmos-key-rotation publishes a key in Key Vault (README, "The Key Vault
 * secret contract"): the value is a bare account key (content type
 * application/vnd.cosmos-key) or a connection string
 * "AccountEndpoint=...;AccountKey=...;" (application/vnd.cosmos-connection-string),
 * and the tag `keyKind` says which of the account's keys it is. Secrets written
 * by hand often have no content type: the value's shape decides then.
 */
import type { KeyVaultSecret } from '@azure/keyvault-secrets';

export const KEY_CONTENT_TYPE = 'application/vnd.cosmos-key';
export const CONNECTION_STRING_CONTENT_TYPE = 'application/vnd.cosmos-connection-string';
export const KEY_KIND_TAG = 'keyKind';

export type SecretForm = 'key' | 'connectionString';

/** A secret version read from Key Vault, in the shape the Cosmos client needs. */
export interface CosmosCredential {
  form: SecretForm;
  /** From the connection string; null for a bare key (the caller's `endpoint` is used). */
  endpoint: string | null;
  key: string;
  /** The `keyKind` tag (primary, secondary, ...), or null when the version has none. */
  keyKind: string | null;
  version: string;
}

/** A secret that cannot be used; the message names the secret and version, never the value. */
export class SecretFormatError extends Error {
  override readonly name = 'SecretFormatError';
}

export function parseCosmosSecret(secret: KeyVaultSecret): CosmosCredential {
  const version = secret.properties.version ?? 'unknown';
  const where = `Key Vault secret ${secret.name} (version ${version})`;
  const value = secret.value?.trim();
  if (!value) throw new SecretFormatError(`${where} has no value`);
  const contentType = secret.properties.contentType?.trim().toLowerCase() || null;
  const keyKind = secret.properties.tags?.[KEY_KIND_TAG] ?? null;
  const form = formOf(contentType, value);
  if (form === 'key') {
    if (/[;\s]/.test(value)) {
      throw new SecretFormatError(`${where} has content type ${contentType ?? '(none)'} but its value is not a bare account key (it contains ';' or spaces)`);
    }
    return { form, endpoint: null, key: value, keyKind, version };
  }
  const fields = connectionStringFields(value);
  const endpoint = fields.get('accountendpoint');
  const key = fields.get('accountkey');
  if (!endpoint || !key) {
    throw new SecretFormatError(`${where} is a connection string without ${!endpoint ? 'AccountEndpoint' : 'AccountKey'}: expected "AccountEndpoint=https://...;AccountKey=...;"`);
  }
  if (!/^https:\/\//i.test(endpoint)) throw new SecretFormatError(`${where} has an AccountEndpoint that is not an https:// URL`);
  return { form, endpoint, key, keyKind, version };
}

function formOf(contentType: string | null, value: string): SecretForm {
  if (contentType === KEY_CONTENT_TYPE) return 'key';
  if (contentType === CONNECTION_STRING_CONTENT_TYPE) return 'connectionString';
  return /(^|;)\s*AccountEndpoint\s*=/i.test(value) ? 'connectionString' : 'key';
}

/** Field names are case-insensitive; a key's base64 padding keeps its '=' (split at the first one only). */
function connectionStringFields(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return fields;
}
