/**
 * The targets blob (@azure/storage-blob): the JSON list of accounts to rotate
 * when it is too large for an app setting. Read with the app's identity
 * (scope https://storage.azure.com/.default, role Storage Blob Data Reader),
 * conditionally: with the ETag of the last read, an unchanged blob costs one
 * GET answered 304 and no body.
 */
import { BlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { PermanentError, classifyAzureError } from '../errors.js';
import { pipelineTlsOptions } from './tls.js';

export type TargetBlobRead = { changed: false } | { changed: true; etag: string; text: string };

export interface TargetBlobOptions {
  blobUrl: string;
  credential: TokenCredential;
  caCertPem: string | null;
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/** More than this is not a target list (5,000 targets with overrides are about 1 MB). */
export const MAX_TARGET_BLOB_BYTES = 16 * 1024 * 1024;

const SETTING = 'ROTATION_TARGETS_BLOB_URL';
const DEFAULT_MAX_RETRIES = 4;

export class TargetBlobAdapter {
  readonly #client: BlobClient;
  readonly #blobUrl: string;

  constructor(options: TargetBlobOptions) {
    this.#blobUrl = options.blobUrl;
    const retry = options.retry ?? {};
    // The storage pipeline hands options it does not name itself to @azure/core-rest-pipeline, whose TLS policy applies tlsOptions.
    const pipelineOptions: StoragePipelineOptions & ReturnType<typeof pipelineTlsOptions> = {
      retryOptions: {
        maxTries: (retry.maxRetries ?? DEFAULT_MAX_RETRIES) + 1,
        ...(retry.retryDelayInMs !== undefined ? { retryDelayInMs: retry.retryDelayInMs } : {}),
        ...(retry.maxRetryDelayInMs !== undefined ? { maxRetryDelayInMs: retry.maxRetryDelayInMs } : {}),
      },
      ...pipelineTlsOptions(options.caCertPem),
    };
    this.#client = new BlobClient(options.blobUrl, options.credential, pipelineOptions);
  }

  /** The blob's text and ETag, or `changed: false` when its ETag is still `ifNoneMatch`. */
  async read(ifNoneMatch: string | null): Promise<TargetBlobRead> {
    try {
      const response = await this.#client.download(0, undefined, ifNoneMatch ? { conditions: { ifNoneMatch } } : {});
      if ((response.contentLength ?? 0) > MAX_TARGET_BLOB_BYTES) {
        throw new PermanentError(`The targets blob ${this.#blobUrl} is ${response.contentLength} bytes, more than the ${MAX_TARGET_BLOB_BYTES} a target list may have. Fix: ${SETTING} must name the JSON list of accounts.`);
      }
      const text = (await streamText(response.readableStreamBody)).replace(/^\uFEFF/, '');
      return { changed: true, etag: response.etag ?? '', text };
    } catch (error) {
      // "Not Modified" is the answer to a GET whose If-None-Match still matches: the list we hold is current.
      if (statusOf(error) === 304) return { changed: false };
      throw this.#classify(error);
    }
  }

  #classify(error: unknown): Error {
    const status = statusOf(error);
    const code = (error as { code?: unknown }).code;
    const where = `the targets blob ${this.#blobUrl} (${SETTING})`;
    if (status === 404) {
      const missing = code === 'ContainerNotFound' ? 'its container does not exist' : 'it does not exist';
      return new PermanentError(`Could not read ${where}: ${missing} (404 ${String(code ?? '')}). Fix: upload the JSON list of accounts to that URL, or correct ${SETTING}.`, {
        statusCode: 404,
        ...(typeof code === 'string' ? { code } : {}),
        operation: 'read the targets blob',
        resource: this.#blobUrl,
      });
    }
    if (status === 401 || status === 403) {
      return new PermanentError(
        `Could not read ${where}: the storage account refused the app's identity (${status} ${String(code ?? '')}). Fix: grant the function's identity "Storage Blob Data Reader" on the container (infra/ does), and check AZURE_CLIENT_ID.`,
        { statusCode: status, ...(typeof code === 'string' ? { code } : {}), operation: 'read the targets blob', resource: this.#blobUrl },
      );
    }
    return classifyAzureError(error, { operation: 'read the targets blob', resource: this.#blobUrl, service: 'storage' });
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

async function streamText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_TARGET_BLOB_BYTES) throw new PermanentError(`The targets blob is larger than ${MAX_TARGET_BLOB_BYTES} bytes. Fix: ${SETTING} must name the JSON list of accounts.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
