/**
 * Orchestration history in the host's JSON form (DurableTask.Core events serialised
 * with numeric `EventType`), which the durable-functions library replays.
 */

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export type EventTypeValue = (typeof EventType)[keyof typeof EventType];

export function eventTypeName(type: number): string {
  for (const [name, value] of Object.entries(EventType)) if (value === type) return name;
  return String(type);
}

/** DurableTask.Core OrchestrationStatus, as stored in ExecutionCompleted. */
export const OrchestrationStatusCode = {
  Running: 0,
  Completed: 1,
  ContinuedAsNew: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  Pending: 6,
  Suspended: 7,
} as const;

export type RuntimeStatus = keyof typeof OrchestrationStatusCode;

export function isTerminalStatus(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated' || status === 'Canceled';
}

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed?: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

export interface FailureDetailsPayload {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
}

const noEventId = -1;

export function orchestratorStarted(timestamp: string): HistoryEvent {
  return { EventType: EventType.OrchestratorStarted, EventId: noEventId, Timestamp: timestamp };
}

export function orchestratorCompleted(timestamp: string): HistoryEvent {
  return { EventType: EventType.OrchestratorCompleted, EventId: noEventId, Timestamp: timestamp };
}

export function executionStarted(options: {
  name: string;
  instanceId: string;
  executionId: string;
  input: string | null;
  timestamp: string;
}): HistoryEvent {
  return {
    EventType: EventType.ExecutionStarted,
    EventId: noEventId,
    Timestamp: options.timestamp,
    OrchestrationInstance: { InstanceId: options.instanceId, ExecutionId: options.executionId },
    Name: options.name,
    Version: '',
    Input: options.input,
    ParentInstance: null,
    Tags: null,
  };
}

export function executionCompleted(options: {
  status: RuntimeStatus;
  result: string | null;
  timestamp: string;
  failureDetails?: FailureDetailsPayload;
}): HistoryEvent {
  const event: HistoryEvent = {
    EventType: EventType.ExecutionCompleted,
    EventId: noEventId,
    Timestamp: options.timestamp,
    OrchestrationStatus: OrchestrationStatusCode[options.status],
    Result: options.result,
  };
  if (options.failureDetails) event.FailureDetails = options.failureDetails;
  return event;
}

export function executionTerminated(reason: string | null, timestamp: string): HistoryEvent {
  return { EventType: EventType.ExecutionTerminated, EventId: noEventId, Timestamp: timestamp, Input: reason };
}

export function taskScheduled(id: number, name: string, input: string | null, timestamp: string): HistoryEvent {
  return { EventType: EventType.TaskScheduled, EventId: id, Timestamp: timestamp, Name: name, Version: '', Input: input };
}

export function taskCompleted(taskScheduledId: number, result: string, timestamp: string): HistoryEvent {
  return { EventType: EventType.TaskCompleted, EventId: noEventId, Timestamp: timestamp, TaskScheduledId: taskScheduledId, Result: result };
}

export function taskFailed(
  taskScheduledId: number,
  failure: { reason: string; details: string; failureDetails?: FailureDetailsPayload },
  timestamp: string,
): HistoryEvent {
  const event: HistoryEvent = {
    EventType: EventType.TaskFailed,
    EventId: noEventId,
    Timestamp: timestamp,
    TaskScheduledId: taskScheduledId,
    Reason: failure.reason,
    Details: failure.details,
  };
  if (failure.failureDetails) event.FailureDetails = failure.failureDetails;
  return event;
}

export function timerCreated(id: number, fireAt: string, timestamp: string): HistoryEvent {
  return { EventType: EventType.TimerCreated, EventId: id, Timestamp: timestamp, FireAt: fireAt };
}

export function timerFired(timerId: number, fireAt: string, timestamp: string): HistoryEvent {
  return { EventType: EventType.TimerFired, EventId: noEventId, Timestamp: timestamp, TimerId: timerId, FireAt: fireAt };
}

export function eventRaised(name: string, input: string | null, timestamp: string): HistoryEvent {
  return { EventType: EventType.EventRaised, EventId: noEventId, Timestamp: timestamp, Name: name, Input: input };
}
