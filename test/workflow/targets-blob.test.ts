/**
 * ROTATION_TARGETS_BLOB_URL end to end: the timer, the operator API (and so the
 * dashboard and the CLI, which read it) and the dry run take the accounts from
 * the blob in the emulator's Blob storage, read with the app's identity through
 * @azure/storage-blob. A blob that turns invalid or unreadable stops new starts,
 * says why, and leaves running rotations alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resetRuntime } from '../../src/runtime.js';
import type { RotationInput } from '../../src/workflow/rotation-types.js';
import { control } from '../helpers/emulator.js';
import { ApiHarness } from './http-harness.js';

const STORAGE_ACCOUNT = 'strotator';

describe('targets listed in a blob', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  async function startWithBlob(names: string[], listed: string[]): Promise<{ put(content: unknown): void; getBlobCalls(): number }> {
    api = await ApiHarness.start({ accounts: names.map((name) => ({ name })) });
    const { emulator } = api.rotation;
    const put = (content: unknown) => emulator.blobs.put(STORAGE_ACCOUNT, 'rotation-targets', 'targets.json', typeof content === 'string' ? content : JSON.stringify(content));
    put(listed.map((name) => api.rotation.accountId(name)));
    resetRuntime({
      env: { ...api.rotation.env, ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: `${emulator.storageEndpoint}/${STORAGE_ACCOUNT}/rotation-targets/targets.json` },
      now: () => api.clock.now(),
      retry: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
    });
    return { put, getBlobCalls: () => emulator.stats().storage.getBlob ?? 0 };
  }

  it('when the blob lists two of three accounts, then the timer starts those two, the API lists and plans only them, and an unchanged blob costs one conditional GET per run', async () => {
    const blob = await startWithBlob(['orders', 'billing', 'unlisted'], ['orders', 'billing']);

    await api.runTimer();
    const callsAfterFirstRun = blob.getBlobCalls();
    await api.runTimer();

    for (const name of ['orders', 'billing']) {
      const status = await api.driver.getStatus(api.rotation.instanceId(name), { showInput: true });
      expect((status!.input as RotationInput).requestedBy).toBe('schedule');
    }
    expect(await api.driver.getStatus(api.rotation.instanceId('unlisted'))).toBeUndefined();
    expect([callsAfterFirstRun, blob.getBlobCalls() - callsAfterFirstRun]).toEqual([1, 1]);
    const list = await api.call('GET', '/rotations');
    expect((list.body.accounts as Array<{ account: { name: string } }>).map((entry) => entry.account.name)).toEqual(['orders', 'billing']);
    expect((await api.call('GET', '/rotations/billing/plan')).status).toBe(200);
    const refused = await api.call('POST', '/rotations', { account: 'unlisted' });
    expect([refused.status, refused.body.error?.code]).toEqual([404, 'accountNotConfigured']);
    expect(refused.body.error?.message).toMatch(/ROTATION_TARGETS_BLOB_URL/);
  });

  it('when the blob becomes invalid, then the timer starts nothing and fails naming the bad item, the API says why, the running rotation goes on, and the fixed blob is used again', async () => {
    const blob = await startWithBlob(['orders', 'billing'], ['orders']);
    expect((await api.call('POST', '/rotations', { account: 'orders' })).status).toBe(202);
    blob.put([api.rotation.accountId('orders'), { resourceId: api.rotation.accountId('billing'), rotationIntervalInDays: 'weekly' }]);

    await expect(api.runTimer()).rejects.toThrow(/ROTATION_TARGETS_BLOB_URL: the blob .*targets\.json: item 1: "rotationIntervalInDays" must be a whole number of days/);
    const list = await api.call('GET', '/rotations');
    const start = await api.call('POST', '/rotations', { account: 'billing' });

    expect(await api.driver.getStatus(api.rotation.instanceId('billing'))).toBeUndefined();
    expect(api.rotation.logLines.some((line) => /^error .*Rotation schedule: not run, the target list \(ROTATION_TARGETS_BLOB_URL \(https:.*\)\) could not be used, so nothing was started/.test(line))).toBe(true);
    for (const response of [list, start]) {
      expect(response.status).toBe(500);
      expect(response.body.error).toMatchObject({ code: 'configurationError', message: expect.stringMatching(/item 1: "rotationIntervalInDays"/) });
    }
    expect((await api.driver.getStatus(api.rotation.instanceId('orders')))!.runtimeStatus).not.toBe('Failed');
    // The dashboard's page still loads, and shows the API's message (its script puts error.message in its alert).
    expect((await api.call('GET', '/dashboard')).status).toBe(200);

    blob.put([api.rotation.accountId('orders'), api.rotation.accountId('billing')]);
    await api.runTimer();
    expect(((await api.driver.getStatus(api.rotation.instanceId('billing'), { showInput: true }))!.input as RotationInput).requestedBy).toBe('schedule');
  });

  it('when the blob cannot be read (storage down), then the API answers 503 and the timer starts nothing until it can', async () => {
    await startWithBlob(['orders'], ['orders']);
    await control(api.rotation.emulator, 'POST', '/faults', { service: 'storage', status: 503, times: 20 });

    const list = await api.call('GET', '/rotations');
    await expect(api.runTimer()).rejects.toThrow(/read the targets blob/);

    expect([list.status, list.body.error?.code]).toEqual([503, 'azureUnavailable']);
    expect(await api.driver.listInstances()).toEqual([]);
    await control(api.rotation.emulator, 'DELETE', '/faults');
    await api.runTimer();
    expect(await api.driver.getStatus(api.rotation.instanceId('orders'))).toBeDefined();
  });
});
