/**
 * The ARM adapter against the emulator, through the real @azure/arm-cosmosdb
 * client: usage times read from the wire, keys as redacted values, regeneration
 * as a resumable long-running operation, the safe-rotation check and the skip
 * flag, and error classification with fixes.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPERATION_STATUS_ROLE_ACTIONS, ROTATOR_ROLE_ACTIONS } from '../../src/azure/permissions.js';
import { createHttpHeaders, createPipelineRequest, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { USED_COSMOS_ACTIONS, performedCosmosActions, skipUsageCheckPolicy } from '../../src/azure/cosmos-management.js';
import type { CosmosManagementAdapter } from '../../src/azure/cosmos-management.js';
import { control, accountPath } from '../helpers/emulator.js';
import { HOUR_IN_MS, MINUTE_IN_MS, SAFE_CHECK, caught, startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

let fixture: RotatorFixture;
let arm: CosmosManagementAdapter;
let orders: string;
let guarded: string;

const RULE = { skipUsageCheck: false, idleWindowInHours: 12, usageMarginInMinutes: 30 };

beforeEach(async () => {
  fixture = await startRotatorFixture();
  arm = fixture.adapters.cosmosManagement;
  orders = await fixture.createAccount('orders-db', { regenerationSeconds: 120 });
  guarded = await fixture.createAccount('billing-db', { capabilities: [SAFE_CHECK], regenerationSeconds: 120 });
});

afterEach(async () => {
  await fixture.close();
});

describe('getAccount', () => {
  it('when keys were used, then the approximate last-use times come back parsed, with generation times, capabilities and the endpoint', async () => {
    const lastUse = fixture.hoursAgo(3);
    fixture.emulator.recordKeyUse(guarded, 'primary', lastUse);

    const facts = await arm.getAccount(guarded);

    expect(facts).toMatchObject({
      accountId: guarded,
      accountName: 'billing-db',
      capabilities: [SAFE_CHECK],
      safeRotationCheckEnabled: true,
      disableLocalAuth: false,
    });
    expect(facts.documentEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(facts.keys.primary.lastUsedAt).toBe(lastUse);
    expect(facts.keys.secondary.lastUsedAt).toBeNull();
    const state = fixture.emulator.state().accounts[guarded.toLowerCase()]!;
    for (const kind of ['primary', 'secondary', 'primaryReadonly', 'secondaryReadonly'] as const) {
      expect(facts.keys[kind].generationTime).toBe(new Date(state.keys[kind].generationTime).toISOString());
    }
  });

  it('when the account does not exist, then the error is permanent and points at ROTATION_TARGETS', async () => {
    const missing = accountPath('rg-app', 'no-such-db');
    const error = await caught(arm.getAccount(missing));
    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 404 });
    expect(error.message).toContain(`check the resource ID in ROTATION_TARGETS: ${missing}`);
  });

  it('when ARM answers 403, then the error is permanent and names the role, the action and the account', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'billing-db$', status: 403, times: 1 });
    const error = await caught(arm.getAccount(guarded));
    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 403 });
    expect(error.message).toContain(`grant the function's identity the Cosmos DB key rotation role (action Microsoft.DocumentDB/databaseAccounts/read) on ${guarded}`);
  });

  it('when ARM answers 503 twice, then the SDK retries and the read succeeds', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'orders-db$', status: 503, retryAfterSeconds: 0, times: 2 });
    fixture.emulator.resetStats();
    expect((await arm.getAccount(orders)).accountName).toBe('orders-db');
    expect(JSON.stringify(fixture.emulator.stats())).toMatch(/"getAccount":3/);
  });

  it('when ARM keeps answering 503, then the error is transient', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'orders-db$', status: 503, retryAfterSeconds: 0, times: 10 });
    expect(await caught(arm.getAccount(orders))).toMatchObject({ name: 'TransientError', statusCode: 503 });
  });
});

describe('keys and connection strings', () => {
  it('when keys are listed, then each value is the account key but prints as a placeholder', async () => {
    const keys = await arm.listKeys(orders, 'readWrite');
    const primary = fixture.keyValue(orders, 'primary');
    expect(keys.primary?.reveal()).toBe(primary);
    expect(keys.secondary?.reveal()).toBe(fixture.keyValue(orders, 'secondary'));
    expect(Object.keys(keys).sort()).toEqual(['primary', 'secondary']);
    for (const printed of [JSON.stringify(keys), String(keys.primary), inspect(keys), `${keys.primary}`]) {
      expect(printed).not.toContain(primary);
    }
  });

  it('when the read-only pair is listed, then only the read-only keys come back', async () => {
    const keys = await arm.listKeys(orders, 'readOnly');
    expect(Object.keys(keys).sort()).toEqual(['primaryReadonly', 'secondaryReadonly']);
    expect(keys.secondaryReadonly?.reveal()).toBe(fixture.keyValue(orders, 'secondaryReadonly'));
  });

  it('when a connection string is asked for a key kind, then it carries that key', async () => {
    const connectionString = await arm.getConnectionString(orders, 'secondary');
    expect(connectionString.reveal()).toContain(`AccountKey=${fixture.keyValue(orders, 'secondary')};`);
    expect(connectionString.reveal()).toMatch(/^AccountEndpoint=https:\/\/127\.0\.0\.1:\d+\/;/);
  });
});

describe('regeneration', () => {
  it('when a regeneration starts, then its poller state resumes: InProgress until the clock passes, then Succeeded with a new key', async () => {
    const before = fixture.keyValue(orders, 'secondary');
    const started = await arm.beginRegenerateKey(orders, 'secondary', RULE);
    expect(started.status).toBe('InProgress');
    // The state is plain JSON that survives the task hub: URLs and a status, no key.
    const state = JSON.parse(started.pollerState) as { state: { status: string; config: { operationLocation: string } } };
    expect(state.state.status).toBe('running');
    expect(state.state.config.operationLocation).toMatch(/operationsStatus/);
    expect(started.pollerState).not.toContain(before);

    expect(await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).toEqual({ status: 'InProgress' });
    fixture.emulator.clock.advance(60_000);
    expect(await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).toEqual({ status: 'InProgress' });
    fixture.emulator.clock.advance(61_000);
    expect(await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).toEqual({ status: 'Succeeded' });

    expect(fixture.keyValue(orders, 'secondary')).not.toBe(before);
    expect((await arm.getAccount(orders)).keys.secondary.generationTime).toBe(new Date(fixture.emulator.clock.nowMs() - 1_000).toISOString());
  });

  // Sources: azure-rest-api-specs issue 703, terraform-provider-azurerm issue 15842: Cosmos DB answers 412 while busy.
  // Source: the spec's examples/2026-03-15 and 2026-04-01-preview CosmosDBDatabaseAccountRegenerateKey.json
  // (200 when done at once, else 202 polled at operationsStatus) and the poll statuses Enqueued, Dequeued, InProgress,
  // Succeeded (with "error": {}) and Failed.
  it('when ARM answers 200 (done at once), then the regeneration is Succeeded without a poll', async () => {
    const instant = await fixture.createAccount('instant-db', { regenerationSeconds: 0 });
    const before = fixture.keyValue(instant, 'secondary');
    fixture.emulator.resetStats();

    const started = await arm.beginRegenerateKey(instant, 'secondary', RULE);

    expect(started.status).toBe('Succeeded');
    expect(await arm.getRegenerationStatus(instant, 'secondary', started.pollerState)).toEqual({ status: 'Succeeded' });
    expect(fixture.keyValue(instant, 'secondary')).not.toBe(before);
    expect(fixture.emulator.stats().arm.getOperationStatus ?? 0).toBe(0);
  });

  it('when the operation is Enqueued, then Dequeued, then InProgress, then Succeeded with an empty error, then the adapter reports InProgress until it reports Succeeded', async () => {
    const started = await arm.beginRegenerateKey(orders, 'secondary', RULE);
    const seen: string[] = [started.status];
    for (const stepMs of [6_000, 6_000, 120_000]) {
      fixture.emulator.clock.advance(stepMs);
      seen.push((await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).status);
    }

    expect(seen).toEqual(['InProgress', 'InProgress', 'InProgress', 'Succeeded']);
  });

  it('when another operation holds the account (Cosmos DB answers 412 PreconditionFailed), then a second regeneration is a transient error, not a permanent one', async () => {
    await arm.beginRegenerateKey(orders, 'secondary', RULE);
    const error = await caught(arm.beginRegenerateKey(orders, 'primary', RULE));
    expect(error).toMatchObject({ name: 'TransientError', statusCode: 412 });
    expect(error.message).toMatch(/another operation holds the resource/);
  });

  it('when another operation holds the account and the key was also used recently, then it is still a transient conflict, not a 12-hour block', async () => {
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(1));
    await arm.beginRegenerateKey(guarded, 'primary', RULE);
    expect(await caught(arm.beginRegenerateKey(guarded, 'secondary', RULE))).toMatchObject({ name: 'TransientError', statusCode: 412 });
  });

  it('when the key was used 3 hours ago on an account with the safe-rotation check, then it is blocked until last use + 12 h + margin', async () => {
    const lastUse = fixture.hoursAgo(3);
    fixture.emulator.recordKeyUse(guarded, 'secondary', lastUse);

    const error = await caught(arm.beginRegenerateKey(guarded, 'secondary', RULE));

    expect(error).toMatchObject({ name: 'BlockedError', kind: 'blocked', lastUsedAt: lastUse, statusCode: 400 });
    expect(error.retryAt).toBe(new Date(Date.parse(lastUse) + 12 * HOUR_IN_MS + 30 * MINUTE_IN_MS).toISOString());
    expect(Object.values(fixture.emulator.state().operations)).toHaveLength(0);
  });

  it('when the idle window is longer than ARM\'s 12 hours, then the retry time follows the idle window', async () => {
    const lastUse = fixture.hoursAgo(1);
    fixture.emulator.recordKeyUse(guarded, 'secondary', lastUse);
    const error = await caught(arm.beginRegenerateKey(guarded, 'secondary', { ...RULE, idleWindowInHours: 24, usageMarginInMinutes: 0 }));
    expect(error.retryAt).toBe(new Date(Date.parse(lastUse) + 24 * HOUR_IN_MS).toISOString());
  });

  it('when the skip flag is sent for a key used an hour ago, then the check is bypassed through the SDK pipeline and the regeneration starts', async () => {
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(1));
    const started = await arm.beginRegenerateKey(guarded, 'secondary', { ...RULE, skipUsageCheck: true });
    expect(started.status).toBe('InProgress');
    const operations = Object.values(fixture.emulator.state().operations);
    expect(operations).toMatchObject([{ kind: 'regenerateKey', keyKind: 'secondary', status: 'InProgress' }]);
  });

  it('when the skip policy sends a marked regenerate request, then the flag is in the body and the marker header is gone', async () => {
    const request = createPipelineRequest({
      url: `https://arm.example${orders}/regenerateKey?api-version=2026-04-01-preview`,
      method: 'POST',
      headers: createHttpHeaders({ 'x-cosmos-key-rotation-skip-usage-check': 'true', 'content-type': 'application/json' }),
      body: JSON.stringify({ keyKind: 'secondary' }),
    });
    let sent: PipelineRequest | undefined;
    await skipUsageCheckPolicy.sendRequest(request, async (next) => {
      sent = next;
      return { request: next, status: 202, headers: createHttpHeaders() } as PipelineResponse;
    });
    expect(JSON.parse(String(sent?.body))).toEqual({ keyKind: 'secondary', skipAccountKeysLastUsageCheck: true });
    expect(sent?.headers.has('x-cosmos-key-rotation-skip-usage-check')).toBe(false);
  });

  // Source: the spec's examples/2026-04-01-preview/CosmosDBDatabaseAccountRegenerateKey.json spells the flag
  // skipAccountKeysLastUsageCheck; which casing the service honours is not public, nor is its refusal's code.
  it('when ARM refuses a forced regeneration anyway, then the usage is re-read and the permanent error says Azure refused even with skipAccountKeysLastUsageCheck', async () => {
    const lastUse = fixture.hoursAgo(2);
    fixture.emulator.recordKeyUse(guarded, 'secondary', lastUse);
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 400, times: 1 });
    fixture.emulator.resetStats();

    const error = await caught(arm.beginRegenerateKey(guarded, 'secondary', { ...RULE, skipUsageCheck: true }));

    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 400 });
    expect(error.message).toMatch(/Azure refused to regenerate the secondary key .* even with skipAccountKeysLastUsageCheck: true/);
    expect(error.message).toContain(`the last use ARM reports for it is ${lastUse}`);
    expect(error.message).toMatch(/safe-rotation check is enabled/);
    expect(fixture.emulator.stats().arm).toMatchObject({ regenerateKey: 1, getAccount: 1 });
    expect(Object.values(fixture.emulator.state().operations)).toEqual([]);
  });

  it('when ARM refuses with 400 but the usage it reports is old (a lagging use), then the key is blocked for a short while, not failed', async () => {
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(20));
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 400, times: 1 });

    const error = await caught(arm.beginRegenerateKey(guarded, 'secondary', RULE));

    expect(error).toMatchObject({ name: 'BlockedError', lastUsedAt: fixture.hoursAgo(20) });
    expect(error.retryAt).toBe(new Date(fixture.emulator.clock.nowMs() + 30 * MINUTE_IN_MS).toISOString());
    expect(error.message).toMatch(/usage times lag/);
  });

  it('when an account without the safe-rotation check refuses with 400, then the error is permanent', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 400, times: 1 });
    expect(await caught(arm.beginRegenerateKey(orders, 'secondary', RULE))).toMatchObject({ name: 'PermanentError', statusCode: 400 });
  });

  it('when regenerate is forbidden, then the error is permanent and names the regenerateKey action', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'POST', pathPattern: 'regenerateKey$', status: 403, times: 1 });
    const error = await caught(arm.beginRegenerateKey(orders, 'secondary', RULE));
    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 403 });
    expect(error.message).toContain('Microsoft.DocumentDB/databaseAccounts/regenerateKey/action');
  });

  it('when the status poll keeps failing with 503, then reading the status is a transient error and the state still resumes later', async () => {
    const started = await arm.beginRegenerateKey(orders, 'secondary', RULE);
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', pathPattern: 'operationsStatus', status: 503, retryAfterSeconds: 0, times: 10 });
    expect(await caught(arm.getRegenerationStatus(orders, 'secondary', started.pollerState))).toMatchObject({ name: 'TransientError', statusCode: 503 });
    await control(fixture.emulator, 'DELETE', '/faults');
    fixture.emulator.clock.advance(121_000);
    expect(await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).toEqual({ status: 'Succeeded' });
  });

  it('when a saved poller state is not one, then the error is permanent', async () => {
    expect(await caught(arm.getRegenerationStatus(orders, 'secondary', 'not json'))).toMatchObject({ name: 'PermanentError' });
  });
});

describe('permissions', () => {
  it('when every adapter call has run, then the ARM actions performed are exactly the declared ones, all in the custom role', async () => {
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(1));
    await arm.getAccount(orders);
    await arm.listKeys(orders, 'readWrite');
    await arm.listKeys(orders, 'readOnly');
    await arm.getConnectionString(orders, 'primary');
    const started = await arm.beginRegenerateKey(orders, 'secondary', RULE);
    await arm.getRegenerationStatus(orders, 'secondary', started.pollerState);
    await caught(arm.beginRegenerateKey(guarded, 'secondary', RULE));

    expect([...performedCosmosActions()].sort()).toEqual([...USED_COSMOS_ACTIONS].sort());
    for (const action of USED_COSMOS_ACTIONS) expect([...ROTATOR_ROLE_ACTIONS, ...OPERATION_STATUS_ROLE_ACTIONS]).toContain(action);
  });
});
