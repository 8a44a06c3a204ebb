/**
 * The host's half of an out-of-process orchestration episode.
 *
 * The Durable extension does not trust the JavaScript library's bookkeeping: it replays
 * the actions the library returns through its own orchestration context, which assigns
 * sequence ids as tasks are created, matches them against the TaskScheduled and
 * TimerCreated events already in history (a mismatch is a non-deterministic
 * orchestrator), and turns whatever is left over into new work. This module does the
 * same, in the same order:
 *
 * - top-level actions are awaited one after the other (schema V2+), so the next action
 *   is created only when the previous one finished;
 * - each atomic task (activity, timer) takes the next id when it is created; an external
 *   event takes none;
 * - activity retries are the host's: a failure creates a backoff timer (also after the
 *   last attempt), a fired backoff timer creates the next attempt;
 * - timers longer than `maximumShortTimerMs` are split in slices of
 *   `longRunningTimerIntervalMs` (the last one the remainder), the next slice created
 *   when one fires, none once the timer is canceled: the extension's own loop, not the
 *   library's LongTimerTask, which disagrees with it on a canceled long timer;
 * - continuations run as soon as the history event that completes a task is processed,
 *   before the next event, so ids come out in the order the library assigns them.
 */
import { EventType, type HistoryEvent } from './history.js';

export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

export function actionTypeName(type: number): string {
  for (const [name, value] of Object.entries(ActionType)) if (value === type) return name;
  return `action type ${type}`;
}

export interface WireRetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** An action as the library serialises it (the JSON the host receives). */
export interface WireAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: WireRetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
  instanceId?: string;
}

export interface ShimOptions {
  maximumShortTimerMs: number;
  longRunningTimerIntervalMs: number;
}

export type NewWork =
  | { kind: 'activity'; id: number; name: string; input: unknown }
  | { kind: 'timer'; id: number; fireAt: Date };

export interface ShimResult {
  /** Work the orchestrator asked for that history does not have yet, in id order. */
  newWork: NewWork[];
  /** Names of the external events the orchestration is waiting for now. */
  waitingForEvents: string[];
  /** Set when a ContinueAsNew action was reached. */
  continueAsNew?: { input: unknown };
}

export class NonDeterminismError extends Error {
  override name = 'NonDeterminismError';
}

export class UnsupportedActionError extends Error {
  override name = 'UnsupportedActionError';
}

abstract class HostTask {
  done = false;
  failed = false;
  parent: HostTask | undefined;

  finish(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.failed = failed;
    this.parent?.childFinished(this);
  }

  childFinished(_child: HostTask): void {}
}

class ActivityTask extends HostTask {
  constructor(
    readonly id: number,
    readonly functionName: string,
  ) {
    super();
  }
}

class TimerTask extends HostTask {
  constructor(
    readonly id: number,
    readonly fireAt: Date,
  ) {
    super();
  }
}

class EventTask extends HostTask {
  constructor(readonly eventName: string) {
    super();
  }
}

class DoneTask extends HostTask {
  constructor() {
    super();
    this.done = true;
  }
}

class AllTask extends HostTask {
  constructor(readonly children: HostTask[]) {
    super();
  }
  override childFinished(): void {
    if (this.children.every((child) => child.done)) this.finish(this.children.some((child) => child.failed));
  }
}

class AnyTask extends HostTask {
  override childFinished(child: HostTask): void {
    this.finish(child.failed);
  }
}

class RetryTask extends HostTask {
  attempts = 1;
  constructor(
    private readonly shim: ReplayShim,
    readonly functionName: string,
    readonly input: unknown,
    readonly options: WireRetryOptions,
    readonly firstAttemptAt: Date,
  ) {
    super();
  }

  override childFinished(child: HostTask): void {
    if (child instanceof ActivityTask) {
      if (!child.failed) return this.finish(false);
      const delayMs = this.nextDelayMs(this.attempts - 1);
      if (delayMs <= 0) return this.finish(true);
      this.shim.createTimer(new Date(this.shim.now.getTime() + delayMs), this);
    } else if (this.attempts < this.options.maxNumberOfAttempts) {
      this.attempts += 1;
      this.shim.createActivity(this.functionName, this.input, this);
    } else {
      this.finish(true);
    }
  }

  // DurableTask.Core's RetryInterceptor: first * coefficient^attempt, capped, and none
  // once the retry timeout has passed (then the failure surfaces without a timer).
  private nextDelayMs(attempt: number): number {
    const timeoutMs = this.options.retryTimeoutInMilliseconds;
    if (timeoutMs !== undefined && timeoutMs > 0 && this.shim.now.getTime() >= this.firstAttemptAt.getTime() + timeoutMs) return 0;
    const coefficient = this.options.backoffCoefficient ?? 1;
    const delayMs = this.options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, attempt);
    const maxMs = this.options.maxRetryIntervalInMilliseconds;
    return maxMs !== undefined && maxMs > 0 && delayMs >= maxMs ? maxMs : delayMs;
  }
}

/**
 * A timer longer than `maximumShortTimerMs`, sliced the way the extension's
 * DurableOrchestrationContext.CreateTimer does it (Azure/azure-functions-durable-extension):
 * slices of `longRunningTimerIntervalMs` while at least that much remains, then
 * the remainder, and no further slice once the timer is canceled. The
 * out-of-process shim cancels a canceled action's token right after creating it,
 * so a canceled long timer has exactly one slice. durable-functions 3.5.0's
 * LongTimerTask follows another rule (3 days while more than 6 remain, then the
 * rest) and, canceled or not, assigns an id to a next slice when one fires: the
 * two then disagree about every id that follows, as they do in Azure.
 */
class LongTimerTask extends HostTask {
  constructor(
    private readonly shim: ReplayShim,
    readonly finalFireAt: Date,
    private readonly canceled: boolean,
  ) {
    super();
  }

  start(): void {
    this.shim.createTimer(new Date(this.shim.now.getTime() + this.shim.options.longRunningTimerIntervalMs), this);
    // Canceled: the loop stops after the slice it has already created; nothing waits on it.
    if (this.canceled) this.finish(false);
  }

  override childFinished(): void {
    if (this.done) return;
    const remainingMs = this.finalFireAt.getTime() - this.shim.now.getTime();
    if (remainingMs <= 0) {
      this.finish(false);
      return;
    }
    const sliceMs = Math.min(remainingMs, this.shim.options.longRunningTimerIntervalMs);
    this.shim.createTimer(new Date(this.shim.now.getTime() + sliceMs), this);
  }
}

type Expected = { kind: 'activity'; name: string; input: unknown } | { kind: 'timer'; fireAt: Date };

export class ReplayShim {
  now = new Date(0);
  private nextId = 0;
  private cursor = 0;
  private current: HostTask | undefined;
  private started = false;
  private readonly expected = new Map<number, Expected>();
  private readonly openById = new Map<number, ActivityTask | TimerTask>();
  // The extension keeps waiters per name as a stack, so the newest waiter gets the
  // event (an abandoned Task.any in a loop must not swallow it), and buffers events
  // nobody waits for yet in arrival order. Names compare case-insensitively.
  private readonly waiters = new Map<string, EventTask[]>();
  private readonly buffered = new Map<string, number>();
  private continueAsNewInput: { input: unknown } | undefined;

  constructor(
    private readonly actions: WireAction[],
    readonly options: ShimOptions,
  ) {}

  /** Replays `history` (past and new events, in order) and returns what is new. */
  run(history: HistoryEvent[]): ShimResult {
    for (const event of history) this.process(event);
    const newWork: NewWork[] = [...this.expected.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, expected]) =>
        expected.kind === 'activity'
          ? { kind: 'activity', id, name: expected.name, input: expected.input }
          : { kind: 'timer', id, fireAt: expected.fireAt },
      );
    const waitingForEvents = [...this.waiters.entries()].filter(([, list]) => list.some((task) => !task.done)).map(([name]) => name);
    const result: ShimResult = { newWork, waitingForEvents };
    if (this.continueAsNewInput) result.continueAsNew = this.continueAsNewInput;
    return result;
  }

  createActivity(functionName: string, input: unknown, parent: HostTask | undefined): ActivityTask {
    const task = new ActivityTask(this.nextId++, functionName);
    task.parent = parent;
    this.expected.set(task.id, { kind: 'activity', name: functionName, input });
    this.openById.set(task.id, task);
    return task;
  }

  createTimer(fireAt: Date, parent: HostTask | undefined, options: { canceled?: boolean } = {}): TimerTask {
    const task = new TimerTask(this.nextId++, fireAt);
    task.parent = parent;
    this.expected.set(task.id, { kind: 'timer', fireAt });
    // A canceled timer is still created (its TimerFired still arrives) but nothing waits on it.
    if (options.canceled) task.finish(false);
    else this.openById.set(task.id, task);
    return task;
  }

  private process(event: HistoryEvent): void {
    switch (event.EventType) {
      case EventType.OrchestratorStarted:
        this.now = new Date(event.Timestamp);
        break;
      case EventType.ExecutionStarted:
        this.started = true;
        break;
      case EventType.TaskScheduled:
        this.matchScheduled(event, 'activity');
        break;
      case EventType.TimerCreated:
        this.matchScheduled(event, 'timer');
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
        this.complete(Number(event.TaskScheduledId), event.EventType === EventType.TaskFailed);
        break;
      case EventType.TimerFired:
        this.complete(Number(event.TimerId), false);
        break;
      case EventType.EventRaised:
        this.deliverEvent(String(event.Name));
        break;
      default:
        break;
    }
    if (this.started) this.advance();
  }

  private matchScheduled(event: HistoryEvent, kind: 'activity' | 'timer'): void {
    const id = event.EventId;
    const recorded = kind === 'activity' ? `TaskScheduled '${String(event.Name)}' at id ${id}` : `TimerCreated at id ${id}`;
    const expected = this.expected.get(id);
    if (!expected) {
      throw new NonDeterminismError(
        `Non-deterministic workflow detected: history has ${recorded}, the orchestrator now schedules nothing there. ` +
          'Was the orchestrator code changed while this instance was running?',
      );
    }
    if (expected.kind !== kind || (expected.kind === 'activity' && expected.name !== event.Name)) {
      const now = expected.kind === 'activity' ? `schedules '${expected.name}'` : `creates a timer (fireAt ${expected.fireAt.toISOString()})`;
      throw new NonDeterminismError(
        `Non-deterministic workflow detected: history has ${recorded}, the orchestrator now ${now}. ` +
          'Was the orchestrator code changed while this instance was running?',
      );
    }
    this.expected.delete(id);
  }

  private complete(id: number, failed: boolean): void {
    const task = this.openById.get(id);
    if (!task) return;
    this.openById.delete(id);
    task.finish(failed);
  }

  private deliverEvent(name: string): void {
    const key = name.toLowerCase();
    const stack = this.waiters.get(key);
    const waiter = stack?.pop();
    if (waiter) {
      if (stack?.length === 0) this.waiters.delete(key);
      waiter.finish(false);
    } else {
      this.buffered.set(key, (this.buffered.get(key) ?? 0) + 1);
    }
  }

  private waitForEvent(name: string): EventTask {
    const task = new EventTask(name);
    const key = name.toLowerCase();
    const bufferedCount = this.buffered.get(key) ?? 0;
    if (bufferedCount > 0) {
      if (bufferedCount === 1) this.buffered.delete(key);
      else this.buffered.set(key, bufferedCount - 1);
      task.finish(false);
    } else {
      const stack = this.waiters.get(key) ?? [];
      stack.push(task);
      this.waiters.set(key, stack);
    }
    return task;
  }

  /** Awaits the top-level actions one after the other, as the extension's shim does. */
  private advance(): void {
    while (!this.current || this.current.done) {
      const action = this.actions[this.cursor];
      if (!action) return;
      this.cursor += 1;
      this.current = this.create(action);
    }
  }

  /**
   * Creates the host task for an action. The caller attaches the parent afterwards,
   * so a task that finishes while being created (a buffered event, a canceled timer)
   * does not notify a compound that is still collecting its children.
   */
  private create(action: WireAction): HostTask {
    switch (action.actionType) {
      case ActionType.CallActivity:
        return this.createActivity(requireName(action), action.input, undefined);
      case ActionType.CallActivityWithRetry: {
        const options = action.retryOptions;
        if (!options) throw new UnsupportedActionError('CallActivityWithRetry without retryOptions');
        const retry = new RetryTask(this, requireName(action), action.input, options, this.now);
        this.createActivity(retry.functionName, retry.input, retry);
        return retry;
      }
      case ActionType.CreateTimer: {
        const fireAt = new Date(String(action.fireAt));
        if (Number.isNaN(fireAt.getTime())) throw new UnsupportedActionError(`CreateTimer with an invalid fireAt: ${String(action.fireAt)}`);
        const canceled = action.isCanceled === true;
        if (fireAt.getTime() - this.now.getTime() > this.options.maximumShortTimerMs) {
          const longTimer = new LongTimerTask(this, fireAt, canceled);
          longTimer.start();
          return longTimer;
        }
        return this.createTimer(fireAt, undefined, { canceled });
      }
      case ActionType.WaitForExternalEvent:
        return this.waitForEvent(String(action.externalEventName));
      case ActionType.WhenAll:
      case ActionType.WhenAny: {
        const children = (action.compoundActions ?? []).map((child) => this.create(child));
        const compound = action.actionType === ActionType.WhenAll ? new AllTask(children) : new AnyTask();
        for (const child of children) child.parent = compound;
        const finished = children.find((child) => child.done);
        if (finished) compound.childFinished(finished);
        return compound;
      }
      case ActionType.ContinueAsNew:
        this.continueAsNewInput = { input: action.input };
        return new DoneTask();
      default:
        throw new UnsupportedActionError(
          `The durable driver does not support ${actionTypeName(action.actionType)} (used by the orchestrator); ` +
            'it implements activities, retries, timers, external events, Task.all/Task.any and continueAsNew.',
        );
    }
  }
}

function requireName(action: WireAction): string {
  if (typeof action.functionName !== 'string' || action.functionName === '') {
    throw new UnsupportedActionError(`${actionTypeName(action.actionType)} without a function name`);
  }
  return action.functionName;
}
