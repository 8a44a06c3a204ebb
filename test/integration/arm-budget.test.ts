/**
 * The app's ARM budget (src/azure/arm-budget.ts), through the real
 * @azure/arm-cosmosdb client against the emulator, on a manual clock: the
 * budget's waits move it (nothing sleeps on real time).
 *
 * Source for the headers and the bucket behaviour: Microsoft Learn,
 * "Understand how Azure Resource Manager throttles requests"
 * (azure-resource-manager/management/request-limits-and-throttling): a token
 * bucket per subscription, principal and operation type, reads 250 refilled
 * 25/s, writes 200 refilled 10/s; `x-ms-ratelimit-remaining-subscription-reads`
 * on reads and `-writes` on writes; over the limit a 429 with `Retry-After`,
 * and a request sent before it has passed is refused again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import type { TransientError } from '../../src/errors.js';
import { ArmRequestLog } from '../helpers/arm-request-log.js';
import { SUBSCRIPTION_ID, TEST_START, control } from '../helpers/emulator.js';
import { startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

const OTHER_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000002';

describe('the ARM budget: per subscription, reads and writes apart', () => {
  let fixture: RotatorFixture;
  let clock: VirtualClock;
  let requests: ArmRequestLog;
  let orders: string;
  afterEach(async () => fixture?.close());

  async function start(settings: Record<string, string> = {}): Promise<void> {
    clock = new VirtualClock('manual', TEST_START);
    requests = new ArmRequestLog(() => clock.nowMs());
    fixture = await startRotatorFixture(settings, { clock, log: requests.log });
    orders = await fixture.createAccount('orders-db');
  }

  /** Settles every call, keeping failures as values. */
  function all(calls: Array<() => Promise<unknown>>): Promise<unknown[]> {
    return Promise.all(calls.map((call) => call().catch((error: Error) => error)));
  }

  it('when 60 account reads and 30 key listings start at once, then no virtual second carries more than 20 reads or 5 writes, none is throttled, and all complete', async () => {
    await start();
    const startedMs = clock.nowMs();

    const results = await all([
      ...Array.from({ length: 60 }, () => () => fixture.adapters.cosmosManagement.getAccount(orders)),
      ...Array.from({ length: 30 }, () => () => fixture.adapters.cosmosManagement.listKeys(orders, 'readWrite')),
    ]);

    expect(results.filter((result) => result instanceof Error)).toEqual([]);
    expect(requests.peak('reads')).toBe(20);
    expect(requests.peak('writes')).toBe(5);
    expect(requests.peak('reads', { windowMs: 60_000 })).toBe(60);
    expect(requests.count((request) => request.status === 429)).toBe(0);
    // 30 writes at 5 per second: the last went 5 virtual seconds after the first.
    expect(clock.nowMs() - startedMs).toBe(5_000);
  });

  it('when a burst would wait longer than a few seconds, then the excess fails before it is sent, as transient with Retry-After', async () => {
    await start();

    const results = await all(Array.from({ length: 40 }, () => () => fixture.adapters.cosmosManagement.listKeys(orders, 'readWrite')));

    const refused = results.filter((result): result is TransientError => result instanceof Error);
    expect(refused).toHaveLength(10);
    for (const error of refused) {
      expect(error).toMatchObject({ name: 'TransientError', code: 'ArmBudgetSpent', retryAfterInMs: expect.any(Number) });
      expect(error.message).toMatch(/ARM budget of writes for subscription .* is spent .*ARM_WRITES_PER_SECOND/);
    }
    expect(requests.count((request) => request.type === 'writes')).toBe(30);
    expect(requests.peak('writes')).toBe(5);
  });

  it('when ARM answers 429 with Retry-After 30, then the app sends no read to that subscription for 30 seconds, and writes go on', async () => {
    await start();
    await control(fixture.emulator, 'POST', '/faults', { service: 'arm', method: 'GET', status: 429, retryAfterSeconds: 30, times: 1 });

    await expect(fixture.adapters.cosmosManagement.getAccount(orders)).rejects.toMatchObject({ name: 'TransientError', statusCode: 429, retryAfterInMs: 30_000 });
    const readsAfterThrottle = requests.count((request) => request.type === 'reads');
    clock.advance(20_000);
    await expect(fixture.adapters.cosmosManagement.getAccount(orders)).rejects.toMatchObject({ name: 'TransientError', code: 'ArmBudgetSpent', retryAfterInMs: 10_000 });
    expect(requests.count((request) => request.type === 'reads')).toBe(readsAfterThrottle);
    await expect(fixture.adapters.cosmosManagement.listKeys(orders, 'readWrite')).resolves.toBeDefined();

    clock.advance(10_000);
    await expect(fixture.adapters.cosmosManagement.getAccount(orders)).resolves.toMatchObject({ accountId: orders });
    expect(requests.count((request) => request.type === 'reads')).toBe(readsAfterThrottle + 1);
  });

  it('when ARM says few reads are left (a small bucket shared with others), then the app sends fewer than its budget per second and meets no 429', async () => {
    await start();
    // A principal bucket of 100 reads refilled 2 per second: x-ms-ratelimit-remaining-subscription-reads falls fast.
    await control(fixture.emulator, 'PUT', '/throttling', { arm: { reads: { bucketSize: 100, refillPerSecond: 2 } } });

    const results = await all(Array.from({ length: 60 }, () => () => fixture.adapters.cosmosManagement.getAccount(orders)));

    expect(requests.count((request) => request.status === 429)).toBe(0);
    // The first second goes at the budget (nothing was known yet); after it, at most a tenth of what is left.
    const firstSecond = Math.floor(Date.parse(TEST_START) / 1000);
    const later = requests.requests.filter((request) => Math.floor(request.atMs / 1000) > firstSecond);
    const perSecond = new Map<number, number>();
    for (const request of later) perSecond.set(Math.floor(request.atMs / 1000), (perSecond.get(Math.floor(request.atMs / 1000)) ?? 0) + 1);
    expect(later.length).toBeGreaterThan(0);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(8);
    const refused = results.filter((result): result is TransientError => result instanceof Error);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.message).toMatch(/ARM reports few reads left, so the app sends \d+ per second instead of 20/);
  });

  it('when two subscriptions are read at once, then each has its own budget', async () => {
    await start();
    const other = (await fixture.emulator.createAccount({ subscriptionId: OTHER_SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'billing-db' })).id;
    const startedMs = clock.nowMs();

    const results = await all([
      ...Array.from({ length: 20 }, () => () => fixture.adapters.cosmosManagement.getAccount(orders)),
      ...Array.from({ length: 20 }, () => () => fixture.adapters.cosmosManagement.getAccount(other)),
    ]);

    expect(results.filter((result) => result instanceof Error)).toEqual([]);
    expect(requests.peak('reads', { subscriptionId: SUBSCRIPTION_ID })).toBe(20);
    expect(requests.peak('reads', { subscriptionId: OTHER_SUBSCRIPTION_ID })).toBe(20);
    // Nobody waited: both budgets had room for all of them in the same second.
    expect(clock.nowMs()).toBe(startedMs);
  });

  it('when ARM_READS_PER_SECOND is 5, then 5 reads go per second', async () => {
    await start({ ARM_READS_PER_SECOND: '5' });

    const results = await all(Array.from({ length: 15 }, () => () => fixture.adapters.cosmosManagement.getAccount(orders)));

    expect(results.filter((result) => result instanceof Error)).toEqual([]);
    expect(requests.peak('reads')).toBe(5);
  });
});
