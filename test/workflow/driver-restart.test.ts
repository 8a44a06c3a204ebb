import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { createDurableDriver, type DurableDriver } from '../../emulator/durable/index.js';
import { executionsOf } from '../fixtures/durable-app/activities.js';

const start = '2026-03-01T00:00:00.000Z';
const hourMs = 3600_000;

let stateDir: string;
const drivers: DurableDriver[] = [];

beforeAll(async () => {
  await import('../fixtures/durable-app/index.js');
});

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'durable-driver-'));
});

afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
  rmSync(stateDir, { recursive: true, force: true });
});

async function host(clock: VirtualClock, faults?: Parameters<typeof createDurableDriver>[0]['faults']): Promise<DurableDriver> {
  const driver = await createDurableDriver({ clock, stateDir, taskHub: 'restarthub', ...(faults ? { faults } : {}) });
  drivers.push(driver);
  return driver;
}

describe('crash and restart from the state directory', () => {
  it('when the host dies after an activity ran but before its completion was recorded, then a new host runs exactly that activity again', async () => {
    const clock = new VirtualClock('manual', start);
    const steps = ['crash-a', 'crash-b', 'crash-c'];
    const first = await host(clock, { crashAfterActivity: (activity) => activity.name === 'fixtureStep' && activity.taskScheduledId === 1 });
    const id = await first.startNew('fixtureThreeSteps', { instanceId: 'three-steps', input: steps });

    const crashed = await first.runUntilIdle();

    expect(crashed.reason).toBe('crashed');
    expect(first.crashed).toBe(true);
    expect(steps.map((step) => executionsOf(`fixtureStep:${step}`))).toEqual([1, 1, 0]);
    await first.close();

    const second = await host(clock);
    expect(await second.getStatus(id)).toMatchObject({ runtimeStatus: 'Running' });
    await second.runUntilIdle();

    expect(await second.getStatus(id)).toMatchObject({ runtimeStatus: 'Completed', output: ['crash-a done', 'crash-b done', 'crash-c done'] });
    expect(steps.map((step) => executionsOf(`fixtureStep:${step}`))).toEqual([1, 2, 1]);
  });

  it('when the host dies just before an activity runs, then that activity never ran and a new host runs it once', async () => {
    const clock = new VirtualClock('manual', start);
    const steps = ['before-a', 'before-b', 'before-c'];
    const first = await host(clock, { crashBeforeActivity: (activity) => activity.name === 'fixtureStep' && activity.taskScheduledId === 1 });
    const id = await first.startNew('fixtureThreeSteps', { instanceId: 'three-steps-before', input: steps });

    const crashed = await first.runUntilIdle();

    expect(crashed.reason).toBe('crashed');
    expect(steps.map((step) => executionsOf(`fixtureStep:${step}`))).toEqual([1, 0, 0]);
    await first.close();

    const second = await host(clock);
    await second.runUntilIdle();

    expect(await second.getStatus(id)).toMatchObject({ runtimeStatus: 'Completed', output: ['before-a done', 'before-b done', 'before-c done'] });
    expect(steps.map((step) => executionsOf(`fixtureStep:${step}`))).toEqual([1, 1, 1]);
  });

  it('when the host is closed with work still pending, then a new host resumes every instance where it stopped', async () => {
    const clock = new VirtualClock('manual', start);
    const first = await host(clock);
    const timer = await first.startNew('fixtureTimer', { instanceId: 'sleeper', input: { hours: 12 } });
    const waiting = await first.startNew('fixtureCustomStatus', { instanceId: 'waiter' });
    await first.runUntilIdle({ until: new Date(new Date(start).getTime() + hourMs) });
    const notStarted = await first.startNew('fixtureSequence', { instanceId: 'not-started' });
    expect((await first.getStatus(waiting))?.runtimeStatus).toBe('Running');
    await first.close();

    const second = await host(clock);
    expect((await second.listInstances()).map((status) => [status.instanceId, status.runtimeStatus])).toEqual([
      ['sleeper', 'Running'],
      ['waiter', 'Running'],
      ['not-started', 'Pending'],
    ]);
    await second.raiseEvent(waiting, 'go', { who: 'restarted host' });
    await second.runUntilIdle();

    expect(await second.getStatus(timer)).toMatchObject({ runtimeStatus: 'Completed', output: { wokeAt: new Date(new Date(start).getTime() + 12 * hourMs).toISOString() } });
    expect(await second.getStatus(waiting)).toMatchObject({ runtimeStatus: 'Completed', customStatus: { who: 'restarted host' } });
    expect(await second.getStatus(notStarted)).toMatchObject({ runtimeStatus: 'Completed' });
    expect(second.counters(timer)?.episodes).toBe(2);
  });

  it('when a run returns, then the files hold what it recorded, even before the host is closed', async () => {
    const clock = new VirtualClock('manual', start);
    const first = await host(clock);
    await first.startNew('fixtureSequence', { instanceId: 'written-at-run-end' });
    await first.startNew('fixtureCustomStatus', { instanceId: 'waiting-at-run-end' });
    await first.runUntilIdle();

    const second = await host(clock);
    expect((await second.listInstances()).map((status) => [status.instanceId, status.runtimeStatus])).toEqual([
      ['written-at-run-end', 'Completed'],
      ['waiting-at-run-end', 'Running'],
    ]);
    expect(second.counters('written-at-run-end')?.episodes).toBe(first.counters('written-at-run-end')?.episodes);
  });

  it('when instances are persisted, then each has its own file and nothing temporary is left behind', async () => {
    const clock = new VirtualClock('manual', start);
    const driver = await host(clock);
    await driver.startNew('fixtureSequence', { instanceId: 'file-one' });
    await driver.startNew('fixtureSequence', { instanceId: 'file two' });
    await driver.runUntilIdle();

    const files = readdirSync(join(stateDir, 'restarthub', 'instances')).sort();
    expect(files).toEqual(['file%20two.json', 'file-one.json']);

    await driver.purge('file-one');
    expect(readdirSync(join(stateDir, 'restarthub', 'instances'))).toEqual(['file%20two.json']);
  });
});
