/**
 * The target list in a blob (ROTATION_TARGETS_BLOB_URL), read by the app's own
 * adapter over the real @azure/storage-blob client from the emulator's Blob
 * storage (its contract: emulator-blob.test.ts): validated like
 * ROTATION_TARGETS, re-read only when its ETag changes, and never used in part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAdapters } from '../../src/azure/index.js';
import { loadConfig, settingTargets, type RotationTarget } from '../../src/config.js';
import { createTargetSource, type TargetSource } from '../../src/target-source.js';
import { SUBSCRIPTION_ID, control, startTestEmulator } from '../helpers/emulator.js';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { FAST_RETRY } from './adapter-fixtures.js';

const STORAGE_ACCOUNT = 'strotator';

function fleet(count: number): Array<string | Record<string, unknown>> {
  return Array.from({ length: count }, (_unused, index) => {
    const id = `/subscriptions/${SUBSCRIPTION_ID.slice(0, -2)}${String(index % 10).padStart(2, '0')}/resourceGroups/rg-fleet/providers/Microsoft.DocumentDB/databaseAccounts/account-${index}`;
    return index % 5 === 0 ? { resourceId: id, rotationIntervalInDays: 14, secretName: `fleet-${index}-key` } : id;
  });
}

describe('the target list in a blob', () => {
  let emulator: AzureEmulator;
  afterEach(async () => emulator?.close());

  async function blobSource(content: unknown): Promise<{ source: TargetSource; env: NodeJS.ProcessEnv; put(content: unknown): void; getBlobCalls(): number }> {
    emulator = await startTestEmulator();
    const put = (value: unknown) => emulator.blobs.put(STORAGE_ACCOUNT, 'rotation-targets', 'targets.json', typeof value === 'string' ? value : JSON.stringify(value));
    put(content);
    const env: NodeJS.ProcessEnv = {
      KEY_VAULT_URL: emulator.keyVaultUrl,
      ARM_ENDPOINT: emulator.armEndpoint,
      AZURE_CREDENTIAL: 'emulator',
      EMULATOR_CA_CERT_PATH: emulator.caCertPath,
      ROTATION_TARGETS_BLOB_URL: `${emulator.storageEndpoint}/${STORAGE_ACCOUNT}/rotation-targets/targets.json`,
    };
    const config = loadConfig(env);
    const source = createTargetSource(config, createAdapters(config, { retry: FAST_RETRY }).targetBlob);
    return { source, env, put, getBlobCalls: () => emulator.stats().storage.getBlob ?? 0 };
  }

  it('when the blob holds 1,000 targets with overrides, then the app rotates exactly the targets ROTATION_TARGETS with the same JSON would give', async () => {
    const targets = fleet(1000);
    const { source, env } = await blobSource(targets);

    const fromBlob = await source.list();
    const fromSetting = settingTargets(loadConfig({ ...env, ROTATION_TARGETS_BLOB_URL: '', ROTATION_TARGETS: JSON.stringify(targets) }));

    expect(fromBlob).toHaveLength(1000);
    expect(fromBlob).toEqual(fromSetting);
    expect(fromBlob[5]).toMatchObject({ name: 'account-5', secretName: 'fleet-5-key', rotationIntervalInDays: 14 } satisfies Partial<RotationTarget>);
  });

  it('when the blob has not changed since the last read, then a read is one conditional GET answered 304 and the list is the one read before', async () => {
    const { source, getBlobCalls } = await blobSource(fleet(3));
    const first = await source.list();
    const afterFirst = getBlobCalls();

    const second = await source.list();

    expect(second).toEqual(first);
    expect(getBlobCalls() - afterFirst).toBe(1);
    expect(afterFirst).toBe(1);
  });

  it('when the blob changes, then the next read returns the new list', async () => {
    const { source, put } = await blobSource(fleet(3));
    await source.list();

    put(fleet(4));

    expect((await source.list()).map((target) => target.name)).toEqual(['account-0', 'account-1', 'account-2', 'account-3']);
  });

  it('when the blob becomes invalid, then every read fails naming the blob and each bad item, nothing of it is used, and a fixed blob is used again', async () => {
    const { source, put, getBlobCalls } = await blobSource(fleet(20));
    await source.list();
    const broken = fleet(20);
    broken[17] = { resourceId: String(broken[17]), rotationIntervalInDays: 0 };
    broken[3] = 'not-a-resource-id';
    put(broken);

    const failure = (await source.list().catch((error: unknown) => error)) as Error & { problems: Array<{ setting: string; message: string }> };
    const callsBefore = getBlobCalls();
    const again = (await source.list().catch((error: unknown) => error)) as Error;

    expect(failure.name).toBe('ConfigError');
    expect(failure.problems.map((problem) => problem.setting)).toEqual(['ROTATION_TARGETS_BLOB_URL', 'ROTATION_TARGETS_BLOB_URL']);
    expect(failure.message).toMatch(/ROTATION_TARGETS_BLOB_URL: the blob https:\/\/127\.0\.0\.1:\d+\/strotator\/rotation-targets\/targets\.json: item 3: "not-a-resource-id" is not a Cosmos DB account resource ID/);
    expect(failure.message).toMatch(/item 17: "rotationIntervalInDays" must be a whole number of days from 1 to 3650/);
    expect(again.message).toBe(failure.message);
    expect(getBlobCalls() - callsBefore).toBe(1);

    put(fleet(2));
    expect(await source.list()).toHaveLength(2);
  });

  it('when a blob has thousands of bad items, then the error names the first 20 and counts the rest', async () => {
    const { source } = await blobSource(Array.from({ length: 3000 }, (_unused, index) => `bad-${index}`));

    const failure = (await source.list().catch((error: unknown) => error)) as { problems: Array<{ message: string }>; message: string };

    expect(failure.problems).toHaveLength(21);
    expect(failure.problems.at(-1)!.message).toMatch(/and 2980 more problem\(s\) like these/);
    expect(failure.message.length).toBeLessThan(16_000);
  });

  it('when the blob is missing, the identity may not read it, or storage is down, then the read fails as permanent with the fix, or as transient', async () => {
    const { source, put } = await blobSource('[]');
    emulator.blobs.put(STORAGE_ACCOUNT, 'rotation-targets', 'other.json', '[]');
    const missingEnv = { KEY_VAULT_URL: emulator.keyVaultUrl, AZURE_CREDENTIAL: 'emulator', EMULATOR_CA_CERT_PATH: emulator.caCertPath, ROTATION_TARGETS_BLOB_URL: `${emulator.storageEndpoint}/${STORAGE_ACCOUNT}/rotation-targets/gone.json` };
    const missing = createTargetSource(loadConfig(missingEnv), createAdapters(loadConfig(missingEnv), { retry: FAST_RETRY }).targetBlob);
    put(fleet(1));

    const notFound = (await missing.list().catch((error: unknown) => error)) as Error & { kind: string };
    emulator.blobs.denyReads(true);
    const denied = (await source.list().catch((error: unknown) => error)) as Error & { kind: string };
    emulator.blobs.denyReads(false);
    await control(emulator, 'POST', '/faults', { service: 'storage', status: 503, times: 10 });
    const down = (await source.list().catch((error: unknown) => error)) as Error & { kind: string };

    expect([notFound.kind, notFound.message]).toEqual(['permanent', expect.stringMatching(/targets blob .*gone\.json \(ROTATION_TARGETS_BLOB_URL\): it does not exist \(404 BlobNotFound\)\. Fix: upload/)]);
    expect([denied.kind, denied.message]).toEqual(['permanent', expect.stringMatching(/refused the app's identity \(403 AuthorizationPermissionMismatch\)\. Fix: grant .*"Storage Blob Data Reader" on the container/)]);
    expect([down.kind, down.message]).toEqual(['transient', expect.stringMatching(/read the targets blob/)]);
  });
});
