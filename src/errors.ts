/**
 * The few errors that change what the rotation does next:
 * - transient: retry with backoff (throttling, 5xx, timeouts, resets, an
 *   operation already running on the account);
 * - permanent: fail the rotation now, with the fix in the message;
 * - config: refuse to start, naming each bad setting;
 * - blocked: the safe-rotation check refused; retry at a known time.
 *
 * SDK errors are classified once, in the adapters (src/azure). Messages are
 * scrubbed: an SDK error may echo a request body or a connection string.
 */

export type ErrorKind = 'transient' | 'permanent' | 'config' | 'blocked';

export interface AzureErrorOptions {
  /** HTTP status, when the service answered. */
  statusCode?: number;
  /** Service error code (e.g. "Forbidden", "SecretNotFound") or network code (e.g. "ECONNRESET"). */
  code?: string;
  /** What was being done, e.g. "regenerate the secondary key". */
  operation?: string;
  /** The resource it was done on (resource ID, vault URL, secret name). */
  resource?: string;
}

export interface TransientErrorOptions extends AzureErrorOptions {
  /** What the service asked for in Retry-After, when it did. */
  retryAfterInMs?: number;
}

/** Worth retrying as is, after a backoff. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly kind = 'transient' as const;
  readonly statusCode?: number;
  readonly code?: string;
  readonly operation?: string;
  readonly resource?: string;
  readonly retryAfterInMs?: number;

  constructor(message: string, options: TransientErrorOptions = {}) {
    super(redactSecrets(message));
    Object.assign(this, definedOnly(options));
  }
}

/** Retrying will not help: someone must change a permission, a setting or a resource. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly kind = 'permanent' as const;
  readonly statusCode?: number;
  readonly code?: string;
  readonly operation?: string;
  readonly resource?: string;

  constructor(message: string, options: AzureErrorOptions = {}) {
    super(redactSecrets(message));
    Object.assign(this, definedOnly(options));
  }
}

export interface ConfigProblem {
  /** The app setting's name, e.g. ROTATION_TARGETS. */
  setting: string;
  /** What is wrong and what is expected. */
  message: string;
}

/** One or more app settings are missing or invalid: the app must not start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly kind = 'config' as const;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((problem) => `- ${problem.setting}: ${problem.message}`);
    super(redactSecrets(`Invalid app settings (${problems.length}):\n${lines.join('\n')}`));
    this.problems = problems.map((problem) => ({ setting: problem.setting, message: redactSecrets(problem.message) }));
  }
}

export interface BlockedErrorOptions extends AzureErrorOptions {
  /** When the regeneration may be tried again (ISO). */
  retryAt: string;
  /** The key's last use as ARM reported it (ISO), or null when it reported none. */
  lastUsedAt: string | null;
}

/** Cosmos DB's safe-rotation check refused: the key was used too recently. */
export class BlockedError extends Error {
  override readonly name = 'BlockedError';
  readonly kind = 'blocked' as const;
  readonly retryAt: string;
  readonly lastUsedAt: string | null;
  readonly statusCode?: number;
  readonly code?: string;
  readonly operation?: string;
  readonly resource?: string;

  constructor(message: string, options: BlockedErrorOptions) {
    super(redactSecrets(message));
    const { retryAt, lastUsedAt, ...rest } = options;
    this.retryAt = retryAt;
    this.lastUsedAt = lastUsedAt;
    Object.assign(this, definedOnly(rest));
  }
}

export type RotatorError = TransientError | PermanentError | ConfigError | BlockedError;

const OWN_ERROR_NAMES = new Set(['TransientError', 'PermanentError', 'ConfigError', 'BlockedError']);

/** Checks by name, not instanceof: errors cross module copies and serialisation. */
export function isRotatorError(error: unknown): error is RotatorError {
  return typeof error === 'object' && error !== null && OWN_ERROR_NAMES.has((error as { name?: unknown }).name as string);
}

export function isTransientError(error: unknown): error is TransientError {
  return isRotatorError(error) && error.kind === 'transient';
}

export function isPermanentError(error: unknown): error is PermanentError {
  return isRotatorError(error) && error.kind === 'permanent';
}

export function isBlockedError(error: unknown): error is BlockedError {
  return isRotatorError(error) && error.kind === 'blocked';
}

export type AzureService = 'arm' | 'keyVault' | 'cosmos' | 'eventGrid' | 'storage';

export interface ClassifyContext {
  /** What was being done, in words an operator understands: "list the keys", "publish secret x". */
  operation: string;
  /** The resource: account resource ID, vault URL or secret name. */
  resource: string;
  service: AzureService;
  /** The ARM action the call needs; named in the fix of a 403. */
  action?: string;
}

/** Network failures worth retrying: the request may not even have reached the service. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

/** TLS failures: retrying cannot fix a certificate that is not trusted. */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** ARM's codes for an api-version it does not serve (a retired preview, a typo). */
const REJECTED_API_VERSION_CODES = new Set(['NoRegisteredProviderFound', 'InvalidApiVersionParameter', 'InvalidResourceType']);

const TRANSIENT_STATUS = new Set([408, 409, 429, 500, 502, 503, 504]);

/**
 * Cosmos DB's resource provider answers 412 PreconditionFailed ("...another
 * operation in progress which requires an exclusive lock...") while another
 * operation holds the account (azure-rest-api-specs issue 703,
 * terraform-provider-azurerm issue 15842); ARM itself answers 409 Conflict.
 * Both mean "busy, ask again later". Elsewhere a 412 is a failed ETag
 * precondition, which waiting does not fix.
 */
function isArmBusy(status: number, service: AzureService): boolean {
  return status === 412 && service === 'arm';
}

/** 409, or an ARM 412: another operation holds the resource. */
export function isBusyStatus(status: number | undefined, service: AzureService = 'arm'): boolean {
  return status === 409 || (status !== undefined && isArmBusy(status, service));
}

/** Token failures that say the identity endpoint was unreachable or overloaded, not that the identity is wrong. */
const TRANSIENT_TOKEN_FAILURE = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|socket hang up|timed? ?out|status code (429|5\d\d)|\b(429|500|502|503|504)\b/i;

interface ErrorFacts {
  name?: string;
  message: string;
  statusCode?: number;
  code?: string;
  causeCode?: string;
  retryAfterInMs?: number;
}

/**
 * Turns whatever an SDK threw into a TransientError or a PermanentError.
 * Our own errors pass through unchanged.
 */
export function classifyAzureError(error: unknown, context: ClassifyContext): TransientError | PermanentError | BlockedError | ConfigError {
  if (isRotatorError(error)) return error;
  const facts = factsOf(error);
  const base: AzureErrorOptions = {
    ...(facts.statusCode !== undefined ? { statusCode: facts.statusCode } : {}),
    ...(facts.code !== undefined ? { code: facts.code } : {}),
    operation: context.operation,
    resource: context.resource,
  };
  const detail = describe(facts);
  const what = `Could not ${context.operation} (${context.resource})`;
  const status = facts.statusCode;

  if (status !== undefined) {
    // A resource lock answers 409 too, but waiting does not remove it.
    if (status === 409 && facts.code === 'ScopeLocked') {
      return new PermanentError(`${what}: ${detail}. Fix: remove the read-only lock on the account or its resource group, or exclude it from ROTATION_TARGETS.`, base);
    }
    if (TRANSIENT_STATUS.has(status) || isArmBusy(status, context.service)) {
      const reason = isBusyStatus(status, context.service) ? 'another operation holds the resource' : status === 429 ? 'throttled' : 'the service is temporarily unavailable';
      return new TransientError(`${what}: ${reason}: ${detail}`, {
        ...base,
        ...(facts.retryAfterInMs !== undefined ? { retryAfterInMs: facts.retryAfterInMs } : {}),
      });
    }
    if (status >= 500) return new TransientError(`${what}: ${detail}`, base);
    if (status === 400 && context.service === 'arm' && REJECTED_API_VERSION_CODES.has(facts.code ?? '')) {
      return new PermanentError(
        `${what}: Azure Resource Manager rejected the api-version: ${detail}. Fix: set COSMOS_ARM_API_VERSION to a version it supports ` +
          `(2026-04-01-preview reports key usage times; the stable 2026-03-15 does not, and the rotation then waits for consumers-moved or CONSUMER_WAIT_MAX_IN_HOURS).`,
        base,
      );
    }
    return new PermanentError(`${what}: ${detail}. Fix: ${fixFor(status, context)}`, base);
  }

  const networkCode = [facts.code, facts.causeCode].find((code) => code !== undefined && (TRANSIENT_NETWORK_CODES.has(code) || TLS_CODES.has(code)));
  if (networkCode && TLS_CODES.has(networkCode)) {
    return new PermanentError(
      `${what}: the server's TLS certificate is not trusted (${networkCode}). Fix: in Azure leave EMULATOR_CA_CERT_PATH empty; locally point it at the emulator's CA file.`,
      { ...base, code: networkCode },
    );
  }
  if (networkCode) return new TransientError(`${what}: network error ${networkCode}: ${detail}`, { ...base, code: networkCode });
  if (facts.name === 'AbortError' || facts.name === 'TimeoutError') return new TransientError(`${what}: the request timed out: ${detail}`, base);
  if (facts.code === 'ENOTFOUND') {
    return new PermanentError(`${what}: the host name does not resolve (${detail}). Fix: check ${context.service === 'keyVault' ? 'KEY_VAULT_URL' : context.service === 'arm' ? 'ARM_ENDPOINT' : 'the account\'s documentEndpoint'}.`, base);
  }
  if (facts.name === 'CredentialUnavailableError' || facts.name === 'AggregateAuthenticationError' || facts.name === 'AuthenticationError') {
    // The managed identity endpoint is a local service that can blip; a retry a few seconds later usually gets the token.
    if (TRANSIENT_TOKEN_FAILURE.test(detail)) {
      return new TransientError(`${what}: the identity endpoint did not answer (${facts.name}: ${detail}); retrying.`, base);
    }
    return new PermanentError(
      `${what}: no token could be obtained (${facts.name}: ${detail}). Fix: check AZURE_CREDENTIAL and AZURE_CLIENT_ID, and that the function app's managed identity is enabled.`,
      base,
    );
  }
  // Anything else is a bug or an unknown shape: retrying would only delay the report.
  return new PermanentError(`${what}: ${detail}`, base);
}

function fixFor(status: number, context: ClassifyContext): string {
  switch (status) {
    case 401:
      return 'the token was rejected: check AZURE_CREDENTIAL/AZURE_CLIENT_ID and that the identity belongs to the resource\'s tenant.';
    case 403:
      if (context.service === 'keyVault') {
        return `grant the function's identity the "Key Vault Secrets Officer" role on the vault ${context.resource}.`;
      }
      if (context.service === 'cosmos') return 'the data plane refused the key; check that local (key) authentication is enabled on the account.';
      if (context.service === 'eventGrid') return `grant the function's identity the "EventGrid Data Sender" role on the topic ${context.resource}.`;
      return `grant the function's identity the Cosmos DB key rotation role${context.action ? ` (action ${context.action})` : ''} on ${context.resource}.`;
    case 404:
      if (context.service === 'keyVault') return `check KEY_VAULT_URL and the secret name (${context.resource}).`;
      if (context.service === 'eventGrid') return 'check ROTATION_EVENTS_TOPIC_ENDPOINT: the topic was not found.';
      return `check the resource ID in ROTATION_TARGETS: ${context.resource} was not found (deleted, renamed, or another subscription).`;
    case 400:
      return 'the service refused the request as invalid; see the message above.';
    default:
      return 'see the message above.';
  }
}

function factsOf(error: unknown): ErrorFacts {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const record = error as Record<string, unknown>;
  const facts: ErrorFacts = { message: typeof record.message === 'string' ? record.message : String(error) };
  if (typeof record.name === 'string') facts.name = record.name;
  // RestError has statusCode; @azure/cosmos puts the status in `code` as a number.
  const statusCode = typeof record.statusCode === 'number' ? record.statusCode : typeof record.code === 'number' ? record.code : undefined;
  if (statusCode !== undefined && statusCode >= 100) facts.statusCode = statusCode;
  const serviceCode = serviceErrorCode(record);
  if (serviceCode !== undefined) facts.code = serviceCode;
  const cause = record.cause as Record<string, unknown> | undefined;
  if (cause && typeof cause.code === 'string') facts.causeCode = cause.code;
  const retryAfter = retryAfterOf(record);
  if (retryAfter !== undefined) facts.retryAfterInMs = retryAfter;
  return facts;
}

function serviceErrorCode(record: Record<string, unknown>): string | undefined {
  // ARM and Key Vault put the service's code in the body: {"error": {"code": ...}}.
  const details = record.details as { error?: { code?: unknown } } | undefined;
  if (details && typeof details.error?.code === 'string') return details.error.code;
  const response = record.response as { parsedBody?: { error?: { code?: unknown }; code?: unknown } } | undefined;
  const bodyCode = response?.parsedBody?.error?.code ?? response?.parsedBody?.code;
  if (typeof bodyCode === 'string') return bodyCode;
  return typeof record.code === 'string' ? record.code : undefined;
}

function retryAfterOf(record: Record<string, unknown>): number | undefined {
  const response = record.response as { headers?: { get?: (name: string) => string | undefined } } | undefined;
  return parseRetryAfter(typeof response?.headers?.get === 'function' ? response.headers.get('retry-after') : undefined, Date.now());
}

/**
 * A Retry-After header as milliseconds from `nowMs`: delay-seconds or an
 * HTTP-date (RFC 9110 section 10.2.3); a date already past is 0. Fractions of
 * a second are taken too, though the RFC has none. Empty or unreadable:
 * undefined, as if the header were absent.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // An HTTP-date names its day and month; Date.parse alone would take "-5" as a year.
  const at = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const MAX_DETAIL_LENGTH = 600;

function describe(facts: ErrorFacts): string {
  const status = facts.statusCode !== undefined ? `${facts.statusCode}${facts.code ? ` ${facts.code}` : ''}` : facts.code;
  // The SDK's message often repeats the whole response body; keep the first line.
  const firstLine = (facts.message.split('\n')[0] ?? '').trim();
  const text = firstLine.length > MAX_DETAIL_LENGTH ? `${firstLine.slice(0, MAX_DETAIL_LENGTH)}…` : firstLine;
  return redactSecrets(status ? `${status}: ${text}` : text);
}

const REDACTED = '[redacted]';

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  // Connection strings and key=value forms.
  [/(AccountKey|SharedAccessKey|AccessKey|Password|pwd)=[^;"'\s,}]*/gi, `$1=${REDACTED}`],
  // JSON properties that carry keys or connection strings.
  [/("(?:primary|secondary)(?:Readonly)?MasterKey"\s*:\s*)"[^"]*"/gi, `$1"${REDACTED}"`],
  [/("connectionString"\s*:\s*)"[^"]*"/gi, `$1"${REDACTED}"`],
  [/("value"\s*:\s*)"[^"]*"/gi, `$1"${REDACTED}"`],
  // Authorization headers: bearer tokens and Cosmos master-key signatures.
  [/(Bearer\s+)[A-Za-z0-9\-_.~+/]+=*/gi, `$1${REDACTED}`],
  [/(sig(?:=|%3D))[^&\s"']+/gi, `$1${REDACTED}`],
  // A Cosmos key: 64 bytes in base64 is 88 characters ending in "==", possibly URL-encoded.
  [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==/g, REDACTED],
  [/(?:[A-Za-z0-9]|%2[BbFf]){86,}%3[Dd]%3[Dd]/g, REDACTED],
  // Another long base64 run with a "+" (a key of another length): paths, GUIDs and names never contain "+".
  [/(?<![A-Za-z0-9+/])(?=[A-Za-z0-9/]*\+)[A-Za-z0-9+/]{40,}={0,2}/g, REDACTED],
];

/** Removes anything that looks like key material or a credential from a text. */
export function redactSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
