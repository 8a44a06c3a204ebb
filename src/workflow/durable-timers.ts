/**
 * Durable timers the host handles the same way the library does.
 *
 * A timer longer than the host's maximumShortTimerDuration (6 days on Azure
 * Storage) is sliced twice: by the Durable extension and by durable-functions'
 * LongTimerTask, with different rules. When such a timer is canceled (a wait
 * raced against an event, and the event won), the extension stops slicing while
 * durable-functions 3.5.0 still assigns an id to a next slice, and every later
 * task id disagrees: the orchestration desynchronises in Azure. The app
 * therefore never creates a timer longer than longRunningTimerIntervalDuration
 * (3 days): a longer wait re-arms in steps. Deterministic: only context.df.
 */
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';

/** The longest timer the app creates: the host's longRunningTimerIntervalDuration. */
export const MAX_TIMER_IN_MS = 3 * 24 * 3_600_000;

/** A timer at `fireAt`, or at most MAX_TIMER_IN_MS ahead: the caller must look again when it fires. */
export function createBoundedTimer(context: OrchestrationContext, fireAt: Date): TimerTask {
  const latest = context.df.currentUtcDateTime.getTime() + MAX_TIMER_IN_MS;
  return context.df.createTimer(fireAt.getTime() > latest ? new Date(latest) : fireAt);
}

/** Waits until `until`, in steps of at most MAX_TIMER_IN_MS. */
export function* sleepUntil(context: OrchestrationContext, until: Date): Generator<Task, void, unknown> {
  do {
    yield createBoundedTimer(context, until);
  } while (context.df.currentUtcDateTime.getTime() < until.getTime());
}
