/**
 * Failures set up through the control API, as the real @azure/arm-cosmosdb
 * client meets them: regenerations that ARM reports as Failed, and a caller
 * whose role may not read the status of its own regeneration.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CosmosDBManagementClient } from '@azure/arm-cosmosdb';
import type { AzureEmulator, OperationState } from '../../emulator/azure/index.js';
import {
  ARM_API_VERSION,
  SUBSCRIPTION_ID,
  accountPath,
  armClient,
  armRequest,
  control,
  cosmosClient,
  startTestEmulator,
} from '../helpers/emulator.js';

const ORDERS = accountPath('rg-app', 'orders');
const REGENERATION_MS = 60_000;

let emulator: AzureEmulator;
let client: CosmosDBManagementClient;

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = armClient(emulator);
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
});

afterEach(async () => {
  await emulator.close();
});

function errorMessage(body: unknown): string {
  return (body as { error: { message: string } }).error.message;
}

function operations(): OperationState[] {
  return Object.values(emulator.state().operations);
}

/** Starts a regeneration through the SDK and waits until the emulator runs it. */
async function regenerate(keyKind: 'primary' | 'secondary'): Promise<unknown> {
  const started = operations().length;
  const done = client.databaseAccounts
    .beginRegenerateKeyAndWait('rg-app', 'orders', { keyKind }, { updateIntervalInMs: 5 })
    .then(() => 'succeeded', (error: unknown) => error);
  await vi.waitFor(() => expect(operations()).toHaveLength(started + 1));
  emulator.clock.advance(REGENERATION_MS);
  return done;
}

function regenerateRaw(keyKind: string) {
  return armRequest(emulator, 'POST', `${ORDERS}/regenerateKey?api-version=${ARM_API_VERSION}`, { body: { keyKind } });
}

function follow(url: unknown) {
  return armRequest(emulator, 'GET', String(url).slice(emulator.armEndpoint.length));
}

describe('a regeneration set to fail', () => {
  it('when the next regeneration is set to fail, then the SDK rejects with ARM\'s error after the regeneration time, the old key keeps working, and the state shows Failed', async () => {
    const before = await client.databaseAccounts.listKeys('rg-app', 'orders');
    const added = await control(emulator, 'POST', '/operations/fail-next', {
      accountId: ORDERS,
      keyKind: 'primary',
      code: 'RegenerationFailed',
      message: 'The key could not be regenerated in West US.',
    });

    const failure = await regenerate('primary');

    expect(added).toMatchObject({
      status: 201,
      body: { id: expect.any(String), accountId: ORDERS, keyKind: 'primary', times: 1, code: 'RegenerationFailed', status: 500 },
    });
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('The long-running operation has failed. RegenerationFailed. The key could not be regenerated in West US.');
    const after = await client.databaseAccounts.listKeys('rg-app', 'orders');
    expect(after.primaryMasterKey).toBe(before.primaryMasterKey);
    const account = await client.databaseAccounts.get('rg-app', 'orders');
    expect(account.keysMetadata?.primaryMasterKey?.generationTime?.toISOString()).toBe('2026-05-01T08:00:00.000Z');
    expect(operations()).toEqual([
      expect.objectContaining({
        keyKind: 'primary',
        status: 'Failed',
        error: { code: 'RegenerationFailed', message: 'The key could not be regenerated in West US.' },
      }),
    ]);
    expect(operations()[0]).not.toHaveProperty('plannedFailure');
    const { resources } = await cosmosClient(account.documentEndpoint!, before.primaryMasterKey!, emulator).databases.readAll().fetchAll();
    expect(resources).toEqual([]);
  });

  it('when the planned failure is spent, then the next regeneration succeeds and no rule remains', async () => {
    const before = await client.databaseAccounts.listKeys('rg-app', 'orders');
    await control(emulator, 'POST', '/operations/fail-next', { accountId: ORDERS });

    const first = await regenerate('secondary');
    const second = await regenerate('secondary');

    expect((first as Error).message).toBe(
      'The long-running operation has failed. InternalServerError. The regeneration failed: the emulator was asked to fail it through the control API.',
    );
    expect(second).toBe('succeeded');
    expect((await client.databaseAccounts.listKeys('rg-app', 'orders')).secondaryMasterKey).not.toBe(before.secondaryMasterKey);
    expect((await control(emulator, 'GET', '/operations/fail-next')).body).toEqual({ rules: [] });
  });

  // Location and Azure-AsyncOperation are the same operationsStatus URL (spec examples CosmosDBDatabaseAccountRegenerateKey.json).
  it('when a failed regeneration is polled raw, then its status is Failed with the error at both Location and Azure-AsyncOperation', async () => {
    await control(emulator, 'POST', '/operations/fail-next', { accountId: ORDERS, code: 'ServiceUnavailable', message: 'Try later.', status: 503 });
    const accepted = await regenerateRaw('secondary');

    const running = await follow(accepted.headers['azure-asyncoperation']);
    emulator.clock.advance(REGENERATION_MS);
    const status = await follow(accepted.headers['azure-asyncoperation']);
    const result = await follow(accepted.headers.location);

    expect(accepted.status).toBe(202);
    expect(running.body).toMatchObject({ status: 'Enqueued' });
    expect(running.body).not.toHaveProperty('error');
    expect(status).toMatchObject({
      status: 200,
      body: { status: 'Failed', endTime: '2026-05-01T08:01:00.000Z', error: { code: 'ServiceUnavailable', message: 'Try later.' } },
    });
    expect({ status: result.status, body: result.body }).toEqual({ status: status.status, body: status.body });
  });

  it('when only the secondary key is set to fail twice, then a primary regeneration succeeds and the next two secondary ones fail', async () => {
    await control(emulator, 'POST', '/operations/fail-next', { accountId: ORDERS.toUpperCase(), keyKind: 'secondary', times: 2 });

    const outcomes = [await regenerate('primary'), await regenerate('secondary'), await regenerate('secondary'), await regenerate('secondary')];

    expect(outcomes.map((outcome) => (outcome === 'succeeded' ? outcome : 'failed'))).toEqual(['succeeded', 'failed', 'failed', 'succeeded']);
  });

  it('when a regeneration is refused because another one runs, then it does not use up the planned failure', async () => {
    await regenerateRaw('primary');
    await control(emulator, 'POST', '/operations/fail-next', { accountId: ORDERS });

    const refused = await regenerateRaw('secondary');

    expect(refused.status).toBe(412);
    expect((await control(emulator, 'GET', '/operations/fail-next')).body).toMatchObject({ rules: [{ accountId: ORDERS, times: 1 }] });
  });

  it('when the planned failures are deleted, then regenerations succeed again', async () => {
    await control(emulator, 'POST', '/operations/fail-next', { accountId: ORDERS, times: 3 });

    const deleted = await control(emulator, 'DELETE', '/operations/fail-next');

    expect(deleted.body).toEqual({ removed: 1 });
    expect(await regenerate('primary')).toBe('succeeded');
  });

  it('when a regeneration in flight is set to fail, then it ends Failed at its completion time and the key is unchanged', async () => {
    const before = await client.databaseAccounts.listKeys('rg-app', 'orders');
    await regenerateRaw('primary');
    const [running] = operations();

    const marked = await control(emulator, 'POST', `/operations/${running!.id}/fail`, { message: 'Aborted by the test.' });
    emulator.clock.advance(REGENERATION_MS - 1_000);
    const stillRunning = operations()[0]!.status;
    emulator.clock.advance(1_000);

    expect(marked).toMatchObject({ status: 200, body: { id: running!.id, status: 'InProgress', plannedFailure: { code: 'InternalServerError', message: 'Aborted by the test.', status: 500 } } });
    expect(stillRunning).toBe('InProgress');
    expect(operations()[0]).toMatchObject({ status: 'Failed', error: { code: 'InternalServerError', message: 'Aborted by the test.' } });
    expect((await client.databaseAccounts.listKeys('rg-app', 'orders')).primaryMasterKey).toBe(before.primaryMasterKey);
  });

  it('when an account update in flight is set to fail, then the SDK rejects and the patch is not applied', async () => {
    const done = client.databaseAccounts
      .beginUpdateAndWait('rg-app', 'orders', { disableLocalAuth: true }, { updateIntervalInMs: 5 })
      .catch((error: unknown) => error);
    await vi.waitFor(() => expect(operations()).toHaveLength(1));

    await control(emulator, 'POST', `/operations/${operations()[0]!.id}/fail`, { code: 'UpdateFailed', message: 'No.' });
    emulator.clock.advance(REGENERATION_MS);
    const failure = await done;
    const account = await client.databaseAccounts.get('rg-app', 'orders');

    expect((failure as Error).message).toBe('The long-running operation has failed. UpdateFailed. No.');
    expect(account.disableLocalAuth).toBe(false);
    expect(account.provisioningState).toBe('Succeeded');
  });

  it('when an operation to fail does not exist or has ended, then 404 or 409 says so', async () => {
    await regenerateRaw('primary');
    const [operation] = operations();
    emulator.clock.advance(REGENERATION_MS);

    const unknown = await control(emulator, 'POST', '/operations/no-such-operation/fail');
    const ended = await control(emulator, 'POST', `/operations/${operation!.id}/fail`);

    expect(unknown.status).toBe(404);
    expect(errorMessage(unknown.body)).toContain('no-such-operation');
    expect(ended.status).toBe(409);
    expect(errorMessage(ended.body)).toContain('Succeeded');
  });

  it.each([
    [{}, 'accountId'],
    [{ accountId: accountPath('rg-app', 'nope') }, 'accountId'],
    [{ accountId: ORDERS, keyKind: 'tertiary' }, 'keyKind'],
    [{ accountId: ORDERS, times: 0 }, 'times'],
    [{ accountId: ORDERS, times: 1.5 }, 'times'],
    [{ accountId: ORDERS, code: 'not a code' }, 'code'],
    [{ accountId: ORDERS, message: '' }, 'message'],
    [{ accountId: ORDERS, message: 42 }, 'message'],
    [{ accountId: ORDERS, status: 200 }, 'status'],
    [{ accountId: ORDERS, once: true }, 'once'],
  ])('when fail-next input %j is wrong, then 400 names %s and nothing is planned', async (input, field) => {
    const response = await control(emulator, 'POST', '/operations/fail-next', input);

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain(field);
    expect(emulator.state().operationFailures).toEqual([]);
  });

  it('when failing an operation in flight gets a wrong field, then 400 names it and the operation is untouched', async () => {
    await regenerateRaw('primary');
    const [operation] = operations();

    const response = await control(emulator, 'POST', `/operations/${operation!.id}/fail`, { code: 5 });

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain('code');
    expect(operations()[0]).not.toHaveProperty('plannedFailure');
  });
});

describe('an RBAC deny list', () => {
  const expectedDenial = (action: string, scope: string): string =>
    "The client '00000000-0000-0000-0000-0000000000e1' with object id '00000000-0000-0000-0000-0000000000e1' does not have authorization " +
    `to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;

  it('when reading operation status is denied, then the SDK\'s poll gets 403 AuthorizationFailed, yet the regeneration it started still completes', async () => {
    const before = await client.databaseAccounts.listKeys('rg-app', 'orders');
    const set = await control(emulator, 'POST', '/rbac', { deny: ['getOperationStatus', 'getOperationResult'] });

    const failure = await regenerate('primary');

    expect(set).toMatchObject({ status: 200, body: { deny: ['getOperationStatus', 'getOperationResult'] } });
    expect(failure).toMatchObject({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed' });
    const [operation] = operations();
    const statusPath = `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.DocumentDB/locations/westus/operationsStatus/${operation!.id}`;
    expect((failure as Error).message).toBe(expectedDenial('Microsoft.DocumentDB/locations/operationsStatus/read', statusPath));
    expect(operation!.status).toBe('Succeeded');
    expect((await client.databaseAccounts.listKeys('rg-app', 'orders')).primaryMasterKey).not.toBe(before.primaryMasterKey);
    expect(emulator.stats().arm).toMatchObject({ regenerateKey: 1, getOperationStatus: 1 });
  });

  it('when the operation result URL is read while denied, then it answers 403 naming operationResults/read, with ARM\'s failure cause', async () => {
    await control(emulator, 'POST', '/rbac', { deny: ['getOperationResult'] });
    const accepted = await regenerateRaw('secondary');

    const resultUrl = String(accepted.headers['azure-asyncoperation']).replace('/operationsStatus/', '/operationResults/');
    const status = await follow(accepted.headers['azure-asyncoperation']);
    const result = await follow(resultUrl);

    expect(status.status).toBe(200);
    expect(result.status).toBe(403);
    expect(result.headers['x-ms-failure-cause']).toBe('gateway');
    const resultPath = new URL(resultUrl).pathname;
    expect(result.body).toEqual({
      error: { code: 'AuthorizationFailed', message: expectedDenial('Microsoft.DocumentDB/locations/operationResults/read', resultPath) },
    });
  });

  it('when an account action is denied, then that call gets 403 and other calls are served', async () => {
    await control(emulator, 'POST', '/rbac', { deny: ['listKeys'] });

    const denied = await client.databaseAccounts.listKeys('rg-app', 'orders').catch((error: unknown) => error);
    const account = await client.databaseAccounts.get('rg-app', 'orders');

    expect(denied).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect((denied as Error).message).toContain(`'Microsoft.DocumentDB/databaseAccounts/listKeys/action' over scope '${ORDERS}/listKeys'`);
    expect(account.name).toBe('orders');
  });

  it('when the deny list is read and deleted, then GET shows it and after DELETE polling is allowed again', async () => {
    const empty = await control(emulator, 'GET', '/rbac');
    await control(emulator, 'PUT', '/rbac', { deny: ['getOperationStatus', 'getOperationStatus'] });
    const shown = await control(emulator, 'GET', '/rbac');

    const deleted = await control(emulator, 'DELETE', '/rbac');
    const outcome = await regenerate('primary');

    expect(empty.body).toEqual({ deny: [] });
    expect(shown.body).toEqual({ deny: ['getOperationStatus'] });
    expect(emulator.state().rbac).toEqual({ deny: [] });
    expect(deleted.body).toEqual({ deny: [] });
    expect(outcome).toBe('succeeded');
  });

  it.each([
    [{}, 'deny'],
    [{ deny: 'getOperationStatus' }, 'deny'],
    [{ deny: ['readOperationStatus'] }, 'readOperationStatus'],
    [{ deny: [], denyOperationStatus: true }, 'denyOperationStatus'],
  ])('when RBAC input %j is wrong, then 400 names %s and nothing changes', async (input, field) => {
    await control(emulator, 'POST', '/rbac', { deny: ['listKeys'] });

    const response = await control(emulator, 'POST', '/rbac', input);

    expect(response.status).toBe(400);
    expect(errorMessage(response.body)).toContain(field);
    expect(emulator.state().rbac).toEqual({ deny: ['listKeys'] });
  });
});
