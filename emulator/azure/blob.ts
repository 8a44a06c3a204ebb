/**
 * Azure Blob Storage, as much as the rotator's targets blob needs: Create
 * Container, Put Blob (block blobs, one request), Get Blob and Get Blob
 * Properties, with the conditional headers, Entra ID bearer tokens only (the
 * app's storage account has shared keys off), and the service's XML errors.
 * Path-style URLs, as for any IP endpoint: https://127.0.0.1:P/{account}/{container}/{blob}.
 *
 * Contracts (Microsoft Learn, Blob service REST API): "Get Blob", "Get Blob
 * Properties", "Put Blob", "Create Container", "Specifying conditional headers
 * for Blob service operations", "Common REST API error codes" (ConditionNotMet
 * is 304 for reads, 412 for writes), "Blob service error codes" (BlobNotFound,
 * ContainerNotFound), "Authorize access to blobs using Microsoft Entra ID"
 * (the bearer challenge, resource_id https://storage.azure.com; see also
 * Azure/azure-sdk-for-js issue 9528 and pull request 28967 for its exact form).
 * Blobs live in memory, and in blobs.json of the data directory when there is one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VirtualClock } from '../clock.js';
import type { EmulatorRequest, EmulatorResponse } from './contracts.js';

export const STORAGE_RESOURCE = 'https://storage.azure.com';
/** Tenant the bearer challenge names (the emulator accepts any token; the SDK only reads the challenge). */
export const STORAGE_TENANT_ID = '00000000-0000-0000-0000-0000000000e2';
export const STORAGE_CHALLENGE = `Bearer authorization_uri=https://login.microsoftonline.com/${STORAGE_TENANT_ID}/oauth2/authorize resource_id=${STORAGE_RESOURCE}`;
/** The first service version that takes Entra ID bearer tokens. */
const FIRST_BEARER_VERSION = '2017-11-09';

interface StoredBlob {
  /** base64 of the content. */
  content: string;
  contentType: string;
  etag: string;
  lastModified: string;
  createdOn: string;
}

interface StoredContainer {
  createdOn: string;
  etag: string;
  blobs: Record<string, StoredBlob>;
}

type BlobState = Record<string, StoredContainer>;

export interface BlobServiceOptions {
  clock: VirtualClock;
  dataDir?: string;
  log: (line: string) => void;
}

/** Operation names as the BlobClient and ContainerClient methods call them (for `GET /_emulator/stats`). */
export function blobOperationName(request: EmulatorRequest): string {
  const { container, blob } = partsOf(request.url);
  const method = request.method;
  if (container && !blob && request.url.searchParams.get('restype') === 'container') return method === 'PUT' ? 'createContainer' : `${method.toLowerCase()}Container`;
  if (!blob) return 'unknown';
  if (method === 'GET') return 'getBlob';
  if (method === 'HEAD') return 'getBlobProperties';
  if (method === 'PUT') return 'putBlob';
  return 'unknown';
}

export class BlobService {
  readonly #clock: VirtualClock;
  readonly #file: string | undefined;
  readonly #log: (line: string) => void;
  #containers: BlobState;
  /** Blob reads are refused with AuthorizationPermissionMismatch while set (the identity lacks a data role). */
  denyReads = false;

  constructor(options: BlobServiceOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#file = options.dataDir ? join(options.dataDir, 'blobs.json') : undefined;
    this.#containers = this.#file && existsSync(this.#file) ? (JSON.parse(readFileSync(this.#file, 'utf8')) as BlobState) : {};
  }

  /** Puts a blob as Put Blob would, creating the container if needed (demo and tests set the scene with it). */
  put(account: string, container: string, blob: string, content: string | Buffer, contentType = 'application/json'): { etag: string } {
    const key = `${account}/${container}`;
    const now = this.#clock.now();
    this.#containers[key] ??= { createdOn: now.toUTCString(), etag: newEtag(), blobs: {} };
    const stored = this.#store(this.#containers[key]!, blob, Buffer.from(content), contentType, now);
    this.#save();
    return { etag: stored.etag };
  }

  /**
   * The control API's `PUT /_emulator/blobs/{account}/{container}/{blob}` (body: the content,
   * Content-Type kept): sets the scene without a token, as the demo does for its targets blob.
   */
  handleControl(request: EmulatorRequest, path: string): EmulatorResponse {
    const [account, container, ...rest] = path.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));
    if (request.method !== 'PUT' || !account || !container || rest.length === 0) {
      return { status: 404, body: { error: { code: 'NotFound', message: 'Blob control route: PUT /_emulator/blobs/{account}/{container}/{blob} with the content as the body.' } } };
    }
    const blob = rest.join('/');
    const { etag } = this.put(account, container, blob, request.body, header(request, 'content-type') ?? 'application/json');
    this.#log(`control: blob ${account}/${container}/${blob} put (${request.body.length} bytes, ETag ${etag})`);
    return { status: 201, body: { account, container, blob, etag, bytes: request.body.length } };
  }

  handle = async (request: EmulatorRequest): Promise<EmulatorResponse> => {
    const version = header(request, 'x-ms-version');
    const answer = (response: EmulatorResponse): EmulatorResponse => ({
      ...response,
      headers: { ...(response.headers ?? {}), 'x-ms-version': version ?? FIRST_BEARER_VERSION, date: this.#clock.now().toUTCString() },
    });
    const refused = this.#authenticate(request, version);
    if (refused) return answer(refused);
    const { account, container, blob } = partsOf(request.url);
    if (!account || !container) return answer(this.#error(request, 400, 'InvalidUri', 'The requested URI does not represent any resource on the server.'));
    const key = `${account}/${container}`;
    if (!blob) {
      if (request.method === 'PUT' && request.url.searchParams.get('restype') === 'container') return answer(this.#createContainer(request, key));
      return answer(this.#error(request, 400, 'UnsupportedHttpVerb', 'The resource doesn\'t support the specified HTTP verb.'));
    }
    if (request.method === 'PUT') return answer(this.#putBlob(request, key, blob));
    if (request.method === 'GET' || request.method === 'HEAD') return answer(this.#getBlob(request, key, blob));
    return answer(this.#error(request, 405, 'UnsupportedHttpVerb', 'The resource doesn\'t support the specified HTTP verb.'));
  };

  #authenticate(request: EmulatorRequest, version: string | undefined): EmulatorResponse | undefined {
    const authorization = header(request, 'authorization');
    if (authorization === undefined) {
      return this.#error(request, 401, 'NoAuthenticationInformation', 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.', {
        'www-authenticate': STORAGE_CHALLENGE,
      });
    }
    if (/^SharedKey(Lite)?\s/i.test(authorization)) {
      // As the app's storage account is deployed: allowSharedKeyAccess false.
      return this.#error(request, 403, 'KeyBasedAuthenticationNotPermitted', 'Key based authentication is not permitted on this storage account.');
    }
    if (!/^Bearer\s+\S+$/i.test(authorization.trim())) {
      return this.#error(request, 401, 'InvalidAuthenticationInfo', 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.', {
        'www-authenticate': STORAGE_CHALLENGE,
      });
    }
    if (version === undefined || version < FIRST_BEARER_VERSION) {
      return this.#error(request, 403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.', {}, 'Authentication scheme Bearer is not supported in this version.');
    }
    return undefined;
  }

  #createContainer(request: EmulatorRequest, key: string): EmulatorResponse {
    if (this.#containers[key]) return this.#error(request, 409, 'ContainerAlreadyExists', 'The specified container already exists.');
    const now = this.#clock.now();
    this.#containers[key] = { createdOn: now.toUTCString(), etag: newEtag(), blobs: {} };
    this.#save();
    this.#log(`storage: container ${key} created`);
    return { status: 201, headers: { etag: this.#containers[key]!.etag, 'last-modified': now.toUTCString() } };
  }

  #putBlob(request: EmulatorRequest, key: string, name: string): EmulatorResponse {
    const container = this.#containers[key];
    if (!container) return this.#error(request, 404, 'ContainerNotFound', 'The specified container does not exist.');
    const blobType = header(request, 'x-ms-blob-type');
    if (blobType === undefined) return this.#error(request, 400, 'MissingRequiredHeader', 'An HTTP header that\'s mandatory for this request is not specified.');
    if (blobType !== 'BlockBlob') return this.#error(request, 400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.');
    const existing = container.blobs[name];
    const ifNoneMatch = header(request, 'if-none-match');
    if (existing && ifNoneMatch === '*') return this.#error(request, 409, 'BlobAlreadyExists', 'The specified blob already exists.');
    const failed = writeConditionFailed(request, existing);
    if (failed) return this.#error(request, 412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
    const stored = this.#store(container, name, request.body, header(request, 'x-ms-blob-content-type') ?? 'application/octet-stream', this.#clock.now());
    this.#save();
    this.#log(`storage: blob ${key}/${name} written (${request.body.length} bytes, ETag ${stored.etag})`);
    return {
      status: 201,
      headers: {
        etag: stored.etag,
        'last-modified': stored.lastModified,
        'content-md5': createHash('md5').update(request.body).digest('base64'),
        'x-ms-request-server-encrypted': 'true',
      },
    };
  }

  #getBlob(request: EmulatorRequest, key: string, name: string): EmulatorResponse {
    if (this.denyReads) {
      return this.#error(request, 403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
    }
    const container = this.#containers[key];
    if (!container) return this.#error(request, 404, 'ContainerNotFound', 'The specified container does not exist.');
    const blob = container.blobs[name];
    if (!blob) return this.#error(request, 404, 'BlobNotFound', 'The specified blob does not exist.');
    const validators = { etag: blob.etag, 'last-modified': blob.lastModified };
    // Reads: If-None-Match / If-Modified-Since that do not hold answer 304 without a body; If-Match / If-Unmodified-Since 412.
    if (readConditionFailed(request, blob) === 'notModified') {
      return { status: 304, headers: { ...validators, 'x-ms-error-code': 'ConditionNotMet' } };
    }
    if (readConditionFailed(request, blob) === 'preconditionFailed') {
      return this.#error(request, 412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
    }
    const content = Buffer.from(blob.content, 'base64');
    const properties: Record<string, string> = {
      ...validators,
      'content-type': blob.contentType,
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': blob.createdOn,
      'x-ms-lease-status': 'unlocked',
      'x-ms-lease-state': 'available',
      'x-ms-server-encrypted': 'true',
      'accept-ranges': 'bytes',
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(header(request, 'x-ms-range') ?? header(request, 'range') ?? '');
    if (range && request.method === 'GET') {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), content.length - 1) : content.length - 1;
      if (start >= content.length && content.length > 0) return this.#error(request, 416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
      return { status: 206, headers: { ...properties, 'content-range': `bytes ${start}-${end}/${content.length}` }, body: content.subarray(start, end + 1) };
    }
    // HEAD gets the same headers; Node sends no body for HEAD, but Content-Length still says the blob's size.
    return { status: 200, headers: properties, body: content };
  }

  #store(container: StoredContainer, name: string, content: Buffer, contentType: string, now: Date): StoredBlob {
    const previous = container.blobs[name];
    const stored: StoredBlob = {
      content: content.toString('base64'),
      contentType,
      etag: newEtag(),
      lastModified: now.toUTCString(),
      createdOn: previous?.createdOn ?? now.toUTCString(),
    };
    container.blobs[name] = stored;
    return stored;
  }

  #error(request: EmulatorRequest, status: number, code: string, message: string, headers: Record<string, string> = {}, detail?: string): EmulatorResponse {
    const requestId = randomUUID();
    const body =
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${requestId}\nTime:${this.#clock.now().toISOString()}</Message>` +
      (detail ? `<AuthenticationErrorDetail>${detail}</AuthenticationErrorDetail>` : '') +
      '</Error>';
    const withCode = { ...headers, 'x-ms-error-code': code, 'x-ms-request-id': requestId };
    // A HEAD answer has no body: the code travels in x-ms-error-code only.
    if (request.method === 'HEAD') return { status, headers: withCode };
    return { status, headers: { ...withCode, 'content-type': 'application/xml' }, body };
  }

  #save(): void {
    if (!this.#file) return;
    writeFileSync(`${this.#file}.tmp`, JSON.stringify(this.#containers));
    renameSync(`${this.#file}.tmp`, this.#file);
  }
}

function partsOf(url: URL): { account?: string; container?: string; blob?: string } {
  const [account, container, ...rest] = url.pathname.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));
  return { ...(account ? { account } : {}), ...(container ? { container } : {}), ...(rest.length ? { blob: rest.join('/') } : {}) };
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Azure's ETags are quoted hex strings such as "0x8DC4E2A1B3C5D7F". */
function newEtag(): string {
  return `"0x${randomUUID().replaceAll('-', '').slice(0, 15).toUpperCase()}"`;
}

function etagMatches(list: string, etag: string): boolean {
  return list
    .split(',')
    .map((item) => item.trim())
    .some((item) => item === '*' || item === etag || `"${item}"` === etag);
}

function secondsOf(httpDate: string): number {
  return Math.floor(Date.parse(httpDate) / 1000);
}

function readConditionFailed(request: EmulatorRequest, blob: StoredBlob): 'notModified' | 'preconditionFailed' | undefined {
  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, blob.etag)) return 'preconditionFailed';
  const ifUnmodifiedSince = header(request, 'if-unmodified-since');
  if (ifUnmodifiedSince !== undefined && secondsOf(blob.lastModified) > secondsOf(ifUnmodifiedSince)) return 'preconditionFailed';
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, blob.etag)) return 'notModified';
  const ifModifiedSince = header(request, 'if-modified-since');
  if (ifNoneMatch === undefined && ifModifiedSince !== undefined && secondsOf(blob.lastModified) <= secondsOf(ifModifiedSince)) return 'notModified';
  return undefined;
}

function writeConditionFailed(request: EmulatorRequest, existing: StoredBlob | undefined): boolean {
  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined && (!existing || !etagMatches(ifMatch, existing.etag))) return true;
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifNoneMatch !== undefined && existing && etagMatches(ifNoneMatch, existing.etag)) return true;
  return false;
}
