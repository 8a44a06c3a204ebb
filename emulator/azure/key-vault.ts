/**
 * Key Vault secrets, as `@azure/keyvault-secrets` uses them: challenge-based
 * bearer auth, versions (the latest is the one created last), properties,
 * listing with paging, soft delete, recover and purge, and Key Vault's error
 * shape `{"error":{"code","message","innererror"?}}`. Times come from the
 * emulator's clock; the wire carries them as unix seconds.
 */
import { randomBytes } from 'node:crypto';
import type {
  DeletedSecretState,
  EmulatorRequest,
  EmulatorResponse,
  EmulatorState,
  SecretState,
  SecretVersionState,
  ServiceContext,
  ServiceHandler,
} from './contracts.js';

/** The tenant the emulated vault belongs to, named in its auth challenge. */
export const KEY_VAULT_TENANT_ID = '00000000-0000-0000-0000-00000000e6e1';
/** The resource (audience) of Key Vault tokens, as in the public cloud. */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
export const KEY_VAULT_CHALLENGE = `Bearer authorization="https://login.microsoftonline.com/${KEY_VAULT_TENANT_ID}", resource="${KEY_VAULT_RESOURCE}"`;

/** Soft-delete retention of the emulated vault. */
export const RECOVERABLE_DAYS = 90;
const RECOVERY_LEVEL = 'Recoverable+Purgeable';
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION_ID = /^[0-9a-fA-F]{32}$/;
const MAX_PAGE_SIZE = 25;
const MAX_VALUE_LENGTH = 25 * 1024;
const MAX_CONTENT_TYPE_LENGTH = 255;
const MAX_TAGS = 15;
const MAX_TAG_NAME_LENGTH = 512;
const MAX_TAG_VALUE_LENGTH = 512;
const LATEST_API_VERSION = '2025-07-01';
const API_VERSION = /^(2016-10-01|7\.\d+(-preview(\.\d+)?)?|20\d\d-\d\d-\d\d(-preview)?)$/;

export const handleKeyVault: ServiceHandler = async (request, context) => {
  // Auth comes first: the SDK's first request carries no token and an empty body, even a PUT.
  const authorization = header(request, 'authorization');
  if (authorization === undefined) {
    return failure(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', { challenge: true });
  }
  if (!/^Bearer\s+\S+$/i.test(authorization.trim())) {
    return failure(401, 'Unauthorized', 'AKV10001: The Authorization header is not a bearer token.', { challenge: true });
  }

  const apiVersion = request.url.searchParams.get('api-version');
  if (!apiVersion) return failure(400, 'BadParameter', "The 'api-version' query parameter is missing.");
  if (!API_VERSION.test(apiVersion)) {
    return failure(
      400,
      'BadParameter',
      `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`,
    );
  }

  let segments: string[];
  try {
    segments = request.url.pathname.split('/').filter((segment) => segment.length > 0).map(decodeURIComponent);
  } catch {
    return failure(400, 'BadParameter', `The request URI ${request.url.pathname} is not correctly percent-encoded.`);
  }

  purgeExpiredDeletions(context);
  const vault = new Vault(context, request.url.origin, apiVersion);
  try {
    return jsonResponse(route(vault, request, segments));
  } catch (error) {
    if (error instanceof KeyVaultError) return failure(error.status, error.code, error.message, { innerCode: error.innerCode });
    throw error;
  }
};

function route(vault: Vault, request: EmulatorRequest, segments: string[]): Reply {
  const [collection, name, third, fourth, ...rest] = segments;
  const method = request.method;
  if (rest.length > 0) throw notEmulated(request);

  if (collection === 'secrets') {
    if (name === undefined) {
      if (method === 'GET') return vault.listSecrets(request);
      throw methodNotAllowed(method);
    }
    if (name === 'restore' || third === 'backup') throw notEmulated(request);
    validateName(name);
    if (third === undefined) {
      if (method === 'PUT') return vault.setSecret(name, readBody(request));
      if (method === 'GET') return vault.getSecret(name, undefined);
      if (method === 'DELETE') return vault.deleteSecret(name);
      if (method === 'PATCH') return vault.updateSecret(name, undefined, readBody(request));
      throw methodNotAllowed(method);
    }
    if (third === 'versions' && fourth === undefined) {
      if (method === 'GET') return vault.listVersions(name, request);
      throw methodNotAllowed(method);
    }
    if (fourth !== undefined) throw notEmulated(request);
    if (method === 'GET') return vault.getSecret(name, third);
    if (method === 'PATCH') return vault.updateSecret(name, third, readBody(request));
    throw methodNotAllowed(method);
  }

  if (collection === 'deletedsecrets') {
    if (name === undefined) {
      if (method === 'GET') return vault.listDeletedSecrets(request);
      throw methodNotAllowed(method);
    }
    validateName(name);
    if (third === undefined) {
      if (method === 'GET') return vault.getDeletedSecret(name);
      if (method === 'DELETE') return vault.purgeDeletedSecret(name);
      throw methodNotAllowed(method);
    }
    if (third === 'recover' && fourth === undefined) {
      if (method === 'POST') return vault.recoverDeletedSecret(name);
      throw methodNotAllowed(method);
    }
  }
  throw notEmulated(request);
}

// ---------------------------------------------------------------- the vault

interface Reply {
  status: number;
  body?: unknown;
}

class Vault {
  constructor(
    private readonly context: ServiceContext,
    /** e.g. https://127.0.0.1:Q: what ids start with. */
    private readonly vaultUrl: string,
    private readonly apiVersion: string,
  ) {}

  setSecret(name: string, body: Record<string, unknown>): Reply {
    const key = name.toLowerCase();
    if (this.context.state.keyVault.deleted[key]) {
      throw new KeyVaultError(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    if (typeof body.value !== 'string') throw badParameter("The secret's 'value' must be a string.");
    if (body.value.length > MAX_VALUE_LENGTH) throw badParameter(`The secret value is longer than ${MAX_VALUE_LENGTH} characters.`);
    const contentType = optionalContentType(body.contentType);
    const tags = optionalTags(body.tags);
    const attributes = readAttributes(body.attributes);
    const now = this.nowIso();

    const version: SecretVersionState = {
      version: randomBytes(16).toString('hex'),
      value: body.value,
      enabled: attributes.enabled ?? true,
      created: now,
      updated: now,
    };
    if (contentType !== undefined) version.contentType = contentType;
    if (tags !== undefined) version.tags = tags;
    if (attributes.notBefore) version.notBefore = attributes.notBefore;
    if (attributes.expiresOn) version.expiresOn = attributes.expiresOn;

    const secret = this.context.mutate((state) => {
      const existing = state.keyVault.secrets[key];
      const target = existing ?? { name, versions: [] };
      target.versions.push(version);
      state.keyVault.secrets[key] = target;
      return structuredClone(target);
    });
    return { status: 200, body: this.bundle(secret, version, { withValue: true }) };
  }

  getSecret(name: string, versionId: string | undefined): Reply {
    const secret = this.context.state.keyVault.secrets[name.toLowerCase()];
    const version = secret && findVersion(secret, versionId);
    if (!secret || !version) throw secretNotFound(name, versionId);
    if (!version.enabled) {
      throw new KeyVaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    }
    return { status: 200, body: this.bundle(secret, version, { withValue: true }) };
  }

  updateSecret(name: string, versionId: string | undefined, body: Record<string, unknown>): Reply {
    const key = name.toLowerCase();
    const secret = this.context.state.keyVault.secrets[key];
    const current = secret && findVersion(secret, versionId);
    if (!secret || !current) throw secretNotFound(name, versionId);
    const contentType = body.contentType === null ? null : optionalContentType(body.contentType);
    const tags = body.tags === null ? null : optionalTags(body.tags);
    const attributes = readAttributes(body.attributes);
    const now = this.nowIso();

    const updated = this.context.mutate((state) => {
      const version = findVersion(state.keyVault.secrets[key], current.version) as SecretVersionState;
      if (contentType === null) delete version.contentType;
      else if (contentType !== undefined) version.contentType = contentType;
      if (tags === null) delete version.tags;
      else if (tags !== undefined) version.tags = tags;
      if (attributes.enabled !== undefined) version.enabled = attributes.enabled;
      if (attributes.notBefore === null) delete version.notBefore;
      else if (attributes.notBefore !== undefined) version.notBefore = attributes.notBefore;
      if (attributes.expiresOn === null) delete version.expiresOn;
      else if (attributes.expiresOn !== undefined) version.expiresOn = attributes.expiresOn;
      version.updated = now;
      return structuredClone(version);
    });
    // The service does not return the value from an update.
    return { status: 200, body: this.bundle(secret, updated, { withValue: false }) };
  }

  deleteSecret(name: string): Reply {
    const key = name.toLowerCase();
    if (!this.context.state.keyVault.secrets[key]) throw secretNotFound(name, undefined);
    const now = this.context.clock.now();
    const deleted = this.context.mutate((state) => {
      const secret = state.keyVault.secrets[key];
      delete state.keyVault.secrets[key];
      const entry: DeletedSecretState = {
        ...secret,
        deletedDate: now.toISOString(),
        scheduledPurgeDate: new Date(now.getTime() + RECOVERABLE_DAYS * 24 * 3600 * 1000).toISOString(),
      };
      state.keyVault.deleted[key] = entry;
      return structuredClone(entry);
    });
    return { status: 200, body: this.deletedBundle(deleted) };
  }

  getDeletedSecret(name: string): Reply {
    const deleted = this.context.state.keyVault.deleted[name.toLowerCase()];
    if (!deleted) throw deletedSecretNotFound(name);
    return { status: 200, body: this.deletedBundle(deleted) };
  }

  recoverDeletedSecret(name: string): Reply {
    const key = name.toLowerCase();
    if (!this.context.state.keyVault.deleted[key]) throw deletedSecretNotFound(name);
    const recovered = this.context.mutate((state) => {
      const { deletedDate: _deletedDate, scheduledPurgeDate: _scheduledPurgeDate, ...secret } = state.keyVault.deleted[key];
      delete state.keyVault.deleted[key];
      state.keyVault.secrets[key] = secret;
      return structuredClone(secret);
    });
    return { status: 200, body: this.bundle(recovered, latestOf(recovered), { withValue: false }) };
  }

  purgeDeletedSecret(name: string): Reply {
    const key = name.toLowerCase();
    if (!this.context.state.keyVault.deleted[key]) throw deletedSecretNotFound(name);
    this.context.mutate((state) => {
      delete state.keyVault.deleted[key];
    });
    return { status: 204 };
  }

  listSecrets(request: EmulatorRequest): Reply {
    const secrets = sortedByName(Object.values(this.context.state.keyVault.secrets));
    return this.page(request, '/secrets', secrets.map((secret) => this.item(secret, latestOf(secret), { withVersion: false })));
  }

  listVersions(name: string, request: EmulatorRequest): Reply {
    const secret = this.context.state.keyVault.secrets[name.toLowerCase()];
    if (!secret) throw secretNotFound(name, undefined);
    const items = secret.versions.map((version) => this.item(secret, version, { withVersion: true }));
    return this.page(request, `/secrets/${encodeURIComponent(secret.name)}/versions`, items);
  }

  listDeletedSecrets(request: EmulatorRequest): Reply {
    const deleted = sortedByName(Object.values(this.context.state.keyVault.deleted));
    return this.page(request, '/deletedsecrets', deleted.map((entry) => ({ ...this.item(entry, latestOf(entry), { withVersion: false }), ...this.deletionFields(entry) })));
  }

  // ---------------------------------------------------------------- wire shapes

  private bundle(secret: SecretState, version: SecretVersionState, options: { withValue: boolean }): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    if (options.withValue) body.value = version.value;
    body.id = `${this.vaultUrl}/secrets/${secret.name}/${version.version}`;
    if (version.contentType !== undefined) body.contentType = version.contentType;
    body.attributes = attributesOf(version);
    if (version.tags !== undefined) body.tags = version.tags;
    return body;
  }

  private item(secret: SecretState, version: SecretVersionState, options: { withVersion: boolean }): Record<string, unknown> {
    const body: Record<string, unknown> = {
      id: `${this.vaultUrl}/secrets/${secret.name}${options.withVersion ? `/${version.version}` : ''}`,
      attributes: attributesOf(version),
    };
    if (version.tags !== undefined) body.tags = version.tags;
    if (version.contentType !== undefined) body.contentType = version.contentType;
    return body;
  }

  private deletedBundle(entry: DeletedSecretState): Record<string, unknown> {
    // The value stays in the vault until recovered; a deleted bundle does not carry it.
    return { ...this.deletionFields(entry), ...this.bundle(entry, latestOf(entry), { withValue: false }) };
  }

  private deletionFields(entry: DeletedSecretState): Record<string, unknown> {
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${entry.name}`,
      deletedDate: unixSeconds(entry.deletedDate),
      scheduledPurgeDate: unixSeconds(entry.scheduledPurgeDate),
    };
  }

  private page(request: EmulatorRequest, path: string, items: Record<string, unknown>[]): Reply {
    const rawPageSize = request.url.searchParams.get('maxresults');
    const pageSize = rawPageSize === null ? MAX_PAGE_SIZE : Number(rawPageSize);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw badParameter(`'maxresults' must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    }
    const offset = skipTokenOffset(request.url.searchParams.get('$skiptoken'));
    const value = items.slice(offset, offset + pageSize);
    let nextLink: string | null = null;
    if (offset + pageSize < items.length) {
      const next = new URL(`${this.vaultUrl}${path}`);
      next.searchParams.set('api-version', this.apiVersion);
      next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify({ offset: offset + pageSize })).toString('base64url'));
      next.searchParams.set('maxresults', String(pageSize));
      nextLink = next.toString();
    }
    return { status: 200, body: { value, nextLink } };
  }

  private nowIso(): string {
    return this.context.clock.now().toISOString();
  }
}

// ---------------------------------------------------------------- helpers

function findVersion(secret: SecretState | undefined, versionId: string | undefined): SecretVersionState | undefined {
  if (!secret) return undefined;
  if (versionId === undefined || versionId === '') return latestOf(secret);
  if (!VERSION_ID.test(versionId)) return undefined;
  return secret.versions.find((version) => version.version.toLowerCase() === versionId.toLowerCase());
}

/** The latest version is the one created last, whatever its attributes. */
function latestOf(secret: SecretState): SecretVersionState {
  return secret.versions[secret.versions.length - 1];
}

function attributesOf(version: SecretVersionState): Record<string, unknown> {
  const attributes: Record<string, unknown> = { enabled: version.enabled };
  if (version.notBefore) attributes.nbf = unixSeconds(version.notBefore);
  if (version.expiresOn) attributes.exp = unixSeconds(version.expiresOn);
  attributes.created = unixSeconds(version.created);
  attributes.updated = unixSeconds(version.updated);
  attributes.recoveryLevel = RECOVERY_LEVEL;
  attributes.recoverableDays = RECOVERABLE_DAYS;
  return attributes;
}

function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

function sortedByName<T extends SecretState>(secrets: T[]): T[] {
  return [...secrets].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}

function skipTokenOffset(token: string | null): number {
  if (token === null || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw badParameter('The $skiptoken is not one this vault issued.');
}

interface ReadAttributes {
  enabled?: boolean;
  /** ISO; null: remove. */
  notBefore?: string | null;
  expiresOn?: string | null;
}

function readAttributes(raw: unknown): ReadAttributes {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badParameter("'attributes' must be an object.");
  const attributes = raw as Record<string, unknown>;
  const result: ReadAttributes = {};
  if (attributes.enabled !== undefined && attributes.enabled !== null) {
    if (typeof attributes.enabled !== 'boolean') throw badParameter("'attributes.enabled' must be a boolean.");
    result.enabled = attributes.enabled;
  }
  const time = (field: 'nbf' | 'exp'): string | null | undefined => {
    const value = attributes[field];
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw badParameter(`'attributes.${field}' must be a unix time in seconds.`);
    return new Date(Math.floor(value) * 1000).toISOString();
  };
  const notBefore = time('nbf');
  const expiresOn = time('exp');
  if (notBefore !== undefined) result.notBefore = notBefore;
  if (expiresOn !== undefined) result.expiresOn = expiresOn;
  return result;
}

function optionalContentType(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badParameter("'contentType' must be a string.");
  if (value.length > MAX_CONTENT_TYPE_LENGTH) throw badParameter(`'contentType' is longer than ${MAX_CONTENT_TYPE_LENGTH} characters.`);
  return value;
}

function optionalTags(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badParameter("'tags' must be an object of strings.");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw badParameter(`A secret can have at most ${MAX_TAGS} tags; this request has ${entries.length}.`);
  const tags: Record<string, string> = {};
  for (const [name, tagValue] of entries) {
    if (typeof tagValue !== 'string') throw badParameter(`The tag '${name}' must have a string value.`);
    if (name.length > MAX_TAG_NAME_LENGTH) throw badParameter(`A tag name is longer than ${MAX_TAG_NAME_LENGTH} characters.`);
    if (tagValue.length > MAX_TAG_VALUE_LENGTH) throw badParameter(`The value of tag '${name}' is longer than ${MAX_TAG_VALUE_LENGTH} characters.`);
    tags[name] = tagValue;
  }
  return tags;
}

function validateName(name: string): void {
  if (!SECRET_NAME.test(name)) throw badParameter(`The request URI contains an invalid name: ${name}`);
}

function readBody(request: EmulatorRequest): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body.toString('utf8') || 'null');
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badParameter('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** Deleted secrets whose retention ran out (by the emulator clock) are gone, as after the service's purge. */
function purgeExpiredDeletions(context: ServiceContext): void {
  const nowMs = context.clock.nowMs();
  const due = (state: EmulatorState) =>
    Object.entries(state.keyVault.deleted).filter(([, entry]) => Date.parse(entry.scheduledPurgeDate) <= nowMs).map(([key]) => key);
  // Found in the live state: walking the change's draft would copy every deleted secret.
  const expired = due(context.state);
  if (expired.length === 0) return;
  context.mutate((state) => {
    for (const key of expired) delete state.keyVault.deleted[key];
  });
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// ---------------------------------------------------------------- errors and responses

class KeyVaultError extends Error {
  override readonly name = 'KeyVaultError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

function badParameter(message: string): KeyVaultError {
  return new KeyVaultError(400, 'BadParameter', message);
}

function secretNotFound(name: string, versionId: string | undefined): KeyVaultError {
  const which = versionId ? `${name}/${versionId}` : name;
  return new KeyVaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${which} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

function deletedSecretNotFound(name: string): KeyVaultError {
  return new KeyVaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

function methodNotAllowed(method: string): KeyVaultError {
  return new KeyVaultError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
}

function notEmulated(request: EmulatorRequest): KeyVaultError {
  return new KeyVaultError(404, 'NotFound', `${request.method} ${request.url.pathname} is not served by the local emulator's Key Vault.`);
}

function jsonResponse(reply: Reply): EmulatorResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-cache', 'x-ms-keyvault-service-version': '1.9.0.0' };
  if (reply.body === undefined) return { status: reply.status, headers };
  return { status: reply.status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body: reply.body };
}

function failure(status: number, code: string, message: string, options: { challenge?: boolean; innerCode?: string | undefined } = {}): EmulatorResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' };
  if (options.challenge) headers['www-authenticate'] = KEY_VAULT_CHALLENGE;
  const error: Record<string, unknown> = { code, message };
  if (options.innerCode) error.innererror = { code: options.innerCode };
  return { status, headers, body: { error } };
}
