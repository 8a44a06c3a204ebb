import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { createDurableDriver, type DurableDriver } from '../../emulator/durable/index.js';
import { nightlyRuns } from '../fixtures/durable-app/triggers.js';

const start = '2026-03-01T00:00:00.000Z';

let driver: DurableDriver;

beforeAll(async () => {
  await import('../fixtures/durable-app/index.js');
});

afterEach(async () => {
  await driver?.close();
  delete process.env.FIXTURE_NIGHTLY_SCHEDULE;
});

async function newDriver(): Promise<DurableDriver> {
  driver = await createDurableDriver({ clock: new VirtualClock('manual', start), taskHub: 'clienthub' });
  return driver;
}

/** The real JavaScript DurableClient, given the binding data the host would pass. */
function realClient(): df.DurableClient {
  const binding = df.input.durableClient();
  const context = new InvocationContext({ functionName: 'test', invocationId: 'test', options: { extraInputs: [binding] } });
  context.extraInputs.set(binding, driver.clientInputData());
  return df.getClient(context);
}

describe('an HTTP starter using the real durable client', () => {
  it('when a request starts an orchestration, then the status links work until the approval event completes it', async () => {
    await newDriver();

    const started = await driver.invokeHttp('fixtureStart', { method: 'POST', params: { orchestratorName: 'fixtureApproval' }, body: { ticket: 42 } });

    expect(started.status).toBe(202);
    const links = started.jsonBody as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
    expect(started.headers.location).toBe(links.statusQueryGetUri);
    expect(links.statusQueryGetUri.startsWith(`${driver.baseUrl}/runtime/webhooks/durabletask/instances/${links.id}?taskHub=clienthub`)).toBe(true);

    const pending = await fetch(links.statusQueryGetUri);
    expect(pending.status).toBe(202);
    expect(await pending.json()).toMatchObject({ runtimeStatus: 'Pending', input: { ticket: 42 } });

    await driver.runUntilIdle();
    const running = await fetch(links.statusQueryGetUri);
    expect(running.status).toBe(202);
    expect(await running.json()).toMatchObject({ runtimeStatus: 'Running', customStatus: 'awaiting approval' });

    const approved = await driver.invokeHttp(`/api/approvals/${links.id}`, { method: 'POST', body: { name: 'Ada' } });
    expect(approved.status).toBe(202);
    await driver.runUntilIdle();

    const done = await fetch(`${links.statusQueryGetUri}&showHistory=true`);
    expect(done.status).toBe(200);
    const status = (await done.json()) as { runtimeStatus: string; output: unknown; historyEvents: Array<{ EventType: string; FunctionName?: string }> };
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { requested: { ticket: 42 }, greeting: 'Hello, Ada!' } });
    expect(status.historyEvents.map((event) => event.EventType)).toEqual(['ExecutionStarted', 'EventRaised', 'TaskCompleted', 'ExecutionCompleted']);
  });

  it("when a caller posts to the app's route over HTTP, then the driver's server runs the function and the event link raises the event", async () => {
    await newDriver();

    const response = await fetch(`${driver.baseUrl}/api/orchestrators/fixtureApproval`, { method: 'POST', body: JSON.stringify({ ticket: 7 }) });
    expect(response.status).toBe(202);
    const links = (await response.json()) as { id: string; sendEventPostUri: string };
    await driver.runUntilIdle();

    const raised = await fetch(links.sendEventPostUri.replace('{eventName}', 'approval'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Grace' }),
    });
    expect(raised.status).toBe(202);
    await driver.runUntilIdle();

    expect(await driver.getStatus(links.id)).toMatchObject({ runtimeStatus: 'Completed', output: { greeting: 'Hello, Grace!' } });
  });

  it('when a route does not exist or the method is wrong, then the server answers 404', async () => {
    await newDriver();
    expect((await fetch(`${driver.baseUrl}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${driver.baseUrl}/api/orchestrators/fixtureApproval`)).status).toBe(404);
  });
});

describe('the durable HTTP API as the real client sees it', () => {
  it('when an instance is queried, raised, terminated and purged through the client, then each call behaves as against the host', async () => {
    await newDriver();
    const client = realClient();

    const id = await client.startNew('fixtureWaitForever', { instanceId: 'client-managed', input: { why: 'test' } });
    expect(id).toBe('client-managed');
    await expect(client.startNew('fixtureWaitForever', { instanceId: 'client-managed' })).rejects.toThrow(/409/);
    await expect(client.getStatus('no-such-instance')).rejects.toThrow(/404/);
    await driver.runUntilIdle();

    const status = await client.getStatus(id, { showHistory: true });
    expect(status).toMatchObject({ runtimeStatus: 'Running', input: { why: 'test' }, instanceId: id, name: 'fixtureWaitForever' });
    expect(status.createdTime).toEqual(new Date(start));
    // The API sends `historyEvents`, as the extension does; this client reads `history` (durable-js #620).
    expect(status.history).toBeUndefined();
    await expect(client.purgeInstanceHistory(id)).rejects.toThrow(/412/);

    await client.terminate(id, 'enough');
    await driver.runUntilIdle();
    expect(await client.getStatus(id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'enough' });

    // A finished instance answers 410, which the client treats as done.
    await expect(client.raiseEvent(id, 'never', { late: true })).resolves.toBeUndefined();
    expect(await client.purgeInstanceHistory(id)).toEqual({ instancesDeleted: 1 });
    expect(await client.purgeInstanceHistory(id)).toEqual({ instancesDeleted: 0 });
  });

  it('when instances are listed with a status filter, then only matching instances come back', async () => {
    await newDriver();
    const client = realClient();
    await client.startNew('fixtureSequence', { instanceId: 'done-one' });
    await client.startNew('fixtureWaitForever', { instanceId: 'still-waiting' });
    await driver.runUntilIdle();

    const running = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Running] });
    const all = await client.getStatusAll();

    expect(running.map((status) => status.instanceId)).toEqual(['still-waiting']);
    expect(all.map((status) => [status.instanceId, status.runtimeStatus])).toEqual([
      ['done-one', 'Completed'],
      ['still-waiting', 'Running'],
    ]);
    const listed = await driver.invokeHttp('fixtureList');
    expect((listed.jsonBody as unknown[]).length).toBe(2);
  });

  it('when more than 100 instances exist and the client names no page size, then the list comes in pages of 100 that getStatusAll follows to the end', async () => {
    // The extension pages an instance query by 100 unless `top` says otherwise, and the
    // client follows x-ms-continuation-token (Azure/azure-functions-durable-python issue 580;
    // durable-functions' DurableClient.getStatusInternal).
    await newDriver();
    const client = realClient();
    for (let index = 0; index < 250; index++) await client.startNew('fixtureWaitForever', { instanceId: `waiting-${String(index).padStart(3, '0')}` });
    await driver.runUntilIdle();
    driver.durableRequestCounts({ reset: true });

    const all = await client.getStatusAll();

    expect(all).toHaveLength(250);
    expect(new Set(all.map((status) => status.instanceId)).size).toBe(250);
    expect(driver.durableRequestCounts()).toEqual({ listInstances: 3 });
  });

  it('when the history is requested, then inputs are hidden and outputs appear only on request', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureSequence', { input: { secret: 'not shown' } });
    await driver.runUntilIdle();

    const plain = await driver.getStatus(id, { showHistory: true });
    const withOutput = await driver.getStatus(id, { showHistory: true, showHistoryOutput: true });

    expect(JSON.stringify(plain?.history)).not.toContain('not shown');
    expect(plain?.history?.find((event) => event.EventType === 'TaskCompleted')).not.toHaveProperty('Result');
    expect(withOutput?.history?.find((event) => event.EventType === 'TaskCompleted')).toMatchObject({
      FunctionName: 'fixtureGreet',
      Result: 'Hello, Tokyo!',
      ScheduledTime: start,
    });
  });

  it('when a webhook URL is called without the system key, then it is refused', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureWaitForever');
    const statusUrl = driver.clientInputData().managementUrls.statusQueryGetUri?.replace('INSTANCEID', id) ?? '';

    expect((await fetch(statusUrl)).status).toBe(202);
    expect((await fetch(statusUrl.replace(/&code=[^&]+/, ''))).status).toBe(401);
  });
});

describe('watching many instances', () => {
  it('when one of several waiting instances gets its event, then changedInstances since the last mark returns only that one, and nothing once nothing changed', async () => {
    await newDriver();
    for (const id of ['watch-a', 'watch-b', 'watch-c']) await driver.startNew('fixtureCustomStatus', { instanceId: id });
    await driver.runUntilIdle();
    const all = await driver.changedInstances(0);
    expect(all.statuses.map((status) => status.instanceId)).toEqual(['watch-a', 'watch-b', 'watch-c']);

    await driver.raiseEvent('watch-b', 'go', { who: 'watcher' });
    await driver.runUntilIdle();
    const changed = await driver.changedInstances(all.mark);

    expect(changed.statuses.map((status) => [status.instanceId, status.runtimeStatus, status.customStatus])).toEqual([
      ['watch-b', 'Completed', { phase: 'done', who: 'watcher' }],
    ]);
    expect((await driver.changedInstances(changed.mark)).statuses).toEqual([]);
  });
});

describe('a timer trigger invoked through the driver', () => {
  it('when the nightly timer fires, then it starts the orchestration once and skips while that instance still runs', async () => {
    await newDriver();
    process.env.FIXTURE_NIGHTLY_SCHEDULE = '0 30 2 * * *';
    nightlyRuns.length = 0;

    await driver.invokeTimer('fixtureNightly');
    await driver.invokeTimer('fixtureNightly', { isPastDue: true });

    expect(nightlyRuns).toEqual([
      { isPastDue: false, started: 'fixture-nightly' },
      { isPastDue: true, skipped: 'fixture-nightly' },
    ]);
    await driver.runUntilIdle();
    expect((await driver.getStatus('fixture-nightly'))?.runtimeStatus).toBe('Completed');

    await driver.invokeTimer('fixtureNightly');
    expect(nightlyRuns.at(-1)).toEqual({ isPastDue: false, started: 'fixture-nightly' });
  });
});

describe('background processing for the CLI and demo', () => {
  it('when autoRun is on, then a start over HTTP runs by itself and its timer fires as soon as the shared clock is moved', async () => {
    const clock = new VirtualClock('manual', start);
    driver = await createDurableDriver({ clock, autoRun: true });
    const response = await fetch(`${driver.baseUrl}/api/orchestrators/fixtureTimer`, { method: 'POST', body: JSON.stringify({ hours: 2 }) });
    const { id } = (await response.json()) as { id: string };
    await driver.whenIdle();
    expect((await driver.getStatus(id))?.runtimeStatus).toBe('Running');

    // As the Azure emulator's control API would: whoever moves the clock wakes the timers.
    clock.advance(2 * 3600_000);
    let status = await driver.getStatus(id);
    for (let turn = 0; turn < 500 && status?.runtimeStatus !== 'Completed'; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      status = await driver.getStatus(id);
    }

    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { wokeAt: '2026-03-01T02:00:00.000Z' } });
  });
});
