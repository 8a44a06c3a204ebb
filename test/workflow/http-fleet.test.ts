import { afterEach, describe, expect, it } from 'vitest';
import type { KeyReportAccount } from '../../src/api/fleet-operations.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS, SAFE_CHECK } from './rotation-harness.js';

const DAY_MS = 24 * HOUR_MS;

interface HistoryBody {
  total: number;
  nextLink: string | null;
  rotations: Array<{
    rotationId: string;
    state: string;
    force: boolean;
    trigger: { kind: string; reason: string | null; requestedBy: string | null; resumedFrom: string[] };
    cancelled: { reason: string | null; phase: string | null } | null;
    phases: Array<{ phase: string }>;
    waitEndings: Array<{ wait: string; ended: string; by: string | null; note: string | null }>;
    confirmedBy: Array<{ by: string | null; at: string | null; note: string | null }>;
    secretVersions: Array<{ pair: string; version: string }>;
  }>;
}

describe('GET /api/rotations/{account}/history', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  async function runFor(ms: number): Promise<void> {
    await api.rotation.runUntil(new Date(api.clock.nowMs() + ms));
  }

  it('when an account was rotated, cancelled, resumed and confirmed, then every rotation is listed newest first with its trigger, outcome and how its waits ended', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await api.rotation.seedSecretByHand('orders', 'primary');

    expect((await api.call('POST', '/rotations', { account: 'orders', force: true, reason: 'first' })).status).toBe(202);
    await runFor(2 * HOUR_MS);
    expect((await api.call('POST', '/rotations', { account: 'orders', reason: 'second' })).status).toBe(202);
    await runFor(HOUR_MS);
    expect((await api.call('POST', '/rotations/orders/cancel', { reason: 'release freeze' })).status).toBe(202);
    await runFor(HOUR_MS);
    // A start after a cancel at the consumer wait resumes it (issue 10): nothing is regenerated again.
    expect((await api.call('POST', '/rotations', { account: 'orders', reason: 'freeze over' })).status).toBe(202);
    await runFor(HOUR_MS);
    const moved = await api.call('POST', '/rotations/orders/consumers-moved', { by: 'alice', note: 'all pods restarted' });
    expect(moved.status).toBe(202);
    await runFor(2 * HOUR_MS);

    const history = await api.call('GET', '/rotations/orders/history');
    expect(history.status).toBe(200);
    const body = history.body as unknown as HistoryBody;
    expect(body.total).toBe(3);
    expect(body.rotations.map((r) => [r.trigger.reason, r.state, r.trigger.kind, r.force])).toEqual([
      ['freeze over', 'rotated', 'resumed', false],
      ['second', 'cancelled', 'operator', false],
      ['first', 'rotated', 'operator', true],
    ]);
    const [third, second, first] = body.rotations;
    expect(third!.trigger.resumedFrom).toEqual([second!.rotationId]);
    expect(third!.waitEndings).toEqual([expect.objectContaining({ wait: 'consumers', ended: 'operator', by: 'alice', note: 'all pods restarted' })]);
    expect(third!.confirmedBy).toEqual([{ by: 'alice', at: expect.any(String), note: 'all pods restarted' }]);
    expect(third!.secretVersions).toEqual([]);
    expect(second!.cancelled).toEqual({ reason: 'release freeze (cancelled by function key)', phase: 'waitingForConsumers' });
    expect(first!.waitEndings).toEqual([expect.objectContaining({ wait: 'consumers', ended: 'forced' })]);
    expect(first!.secretVersions).toEqual([{ pair: 'readWrite', version: expect.any(String) }]);
    expect(first!.phases.map((p) => p.phase)).toEqual(['inspecting', 'regeneratingStandby', 'validating', 'publishing', 'regeneratingOldKey']);
    expect(new Set(body.rotations.map((r) => r.rotationId)).size).toBe(3);
    // The hand-seeded version, then one per rotation that published: the resumed run published nothing.
    expect(await api.rotation.secretVersions('orders-key')).toHaveLength(3);

    const page = await api.call('GET', '/rotations/orders/history?top=2');
    expect((page.body as unknown as HistoryBody).rotations).toHaveLength(2);
    expect((page.body as unknown as HistoryBody).nextLink).toMatch(/\/api\/rotations\/orders\/history\?top=2&skip=2$/);
    const rest = await api.call('GET', '/rotations/orders/history?top=2&skip=2');
    expect((rest.body as unknown as HistoryBody).rotations.map((r) => r.trigger.reason)).toEqual(['first']);
    expect((rest.body as unknown as HistoryBody).nextLink).toBeNull();
    expect(api.leakedKeys()).toEqual([]);
  });

  it('when an operator finishes a needs-attention rotation with consumers-moved, then the stopped one stays in the history and the resumed one names it', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { CONSUMER_WAIT_MAX_IN_HOURS: '1' } });
    await api.rotation.seedSecretByHand('orders', 'primary');
    expect((await api.call('POST', '/rotations', { account: 'orders', reason: 'quarterly' })).status).toBe(202);
    await runFor(3 * HOUR_MS);
    expect((await api.call('POST', '/rotations/orders/consumers-moved', { by: 'bob' })).status).toBe(202);
    await runFor(HOUR_MS);

    const body = (await api.call('GET', '/rotations/orders/history')).body as unknown as HistoryBody;

    expect(body.rotations.map((r) => [r.state, r.trigger.kind])).toEqual([
      ['rotated', 'resumed'],
      ['needsAttention', 'operator'],
    ]);
    expect(body.rotations[0]!.trigger.resumedFrom).toEqual([body.rotations[1]!.rotationId]);
    expect(body.rotations[1]!.waitEndings).toEqual([expect.objectContaining({ wait: 'consumers', ended: 'boundPassed' })]);
  });

  it('when the schedule starts a rotation, then its trigger is schedule', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await api.runTimer();
    await runFor(HOUR_MS);

    const body = (await api.call('GET', '/rotations/orders/history')).body as unknown as HistoryBody;

    expect(body.rotations).toEqual([expect.objectContaining({ trigger: { kind: 'schedule', requestedBy: 'schedule', reason: 'scheduled rotation', resumedFrom: [] } })]);
  });

  it('when more rotations ran than HISTORY_MAX_PER_ACCOUNT, then the oldest are purged; past HISTORY_RETENTION_IN_DAYS the timer purges the rest', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { HISTORY_MAX_PER_ACCOUNT: '2', HISTORY_RETENTION_IN_DAYS: '3', ROTATION_INTERVAL_IN_DAYS: '30' } });
    for (const reason of ['one', 'two', 'three', 'four']) {
      expect((await api.call('POST', '/rotations', { account: 'orders', force: true, reason })).status).toBe(202);
      await runFor(2 * HOUR_MS);
    }
    const kept = (await api.call('GET', '/rotations/orders/history')).body as unknown as HistoryBody;
    expect(kept.rotations.map((r) => r.trigger.reason)).toEqual(['four', 'three', 'two']);

    await runFor(4 * DAY_MS);
    await api.runTimer();
    const purged = (await api.call('GET', '/rotations/orders/history')).body as unknown as HistoryBody;
    expect(purged.rotations.map((r) => r.trigger.reason)).toEqual(['four']);
    expect(api.rotation.logLines.join('\n')).toMatch(/2 expired history record\(s\) purged/);
  });

  it('when the page size is out of range or the account is unknown, then the answer names what is wrong', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    const tooBig = await api.call('GET', '/rotations/orders/history?top=101');
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error).toEqual({ code: 'invalidQuery', message: 'The query parameter "top" must be a whole number from 1 to 100, got "101".' });
    expect((await api.call('GET', '/rotations/orders/history?skip=-1')).body.error?.code).toBe('invalidQuery');
    expect((await api.call('GET', '/rotations/payments/history')).status).toBe(404);
    expect((await api.call('GET', '/rotations/orders/history')).body).toMatchObject({ total: 0, rotations: [], nextLink: null });
  });
});

describe('GET /api/keys', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  it('when one account is in use and another was never used for longer than LOCAL_AUTH_UNUSED_IN_DAYS, then only the unused one is ready to disable local auth, with the az command', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }, { name: 'legacy' }], settings: { LOCAL_AUTH_UNUSED_IN_DAYS: '30' } });
    await api.rotation.seedSecretByHand('orders', 'primary');
    await api.clock.advance(31 * DAY_MS);
    expect(await api.rotation.useKey('orders', 'primary')).toBe(200);

    const report = await api.call('GET', '/keys');

    expect(report.status).toBe(200);
    const [orders, legacy] = report.body.accounts as KeyReportAccount[];
    expect(orders!.account.name).toBe('orders');
    expect(orders!.capabilities).toEqual({ keyCheckBeforeRegeneration: true, keyCheckBeforeDisablingLocalAuth: false });
    expect(orders!.keys.map((k) => [k.keyKind, k.ageInDays, k.heldByKeyVault])).toEqual([
      ['primary', 31, true],
      ['secondary', 31, false],
      ['primaryReadonly', 31, false],
      ['secondaryReadonly', 31, false],
    ]);
    expect(orders!.keys[0]!.lastUsedAt).toBe(new Date(api.clock.nowMs()).toISOString());
    expect(orders!.secrets).toEqual([expect.objectContaining({ pair: 'readWrite', secretName: 'orders-key', keyKind: 'primary', ageInDays: 31, rotationIntervalInDays: 30, overdue: true })]);
    expect(orders!.overdue).toBe(true);
    expect(orders!.readyToDisableLocalAuth).toMatchObject({ ready: false, command: null });
    expect(orders!.readyToDisableLocalAuth!.reason).toMatch(/^primary was used at .*30 days/);

    expect(legacy!.secrets).toEqual([expect.objectContaining({ keyKind: null, publishedAt: null, overdue: true })]);
    expect(legacy!.readyToDisableLocalAuth).toMatchObject({ ready: true, lastKeyUseAt: null });
    // Microsoft Learn, "Disable key-based authentication with Azure Cosmos DB for NoSQL": az resource update ... --set properties.disableLocalAuth=true
    expect(legacy!.readyToDisableLocalAuth!.command).toBe(
      `az resource update --subscription ${api.rotation.accountId('legacy').split('/')[2]} --resource-group rg-data --name legacy --resource-type Microsoft.DocumentDB/databaseAccounts --set properties.disableLocalAuth=true`,
    );
    expect(api.leakedKeys()).toEqual([]);
  });
});
