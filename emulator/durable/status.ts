/**
 * Orchestration status in the shapes the Durable extension's HTTP API returns, and the
 * history view it builds for `showHistory=true`.
 */
import { EventType, eventTypeName, OrchestrationStatusCode, type HistoryEvent, type RuntimeStatus } from './history.js';

/** The JSON the HTTP API returns for one instance (StatusResponsePayload). */
export interface StatusPayload {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Array<Record<string, unknown>>;
}

/** What `DurableClient.getStatus` resolves to (the library's DurableOrchestrationStatus). */
export interface OrchestrationStatus {
  name: string;
  instanceId: string;
  createdTime: Date;
  lastUpdatedTime: Date;
  input: unknown;
  output: unknown;
  runtimeStatus: RuntimeStatus;
  customStatus?: unknown;
  /**
   * The history view (`historyEvents` on the wire). The real JavaScript client leaves
   * `history` undefined because it reads the wrong field (azure-functions-durable-js
   * issue #620); the driver fills it.
   */
  history?: Array<Record<string, unknown>>;
}

export interface StatusSource {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdTime: string;
  lastUpdatedTime: string;
  history: HistoryEvent[];
}

export interface StatusViewOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

/** Like the extension's ParseToJToken: null stays null, JSON is parsed, anything else is a string. */
export function parseStoredJson(value: string | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed);
  } catch {
    return value;
  }
}

/** The extension formats status times with `ToString("s") + "Z"`: whole seconds. */
export function formatStatusTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19)}Z`;
}

export function toStatusPayload(source: StatusSource, options: StatusViewOptions = {}): StatusPayload {
  const payload: StatusPayload = {
    name: source.name,
    instanceId: source.instanceId,
    runtimeStatus: source.runtimeStatus,
    input: options.showInput === false ? null : parseStoredJson(source.input),
    customStatus: parseStoredJson(source.customStatus),
    output: parseStoredJson(source.output),
    createdTime: formatStatusTime(source.createdTime),
    lastUpdatedTime: formatStatusTime(source.lastUpdatedTime),
  };
  if (options.showHistory && source.runtimeStatus !== 'Pending') {
    payload.historyEvents = summarizeHistory(source.history, { showHistoryOutput: options.showHistoryOutput === true });
  }
  return payload;
}

export function toOrchestrationStatus(payload: StatusPayload): OrchestrationStatus {
  const status: OrchestrationStatus = {
    name: payload.name,
    instanceId: payload.instanceId,
    createdTime: new Date(payload.createdTime),
    lastUpdatedTime: new Date(payload.lastUpdatedTime),
    input: payload.input,
    output: payload.output,
    runtimeStatus: payload.runtimeStatus,
    customStatus: payload.customStatus,
  };
  if (payload.historyEvents) status.history = payload.historyEvents;
  return status;
}

const statusNames = Object.fromEntries(Object.entries(OrchestrationStatusCode).map(([name, code]) => [code, name]));

/**
 * The extension's history view: event types by name, a completed or failed task
 * merged with its TaskScheduled (FunctionName, ScheduledTime), orchestrator
 * bookkeeping events dropped, inputs never shown and outputs only on request.
 */
export function summarizeHistory(history: HistoryEvent[], options: { showHistoryOutput: boolean }): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown> | undefined> = history.map((event) => ({ ...event }));
  const scheduled = new Map<number, { index: number; name: unknown; timestamp: unknown }>();
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (!item) continue;
    const type = Number(item.EventType);
    item.EventType = eventTypeName(type);
    switch (type) {
      case EventType.TaskScheduled:
        scheduled.set(Number(item.EventId), { index, name: item.Name, timestamp: item.Timestamp });
        delete item.Version;
        delete item.Input;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed: {
        const origin = scheduled.get(Number(item.TaskScheduledId));
        if (origin) {
          item.ScheduledTime = origin.timestamp;
          item.FunctionName = origin.name;
          items[origin.index] = undefined;
        }
        delete item.TaskScheduledId;
        if (type === EventType.TaskCompleted) {
          if (options.showHistoryOutput) item.Result = parseStoredJson(item.Result as string | null);
          else delete item.Result;
        }
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = item.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        delete item.Input;
        break;
      case EventType.ExecutionCompleted:
        item.OrchestrationStatus = statusNames[Number(item.OrchestrationStatus)] ?? item.OrchestrationStatus;
        if (options.showHistoryOutput) item.Result = parseStoredJson(item.Result as string | null);
        else delete item.Result;
        break;
      case EventType.ExecutionTerminated:
      case EventType.EventRaised:
        delete item.Input;
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        items[index] = undefined;
        break;
      default:
        break;
    }
    if (items[index]) {
      delete item.EventId;
      delete item.IsPlayed;
    }
  }
  return items.filter((item): item is Record<string, unknown> => item !== undefined);
}
