/**
 * The emulated Cosmos DB resource manager, driven through the real
 * @azure/arm-cosmosdb client over HTTPS (and raw requests where the SDK hides
 * status codes or headers).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { CosmosDBManagementClient } from '@azure/arm-cosmosdb';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import {
  ARM_API_VERSION,
  SUBSCRIPTION_ID,
  TEST_START,
  accountPath,
  armClient,
  armRequest,
  startTestEmulator,
} from '../helpers/emulator.js';

const OTHER_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000002';
const SAFE_CHECK = 'EnableKeyCheckBeforeRegenerationPreview';
const HOUR_IN_MS = 3_600_000;

let emulator: AzureEmulator;
let client: CosmosDBManagementClient;

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = armClient(emulator);
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'billing', capabilities: [SAFE_CHECK] });
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-other', name: 'catalog', regenerationSeconds: 600 });
  await emulator.createAccount({ subscriptionId: OTHER_SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'elsewhere' });
});

afterEach(async () => {
  await emulator.close();
});

function hoursAgo(hours: number): string {
  return new Date(emulator.clock.nowMs() - hours * HOUR_IN_MS).toISOString();
}

/** Adds the preview skip flag that the SDK's serializer would strip from regenerateKey bodies. */
function skipUsageCheckPolicy(field = 'skipAccountKeysLastUsageCheck'): PipelinePolicy {
  return {
    name: 'skipAccountKeysLastUsageCheck',
    async sendRequest(request, next) {
      if (request.method === 'POST' && /\/regenerateKey\?/i.test(request.url) && typeof request.body === 'string') {
        request.body = JSON.stringify({ ...JSON.parse(request.body), [field]: true });
      }
      return next(request);
    },
  };
}

function operationsInFlight(): number {
  return Object.values(emulator.state().operations).filter((operation) => operation.status === 'InProgress').length;
}

describe('reading accounts', () => {
  it('when an account is read, then its endpoint, capabilities and the metadata of all four keys come back', async () => {
    emulator.recordKeyUse(accountPath('rg-app', 'billing'), 'primary', hoursAgo(0));

    const account = await client.databaseAccounts.get('rg-app', 'billing');

    expect(account.id).toBe(accountPath('rg-app', 'billing'));
    expect(account.name).toBe('billing');
    expect(account.kind).toBe('GlobalDocumentDB');
    expect(account.location).toBe('West US');
    expect(account.documentEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(account.capabilities).toEqual([{ name: SAFE_CHECK }]);
    expect(account.disableLocalAuth).toBe(false);
    const metadata = account.keysMetadata as Record<string, { generationTime: Date; approximateLastUsageTime?: unknown }>;
    expect(Object.keys(metadata).sort()).toEqual(
      ['primaryMasterKey', 'primaryReadonlyMasterKey', 'secondaryMasterKey', 'secondaryReadonlyMasterKey'],
    );
    expect(metadata.primaryMasterKey!.generationTime.toISOString()).toBe(TEST_START);
    // Not in the SDK's model: it survives as the string the service sent.
    expect(metadata.primaryMasterKey!.approximateLastUsageTime).toBe(TEST_START);
    expect(metadata.secondaryMasterKey!.approximateLastUsageTime).toBeUndefined();
  });

  it('when an api-version older than 2026-04-01-preview is used, then keysMetadata has no usage times', async () => {
    emulator.recordKeyUse(accountPath('rg-app', 'orders'), 'primary');

    const response = await armRequest(emulator, 'GET', `${accountPath('rg-app', 'orders')}?api-version=2025-10-15`);

    expect(response.status).toBe(200);
    const properties = (response.body as { properties: { keysMetadata: Record<string, object> } }).properties;
    expect(properties.keysMetadata.primaryMasterKey).toEqual({ generationTime: TEST_START });
  });

  it('when accounts are listed by subscription or resource group, then exactly those accounts come back', async () => {
    const bySubscription = [];
    for await (const account of client.databaseAccounts.list()) bySubscription.push(account.name);
    const byResourceGroup = [];
    for await (const account of client.databaseAccounts.listByResourceGroup('rg-app')) byResourceGroup.push(account.name);

    expect(bySubscription.sort()).toEqual(['billing', 'catalog', 'orders']);
    expect(byResourceGroup.sort()).toEqual(['billing', 'orders']);
  });

  it('when the subscription, resource group or account does not exist, then ARM answers 404 with its codes', async () => {
    const missingAccount = await client.databaseAccounts.get('rg-app', 'nope').catch((error: unknown) => error);
    const missingGroup = await client.databaseAccounts.get('rg-nope', 'orders').catch((error: unknown) => error);
    const missingSubscription = await armClient(emulator, '00000000-0000-0000-0000-00000000000f')
      .databaseAccounts.get('rg-app', 'orders')
      .catch((error: unknown) => error);

    expect(missingAccount).toMatchObject({ name: 'RestError', statusCode: 404, code: 'ResourceNotFound' });
    expect(missingGroup).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
    expect(missingSubscription).toMatchObject({ statusCode: 404, code: 'SubscriptionNotFound' });
  });

  it('when no bearer token is sent, then ARM answers 401 in its error shape', async () => {
    const response = await armRequest(emulator, 'GET', `${accountPath('rg-app', 'orders')}?api-version=${ARM_API_VERSION}`, { headers: {} });

    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('when the api-version is missing or unknown, then ARM answers 400', async () => {
    const missing = await armRequest(emulator, 'GET', accountPath('rg-app', 'orders'));
    const unknown = await armRequest(emulator, 'GET', `${accountPath('rg-app', 'orders')}?api-version=2099-01-01`);

    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'NoRegisteredProviderFound' } } });
    expect((unknown.body as { error: { message: string } }).error.message).toContain('2099-01-01');
  });

  it('when a response comes back, then it carries a request id', async () => {
    const response = await armRequest(emulator, 'GET', `${accountPath('rg-app', 'orders')}?api-version=${ARM_API_VERSION}`);

    expect(response.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('keys and connection strings', () => {
  it('when keys are listed, then the four current values come back and agree with the connection strings', async () => {
    const state = emulator.state().accounts[accountPath('rg-app', 'orders').toLowerCase()]!;

    const keys = await client.databaseAccounts.listKeys('rg-app', 'orders');
    const readOnly = await client.databaseAccounts.listReadOnlyKeys('rg-app', 'orders');
    const { connectionStrings } = await client.databaseAccounts.listConnectionStrings('rg-app', 'orders');

    expect(keys).toMatchObject({
      primaryMasterKey: state.keys.primary.value,
      secondaryMasterKey: state.keys.secondary.value,
      primaryReadonlyMasterKey: state.keys.primaryReadonly.value,
      secondaryReadonlyMasterKey: state.keys.secondaryReadonly.value,
    });
    expect(Buffer.from(keys.primaryMasterKey!, 'base64')).toHaveLength(64);
    expect(new Set(Object.values(state.keys).map((key) => key.value)).size).toBe(4);
    expect(readOnly).toMatchObject({
      primaryReadonlyMasterKey: state.keys.primaryReadonly.value,
      secondaryReadonlyMasterKey: state.keys.secondaryReadonly.value,
    });
    expect(connectionStrings?.map((entry) => [entry.keyKind, entry.type])).toEqual([
      ['Primary', 'Sql'],
      ['Secondary', 'Sql'],
      ['PrimaryReadonly', 'Sql'],
      ['SecondaryReadonly', 'Sql'],
    ]);
    const endpoint = `https://127.0.0.1:${state.dataPlanePort}/`;
    expect(connectionStrings?.[1]?.connectionString).toBe(`AccountEndpoint=${endpoint};AccountKey=${state.keys.secondary.value};`);
    expect(connectionStrings?.[0]?.description).toBe('Primary SQL Connection String');
  });
});

describe('regenerating a key', () => {
  // Source: Azure/azure-rest-api-specs, specification/cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/
  // examples/2026-03-15/ and examples/2026-04-01-preview/CosmosDBDatabaseAccountRegenerateKey.json: 202 with Location and
  // Azure-AsyncOperation both at /subscriptions/{sub}/providers/Microsoft.DocumentDB/locations/{region}/operationsStatus/{id}.
  it('when a regeneration is requested, then ARM answers 202 with Location and Azure-AsyncOperation both at operationsStatus, as the spec examples show', async () => {
    const response = await armRequest(emulator, 'POST', `${accountPath('rg-app', 'orders')}/regenerateKey?api-version=${ARM_API_VERSION}`, {
      body: { keyKind: 'secondary' },
    });

    expect(response.status).toBe(202);
    const statusUrl = String(response.headers['azure-asyncoperation']);
    expect(statusUrl).toMatch(new RegExp(`^${emulator.armEndpoint}/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.DocumentDB/locations/westus/operationsStatus/`));
    expect(String(response.headers.location)).toBe(statusUrl);
    expect(response.headers['retry-after']).toBe('10');
  });

  // Source: the same examples and the Cosmos DB operation status contract: Enqueued, Dequeued, InProgress, then
  // Succeeded (with an empty "error": {}) or Failed.
  it('when an operation is polled from start to end, then its status goes Enqueued, Dequeued, InProgress, Succeeded with "error": {}', async () => {
    const response = await armRequest(emulator, 'POST', `${accountPath('rg-app', 'orders')}/regenerateKey?api-version=${ARM_API_VERSION}`, {
      body: { keyKind: 'secondary' },
    });
    const poll = async () => (await armRequest(emulator, 'GET', String(response.headers['azure-asyncoperation']).slice(emulator.armEndpoint.length))).body as Record<string, unknown>;

    const seen = [(await poll()).status];
    emulator.clock.advance(6_000);
    seen.push((await poll()).status);
    emulator.clock.advance(6_000);
    seen.push((await poll()).status);
    emulator.clock.advance(48_000);
    const done = await poll();

    expect(seen).toEqual(['Enqueued', 'Dequeued', 'InProgress']);
    expect(done).toMatchObject({ status: 'Succeeded', startTime: TEST_START, endTime: '2026-05-01T08:01:00.000Z', error: {} });
  });

  // Source: the spec examples' "200": {} answer of regenerateKey.
  it('when a regeneration takes no time on the account, then ARM answers 200 with no body and the key is new at once', async () => {
    await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'instant', regenerationSeconds: 0 });
    const before = await client.databaseAccounts.listKeys('rg-app', 'instant');

    const response = await armRequest(emulator, 'POST', `${accountPath('rg-app', 'instant')}/regenerateKey?api-version=${ARM_API_VERSION}`, { body: { keyKind: 'primary' } });
    const poller = await client.databaseAccounts.beginRegenerateKey('rg-app', 'instant', { keyKind: 'secondary' });

    expect(response.status).toBe(200);
    expect(response.headers['azure-asyncoperation']).toBeUndefined();
    expect(poller.isDone()).toBe(true);
    const after = await client.databaseAccounts.listKeys('rg-app', 'instant');
    expect(after.primaryMasterKey).not.toBe(before.primaryMasterKey);
    expect(after.secondaryMasterKey).not.toBe(before.secondaryMasterKey);
  });

  it('when beginRegenerateKeyAndWait is used, then it completes once the clock passes the regeneration time, and only then is the key new', async () => {
    const before = await client.databaseAccounts.listKeys('rg-app', 'orders');

    const done = client.databaseAccounts.beginRegenerateKeyAndWait('rg-app', 'orders', { keyKind: 'secondary' }, { updateIntervalInMs: 5 });
    await vi.waitFor(() => expect(operationsInFlight()).toBe(1));
    emulator.clock.advance(59_000);
    const during = await client.databaseAccounts.listKeys('rg-app', 'orders');
    emulator.clock.advance(1_000);
    await done;
    const after = await client.databaseAccounts.listKeys('rg-app', 'orders');
    const account = await client.databaseAccounts.get('rg-app', 'orders');

    expect(during.secondaryMasterKey).toBe(before.secondaryMasterKey);
    expect(after.secondaryMasterKey).not.toBe(before.secondaryMasterKey);
    expect(Buffer.from(after.secondaryMasterKey!, 'base64')).toHaveLength(64);
    expect(after.primaryMasterKey).toBe(before.primaryMasterKey);
    expect(account.keysMetadata?.secondaryMasterKey?.generationTime?.toISOString()).toBe('2026-05-01T08:01:00.000Z');
    expect(account.keysMetadata?.primaryMasterKey?.generationTime?.toISOString()).toBe(TEST_START);
    expect(emulator.stats().arm).toMatchObject({ regenerateKey: 1, getOperationStatus: expect.any(Number) });
    expect(emulator.stats().arm.getOperationResult ?? 0).toBe(0);
  });

  // Sources: azure-rest-api-specs issue 703 and terraform-provider-azurerm issue 15842: Cosmos DB answers 412
  // PreconditionFailed ("...operation in progress which requires exclusive lock...") while the account is busy.
  it('when a regeneration is running on the account, then another regeneration or an update gets 412 PreconditionFailed, not 409', async () => {
    const poller = await client.databaseAccounts.beginRegenerateKey('rg-other', 'catalog', { keyKind: 'primary' });

    const second = await client.databaseAccounts.beginRegenerateKey('rg-other', 'catalog', { keyKind: 'secondary' }).catch((error: unknown) => error);
    const update = await client.databaseAccounts.beginUpdate('rg-other', 'catalog', { disableLocalAuth: true }).catch((error: unknown) => error);

    expect(second).toMatchObject({ name: 'RestError', statusCode: 412, code: 'PreconditionFailed' });
    expect((second as Error).message).toMatch(/operation in progress which requires exclusive lock.*catalog/);
    expect(update).toMatchObject({ statusCode: 412 });
    expect(poller.isDone()).toBe(false);

    emulator.clock.advance(600_000);
    await poller.poll();
    expect(poller.isDone()).toBe(true);
    const next = await client.databaseAccounts.beginRegenerateKey('rg-other', 'catalog', { keyKind: 'secondary' });
    expect(next.isDone()).toBe(false);
  });

  it('when the keyKind or the body is wrong, then ARM answers 400 and starts nothing', async () => {
    const path = `${accountPath('rg-app', 'orders')}/regenerateKey?api-version=${ARM_API_VERSION}`;

    const badKind = await armRequest(emulator, 'POST', path, { body: { keyKind: 'tertiary' } });
    const noKind = await armRequest(emulator, 'POST', path, { body: {} });
    const notJson = await armRequest(emulator, 'POST', path, { body: '{"keyKind":' });
    const badFlag = await armRequest(emulator, 'POST', path, { body: { keyKind: 'primary', skipAccountKeysLastUsageCheck: 'yes' } });

    expect(badKind).toMatchObject({ status: 400, body: { error: { code: 'BadRequest' } } });
    expect((badKind.body as { error: { message: string } }).error.message).toContain('tertiary');
    expect(noKind.status).toBe(400);
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequestContent' } } });
    expect(badFlag.status).toBe(400);
    expect(operationsInFlight()).toBe(0);
  });
});

describe('the safe-rotation check', () => {
  it('when the key was used 3 hours ago on an account with the check, then regeneration is refused naming the key and its last use, and nothing changes', async () => {
    const lastUse = hoursAgo(3);
    emulator.recordKeyUse(accountPath('rg-app', 'billing'), 'secondary', lastUse);
    const before = await client.databaseAccounts.listKeys('rg-app', 'billing');

    const refused = await client.databaseAccounts.beginRegenerateKey('rg-app', 'billing', { keyKind: 'secondary' }).catch((error: unknown) => error);

    expect(refused).toMatchObject({ name: 'RestError', statusCode: 400, code: 'BadRequest' });
    expect((refused as Error).message).toContain('secondary');
    expect((refused as Error).message).toContain(lastUse);
    expect(await client.databaseAccounts.listKeys('rg-app', 'billing')).toEqual(before);
    expect(operationsInFlight()).toBe(0);
  });

  it('when the key was last used 13 hours ago, then regeneration is accepted', async () => {
    emulator.recordKeyUse(accountPath('rg-app', 'billing'), 'secondary', hoursAgo(13));

    const poller = await client.databaseAccounts.beginRegenerateKey('rg-app', 'billing', { keyKind: 'secondary' });

    expect(poller.isDone()).toBe(false);
    expect(operationsInFlight()).toBe(1);
  });

  it('when the account lacks the capability, then a key used a minute ago can be regenerated', async () => {
    emulator.recordKeyUse(accountPath('rg-app', 'orders'), 'primary');

    const poller = await client.databaseAccounts.beginRegenerateKey('rg-app', 'orders', { keyKind: 'primary' });

    expect(poller.isDone()).toBe(false);
  });

  it.each(['skipAccountKeysLastUsageCheck', 'SkipAccountKeysLastUsageCheck'])(
    'when %s is true, then a key in use is regenerated anyway',
    async (field) => {
      emulator.recordKeyUse(accountPath('rg-app', 'billing'), 'secondary', hoursAgo(1));
      const before = await client.databaseAccounts.listKeys('rg-app', 'billing');
      const forcing = armClient(emulator);
      forcing.pipeline.addPolicy(skipUsageCheckPolicy(field));

      const done = forcing.databaseAccounts.beginRegenerateKeyAndWait('rg-app', 'billing', { keyKind: 'secondary' }, { updateIntervalInMs: 5 });
      await vi.waitFor(() => expect(operationsInFlight()).toBe(1));
      emulator.clock.advance(60_000);
      await done;

      const after = await client.databaseAccounts.listKeys('rg-app', 'billing');
      expect(after.secondaryMasterKey).not.toBe(before.secondaryMasterKey);
    },
  );

  it('when the account has a usage lag, then a use shows in keysMetadata only once the lag has passed, but blocks regeneration at once', async () => {
    await emulator.createAccount({
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'rg-app',
      name: 'lagging',
      capabilities: [SAFE_CHECK],
      usageLagSeconds: 300,
    });
    emulator.recordKeyUse(accountPath('rg-app', 'lagging'), 'secondary');

    const early = await client.databaseAccounts.get('rg-app', 'lagging');
    const refusedEarly = await client.databaseAccounts.beginRegenerateKey('rg-app', 'lagging', { keyKind: 'secondary' }).catch((error: unknown) => error);
    emulator.clock.advance(300_000);
    const late = await client.databaseAccounts.get('rg-app', 'lagging');
    const refused = await client.databaseAccounts.beginRegenerateKey('rg-app', 'lagging', { keyKind: 'secondary' }).catch((error: unknown) => error);

    expect((early.keysMetadata?.secondaryMasterKey as { approximateLastUsageTime?: string }).approximateLastUsageTime).toBeUndefined();
    expect((late.keysMetadata?.secondaryMasterKey as { approximateLastUsageTime?: string }).approximateLastUsageTime).toBe(TEST_START);
    expect(refusedEarly).toMatchObject({ statusCode: 400 });
    expect(refused).toMatchObject({ statusCode: 400 });
  });
});

describe('updating an account', () => {
  it('when capabilities and disableLocalAuth are patched, then the update runs as a long-running operation and applies on completion', async () => {
    const poller = await client.databaseAccounts.beginUpdate(
      'rg-app',
      'orders',
      { capabilities: [{ name: SAFE_CHECK }], disableLocalAuth: true },
      { updateIntervalInMs: 5 },
    );
    const during = await client.databaseAccounts.get('rg-app', 'orders');

    emulator.clock.advance(60_000);
    const result = await poller.pollUntilDone();

    expect(during.capabilities).toEqual([]);
    expect(during.provisioningState).toBe('Updating');
    expect(result.capabilities).toEqual([{ name: SAFE_CHECK }]);
    expect(result.disableLocalAuth).toBe(true);
    expect(result.provisioningState).toBe('Succeeded');
  });

  it('when a property the emulator cannot change is patched, then ARM answers 400 naming it', async () => {
    const response = await armRequest(emulator, 'PATCH', `${accountPath('rg-app', 'orders')}?api-version=${ARM_API_VERSION}`, {
      body: { properties: { enableAutomaticFailover: true } },
    });

    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toContain('enableAutomaticFailover');
  });

  it('when local auth would be disabled while a key is in use and the account checks usage for that, then the update is refused', async () => {
    await emulator.createAccount({
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'rg-app',
      name: 'guarded',
      capabilities: ['EnableAccountKeysLastUsageCheckInDisableLocalAuth'],
    });
    emulator.recordKeyUse(accountPath('rg-app', 'guarded'), 'primaryReadonly', hoursAgo(2));

    const refused = await client.databaseAccounts.beginUpdate('rg-app', 'guarded', { disableLocalAuth: true }).catch((error: unknown) => error);

    expect(refused).toMatchObject({ statusCode: 400 });
    expect((refused as Error).message).toContain('primaryReadonly');
  });
});
