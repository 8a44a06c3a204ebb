/**
 * Master-key authorisation of the Cosmos DB data plane, as the service checks
 * what `@azure/cosmos` signs: an HMAC-SHA256, with one of the account's four
 * keys, over the verb, resource type, resource link and date of the request.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { KEY_KINDS, type AccountState, type KeyKind } from './contracts.js';

/** How far the signed date may be from the service's clock, as Cosmos DB allows. */
export const ALLOWED_CLOCK_SKEW_IN_MS = 15 * 60 * 1000;

export type AuthResult =
  | { ok: true; keyKind: KeyKind }
  | { ok: false; status: 401 | 403; code: 'Unauthorized' | 'Forbidden'; message: string; subStatus?: number };

export interface SignedResource {
  verb: string;
  /** `dbs`, `colls`, `docs`, `pkranges`... or `""` for the account itself. */
  resourceType: string;
  /** Name-based link without slashes at either end, case kept (`dbs/db1/colls/c1`). */
  resourceLink: string;
}

export interface VerifyOptions {
  /** The emulator's clock (what Azure's clock stands for). */
  emulatorNow: Date;
  /**
   * The wall clock. SDKs sign with the machine's real time even while the emulator's
   * clock has been moved days ahead, so a date close to either clock is accepted.
   */
  wallNow: Date;
  /** The key values this endpoint knows (a region a new key has not reached yet knows the old one); default the account's. */
  keyValues?: Record<KeyKind, string>;
}

export function verifyMasterKeySignature(
  account: AccountState,
  headers: IncomingHttpHeaders,
  resource: SignedResource,
  options: VerifyOptions,
): AuthResult {
  const rawAuthorization = single(headers['authorization']);
  if (!rawAuthorization) {
    return unauthorized("Required Header authorization is missing. Ensure a valid Authorization token is passed.");
  }
  const signedDate = single(headers['x-ms-date']) ?? single(headers['date']);
  if (!signedDate) {
    return unauthorized("The input date header is invalid format. Please pass in RFC 1123 style date format.");
  }
  const signedAtMs = Date.parse(signedDate);
  if (Number.isNaN(signedAtMs)) {
    return unauthorized("The input date header is invalid format. Please pass in RFC 1123 style date format.");
  }
  if (!withinSkew(signedAtMs, options.emulatorNow) && !withinSkew(signedAtMs, options.wallNow)) {
    const start = new Date(signedAtMs - ALLOWED_CLOCK_SKEW_IN_MS).toUTCString();
    const expiry = new Date(signedAtMs + ALLOWED_CLOCK_SKEW_IN_MS).toUTCString();
    return unauthorized(
      `The authorization token is not valid at the current time. Please create another token and retry ` +
        `(token start time: ${start}, token expiry time: ${expiry}, current server time: ${options.emulatorNow.toUTCString()}).`,
    );
  }

  let token: string;
  try {
    token = decodeURIComponent(rawAuthorization);
  } catch {
    return unauthorized('The authorization header is not URL-encoded correctly.');
  }
  const fields = parseTokenFields(token);
  const type = fields.get('type');
  if (type === 'aad') {
    // Entra ID tokens are not emulated; say so rather than pretending a signature mismatch.
    return unauthorized('Entra ID (AAD) tokens are not supported by the local emulator; sign requests with an account key.');
  }
  if (account.disableLocalAuth) {
    return {
      ok: false,
      status: 401,
      code: 'Unauthorized',
      subStatus: 5202,
      message: 'Local Authorization is disabled. Use an AAD token to authorize all requests.',
    };
  }
  const signature = fields.get('sig');
  if (type !== 'master' || fields.get('ver') !== '1.0' || !signature) {
    return unauthorized(
      "The input authorization token can't serve the request. Only master-key tokens of the form type=master&ver=1.0&sig=... are accepted.",
    );
  }

  const payload = signaturePayload(resource, signedDate);
  const presented = Buffer.from(signature, 'base64');
  for (const keyKind of KEY_KINDS) {
    const expected = createHmac('sha256', Buffer.from(options.keyValues?.[keyKind] ?? account.keys[keyKind].value, 'base64')).update(payload).digest();
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) return { ok: true, keyKind };
  }
  // The payload is what Cosmos DB also echoes: it helps to find a signing bug and reveals no key.
  return unauthorized(
    "The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. " +
      `Server used the following payload to sign: '${payload.replace(/\n/g, '\\n')}'`,
  );
}

/** The string `@azure/cosmos` signs (the date lower-cased, the link as is). */
export function signaturePayload(resource: SignedResource, signedDate: string): string {
  return `${resource.verb.toLowerCase()}\n${resource.resourceType.toLowerCase()}\n${resource.resourceLink}\n${signedDate.toLowerCase()}\n\n`;
}

export function isReadOnlyKey(keyKind: KeyKind): boolean {
  return keyKind === 'primaryReadonly' || keyKind === 'secondaryReadonly';
}

function withinSkew(signedAtMs: number, now: Date): boolean {
  return Math.abs(now.getTime() - signedAtMs) <= ALLOWED_CLOCK_SKEW_IN_MS;
}

function parseTokenFields(token: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of token.split('&')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).toLowerCase(), part.slice(equals + 1));
  }
  return fields;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unauthorized(message: string): AuthResult {
  return { ok: false, status: 401, code: 'Unauthorized', message };
}
