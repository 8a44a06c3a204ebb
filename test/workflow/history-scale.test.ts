/**
 * The history's cost at fleet scale: a re-rotation start archives the
 * rotation it replaces and trims the account's records to
 * HISTORY_MAX_PER_ACCOUNT. It asks the host for this account's records only
 * (the Durable Functions HTTP API's "Get all instances" with `instanceIdPrefix`;
 * Microsoft Learn "HTTP API reference" for Durable Functions), so what a start
 * costs does not grow with the other accounts' records in the task hub.
 */
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { afterEach, describe, expect, it } from 'vitest';
import { listInstancesByPrefix } from '../../src/history/instance-query.js';
import { rotationInstanceId } from '../../src/domain/rotation-plan.js';
import { HISTORY_RECORD_ORCHESTRATOR } from '../../src/workflow/history-record.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS } from './rotation-harness.js';

const OTHER_RECORDS = 1000;

describe('the rotation history in a task hub holding many records', () => {
  let api: ApiHarness;
  afterEach(async () => api?.close());

  /** Records of accounts in the same resource group (that the app need not know: the hub keeps them all the same). */
  async function seedRecords(names: string[], perAccount: number): Promise<void> {
    const orders = api.rotation.accountId('orders');
    for (const name of names) {
      for (let index = 0; index < perAccount; index += 1) {
        const stamp = `202601${String(index + 1).padStart(2, '0')}T000000Z`;
        await api.driver.startNew(HISTORY_RECORD_ORCHESTRATOR, {
          instanceId: `${rotationInstanceId(orders.replace(/\/orders$/, `/${name}`))}--history--${stamp}`,
          input: { rotationId: `${name}-${index}`, state: 'rotated', startedAt: `2026-01-${String(index + 1).padStart(2, '0')}T00:00:00.000Z`, trigger: { reason: `${name} ${index}` } },
        });
      }
    }
    await api.driver.runUntilIdle();
  }

  it('when 1,000 records of other accounts are in the task hub, then a re-rotation start makes a bounded number of durable requests, still trims to HISTORY_MAX_PER_ACCOUNT and the history lists only its own rotations', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }], settings: { HISTORY_MAX_PER_ACCOUNT: '2' } });
    await seedRecords(Array.from({ length: OTHER_RECORDS / 10 }, (_, index) => `other-${String(index).padStart(3, '0')}`), 10);
    // An account whose name starts like this one's: its records are not this account's to list or trim.
    await seedRecords(['orders-eu'], 3);

    const requests: Array<Record<string, number>> = [];
    for (const reason of ['one', 'two', 'three', 'four']) {
      api.driver.durableRequestCounts({ reset: true });
      expect((await api.call('POST', '/rotations', { account: 'orders', force: true, reason })).status).toBe(202);
      requests.push(api.driver.durableRequestCounts());
      await api.rotation.runUntil(new Date(api.clock.nowMs() + 2 * HOUR_MS));
    }

    // Each re-rotation start: the current instance, the record's check and start, one page of this account's records, a purge once past the max, the start.
    for (const counts of requests.slice(1)) {
      expect(counts.listInstances).toBe(1);
      expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBeLessThanOrEqual(7);
    }
    expect(requests[3]!.purgeInstance).toBe(1);

    api.driver.durableRequestCounts({ reset: true });
    const history = await api.call('GET', '/rotations/orders/history');
    expect((history.body.rotations as Array<{ trigger: { reason: string } }>).map((rotation) => rotation.trigger.reason)).toEqual(['four', 'three', 'two']);
    expect(api.driver.durableRequestCounts().listInstances).toBe(1);
    const others = await api.driver.listInstances({ instanceIdPrefix: 'cosmos-rotation--' });
    expect(others.filter((status) => status.instanceId.includes('--orders-eu--history--'))).toHaveLength(3);
    expect(others.filter((status) => /--other-\d{3}--history--/.test(status.instanceId))).toHaveLength(OTHER_RECORDS);
  });

  it('when the client binding names no local RPC endpoint, then the records are asked of the webhook its management links point at, with the same answer', async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }] });
    await seedRecords(['orders', 'orders-eu'], 3);
    const { rpcBaseUrl: _rpc, ...withoutRpc } = api.driver.clientInputData();
    const binding = df.input.durableClient();
    const context = new InvocationContext({ functionName: 'test', invocationId: 'test', options: { extraInputs: [binding] } });
    context.extraInputs.set(binding, withoutRpc);
    // As in Azure, where WEBSITE_HOSTNAME names the app: durable-functions keeps the binding's webhook origin (else it writes localhost:7071).
    const hostname = process.env.WEBSITE_HOSTNAME;
    process.env.WEBSITE_HOSTNAME = new URL(api.driver.baseUrl).host;
    const client = df.getClient(context);
    if (hostname === undefined) delete process.env.WEBSITE_HOSTNAME;
    else process.env.WEBSITE_HOSTNAME = hostname;
    api.driver.durableRequestCounts({ reset: true });

    const found = await listInstancesByPrefix(client, `${api.rotation.instanceId('orders')}--history--`, [df.OrchestrationRuntimeStatus.Completed]);

    expect(found.map((status) => status.instanceId).sort()).toEqual([1, 2, 3].map((day) => `${api.rotation.instanceId('orders')}--history--2026010${day}T000000Z`));
    expect(api.driver.durableRequestCounts()).toEqual({ listInstances: 1 });
  });
});
