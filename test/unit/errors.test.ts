import { randomBytes } from 'node:crypto';
import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import {
  BlockedError,
  ConfigError,
  PermanentError,
  TransientError,
  classifyAzureError,
  isBlockedError,
  isTransientError,
  parseRetryAfter,
  redactSecrets,
  type ClassifyContext,
} from '../../src/errors.js';
import { COSMOS_ACTIONS } from '../../src/azure/permissions.js';

const ACCOUNT = '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app/providers/Microsoft.DocumentDB/databaseAccounts/orders-db';
const ARM: ClassifyContext = { operation: 'regenerate the secondary key', resource: ACCOUNT, service: 'arm', action: COSMOS_ACTIONS.regenerateKey };
const VAULT: ClassifyContext = { operation: 'publish secret orders-db-key', resource: 'https://my-vault.vault.azure.net', service: 'keyVault' };

function restError(statusCode: number, body: unknown, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  const bodyAsText = JSON.stringify(body);
  return new RestError(`${bodyAsText}`, {
    statusCode,
    code: (body as { error?: { code?: string } }).error?.code,
    request,
    response: { status: statusCode, headers: createHttpHeaders(headers), request, bodyAsText, parsedBody: body } as never,
  });
}

function cosmosKey(): string {
  return randomBytes(64).toString('base64');
}

describe('classifyAzureError: transient', () => {
  it.each([408, 429, 500, 502, 503, 504])('when ARM answers %i, then the error is transient (retry with backoff)', (status) => {
    const error = classifyAzureError(restError(status, { error: { code: 'X', message: 'try later' } }), ARM);
    expect(error.name).toBe('TransientError');
    expect(error).toMatchObject({ kind: 'transient', statusCode: status, operation: ARM.operation, resource: ACCOUNT });
  });

  it('when ARM answers 409 because another operation holds the account, then the error is transient', () => {
    const error = classifyAzureError(restError(409, { error: { code: 'Conflict', message: 'There is already an operation in progress which requires exclusive lock on this service.' } }), ARM);
    expect(isTransientError(error)).toBe(true);
    expect(error.message).toMatch(/another operation holds the resource/);
  });

  // Sources: azure-rest-api-specs issue 703 and terraform-provider-azurerm issue 15842: Cosmos DB answers
  // 412 PreconditionFailed "...operation in progress which requires an exclusive lock..." while the account is busy.
  it('when Cosmos DB answers 412 PreconditionFailed because another operation holds the account, then the error is transient like a 409, not permanent', () => {
    const error = classifyAzureError(
      restError(412, { error: { code: 'PreconditionFailed', message: 'There is another user operation in progress which requires an exclusive lock on [orders-db]. Please retry after sometime.' } }),
      ARM,
    );
    expect(isTransientError(error)).toBe(true);
    expect(error.message).toMatch(/another operation holds the resource/);
  });

  it('when Key Vault answers 412 (an ETag precondition), then it is not taken for a busy account: the error is permanent', () => {
    const error = classifyAzureError(restError(412, { error: { code: 'PreconditionFailed', message: 'etag mismatch' } }), VAULT);
    expect(error.name).toBe('PermanentError');
  });

  it.each(['NoRegisteredProviderFound', 'InvalidApiVersionParameter'])('when ARM rejects the api-version (%s, e.g. a retired preview), then the permanent error names COSMOS_ARM_API_VERSION', (code) => {
    const error = classifyAzureError(restError(400, { error: { code, message: "No registered resource provider found for API version '2025-01-01-preview'" } }), ARM);
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(/COSMOS_ARM_API_VERSION/);
  });

  it('when a 429 carries Retry-After, then the delay the service asked for is kept', () => {
    const error = classifyAzureError(restError(429, { error: { code: 'TooManyRequests', message: 'slow down' } }, { 'retry-after': '7' }), VAULT) as TransientError;
    expect(error.retryAfterInMs).toBe(7000);
  });

  // RFC 9110 section 10.2.3: Retry-After = HTTP-date / delay-seconds. ARM sends seconds on 429s and on
  // long-running operation status answers (Microsoft Learn, "Azure Resource Manager request limits" and
  // "Track asynchronous Azure operations"); the three readers in the app (error classification, the ARM
  // budget and the regeneration status poll) share this one parser.
  it.each([
    ['7', 7000],
    [' 30 ', 30_000],
    ['0', 0],
    ['1.5', 1500],
    ['Wed, 02 Dec 2026 05:00:10 GMT', 10_000],
    ['Wed, 02 Dec 2026 04:59:00 GMT', 0],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    [undefined, undefined],
  ] as const)('Retry-After %j reads as %j ms', (header, expected) => {
    expect(parseRetryAfter(header, Date.parse('2026-12-02T05:00:00Z'))).toBe(expected);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])('when the connection fails with %s, then the error is transient', (code) => {
    const error = classifyAzureError(Object.assign(new Error(`socket hang up (${code})`), { code }), VAULT);
    expect(error).toMatchObject({ name: 'TransientError', code });
  });

  it('when the SDK wraps a reset in a RestError without status, then the error is transient', () => {
    const error = classifyAzureError(new RestError('read ECONNRESET', { code: 'ECONNRESET' }), ARM);
    expect(error.name).toBe('TransientError');
  });

  it('when a request is aborted by a timeout, then the error is transient', () => {
    const abort = new Error('The operation was aborted.');
    abort.name = 'AbortError';
    expect(classifyAzureError(abort, ARM).name).toBe('TransientError');
  });
});

describe('classifyAzureError: permanent, with the fix', () => {
  it('when ARM answers 403, then the error is permanent and says which role and action to grant on which account', () => {
    const error = classifyAzureError(
      restError(403, { error: { code: 'AuthorizationFailed', message: "The client 'abc' does not have authorization to perform action 'Microsoft.DocumentDB/databaseAccounts/regenerateKey/action'" } }),
      ARM,
    );
    expect(error).toMatchObject({ name: 'PermanentError', kind: 'permanent', statusCode: 403, code: 'AuthorizationFailed' });
    expect(error.message).toContain(`grant the function's identity the Cosmos DB key rotation role (action ${COSMOS_ACTIONS.regenerateKey}) on ${ACCOUNT}`);
  });

  it('when Key Vault answers 403, then the fix names the Key Vault Secrets Officer role on the vault', () => {
    const error = classifyAzureError(restError(403, { error: { code: 'Forbidden', message: 'Caller is not authorized' } }), VAULT);
    expect(error.message).toMatch(/"Key Vault Secrets Officer" role on the vault https:\/\/my-vault/);
  });

  it('when ARM answers 404, then the fix points at ROTATION_TARGETS', () => {
    const error = classifyAzureError(restError(404, { error: { code: 'ResourceNotFound', message: 'not found' } }), ARM);
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(/check the resource ID in ROTATION_TARGETS/);
  });

  it('when ARM answers 401 or 400, then the error is permanent', () => {
    expect(classifyAzureError(restError(401, { error: { code: 'InvalidAuthenticationToken', message: 'bad token' } }), ARM).message).toMatch(/AZURE_CREDENTIAL/);
    expect(classifyAzureError(restError(400, { error: { code: 'BadRequest', message: 'keyKind is invalid' } }), ARM).name).toBe('PermanentError');
  });

  it('when a read-only lock answers 409 ScopeLocked, then waiting would not help: the error is permanent', () => {
    const error = classifyAzureError(restError(409, { error: { code: 'ScopeLocked', message: 'locked' } }), ARM);
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(/remove the read-only lock/);
  });

  it('when the TLS certificate is not trusted, then the error is permanent and mentions EMULATOR_CA_CERT_PATH', () => {
    const error = classifyAzureError(new RestError('self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), ARM);
    expect(error.name).toBe('PermanentError');
    expect(error.message).toMatch(/EMULATOR_CA_CERT_PATH/);
  });

  it('when no token can be obtained, then the error is permanent and mentions the identity settings', () => {
    const error = Object.assign(new Error('ManagedIdentityCredential: no managed identity endpoint'), { name: 'CredentialUnavailableError' });
    expect(classifyAzureError(error, ARM).message).toMatch(/AZURE_CREDENTIAL and AZURE_CLIENT_ID/);
  });

  it('when the managed identity endpoint is briefly unreachable or overloaded, then the error is transient, so Durable retries it', () => {
    const unreachable = Object.assign(new Error('ManagedIdentityCredential: Network unreachable. connect ECONNREFUSED 169.254.169.254:80'), { name: 'CredentialUnavailableError' });
    const overloaded = Object.assign(new Error('ManagedIdentityCredential authentication failed. Status code: 503'), { name: 'AuthenticationError' });
    expect(classifyAzureError(unreachable, ARM).name).toBe('TransientError');
    expect(classifyAzureError(overloaded, ARM).name).toBe('TransientError');
  });

  it('when a host name does not resolve, then the fix names the setting holding it', () => {
    expect(classifyAzureError(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), VAULT).message).toMatch(/check KEY_VAULT_URL/);
  });

  it('when the error is already classified, then it passes through unchanged', () => {
    const blocked = new BlockedError('in use', { retryAt: '2030-01-01T12:30:00.000Z', lastUsedAt: '2030-01-01T00:00:00.000Z' });
    expect(classifyAzureError(blocked, ARM)).toBe(blocked);
  });
});

describe('errors never carry key material', () => {
  it('when an SDK error echoes a connection string and a key, then the classified message holds neither', () => {
    const key = cosmosKey();
    const body = { error: { code: 'BadRequest', message: `bad request body {"keyKind":"primary"} AccountEndpoint=https://a.documents.azure.com:443/;AccountKey=${key};` } };
    const error = classifyAzureError(restError(400, body), ARM);
    expect(error.message).not.toContain(key);
    expect(error.message).toContain('AccountKey=[redacted]');
  });

  it('when a message holds a bare key, a URL-encoded key, a bearer token or a master-key signature, then each is redacted', () => {
    const key = cosmosKey();
    const text = [
      `key ${key} end`,
      `encoded ${encodeURIComponent(key)} end`,
      '"primaryMasterKey": "abc", "connectionString": "AccountEndpoint=x"',
      'authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.sig-part_1',
      'authorization: type%3Dmaster%26ver%3D1.0%26sig%3DAbCd',
      'type=master&ver=1.0&sig=AbCd+/=',
    ].join('\n');
    const redacted = redactSecrets(text);
    expect(redacted).not.toContain(key);
    expect(redacted).not.toContain(encodeURIComponent(key));
    expect(redacted).not.toMatch(/"abc"|eyJzdWIiOiIx|AbCd/);
    // What an operator needs stays readable.
    expect(redactSecrets(`Could not list the keys (${ACCOUNT}): 403 AuthorizationFailed`)).toBe(`Could not list the keys (${ACCOUNT}): 403 AuthorizationFailed`);
  });

  it('when our own errors are built from a text holding a key, then the key is scrubbed from their messages', () => {
    const key = cosmosKey();
    for (const error of [
      new TransientError(`x ${key}`),
      new PermanentError(`x AccountKey=${key}`),
      new BlockedError(`x ${key}`, { retryAt: 'r', lastUsedAt: null }),
      new ConfigError([{ setting: 'ROTATION_TARGETS', message: `x ${key}` }]),
    ]) {
      expect(error.message).not.toContain(key);
      expect(JSON.stringify(error)).not.toContain(key);
    }
  });
});

describe('typed errors', () => {
  it('when errors are created, then each has its name and kind, and options are kept', () => {
    const blocked = new BlockedError('key in use', { retryAt: '2030-01-01T12:30:00.000Z', lastUsedAt: '2030-01-01T00:00:00.000Z', statusCode: 400 });
    expect(blocked).toMatchObject({ name: 'BlockedError', kind: 'blocked', retryAt: '2030-01-01T12:30:00.000Z', lastUsedAt: '2030-01-01T00:00:00.000Z', statusCode: 400 });
    expect(isBlockedError(blocked)).toBe(true);
    expect(isBlockedError({ name: 'BlockedError', kind: 'blocked' })).toBe(true);
    expect(new TransientError('x', { code: 'ECONNRESET' })).toMatchObject({ name: 'TransientError', kind: 'transient', code: 'ECONNRESET' });
    expect(new ConfigError([{ setting: 'A', message: 'b' }]).message).toBe('Invalid app settings (1):\n- A: b');
  });
});

describe('what the orchestrator may say about an activity whose retries were spent', () => {
  it('when the runtime hands over the reason with the error type and stack as JSON, then only the reason is kept, and a Retry-After the activity noted is read back', async () => {
    const { activityFailureOf, retryAfterSuffix } = await import('../../src/activities/contracts.js');
    const raw =
      `Activity function 'publishKey' failed: Could not publish secret orders-key: throttled: 429${retryAfterSuffix(30_000)} \n ` +
      JSON.stringify({ ErrorType: 'TransientError', StackTrace: 'TransientError: x\n    at classifyAzureError (/home/site/wwwroot/src/errors.js:207:14)' });
    expect(activityFailureOf(new Error(raw))).toEqual({ reason: 'Could not publish secret orders-key: throttled: 429 (Retry-After 30 s)', retryAfterInMs: 30_000 });
    expect(activityFailureOf(new Error("Activity function 'validateKey' failed: socket hang up"))).toEqual({ reason: 'socket hang up' });
  });
});
