/**
 * The emulator's Blob storage against the real @azure/storage-blob client.
 * Contracts, from Microsoft Learn's Blob service REST API pages: "Get Blob" and
 * "Get Blob Properties" (headers, HEAD without a body), "Put Blob" (x-ms-blob-type
 * required, 201 with ETag), "Create Container" (409 ContainerAlreadyExists),
 * "Specifying conditional headers for Blob service operations" (If-None-Match,
 * If-Match, If-Modified-Since), "Common REST API error codes" (ConditionNotMet is
 * 304 Not Modified for a read, 412 for a write; AuthorizationPermissionMismatch 403),
 * "Blob service error codes" (BlobNotFound and ContainerNotFound, 404, XML
 * <Error><Code>), and "Authorize access to blobs using Microsoft Entra ID": a
 * request without a token gets 401 with `WWW-Authenticate: Bearer
 * authorization_uri=... resource_id=https://storage.azure.com` (the form in
 * Azure/azure-sdk-for-js issue 9528; `resource_id`, not `resource_uri`: pull
 * request 28967). Bearer tokens need x-ms-version 2017-11-09 or later
 * ("Authentication scheme Bearer is not supported in this version.",
 * microsoft/AzureStorageExplorer issue 3586). The scope the SDK asks for is
 * StorageOAuthScopes, https://storage.azure.com/.default (azure-sdk-for-js
 * sdk/storage/storage-blob/src/utils/constants.ts).
 */
import { BlobClient, BlockBlobClient, ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { control, httpsRequest, startTestEmulator } from '../helpers/emulator.js';

const ACCOUNT = 'strotator';

describe('emulator: Blob storage', () => {
  let emulator: AzureEmulator;
  const scopes: string[] = [];
  const credential: TokenCredential = {
    async getToken(scope): Promise<AccessToken> {
      scopes.push(...[scope].flat());
      return { token: 'emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  // The storage pipeline passes tlsOptions on to @azure/core-rest-pipeline's TLS policy: the emulator's CA, trusted explicitly.
  const options = (): StoragePipelineOptions => ({ tlsOptions: { ca: emulator.caCertPem }, retryOptions: { maxTries: 1 } }) as StoragePipelineOptions;
  const url = (path: string): string => `${emulator.storageEndpoint}/${ACCOUNT}/${path}`;
  const errorOf = async (promise: Promise<unknown>): Promise<{ statusCode?: number; code?: string; details?: unknown }> => {
    try {
      await promise;
    } catch (error) {
      return error as { statusCode?: number; code?: string; details?: unknown };
    }
    throw new Error('expected the call to fail');
  };

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(async () => emulator.close());

  it('when a container is created and a block blob put with the SDK, then Get Blob returns its content and Get Blob Properties its ETag, type and length', async () => {
    const container = new ContainerClient(url('targets-a'), credential, options());
    await container.create();
    const blob = new BlockBlobClient(url('targets-a/targets.json'), credential, options());
    const put = await blob.upload('["x"]', 5, { blobHTTPHeaders: { blobContentType: 'application/json' } });

    const downloaded = await new BlobClient(url('targets-a/targets.json'), credential, options()).downloadToBuffer();
    const properties = await blob.getProperties();

    expect(downloaded.toString()).toBe('["x"]');
    expect(properties).toMatchObject({ etag: put.etag, contentLength: 5, contentType: 'application/json', blobType: 'BlockBlob' });
    expect(put.etag).toMatch(/^"0x[0-9A-F]+"$/);
    expect(scopes.every((scope) => scope === 'https://storage.azure.com/.default')).toBe(true);
    expect(scopes.length).toBeGreaterThan(0);
    expect((await errorOf(container.create())).code).toBe('ContainerAlreadyExists');
  });

  it('when a read carries If-None-Match with the current ETag, then it is answered 304 without a body, and a changed blob is sent again with a new ETag', async () => {
    const { etag } = emulator.blobs.put(ACCOUNT, 'targets-b', 'targets.json', '["one"]');
    const blob = new BlobClient(url('targets-b/targets.json'), credential, options());

    const notModified = await errorOf(blob.download(0, undefined, { conditions: { ifNoneMatch: etag } }));
    const raw = await httpsRequest(url('targets-b/targets.json'), { ca: emulator.caCertPem, headers: { authorization: 'Bearer t', 'x-ms-version': '2026-04-06', 'if-none-match': etag } });
    const changed = emulator.blobs.put(ACCOUNT, 'targets-b', 'targets.json', '["two"]');
    const fresh = await blob.download(0, undefined, { conditions: { ifNoneMatch: etag } });

    expect(notModified.statusCode).toBe(304);
    expect(raw).toMatchObject({ status: 304, body: undefined, headers: { etag, 'x-ms-error-code': 'ConditionNotMet', 'x-ms-version': '2026-04-06' } });
    expect(fresh.etag).toBe(changed.etag);
    expect(changed.etag).not.toBe(etag);
    expect(await new Response(fresh.readableStreamBody as unknown as ReadableStream).text()).toBe('["two"]');
    expect((await errorOf(blob.download(0, undefined, { conditions: { ifMatch: etag } }))).statusCode).toBe(412);
    expect((await errorOf(blob.download(0, undefined, { conditions: { ifModifiedSince: new Date(emulator.clock.nowMs() + 1000) } }))).statusCode).toBe(304);
  });

  it('when the blob or its container does not exist, then the SDK gets 404 with BlobNotFound or ContainerNotFound, from the XML body or, for HEAD, x-ms-error-code', async () => {
    emulator.blobs.put(ACCOUNT, 'targets-c', 'other.json', '[]');
    const missingBlob = new BlobClient(url('targets-c/targets.json'), credential, options());
    const missingContainer = new BlobClient(url('nowhere/targets.json'), credential, options());
    const raw = await httpsRequest(url('targets-c/targets.json'), { ca: emulator.caCertPem, headers: { authorization: 'Bearer t', 'x-ms-version': '2026-04-06' } });

    expect(await errorOf(missingBlob.download())).toMatchObject({ statusCode: 404, code: 'BlobNotFound' });
    expect(await errorOf(missingContainer.download())).toMatchObject({ statusCode: 404, code: 'ContainerNotFound' });
    // HEAD has no body: the SDK takes the code from x-ms-error-code into the error's details.
    expect(await errorOf(missingBlob.getProperties())).toMatchObject({ statusCode: 404, details: { errorCode: 'BlobNotFound' } });
    expect(await missingBlob.exists()).toBe(false);
    expect(raw.status).toBe(404);
    expect(String(raw.body)).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>BlobNotFound<\/Code><Message>The specified blob does not exist\.\nRequestId:/);
  });

  it('when a request has no token, then 401 carries the bearer challenge; a shared key is refused, and a bearer token needs a recent x-ms-version', async () => {
    emulator.blobs.put(ACCOUNT, 'targets-d', 'targets.json', '[]');
    const get = (headers: Record<string, string>) => httpsRequest(url('targets-d/targets.json'), { ca: emulator.caCertPem, headers });

    const anonymous = await get({ 'x-ms-version': '2026-04-06' });
    const sharedKey = await get({ authorization: 'SharedKey strotator:c2lnbmF0dXJl', 'x-ms-version': '2026-04-06' });
    const oldVersion = await get({ authorization: 'Bearer t', 'x-ms-version': '2017-04-17' });

    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer authorization_uri=https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+\/oauth2\/authorize resource_id=https:\/\/storage\.azure\.com$/);
    expect(anonymous.headers['x-ms-error-code']).toBe('NoAuthenticationInformation');
    expect([sharedKey.status, sharedKey.headers['x-ms-error-code']]).toEqual([403, 'KeyBasedAuthenticationNotPermitted']);
    expect(oldVersion.status).toBe(403);
    expect(String(oldVersion.body)).toContain('<AuthenticationErrorDetail>Authentication scheme Bearer is not supported in this version.</AuthenticationErrorDetail>');
  });

  it('when reads are denied (an identity without a data role), then Get Blob answers 403 AuthorizationPermissionMismatch', async () => {
    emulator.blobs.put(ACCOUNT, 'targets-e', 'targets.json', '[]');
    emulator.blobs.denyReads(true);
    try {
      expect(await errorOf(new BlobClient(url('targets-e/targets.json'), credential, options()).download())).toMatchObject({ statusCode: 403, code: 'AuthorizationPermissionMismatch' });
    } finally {
      emulator.blobs.denyReads(false);
    }
  });

  it('when the control API puts a blob, then the SDK reads it, and a fault rule for storage makes the next reads fail with its status', async () => {
    const put = await httpsRequest(`${emulator.controlUrl}/blobs/${ACCOUNT}/targets-f/targets.json`, { ca: emulator.caCertPem, method: 'PUT', body: '["from control"]' });
    await control(emulator, 'POST', '/faults', { service: 'storage', status: 503, times: 1 });
    const blob = new BlobClient(url('targets-f/targets.json'), credential, options());

    const failed = await errorOf(blob.download());
    const read = await blob.downloadToBuffer();

    expect(put).toMatchObject({ status: 201, body: { container: 'targets-f', blob: 'targets.json', bytes: 16 } });
    expect(failed.statusCode).toBe(503);
    expect(read.toString()).toBe('["from control"]');
    expect(emulator.stats().storage).toMatchObject({ getBlob: expect.any(Number) });
  });
});
