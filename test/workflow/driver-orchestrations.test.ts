import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { createDurableDriver, EventType, type DurableDriver, type HistoryEvent } from '../../emulator/durable/index.js';
import { completionOrder, executionsOf, slowActivityHooks } from '../fixtures/durable-app/activities.js';
import { nonDeterministicChoice } from '../fixtures/durable-app/orchestrations.js';

const start = '2026-03-01T00:00:00.000Z';
const hourMs = 3600_000;
const dayMs = 24 * hourMs;

let driver: DurableDriver;
let clock: VirtualClock;

beforeAll(async () => {
  await import('../fixtures/durable-app/index.js');
});

async function newDriver(): Promise<DurableDriver> {
  clock = new VirtualClock('manual', start);
  driver = await createDurableDriver({ clock });
  return driver;
}

afterEach(async () => {
  await driver?.close();
});

function eventsOf(history: HistoryEvent[] | undefined, type: number): HistoryEvent[] {
  return (history ?? []).filter((event) => event.EventType === type);
}

function at(offsetMs: number): string {
  return new Date(new Date(start).getTime() + offsetMs).toISOString();
}

describe('activities', () => {
  it('when an orchestration calls two activities, then it completes with their results and the host history records both', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureSequence', { instanceId: 'sequence' });

    const report = await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Completed');
    expect(status?.output).toEqual(['Hello, Tokyo!', 'Hello, Seattle!']);
    expect(report).toMatchObject({ reason: 'idle', episodes: 3, activityExecutions: 2, stuck: [] });
    const scheduled = eventsOf(driver.history(id), EventType.TaskScheduled);
    expect(scheduled.map((event) => [event.EventId, event.Name])).toEqual([
      [0, 'fixtureGreet'],
      [1, 'fixtureGreet'],
    ]);
    expect(driver.counters(id)).toMatchObject({ episodes: 3, activityCalls: { fixtureGreet: 2 }, timersCreated: 0 });
    expect(driver.counters(id)?.historyEvents).toBe(driver.history(id)?.length);
    expect(driver.counters(id)?.replayWallClockMs).toBeGreaterThan(0);
    // Each episode replays the whole history so far: the third hands over more events than the first.
    const replay = driver.counters(id)!.episodeReplay;
    const costs = { first: replay.firstFew, last: replay.lastFew };
    expect(costs.first.map((cost) => cost.events)).toEqual(costs.last.map((cost) => cost.events));
    expect(costs.first).toHaveLength(3);
    expect(costs.first[2]!.events).toBeGreaterThan(costs.first[0]!.events);
  });

  it('when an activity throws and the orchestrator catches it, then the orchestrator sees the activity name and message', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureCatchFailure');

    await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Completed');
    expect(status?.output).toMatchObject({ caught: true });
    expect((status?.output as { message: string }).message).toContain("Activity function 'fixtureFail' failed: boom: caught");
    const [failed] = eventsOf(driver.history(id), EventType.TaskFailed);
    expect(failed).toMatchObject({ TaskScheduledId: 0, Reason: "Activity function 'fixtureFail' failed: boom: caught" });
    expect(typeof failed?.Details).toBe('string');
  });

  it('when an activity failure is not caught, then the instance fails with the message and keeps its custom status', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureUncaughtFailure');

    await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Failed');
    expect(String(status?.output)).toMatch(/^Orchestrator function 'fixtureUncaughtFailure' failed: .*boom: uncaught/);
    expect(status?.customStatus).toEqual({ phase: 'calling' });
  });

  it('when every retry fails, then the host creates a backoff timer after each attempt, the last included, before the failure surfaces', async () => {
    await newDriver();
    const before = executionsOf('fixtureFail');
    const id = await driver.startNew('fixtureRetryExhausted');

    await driver.runUntilIdle();

    expect(executionsOf('fixtureFail') - before).toBe(3);
    const history = driver.history(id) ?? [];
    const sequence = history
      .filter((event) => [EventType.TaskScheduled, EventType.TaskFailed, EventType.TimerCreated, EventType.TimerFired].includes(event.EventType as never))
      .map((event) => `${event.EventType}:${event.EventId >= 0 ? event.EventId : (event.TaskScheduledId ?? event.TimerId)}`);
    expect(sequence).toEqual(['4:0', '6:0', '10:1', '11:1', '4:2', '6:2', '10:3', '11:3', '4:4', '6:4', '10:5', '11:5']);
    // 1 s, then 2 s, then 4 s: firstRetryInterval * backoffCoefficient^attempt.
    expect(eventsOf(history, EventType.TimerCreated).map((event) => event.FireAt)).toEqual([at(1000), at(3000), at(7000)]);
    const status = await driver.getStatus(id);
    expect(status?.output).toMatchObject({ gaveUp: true, at: at(7000) });
    expect(driver.counters(id)).toMatchObject({ timersCreated: 3, timersFired: 3, activityCalls: { fixtureFail: 3 } });
  });
});

describe('timers on the virtual clock', () => {
  it('when an orchestration waits 12 hours, then runUntilIdle moves the clock exactly 12 hours and the timer fires', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureTimer', { input: { hours: 12 } });

    const report = await driver.runUntilIdle();

    expect(report.virtualElapsedMs).toBe(12 * hourMs);
    expect(clock.now().toISOString()).toBe(at(12 * hourMs));
    expect((await driver.getStatus(id))?.output).toEqual({ startedAt: start, wokeAt: at(12 * hourMs) });
    expect(eventsOf(driver.history(id), EventType.TimerCreated).map((event) => event.FireAt)).toEqual([at(12 * hourMs)]);
  });

  // Source: Azure/azure-functions-durable-extension, DurableOrchestrationContext.CreateTimer: past the maximum short
  // timer (6 days on Azure Storage) the host creates slices of longRunningTimerIntervalDuration (3 days), then the rest.
  it('when an orchestration waits 8 days, then the host slices the timer itself: 3 days, 3 more, then the remaining 2', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureTimer', { input: { hours: 8 * 24 } });

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({ startedAt: start, wokeAt: at(8 * dayMs) });
    const timers = eventsOf(driver.history(id), EventType.TimerCreated);
    expect(timers.map((event) => [event.EventId, event.FireAt])).toEqual([
      [0, at(3 * dayMs)],
      [1, at(6 * dayMs)],
      [2, at(8 * dayMs)],
    ]);
    expect(driver.counters(id)?.timersCreated).toBe(3);
  });

  it('when the time limit comes first, then runUntilIdle stops there and reports the instance as waiting for its timer', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureTimer', { input: { hours: 12 } });

    const report = await driver.runUntilIdle({ maxVirtualTimeMs: hourMs });

    expect(report.reason).toBe('time-limit');
    expect(clock.now().toISOString()).toBe(start);
    expect(report.waiting).toEqual([expect.objectContaining({ instanceId: id, pendingTimers: [at(12 * hourMs)], stuck: false })]);
    expect((await driver.getStatus(id))?.runtimeStatus).toBe('Running');
  });
});

describe('external events racing a timeout', () => {
  it('when the approval arrives first, then the orchestration goes on without waiting for the timeout', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureEventRace');
    await driver.runUntilIdle({ until: at(2 * hourMs) });
    expect((await driver.getStatus(id))?.runtimeStatus).toBe('Running');

    await driver.raiseEvent(id, 'approval', { by: 'Grace' });
    const report = await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({ outcome: 'approved', greeting: 'Hello, Grace!' });
    expect(clock.now().toISOString()).toBe(at(2 * hourMs));
    expect(report.waiting).toEqual([]);
  });

  it('when no approval arrives, then the 24-hour timeout wins', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureEventRace');

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({ outcome: 'timed out', at: at(24 * hourMs) });
  });

  it('when the approval is raised before the orchestration first runs, then it is kept and used', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureEventRace');
    await driver.raiseEvent(id, 'approval', { by: 'Early' });

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({ outcome: 'approved', greeting: 'Hello, Early!' });
  });
});

describe('fan-out and fan-in', () => {
  it('when five activities run in parallel and finish out of order, then results keep the call order and the history the scheduling order', async () => {
    await newDriver();
    completionOrder.length = 0;
    const id = await driver.startNew('fixtureFanOut', { input: [1, 2, 3, 4, 5] });

    const report = await driver.runUntilIdle();

    expect(completionOrder).toEqual([5, 4, 3, 2, 1]);

    expect((await driver.getStatus(id))?.output).toEqual({ doubled: [2, 4, 6, 8, 10], sum: 30 });
    expect(report.episodes).toBe(2);
    const history = driver.history(id) ?? [];
    expect(eventsOf(history, EventType.TaskScheduled).map((event) => event.EventId)).toEqual([0, 1, 2, 3, 4]);
    expect(eventsOf(history, EventType.TaskCompleted).map((event) => event.TaskScheduledId)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('fan-out with retries', () => {
  it('when two branches fail once in the same episode, then their backoff timers and new attempts get the ids the library expects', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureFanOutRetries', {
      input: [
        { key: 'fan-x', failures: 1 },
        { key: 'fan-y', failures: 1 },
        { key: 'fan-z', failures: 0 },
      ],
    });

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({
      results: ['succeeded on call 2', 'succeeded on call 2', 'succeeded on call 1'],
      greeting: 'Hello, fan-in!',
    });
    const history = driver.history(id) ?? [];
    expect(eventsOf(history, EventType.TimerCreated).map((event) => event.EventId)).toEqual([3, 4]);
    expect(eventsOf(history, EventType.TaskScheduled).map((event) => [event.EventId, event.Name])).toEqual([
      [0, 'fixtureFlaky'],
      [1, 'fixtureFlaky'],
      [2, 'fixtureFlaky'],
      [5, 'fixtureFlaky'],
      [6, 'fixtureFlaky'],
      [7, 'fixtureGreet'],
    ]);
  });
});

describe('continueAsNew', () => {
  it('when an orchestration continues as new, then each generation starts with a fresh history and the last one completes', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureGenerations', { instanceId: 'generations', input: { generation: 1, last: 3 } });

    const first = await driver.runUntilIdle({ stopWhen: async () => (await driver.getStatus(id))?.runtimeStatus === 'ContinuedAsNew' });
    expect(first.reason).toBe('stop-condition');
    expect(await driver.getStatus(id)).toMatchObject({ runtimeStatus: 'ContinuedAsNew', input: { generation: 2, last: 3 } });

    await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { generations: 3 }, customStatus: { generation: 3 } });
    expect(clock.now().toISOString()).toBe(at(2 * hourMs));
    expect(driver.counters(id)).toMatchObject({ generations: 2, activityCalls: { fixtureDouble: 3 } });
    const history = driver.history(id) ?? [];
    expect(eventsOf(history, EventType.ExecutionStarted)).toHaveLength(1);
    expect(eventsOf(history, EventType.TaskScheduled).map((event) => event.EventId)).toEqual([0]);
  });

  it('when an orchestration continues as new, then the counters still count every history event and each generation\'s replays start small again', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureGenerations', { instanceId: 'replays', input: { generation: 1, last: 3 } });

    await driver.runUntilIdle();

    const counters = driver.counters(id)!;
    // Three generations: 11 + 11 events left behind, 8 in the last (it completes without a timer).
    expect(counters).toMatchObject({ historyEventsOfEarlierGenerations: 22, historyEvents: 8, episodes: 8 });
    // Each generation replays 2, then 6, then 10 events (the last one 2, then 6): never what the earlier generations wrote.
    expect(counters.episodeReplay.firstFew.map((replay) => replay.events)).toEqual([2, 6, 10, 2, 6, 10, 2, 6]);
    expect(counters.episodeReplay.lastFew.map((replay) => replay.events)).toEqual([2, 6, 10, 2, 6, 10, 2, 6]);
    expect(counters.episodeReplay.largest!.events).toBe(10);
    expect(counters.episodeReplay.last!.ms).toBeGreaterThan(0);
  });
});

describe('custom status', () => {
  it('when the orchestration sets a custom status, then getStatus shows it at each phase', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureCustomStatus');
    await driver.runUntilIdle();
    expect(await driver.getStatus(id)).toMatchObject({ runtimeStatus: 'Running', customStatus: { phase: 'waiting for go' } });

    await driver.raiseEvent(id, 'go', { who: 'Linus' });
    await driver.runUntilIdle();

    expect(await driver.getStatus(id)).toMatchObject({ runtimeStatus: 'Completed', customStatus: { phase: 'done', who: 'Linus' }, output: 'finished' });
  });
});

describe('waiting and termination', () => {
  it('when an instance waits for an event that no timer bounds, then runUntilIdle reports it stuck and a terminate ends it', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureWaitForever', { instanceId: 'forever' });

    const report = await driver.runUntilIdle();
    expect(report.reason).toBe('idle');
    expect(report.stuck).toEqual([expect.objectContaining({ instanceId: 'forever', waitingForEvents: ['never'], runtimeStatus: 'Running' })]);

    await driver.terminate(id, 'operator gave up');
    const after = await driver.runUntilIdle();

    expect(await driver.getStatus(id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'operator gave up' });
    expect(after.stuck).toEqual([]);
    const history = driver.history(id) ?? [];
    expect(eventsOf(history, EventType.ExecutionTerminated)).toHaveLength(1);
    expect(eventsOf(history, EventType.ExecutionCompleted)[0]).toMatchObject({ OrchestrationStatus: 5 });
  });

  it('when a pending instance is terminated before it ever ran, then it ends terminated without running', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureSequence');
    await driver.terminate(id, 'never mind');
    const before = executionsOf('fixtureGreet:Tokyo');

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.runtimeStatus).toBe('Terminated');
    expect(executionsOf('fixtureGreet:Tokyo')).toBe(before);
  });
});

describe('determinism guard', () => {
  it('when the orchestrator schedules a different activity on replay, then the instance fails naming the first mismatch', async () => {
    await newDriver();
    nonDeterministicChoice.firstActivity = 'fixtureGreet';
    const id = await driver.startNew('fixtureNonDeterministic');
    await driver.runUntilIdle();
    expect((await driver.getStatus(id))?.runtimeStatus).toBe('Running');

    nonDeterministicChoice.firstActivity = 'fixtureDouble';
    try {
      await driver.raiseEvent(id, 'continue');
      await driver.runUntilIdle();
    } finally {
      nonDeterministicChoice.firstActivity = 'fixtureGreet';
    }

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Failed');
    expect(status?.output).toContain(
      "Non-deterministic workflow detected: history has TaskScheduled 'fixtureGreet' at id 0, the orchestrator now schedules 'fixtureDouble'",
    );
  });
});

describe('logging', () => {
  it('when a log is given, then it hears the driver and function lines but never activity inputs or outputs', async () => {
    clock = new VirtualClock('manual', start);
    const lines: string[] = [];
    driver = await createDurableDriver({ clock, log: (entry) => lines.push(`${entry.level} ${entry.category} ${entry.instanceId ?? ''} ${entry.message}`) });
    const id = await driver.startNew('fixtureSequence', { instanceId: 'logged', input: { note: 'orchestration input' } });
    const failing = await driver.startNew('fixtureCatchFailure', { instanceId: 'logged-failure' });

    await driver.runUntilIdle();

    expect(lines).toContain(`info driver ${id} started 'fixtureSequence'`);
    expect(lines).toContain(`info driver ${failing} activity 'fixtureFail' (id 0) failed`);
    const all = lines.join('\n');
    for (const payload of ['Tokyo', 'Seattle', 'orchestration input', 'boom: caught']) expect(all).not.toContain(payload);
  });
});

describe('what the driver does not implement', () => {
  it('when an orchestrator calls a sub-orchestration, then the instance fails saying the driver does not support it', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureSubOrchestration');

    await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Failed');
    expect(status?.output).toMatch(/does not support CallSubOrchestrator/);
  });
});

describe('patterns a monitoring workflow relies on', () => {
  it('when a retried activity fails twice, then the third attempt runs after 5 s and 10 s of backoff and its result is returned', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureRetrySucceeds', { input: { key: 'retry-succeeds', failures: 2 } });

    await driver.runUntilIdle();

    expect((await driver.getStatus(id))?.output).toEqual({ result: 'succeeded on call 3', at: at(15_000) });
    expect(executionsOf('fixtureFlaky:retry-succeeds')).toBe(3);
  });

  it('when an event arrives after several hourly checks, then the newest waiter gets it, not an abandoned one', async () => {
    await newDriver();
    const id = await driver.startNew('fixturePollUntilMoved');
    await driver.runUntilIdle({ until: at(3.5 * hourMs) });

    await driver.raiseEvent(id, 'moved', { by: 'operator' });
    await driver.runUntilIdle({ until: at(3.5 * hourMs) });

    expect(await driver.getStatus(id)).toMatchObject({ runtimeStatus: 'Completed', output: { movedAtCheck: 4, greeting: 'Hello, operator!' } });
  });

  // Sources: Azure/azure-functions-durable-extension, OutOfProcOrchestrationShim (a canceled CreateTimer action has its
  // token canceled at once) and DurableOrchestrationContext.CreateTimer (the slicing loop stops when canceled);
  // durable-functions 3.5.0's LongTimerTask still allocates an id for the next slice. This is why the app never
  // creates a timer longer than 3 days (src/workflow/durable-timers.ts).
  it('when a long timeout is canceled after its first slice fired, then the host no longer has the slice the library counts on: the orchestration fails as non-deterministic, as it would in Azure', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureLongTimeoutCanceled');
    await driver.runUntilIdle({ until: at(4 * dayMs) });
    await driver.raiseEvent(id, 'stop');
    await driver.runUntilIdle({ until: at(11 * dayMs) });

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Failed');
    expect(String(status?.output)).toMatch(/Non-deterministic workflow detected: history has TimerCreated at id 1/);
  });

  it('when a long timeout is canceled before its first slice fired, then the library waits on a next slice the host never creates: the activity that follows never completes', async () => {
    await newDriver();
    const id = await driver.startNew('fixtureLongTimeoutCanceled');
    await driver.runUntilIdle({ until: at(1 * dayMs) });
    await driver.raiseEvent(id, 'stop');
    await driver.runUntilIdle({ until: at(4 * dayMs) });
    await driver.raiseEvent(id, 'finish');
    await driver.runUntilIdle({ until: at(20 * dayMs) });

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe('Running');
    expect(status?.output).not.toBe('Hello, after the long timeout!');
    expect(eventsOf(driver.history(id), EventType.TaskCompleted)).toHaveLength(1);
  });
});

describe('the driver enforces what the host enforces', () => {
  // Source: Azure/azure-functions-durable-extension, DurableOrchestrationContext.SetCustomStatus
  // (MaxCustomStatusPayloadSizeInKB = 16, the UTF-16 size in whole KB, MessagePayloadDataConverter).
  it.each([
    [8_000, 'Completed'],
    [9_000, 'Failed'],
  ])('when an orchestration sets a custom status of %i characters, then it ends %s (the limit is 16 KB of UTF-16)', async (characters, expected) => {
    await newDriver();
    const id = await driver.startNew('fixtureBigStatus', { input: { characters } });

    await driver.runUntilIdle();

    const status = await driver.getStatus(id);
    expect(status?.runtimeStatus).toBe(expected);
    if (expected === 'Failed') expect(String(status?.output)).toMatch(/must not exceed 16 KB\. The current payload size is 17 KB/);
  });

  // Source: host.json functionTimeout ("00:10:00"): the host cancels an activity still running past it.
  it.each([
    [11, { runtimeStatus: 'Failed' }, /Timeout value of 0\.00:10:00 was exceeded by function: Functions\.fixtureSlow/],
    [9, { runtimeStatus: 'Completed', output: 'report done slowly' }, undefined],
  ])('when an activity runs %i minutes on the shared clock (functionTimeout is 10), then the instance ends %o', async (minutes, expected, failure) => {
    await newDriver();
    slowActivityHooks.whileRunning = () => clock.advance(minutes * 60_000);
    try {
      const id = await driver.startNew('fixtureSlowActivity');

      await driver.runUntilIdle();

      const status = await driver.getStatus(id);
      expect(status).toMatchObject(expected);
      if (failure) expect(String(status?.output)).toMatch(failure);
    } finally {
      delete slowActivityHooks.whileRunning;
    }
  });
});
