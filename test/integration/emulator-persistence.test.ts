/**
 * `dataDir`: the emulator's state survives a restart exactly (accounts, keys,
 * operations in flight, secrets, faults, planned failures, RBAC deny list,
 * clock, ports, CA), and a state file it cannot use stops it with an error
 * instead of a silent reset.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAzureEmulator, type AzureEmulator } from '../../emulator/azure/index.js';
import { SUBSCRIPTION_ID, TEST_START, armClient, control, secretClient, startTestEmulator } from '../helpers/emulator.js';

let dataDir: string;
const running: AzureEmulator[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'emulator-persistence-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startAzureEmulator>[0] = {}): Promise<AzureEmulator> {
  const emulator = await startAzureEmulator({ manualClock: true, dataDir, ...options });
  running.push(emulator);
  return emulator;
}

async function stop(emulator: AzureEmulator): Promise<void> {
  running.splice(running.indexOf(emulator), 1);
  await emulator.close();
}

describe('restarting with a data directory', () => {
  it('when the emulator restarts mid-regeneration, then accounts, keys, secrets, faults, clock, endpoints and CA are as they were, and the operation completes', async () => {
    const first = await startTestEmulator({ dataDir });
    running.push(first);
    const account = await first.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
    await secretClient(first).setSecret('orders-key', 'value-one', { tags: { keyKind: 'primary' } });
    await secretClient(first).setSecret('orders-key', 'value-two', { tags: { keyKind: 'secondary' } });
    first.recordKeyUse(account.id, 'primary');
    await armClient(first).databaseAccounts.beginRegenerateKey('rg-app', 'orders', { keyKind: 'secondary' });
    first.clock.advance(30_000);
    await control(first, 'POST', '/faults', { service: 'cosmos', status: 503, retryAfterSeconds: 1, times: 4 });
    const before = first.state();
    await stop(first);

    const second = await start();
    const after = second.state();

    expect(second.clock.now().toISOString()).toBe('2026-05-01T08:00:30.000Z');
    expect(after).toEqual(before);
    expect(second.armEndpoint).toBe(first.armEndpoint);
    expect(second.keyVaultUrl).toBe(first.keyVaultUrl);
    expect(second.caCertPem).toBe(first.caCertPem);
    expect((await armClient(second).databaseAccounts.get('rg-app', 'orders')).documentEndpoint).toBe(account.documentEndpoint);
    expect((await secretClient(second).getSecret('orders-key')).value).toBe('value-two');

    second.clock.advance(30_000);
    const keys = await armClient(second).databaseAccounts.listKeys('rg-app', 'orders');
    expect(Object.values(second.state().operations).map((operation) => operation.status)).toEqual(['Succeeded']);
    expect(keys.secondaryMasterKey).not.toBe(before.accounts[account.id.toLowerCase()]!.keys.secondary.value);
    expect(keys.primaryMasterKey).toBe(before.accounts[account.id.toLowerCase()]!.keys.primary.value);
  });

  it('when a change is made, then state.json already holds it before the emulator stops', async () => {
    const emulator = await start();

    await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
    emulator.clock.advance(5_000);

    const saved = JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8'));
    expect(Object.keys(saved.accounts)).toHaveLength(1);
    expect(saved.clock.nowIso).toBe(emulator.clock.now().toISOString());
    expect(readdirSync(dataDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('when the emulator restarts, then planned regeneration failures and the RBAC deny list still apply', async () => {
    const first = await startTestEmulator({ dataDir });
    running.push(first);
    const account = await first.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
    await control(first, 'POST', '/operations/fail-next', { accountId: account.id, keyKind: 'primary', code: 'RegenerationFailed', message: 'Planned.' });
    await control(first, 'POST', '/rbac', { deny: ['listConnectionStrings'] });
    const keyBefore = first.state().accounts[account.id.toLowerCase()]!.keys.primary.value;
    await stop(first);

    const second = await startTestEmulator({ dataDir });
    running.push(second);
    const denied = await armClient(second).databaseAccounts.listConnectionStrings('rg-app', 'orders').catch((error: unknown) => error);
    await armClient(second).databaseAccounts.beginRegenerateKey('rg-app', 'orders', { keyKind: 'primary' });
    second.clock.advance(60_000);

    expect((await control(second, 'GET', '/rbac')).body).toEqual({ deny: ['listConnectionStrings'] });
    expect(denied).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect(Object.values(second.state().operations)).toEqual([
      expect.objectContaining({ status: 'Failed', error: { code: 'RegenerationFailed', message: 'Planned.' } }),
    ]);
    expect(second.state().accounts[account.id.toLowerCase()]!.keys.primary.value).toBe(keyBefore);
  });

  it('when a caller passes a clock behind the saved time, then the clock is moved forward rather than time going back', async () => {
    const first = await startTestEmulator({ dataDir });
    running.push(first);
    first.clock.advance(3_600_000);
    await stop(first);

    const second = await startTestEmulator({ dataDir });
    running.push(second);

    expect(second.clock.now().toISOString()).toBe('2026-05-01T09:00:00.000Z');
  });

  it('when the data directory is new or empty, then the emulator starts fresh and creates its CA there', async () => {
    const emulator = await start({ dataDir: join(dataDir, 'nested', 'new') });

    expect(emulator.state().accounts).toEqual({});
    expect(emulator.caCertPath).toBe(join(dataDir, 'nested', 'new', 'ca.pem'));
    expect(existsSync(emulator.caCertPath)).toBe(true);
  });
});

describe('a state file the emulator cannot use', () => {
  it('when state.json is not JSON, then starting fails naming the file, and the file is left as it was', async () => {
    const path = join(dataDir, 'state.json');
    writeFileSync(path, '{"schemaVersion": 1, "accounts": {');

    const failure = await start().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(path);
    expect((failure as Error).message).toContain('not valid JSON');
    expect(readFileSync(path, 'utf8')).toBe('{"schemaVersion": 1, "accounts": {');
  });

  it('when state.json has an unknown schema version, then starting fails saying which', async () => {
    const path = join(dataDir, 'state.json');
    writeFileSync(path, JSON.stringify({ schemaVersion: 7, clock: { mode: 'manual', nowIso: TEST_START } }));

    const failure = await start().catch((error: unknown) => error);

    expect((failure as Error).message).toContain(path);
    expect((failure as Error).message).toContain('schemaVersion 7');
  });

  it('when state.json lacks a part, then starting fails naming the part', async () => {
    writeFileSync(
      join(dataDir, 'state.json'),
      JSON.stringify({ schemaVersion: 1, clock: { mode: 'manual', nowIso: TEST_START }, accounts: {}, operations: {}, faults: [] }),
    );

    const failure = await start().catch((error: unknown) => error);

    expect((failure as Error).message).toContain('keyVault');
  });

  it('when state.json has an RBAC part that is not a deny list, then starting fails naming it', async () => {
    const valid = { schemaVersion: 1, clock: { mode: 'manual', nowIso: TEST_START }, accounts: {}, operations: {}, keyVault: { secrets: {}, deleted: {} }, faults: [] };
    writeFileSync(join(dataDir, 'state.json'), JSON.stringify({ ...valid, rbac: { deny: 'getOperationStatus' } }));

    const failure = await start().catch((error: unknown) => error);

    expect((failure as Error).message).toContain('rbac.deny');
  });
});

describe('a state file written before failures and RBAC existed', () => {
  it('when it lacks them, then the emulator starts with none, and both can be set', async () => {
    const old = { schemaVersion: 1, clock: { mode: 'manual', nowIso: TEST_START }, accounts: {}, operations: {}, keyVault: { secrets: {}, deleted: {} }, faults: [] };
    writeFileSync(join(dataDir, 'state.json'), JSON.stringify(old));
    const emulator = await start();
    const account = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });

    const rbac = await control(emulator, 'GET', '/rbac');
    const planned = await control(emulator, 'POST', '/operations/fail-next', { accountId: account.id });

    expect(rbac.body).toEqual({ deny: [] });
    expect(planned.status).toBe(201);
    expect(JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).operationFailures).toHaveLength(1);
  });
});
