/**
 * The in-process durable driver: a test and demo stand-in for the Functions host's
 * Durable Task extension. It runs the app's own registrations (captured through the
 * `@azure/functions-core` stand-in) and replays orchestrations through the real
 * durable-functions library, on a virtual clock shared with the Azure emulator.
 * Not a production runtime.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve as resolvePath } from 'node:path';
import type { VirtualClock } from '../clock.js';
import { DurableDriverError } from './errors.js';
import { DEFAULT_FUNCTION_TIMEOUT_MS, customStatusTooLarge, functionTimeoutMessage } from './host-limits.js';
import { addSystemLogSink, capturedFunction, installFunctionsHost, type RpcHttpData, type RpcTypedData } from './functions-host.js';
import {
  EventType,
  eventRaised,
  executionCompleted,
  executionStarted,
  executionTerminated,
  isTerminalStatus,
  orchestratorCompleted,
  orchestratorStarted,
  taskCompleted,
  taskFailed,
  taskScheduled,
  timerCreated,
  timerFired,
  type FailureDetailsPayload,
  type HistoryEvent,
  type RuntimeStatus,
} from './history.js';
import { startDurableHttpServer, type DurableHttpServer } from './http-server.js';
import { matchRoute } from './http-routes.js';
import { InstanceStore, REPLAY_SAMPLE, newCounters, type EpisodeReplay, type InstanceCounters, type InstanceRecord, type PendingActivity, type PendingTimer } from './instance-store.js';
import { decodeTypedData, invokeCapturedFunction, jsonValueTypedData, type FunctionLogHandler } from './invoke.js';
import { describeFunction, describeRegisteredFunctions, type FunctionRegistration } from './registrations.js';
import { NonDeterminismError, ReplayShim, UnsupportedActionError, type WireAction } from './replay-shim.js';
import { toOrchestrationStatus, toStatusPayload, type OrchestrationStatus, type StatusPayload, type StatusViewOptions } from './status.js';

export type DriverLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface DriverLogEntry {
  level: DriverLogLevel;
  /** `driver`: the driver itself; `function`: a function's context.log; `system`: the library. */
  category: 'driver' | 'function' | 'system';
  message: string;
  instanceId?: string;
  functionName?: string;
}

export type DriverLogger = (entry: DriverLogEntry) => void;

export interface ActivityInfo {
  instanceId: string;
  name: string;
  taskScheduledId: number;
}

export interface DurableDriverOptions {
  clock: VirtualClock;
  /** Persist every instance here after every episode; a new driver on the same directory resumes them. */
  stateDir?: string;
  /** Default: DURABLE_TASK_HUB_NAME, else `TestHubName` (the Functions default). */
  taskHub?: string;
  /** Never receives activity inputs or outputs. Default: silent. */
  log?: DriverLogger;
  /** host.json `extensions.http.routePrefix`. Default `api`. */
  routePrefix?: string;
  /**
   * Process work in the background as it arrives (starts, events, timers that come due
   * when the clock moves or, with a real clock, when their time comes). For the CLI
   * and demo; tests call runUntilIdle instead.
   */
  autoRun?: boolean;
  /** Port of the loopback HTTP server (durable HTTP API and the app's HTTP routes). Default: any free port. */
  port?: number;
  /** Fault injection for crash tests. */
  faults?: {
    /**
     * Called after an activity ran, before its completion is recorded. Return true to
     * "crash the host" there: nothing more is recorded, runUntilIdle returns with reason
     * `crashed`, and a new driver on the same stateDir runs that activity again.
     */
    crashAfterActivity?: (activity: ActivityInfo) => boolean;
    /** Returning true crashes the host just before the activity runs: it never ran, nothing is recorded. */
    crashBeforeActivity?: (activity: ActivityInfo) => boolean;
  };
  /** The timer limits the host announces to the library (Azure Storage: 6 days / 3 days). */
  timerLimits?: { maximumShortTimerMs?: number; longRunningTimerIntervalMs?: number };
  /**
   * host.json's functionTimeout (default 10 minutes, this app's value): an activity that
   * runs longer, on the shared clock or in real time, fails as the host cancels it.
   */
  functionTimeoutMs?: number;
}

export interface RunUntilIdleOptions {
  /** Never move the clock more than this past its value at the start. Default 400 days. */
  maxVirtualTimeMs?: number;
  /** Fire every timer due by this instant, then leave the clock there. */
  until?: Date | string;
  /** Stop after this many episodes. Default 10 000. */
  maxEpisodes?: number;
  /** Checked between steps; stop as soon as it returns true. */
  stopWhen?: () => boolean | Promise<boolean>;
}

export type RunStopReason = 'idle' | 'time-limit' | 'episode-limit' | 'stop-condition' | 'crashed' | 'closed';

export interface InstanceWaitSummary {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  waitingForEvents: string[];
  /** fireAt of the pending timers. */
  pendingTimers: string[];
  pendingActivities: string[];
  /** True when nothing the driver holds can move it on: only an external event or a terminate can. */
  stuck: boolean;
}

export interface RunReport {
  reason: RunStopReason;
  episodes: number;
  activityExecutions: number;
  timersFired: number;
  virtualStart: string;
  virtualEnd: string;
  virtualElapsedMs: number;
  wallClockMs: number;
  /** Every instance not in a terminal state after the run. */
  waiting: InstanceWaitSummary[];
  /** The subset of `waiting` that cannot progress on its own. */
  stuck: InstanceWaitSummary[];
}

export interface ListInstancesFilter {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date | string;
  createdTimeTo?: Date | string;
  instanceIdPrefix?: string;
  showInput?: boolean;
}

export interface HttpInvocation {
  method?: string;
  /** Path below the route prefix (or a full `/api/...` path when invoking by route). */
  path?: string;
  /** Route parameters, used to fill the function's route when no path is given. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A string or bytes are sent as they are; anything else as JSON. */
  body?: unknown;
}

export interface HttpInvocationResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON when it is JSON. */
  jsonBody: unknown;
  functionName?: string;
}

export interface TimerInvocation {
  isPastDue?: boolean;
}

/** The durable client binding data the host passes to functions (OrchestrationClientInputData). */
export interface ClientInputData {
  taskHubName: string;
  creationUrls: Record<string, string>;
  managementUrls: Record<string, string>;
  baseUrl: string;
  requiredQueryStringParameters: string;
  rpcBaseUrl: string;
}

export type FunctionModule = string | (() => Promise<unknown>);

export interface DurableDriver {
  readonly clock: VirtualClock;
  readonly taskHub: string;
  /** `http://127.0.0.1:<port>`: the durable HTTP API and the app's HTTP routes. */
  readonly baseUrl: string;
  /** Every function registered in this process, as the host would index it. */
  readonly registrations: FunctionRegistration[];
  registration(functionName: string): FunctionRegistration | undefined;
  loadFunctions(...modules: FunctionModule[]): Promise<FunctionRegistration[]>;
  startNew(orchestratorName: string, options?: { instanceId?: string; input?: unknown }): Promise<string>;
  raiseEvent(instanceId: string, eventName: string, eventData?: unknown): Promise<void>;
  terminate(instanceId: string, reason?: string): Promise<void>;
  getStatus(instanceId: string, options?: StatusViewOptions): Promise<OrchestrationStatus | undefined>;
  listInstances(filter?: ListInstancesFilter): Promise<OrchestrationStatus[]>;
  /** The instances changed since a mark (0: all), and the next mark: to watch many instances without listing them all (not a host API). */
  changedInstances(sinceMark: number, options?: StatusViewOptions): Promise<{ mark: number; statuses: OrchestrationStatus[] }>;
  purge(instanceId: string): Promise<{ instancesDeleted: number }>;
  runUntilIdle(options?: RunUntilIdleOptions): Promise<RunReport>;
  invokeHttp(target: string, request?: HttpInvocation): Promise<HttpInvocationResult>;
  invokeTimer(functionName: string, options?: TimerInvocation): Promise<void>;
  counters(instanceId: string): InstanceCounters | undefined;
  /** Requests the durable HTTP API served (what the app's durable client calls cost), by operation; `reset` starts counting again. */
  durableRequestCounts(options?: { reset?: boolean }): Record<string, number>;
  /** The raw history of the current generation, in the host's JSON form. */
  history(instanceId: string): HistoryEvent[] | undefined;
  clientInputData(): ClientInputData;
  /** With autoRun: resolves once everything runnable now has run. */
  whenIdle(): Promise<void>;
  readonly crashed: boolean;
  close(): Promise<void>;
}

const dayMs = 24 * 3600_000;
const defaultMaxVirtualTimeMs = 400 * dayMs;
const defaultMaxEpisodes = 10_000;
const outOfProcDataLabel = '\n\n$OutOfProcData$:';

/** Keeps the first, last and largest episode replay, and the first and last few (state files from before these counters start them fresh). */
function countEpisodeReplay(counters: InstanceCounters, replay: EpisodeReplay): void {
  counters.episodeReplay ??= { first: null, last: null, largest: null, firstFew: [], lastFew: [] };
  const tally = counters.episodeReplay;
  tally.first ??= replay;
  tally.last = replay;
  if (!tally.largest || replay.events > tally.largest.events) tally.largest = replay;
  if (tally.firstFew.length < REPLAY_SAMPLE) tally.firstFew.push(replay);
  tally.lastFew = [...tally.lastFew, replay].slice(-REPLAY_SAMPLE);
}

/** TimeSpan text as the extension sends it ("d.hh:mm:ss"). */
function toTimeSpan(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const days = Math.floor(totalSeconds / 86400);
  const hours = Math.floor((totalSeconds % 86400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${days}.${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
}

function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function validateInstanceId(instanceId: string): void {
  // The extension refuses these: they break the storage keys and the HTTP API's URLs.
  if (instanceId.length === 0) throw new DurableDriverError('BadRequest', 'Instance IDs must not be empty.');
  if (instanceId.startsWith('@')) throw new DurableDriverError('BadRequest', 'Orchestration instance ids must not start with @.');
  // eslint-disable-next-line no-control-regex
  if (/[/\\#?\u0000-\u001f\u007f]/.test(instanceId)) {
    throw new DurableDriverError('BadRequest', 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.');
  }
  if (instanceId.length > 256) throw new DurableDriverError('BadRequest', 'Instance ID lengths must not exceed 256 characters.');
}

interface OrchestratorState {
  isDone?: boolean;
  actions?: WireAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

interface ActivityOutcome {
  record: InstanceRecord;
  activity: PendingActivity;
  completion: HistoryEvent;
  elapsedMs: number;
}

class Driver implements DurableDriver {
  readonly clock: VirtualClock;
  readonly taskHub: string;
  private readonly store: InstanceStore;
  private readonly records = new Map<string, InstanceRecord>();
  private readonly inFlight = new Set<string>();
  /** Records changed since they were last written, by instance ID: written together at the end of a run, before a crash and on close. */
  private readonly unsaved = new Map<string, InstanceRecord>();
  /** Per instance, the change count at its last change (see changedInstances). */
  private readonly changeMarks = new Map<string, number>();
  private changeCount = 0;
  private readonly logger: DriverLogger | undefined;
  private readonly routePrefix: string;
  private readonly maximumShortTimerMs: number;
  private readonly longRunningTimerIntervalMs: number;
  private readonly functionTimeoutMs: number;
  private readonly systemKey = randomBytes(16).toString('base64url');
  private server: DurableHttpServer | undefined;
  private nextSequence = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private isCrashed = false;
  private isClosed = false;
  private pumpScheduled = false;
  private realTimeTimer: NodeJS.Timeout | undefined;
  private readonly disposers: Array<() => void> = [];

  constructor(private readonly options: DurableDriverOptions) {
    this.clock = options.clock;
    this.taskHub = options.taskHub ?? (process.env.DURABLE_TASK_HUB_NAME || 'TestHubName');
    this.logger = options.log;
    this.routePrefix = (options.routePrefix ?? 'api').replace(/^\/+|\/+$/g, '');
    this.maximumShortTimerMs = options.timerLimits?.maximumShortTimerMs ?? 6 * dayMs;
    this.longRunningTimerIntervalMs = options.timerLimits?.longRunningTimerIntervalMs ?? 3 * dayMs;
    this.functionTimeoutMs = options.functionTimeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS;
    this.store = new InstanceStore(options.stateDir, this.taskHub);
    for (const record of this.store.loadAll()) {
      this.records.set(record.instanceId, record);
      this.changeMarks.set(record.instanceId, ++this.changeCount);
      this.nextSequence = Math.max(this.nextSequence, record.sequence + 1);
    }
    if (this.logger) {
      const logger = this.logger;
      this.disposers.push(addSystemLogSink((level, message) => logger({ level: toDriverLevel(level), category: 'system', message })));
    }
    if (options.autoRun) {
      this.disposers.push(this.clock.onChange(() => this.schedulePump()));
    }
  }

  async start(): Promise<void> {
    this.server = await startDurableHttpServer(this, { port: this.options.port ?? 0 });
    if (this.records.size > 0) this.log('info', `resumed ${this.records.size} instance(s) from the state directory`);
    this.schedulePump();
  }

  get baseUrl(): string {
    if (!this.server) throw new DurableDriverError('Closed', 'the driver is not started');
    return this.server.baseUrl;
  }

  get crashed(): boolean {
    return this.isCrashed;
  }

  get registrations(): FunctionRegistration[] {
    return describeRegisteredFunctions();
  }

  registration(functionName: string): FunctionRegistration | undefined {
    const captured = capturedFunction(functionName);
    return captured ? describeFunction(captured) : undefined;
  }

  async loadFunctions(...modules: FunctionModule[]): Promise<FunctionRegistration[]> {
    installFunctionsHost();
    for (const module of modules) {
      if (typeof module === 'function') await module();
      else await import(pathToFileURL(resolvePath(module)).href);
    }
    const registrations = this.registrations;
    if (modules.length > 0 && registrations.length === 0) {
      throw new DurableDriverError(
        'BadRequest',
        'No function registrations were captured. @azure/functions was probably used before installFunctionsHost(): ' +
          'install the host stand-in first (import emulator/durable/install.js, or the vitest setupFile).',
      );
    }
    return registrations;
  }

  clientInputData(): ClientInputData {
    const origin = this.baseUrl;
    const webhooks = `${origin}/runtime/webhooks/durabletask`;
    const code = `code=${this.systemKey}`;
    const query = `taskHub=${encodeURIComponent(this.taskHub)}&connection=Storage&${code}`;
    const instance = `${webhooks}/instances/INSTANCEID`;
    return {
      taskHubName: this.taskHub,
      creationUrls: {
        createNewInstancePostUri: `${webhooks}/orchestrators/{functionName}[/{instanceId}]?${code}`,
        createAndWaitOnNewInstancePostUri: `${webhooks}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        statusQueryGetUri: `${instance}?${query}`,
        sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
        terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
        rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
        purgeHistoryDeleteUri: `${instance}?${query}`,
        restartPostUri: `${instance}/restart?${query}`,
        suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
        resumePostUri: `${instance}/resume?reason={text}&${query}`,
      },
      baseUrl: webhooks,
      requiredQueryStringParameters: code,
      rpcBaseUrl: `${origin}/durabletask/`,
    };
  }

  /** The system key the webhook URLs carry (the HTTP server checks it). */
  get webhookCode(): string {
    return this.systemKey;
  }

  get httpRoutePrefix(): string {
    return this.routePrefix;
  }

  // ---- client operations (shared by the direct API and the HTTP API) ----

  createInstance(orchestratorName: string, instanceId: string | undefined, inputJson: string | null): string {
    this.assertUsable();
    const registration = this.registration(orchestratorName);
    if (!registration || registration.triggerType !== 'orchestrationTrigger') {
      throw new DurableDriverError(
        'BadRequest',
        `The function '${orchestratorName}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    }
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    validateInstanceId(id);
    const existing = this.records.get(id);
    if (existing && !isTerminalStatus(existing.runtimeStatus)) {
      throw new DurableDriverError('Conflict', `An Orchestration instance with the status ${existing.runtimeStatus} already exists.`);
    }
    const now = this.clock.now().toISOString();
    const executionId = randomUUID().replace(/-/g, '');
    const record: InstanceRecord = {
      instanceId: id,
      name: orchestratorName,
      executionId,
      runtimeStatus: 'Pending',
      input: inputJson,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      history: [],
      inbox: [executionStarted({ name: orchestratorName, instanceId: id, executionId, input: inputJson, timestamp: now })],
      pendingActivities: [],
      pendingTimers: [],
      waitingForEvents: [],
      counters: newCounters(),
      sequence: this.nextSequence++,
    };
    // Deleted first, so that the map stays in order of creation (sequence).
    this.records.delete(id);
    this.records.set(id, record);
    this.persistNow(record);
    this.log('info', `started '${orchestratorName}'`, { instanceId: id });
    this.schedulePump();
    return id;
  }

  enqueueEvent(instanceId: string, eventName: string, dataJson: string | null): void {
    this.assertUsable();
    const record = this.requireRecord(instanceId);
    if (isTerminalStatus(record.runtimeStatus)) {
      throw new DurableDriverError('Gone', `Cannot raise event ${eventName} for orchestration instance ${instanceId} because instance is in ${record.runtimeStatus} state`);
    }
    record.inbox.push(eventRaised(eventName, dataJson, this.clock.now().toISOString()));
    this.persistNow(record);
    this.log('info', `event '${eventName}' raised`, { instanceId });
    this.schedulePump();
  }

  enqueueTermination(instanceId: string, reason: string | null): void {
    this.assertUsable();
    const record = this.requireRecord(instanceId);
    if (isTerminalStatus(record.runtimeStatus)) {
      throw new DurableDriverError('Gone', `Cannot terminate the orchestration instance ${instanceId} because instance is in ${record.runtimeStatus} state`);
    }
    record.inbox.push(executionTerminated(reason, this.clock.now().toISOString()));
    this.persistNow(record);
    this.log('info', 'termination requested', { instanceId });
    this.schedulePump();
  }

  statusPayload(instanceId: string, options: StatusViewOptions = {}): StatusPayload | undefined {
    const record = this.records.get(instanceId);
    return record ? toStatusPayload(record, options) : undefined;
  }

  queryStatus(filter: ListInstancesFilter = {}): StatusPayload[] {
    const from = filter.createdTimeFrom !== undefined ? new Date(filter.createdTimeFrom).getTime() : undefined;
    const to = filter.createdTimeTo !== undefined ? new Date(filter.createdTimeTo).getTime() : undefined;
    return this.sortedRecords()
      .filter((record) => {
        const created = new Date(record.createdTime).getTime();
        if (from !== undefined && created < from) return false;
        if (to !== undefined && created > to) return false;
        if (filter.runtimeStatus && filter.runtimeStatus.length > 0 && !filter.runtimeStatus.includes(record.runtimeStatus)) return false;
        if (filter.instanceIdPrefix !== undefined && !record.instanceId.startsWith(filter.instanceIdPrefix)) return false;
        return true;
      })
      .map((record) => toStatusPayload(record, { showInput: filter.showInput !== false }));
  }

  purgeInstance(instanceId: string): number {
    const record = this.requireRecord(instanceId);
    if (!isTerminalStatus(record.runtimeStatus)) {
      throw new DurableDriverError(
        'PreconditionFailed',
        `Only orchestrations in a terminal state can be purged, but the orchestration with instance ID ${instanceId} has status ${record.runtimeStatus}`,
      );
    }
    this.records.delete(instanceId);
    this.unsaved.delete(instanceId);
    this.changeMarks.delete(instanceId);
    this.store.delete(instanceId);
    this.log('info', 'purged', { instanceId });
    return 1;
  }

  purgeWhere(filter: ListInstancesFilter): number {
    const terminal: RuntimeStatus[] = ['Completed', 'Failed', 'Terminated', 'Canceled'];
    const statuses = filter.runtimeStatus && filter.runtimeStatus.length > 0 ? filter.runtimeStatus.filter((s) => terminal.includes(s)) : terminal;
    const matches = this.queryStatus({ ...filter, runtimeStatus: statuses });
    for (const match of matches) this.purgeInstance(match.instanceId);
    return matches.length;
  }

  // ---- the public, Promise-based API ----

  async startNew(orchestratorName: string, options: { instanceId?: string; input?: unknown } = {}): Promise<string> {
    return this.createInstance(orchestratorName, options.instanceId, toJson(options.input));
  }

  async raiseEvent(instanceId: string, eventName: string, eventData?: unknown): Promise<void> {
    if (!eventName) throw new DurableDriverError('BadRequest', 'eventName must be a valid string.');
    try {
      this.enqueueEvent(instanceId, eventName, toJson(eventData ?? null));
    } catch (error) {
      // Like the JavaScript client: an event for a finished instance is silently dropped.
      if (error instanceof DurableDriverError && error.code === 'Gone') {
        this.log('warn', `event '${eventName}' dropped: ${error.message}`, { instanceId });
        return;
      }
      throw error;
    }
  }

  async terminate(instanceId: string, reason?: string): Promise<void> {
    try {
      this.enqueueTermination(instanceId, reason ?? null);
    } catch (error) {
      if (error instanceof DurableDriverError && error.code === 'Gone') {
        this.log('warn', `terminate ignored: ${error.message}`, { instanceId });
        return;
      }
      throw error;
    }
  }

  async getStatus(instanceId: string, options: StatusViewOptions = {}): Promise<OrchestrationStatus | undefined> {
    const payload = this.statusPayload(instanceId, options);
    return payload ? toOrchestrationStatus(payload) : undefined;
  }

  async listInstances(filter: ListInstancesFilter = {}): Promise<OrchestrationStatus[]> {
    return this.queryStatus(filter).map(toOrchestrationStatus);
  }

  /**
   * The instances changed since `sinceMark` (0: all of them), in order of creation,
   * and the mark to pass next time: a watcher of many instances (the demo) looks at
   * the few that changed, not at every instance on every step. Not a host API.
   */
  async changedInstances(sinceMark: number, options: StatusViewOptions = {}): Promise<{ mark: number; statuses: OrchestrationStatus[] }> {
    const statuses: OrchestrationStatus[] = [];
    if (sinceMark < this.changeCount) {
      for (const record of this.records.values()) {
        if ((this.changeMarks.get(record.instanceId) ?? 0) > sinceMark) statuses.push(toOrchestrationStatus(toStatusPayload(record, options)));
      }
    }
    return { mark: this.changeCount, statuses };
  }

  async purge(instanceId: string): Promise<{ instancesDeleted: number }> {
    if (!this.records.has(instanceId)) return { instancesDeleted: 0 };
    return { instancesDeleted: this.purgeInstance(instanceId) };
  }

  durableRequestCounts(options: { reset?: boolean } = {}): Record<string, number> {
    const counts = this.server?.requestCounts() ?? {};
    if (options.reset) this.server?.resetRequestCounts();
    return counts;
  }

  counters(instanceId: string): InstanceCounters | undefined {
    const record = this.records.get(instanceId);
    return record ? structuredClone(record.counters) : undefined;
  }

  history(instanceId: string): HistoryEvent[] | undefined {
    const record = this.records.get(instanceId);
    return record ? structuredClone(record.history) : undefined;
  }

  // ---- running ----

  runUntilIdle(options: RunUntilIdleOptions = {}): Promise<RunReport> {
    return this.exclusive(() => this.run(options));
  }

  whenIdle(): Promise<void> {
    return this.exclusive(async () => {
      await this.runRunnable(Number.POSITIVE_INFINITY);
    });
  }

  private async run(options: RunUntilIdleOptions): Promise<RunReport> {
    const wallStart = performance.now();
    const virtualStartMs = this.clock.nowMs();
    const untilMs = options.until !== undefined ? new Date(options.until).getTime() : undefined;
    if (untilMs !== undefined && Number.isNaN(untilMs)) throw new TypeError(`until: "${String(options.until)}" is not a valid date`);
    const limitMs = virtualStartMs + (options.maxVirtualTimeMs ?? defaultMaxVirtualTimeMs);
    const deadlineMs = untilMs !== undefined ? Math.min(untilMs, limitMs) : limitMs;
    const maxEpisodes = options.maxEpisodes ?? defaultMaxEpisodes;
    const tally = { episodes: 0, activities: 0, timers: 0 };
    let reason: RunStopReason;

    for (;;) {
      if (this.isCrashed) {
        reason = 'crashed';
        break;
      }
      if (this.isClosed) {
        reason = 'closed';
        break;
      }
      if (options.stopWhen && (await options.stopWhen())) {
        reason = 'stop-condition';
        break;
      }
      if (tally.episodes >= maxEpisodes) {
        reason = 'episode-limit';
        break;
      }
      const step = await this.runStep(maxEpisodes - tally.episodes);
      tally.episodes += step.episodes;
      tally.activities += step.activities;
      tally.timers += step.timers;
      if (step.progressed) continue;

      const next = this.nextTimerMs();
      if (next !== undefined && next <= deadlineMs) {
        this.clock.set(new Date(Math.max(next, this.clock.nowMs())));
        continue;
      }
      reason = next !== undefined && (untilMs === undefined || next <= untilMs) ? 'time-limit' : 'idle';
      break;
    }

    this.saveChanged();
    if (untilMs !== undefined && (reason === 'idle' || reason === 'time-limit') && this.clock.nowMs() < untilMs && untilMs <= limitMs) {
      this.clock.set(new Date(untilMs));
    }
    const waiting = this.waitSummaries();
    const report: RunReport = {
      reason,
      episodes: tally.episodes,
      activityExecutions: tally.activities,
      timersFired: tally.timers,
      virtualStart: new Date(virtualStartMs).toISOString(),
      virtualEnd: this.clock.now().toISOString(),
      virtualElapsedMs: this.clock.nowMs() - virtualStartMs,
      wallClockMs: performance.now() - wallStart,
      waiting,
      stuck: waiting.filter((summary) => summary.stuck),
    };
    this.log('debug', `runUntilIdle stopped (${reason}) after ${report.episodes} episode(s)`);
    return report;
  }

  /** Everything runnable without moving the clock: episodes, then activities, then due timers. */
  private async runStep(episodeBudget: number): Promise<{ progressed: boolean; episodes: number; activities: number; timers: number }> {
    const result = { progressed: false, episodes: 0, activities: 0, timers: 0 };
    const runnable = this.sortedRecords().filter((record) => record.inbox.length > 0);
    if (runnable.length > 0) {
      for (const record of runnable) {
        if (result.episodes >= episodeBudget || this.isCrashed || this.isClosed) break;
        await this.runEpisode(record);
        result.episodes += 1;
      }
      result.progressed = true;
      return result;
    }
    const activities = this.sortedRecords().flatMap((record) =>
      record.pendingActivities.filter((activity) => !this.inFlight.has(activityKey(record, activity))).map((activity) => ({ record, activity })),
    );
    if (activities.length > 0) {
      result.activities = await this.runActivities(activities);
      result.progressed = true;
      return result;
    }
    result.timers = this.fireDueTimers();
    result.progressed = result.timers > 0;
    return result;
  }

  private async runRunnable(maxEpisodes: number): Promise<void> {
    let episodes = 0;
    while (!this.isCrashed && !this.isClosed && episodes < maxEpisodes) {
      const step = await this.runStep(maxEpisodes - episodes);
      episodes += step.episodes;
      if (!step.progressed) break;
    }
    this.saveChanged();
  }

  /** The records in order of creation: the map holds them so (loaded sorted, a new record goes last). */
  private sortedRecords(): InstanceRecord[] {
    return [...this.records.values()];
  }

  private nextTimerMs(): number | undefined {
    let next: number | undefined;
    for (const record of this.records.values()) {
      for (const timer of record.pendingTimers) {
        const fireAtMs = timerMs(timer);
        if (next === undefined || fireAtMs < next) next = fireAtMs;
      }
    }
    return next;
  }

  private fireDueTimers(): number {
    const nowMs = this.clock.nowMs();
    const now = new Date(nowMs).toISOString();
    let fired = 0;
    for (const record of this.sortedRecords()) {
      if (!record.pendingTimers.some((timer) => timerMs(timer) <= nowMs)) continue;
      const due = record.pendingTimers.filter((timer) => timerMs(timer) <= nowMs).sort((a, b) => timerMs(a) - timerMs(b) || a.timerId - b.timerId);
      for (const timer of due) {
        record.inbox.push(timerFired(timer.timerId, timer.fireAt, now));
        record.counters.timersFired += 1;
        fired += 1;
      }
      record.pendingTimers = record.pendingTimers.filter((timer) => !due.includes(timer));
      this.persist(record);
    }
    return fired;
  }

  private waitSummaries(): InstanceWaitSummary[] {
    return this.sortedRecords()
      .filter((record) => !isTerminalStatus(record.runtimeStatus))
      .map((record) => {
        const pendingTimers = record.pendingTimers.map((timer) => timer.fireAt).sort();
        const pendingActivities = record.pendingActivities.map((activity) => activity.name);
        return {
          instanceId: record.instanceId,
          name: record.name,
          runtimeStatus: record.runtimeStatus,
          waitingForEvents: [...record.waitingForEvents],
          pendingTimers,
          pendingActivities,
          stuck: pendingTimers.length === 0 && pendingActivities.length === 0 && record.inbox.length === 0,
        };
      });
  }

  // ---- one episode ----

  private async runEpisode(record: InstanceRecord): Promise<void> {
    // Events are removed from the inbox only when the episode commits, so a crash in
    // between leaves them there for the next driver.
    const consumed = record.inbox.length;
    const newEvents = record.inbox.slice(0, consumed);
    if (consumed === 0) return;
    const now = this.clock.now().toISOString();

    if (isTerminalStatus(record.runtimeStatus)) {
      // Late timers and events for a finished instance are discarded, as the host does.
      record.inbox.splice(0, consumed);
      this.persist(record);
      return;
    }

    const termination = newEvents.find((event) => event.EventType === EventType.ExecutionTerminated);
    if (termination) {
      const started = newEvents.filter((event) => event.EventType === EventType.ExecutionStarted);
      const reason = (termination.Input as string | null) ?? null;
      record.history.push(orchestratorStarted(now), ...started, termination, executionCompleted({ status: 'Terminated', result: reason, timestamp: now }), orchestratorCompleted(now));
      record.inbox.splice(0, consumed);
      this.finish(record, 'Terminated', reason, now);
      record.counters.episodes += 1;
      this.persist(record);
      this.log('info', 'terminated', { instanceId: record.instanceId });
      return;
    }

    const episodeStart = performance.now();
    const pastEvents = record.history.map((event) => ({ ...event, IsPlayed: true }));
    const currentEvents = [orchestratorStarted(now), ...newEvents].map((event) => ({ ...event, IsPlayed: false }));
    const replayHistory = [...pastEvents, ...currentEvents];

    const { state, error } = await this.invokeOrchestrator(record, replayHistory);
    if (this.isCrashed || this.isClosed) return;

    let failure: string | undefined;
    let failureDetails: FailureDetailsPayload | undefined;
    let shimResult: ReturnType<ReplayShim['run']> | undefined;
    try {
      if (state && (state.schemaVersion ?? 0) < 1) {
        throw new UnsupportedActionError(`the library answered with replay schema ${String(state.schemaVersion)}; the driver offers V3 and handles V2+ only`);
      }
      const shim = new ReplayShim(state?.actions?.[0] ?? [], {
        maximumShortTimerMs: this.maximumShortTimerMs,
        longRunningTimerIntervalMs: this.longRunningTimerIntervalMs,
      });
      shimResult = shim.run(replayHistory);
    } catch (shimError) {
      if (!(shimError instanceof NonDeterminismError || shimError instanceof UnsupportedActionError)) throw shimError;
      failure = shimError.message;
      failureDetails = { ErrorType: shimError.name, ErrorMessage: shimError.message };
    }
    const oversizedStatus = state ? customStatusTooLarge(state.customStatus) : undefined;
    if (failure === undefined && oversizedStatus !== undefined) {
      failure = `Orchestrator function '${record.name}' failed: ${oversizedStatus}`;
      failureDetails = { ErrorType: 'ArgumentException', ErrorMessage: oversizedStatus };
    }
    if (failure === undefined && error !== undefined) {
      failure = `Orchestrator function '${record.name}' failed: ${error}`;
      failureDetails = { ErrorType: 'OrchestrationFailureException', ErrorMessage: failure };
    }
    if (failure === undefined && !state) {
      failure = `Orchestrator function '${record.name}' returned no orchestration state: is it registered with df.app.orchestration?`;
      failureDetails = { ErrorType: 'InvalidOperationException', ErrorMessage: failure };
    }

    record.history.push(...currentEvents.map(stripPlayed));
    record.inbox.splice(0, consumed);
    // An oversized status is refused: the last accepted one stays.
    if (oversizedStatus === undefined) record.customStatus = state && state.customStatus !== undefined ? toJson(state.customStatus) : null;
    record.counters.episodes += 1;

    if (failure !== undefined) {
      record.history.push(
        executionCompleted({ status: 'Failed', result: failure, timestamp: now, ...(failureDetails ? { failureDetails } : {}) }),
        orchestratorCompleted(now),
      );
      this.finish(record, 'Failed', failure, now);
      // The first line only: Details carry stacks, the full text is in the status.
      this.log('warn', `failed: ${(failure.split('\n')[0] ?? '').slice(0, 300)}`, { instanceId: record.instanceId, functionName: record.name });
    } else if (shimResult && state) {
      for (const work of shimResult.newWork) {
        if (work.kind === 'activity') {
          record.history.push(taskScheduled(work.id, work.name, toJson(work.input ?? null), now));
          record.pendingActivities.push({ executionId: record.executionId, taskScheduledId: work.id, name: work.name, input: work.input });
        } else {
          const fireAt = work.fireAt.toISOString();
          record.history.push(timerCreated(work.id, fireAt, now));
          record.pendingTimers.push({ executionId: record.executionId, timerId: work.id, fireAt });
          record.counters.timersCreated += 1;
        }
      }
      record.waitingForEvents = shimResult.waitingForEvents;
      if (state.isDone && shimResult.continueAsNew) {
        record.history.push(orchestratorCompleted(now));
        this.continueAsNew(record, shimResult.continueAsNew.input, now);
      } else if (state.isDone) {
        const output = toJson(state.output ?? null);
        record.history.push(executionCompleted({ status: 'Completed', result: output, timestamp: now }), orchestratorCompleted(now));
        this.finish(record, 'Completed', output, now);
        this.log('info', 'completed', { instanceId: record.instanceId, functionName: record.name });
      } else {
        record.history.push(orchestratorCompleted(now));
        record.runtimeStatus = 'Running';
        record.lastUpdatedTime = now;
      }
    }
    record.counters.historyEvents = record.history.length;
    const replayMs = performance.now() - episodeStart;
    record.counters.replayWallClockMs += replayMs;
    countEpisodeReplay(record.counters, { events: replayHistory.length, ms: replayMs });
    this.persist(record);
  }

  private async invokeOrchestrator(record: InstanceRecord, history: HistoryEvent[]): Promise<{ state?: OrchestratorState; error?: string }> {
    if (!capturedFunction(record.name)) {
      throw new DurableDriverError(
        'NotFound',
        `orchestrator function '${record.name}' (instance ${record.instanceId}) is not registered: call loadFunctions() with the app's modules first`,
      );
    }
    // The orchestration trigger's data, as the extension serialises it.
    const context = {
      history,
      input: record.input === null ? null : JSON.parse(record.input),
      instanceId: record.instanceId,
      isReplaying: history.some((event) => event.IsPlayed),
      parentInstanceId: null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: toTimeSpan(this.longRunningTimerIntervalMs),
      maximumShortTimerDuration: toTimeSpan(this.maximumShortTimerMs),
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    try {
      const result = await invokeCapturedFunction(record.name, {
        trigger: { string: JSON.stringify(context) },
        onLog: this.functionLogHandler(record.instanceId),
      });
      return { state: decodeTypedData(result.returnValue) as OrchestratorState | undefined };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const marker = message.indexOf(outOfProcDataLabel);
      if (marker < 0) return { error: message };
      // The library's failure carries the replay state (actions so far, custom status).
      const state = JSON.parse(message.slice(marker + outOfProcDataLabel.length)) as OrchestratorState;
      return { state, error: state.error ?? message.slice(0, marker) };
    }
  }

  private finish(record: InstanceRecord, status: RuntimeStatus, output: string | null, now: string): void {
    record.runtimeStatus = status;
    record.output = output;
    record.lastUpdatedTime = now;
    record.pendingActivities = [];
    record.pendingTimers = [];
    record.waitingForEvents = [];
  }

  private continueAsNew(record: InstanceRecord, input: unknown, now: string): void {
    // A new execution: fresh history, the old execution's timers and activities are
    // dropped, events still queued go to the new generation. Events already in the old
    // history and never awaited are lost (the library has no preserve option).
    const inputJson = toJson(input ?? null);
    record.executionId = randomUUID().replace(/-/g, '');
    record.counters.historyEventsOfEarlierGenerations = (record.counters.historyEventsOfEarlierGenerations ?? 0) + record.history.length;
    record.history = [];
    record.input = inputJson;
    record.output = null;
    record.runtimeStatus = 'ContinuedAsNew';
    record.createdTime = now;
    record.lastUpdatedTime = now;
    record.pendingActivities = [];
    record.pendingTimers = [];
    record.waitingForEvents = [];
    record.counters.generations += 1;
    record.inbox.unshift(
      executionStarted({ name: record.name, instanceId: record.instanceId, executionId: record.executionId, input: inputJson, timestamp: now }),
    );
    this.log('info', `continued as new (generation ${record.counters.generations})`, { instanceId: record.instanceId });
  }

  // ---- activities ----

  private async runActivities(batch: Array<{ record: InstanceRecord; activity: PendingActivity }>): Promise<number> {
    const aimedBefore = batch.find(({ record, activity }) =>
      this.options.faults?.crashBeforeActivity?.({ instanceId: record.instanceId, name: activity.name, taskScheduledId: activity.taskScheduledId }),
    );
    if (aimedBefore) {
      this.crash();
      this.log('warn', `simulated host crash just before activity '${aimedBefore.activity.name}' ran`, { instanceId: aimedBefore.record.instanceId });
      return 0;
    }
    for (const { record, activity } of batch) this.inFlight.add(activityKey(record, activity));
    const outcomes = await this.runConcurrently(batch);
    let executed = 0;
    try {
      // Recorded in scheduling order whatever the completion order, so histories do
      // not depend on I/O timing.
      for (const outcome of outcomes) {
        if (this.isCrashed || this.isClosed) break;
        const { record, activity } = outcome;
        const crashesHere = this.options.faults?.crashAfterActivity?.({ instanceId: record.instanceId, name: activity.name, taskScheduledId: activity.taskScheduledId }) === true;
        // What the host had recorded up to here is on disk; this activity's run is not.
        if (crashesHere) this.saveChanged();
        executed += 1;
        record.counters.activityCalls[activity.name] = (record.counters.activityCalls[activity.name] ?? 0) + 1;
        record.counters.activityWallClockMs += outcome.elapsedMs;
        if (crashesHere) {
          this.crash();
          this.log('warn', `simulated host crash after activity '${activity.name}' ran, before its completion was recorded`, {
            instanceId: record.instanceId,
          });
          break;
        }
        const current = this.records.get(record.instanceId);
        if (current !== record || record.executionId !== activity.executionId || isTerminalStatus(record.runtimeStatus)) continue;
        record.pendingActivities = record.pendingActivities.filter((pending) => pending !== activity);
        record.inbox.push(outcome.completion);
        this.persist(record);
      }
    } finally {
      for (const { record, activity } of batch) this.inFlight.delete(activityKey(record, activity));
    }
    return executed;
  }

  /**
   * Runs a batch at once, as a host's workers would. An activity may sleep on
   * the clock (the app's ARM budget waits so): on a manual clock time moves only
   * when every unfinished activity of the batch is asleep and no request is on
   * its way, and then to the earliest wake-up, as time would pass on a host
   * while they all waited.
   */
  private async runConcurrently(batch: Array<{ record: InstanceRecord; activity: PendingActivity }>): Promise<ActivityOutcome[]> {
    if (this.clock.mode !== 'manual') return Promise.all(batch.map(({ record, activity }) => this.runActivity(record, activity)));
    const running = new Set<string>();
    let checkQueued = false;
    const moveTimeIfAllAsleep = (): void => {
      if (checkQueued) return;
      checkQueued = true;
      // After the current turn: a sleep just woken may be about to send, not to sleep again.
      setImmediate(() => {
        checkQueued = false;
        if (running.size === 0 || this.isClosed || this.clock.isHeld()) return;
        const asleep = this.clock.sleepingOwners();
        if (![...running].every((owner) => asleep.has(owner))) return;
        const wakeMs = this.clock.nextWakeMs(running);
        if (wakeMs !== undefined && wakeMs > this.clock.nowMs()) this.clock.set(new Date(wakeMs));
      });
    };
    const stopWatching = this.clock.onSleep(moveTimeIfAllAsleep);
    try {
      return await Promise.all(
        batch.map(async ({ record, activity }) => {
          const owner = activityKey(record, activity);
          running.add(owner);
          try {
            return await this.clock.runAs(owner, () => this.runActivity(record, activity));
          } finally {
            running.delete(owner);
            moveTimeIfAllAsleep();
          }
        }),
      );
    } finally {
      stopWatching();
    }
  }

  private async runActivity(record: InstanceRecord, activity: PendingActivity): Promise<ActivityOutcome> {
    const started = performance.now();
    const registration = this.registration(activity.name);
    let completion: HistoryEvent;
    if (!registration || registration.triggerType !== 'activityTrigger') {
      const message = `The function '${activity.name}' doesn't exist, is disabled, or is not an activity function.`;
      completion = taskFailed(activity.taskScheduledId, { reason: message, details: JSON.stringify({ Message: message }) }, this.clock.now().toISOString());
    } else {
      const startedOnClockMs = this.clock.nowMs();
      try {
        const result = await invokeCapturedFunction(activity.name, {
          trigger: jsonValueTypedData(activity.input),
          onLog: this.functionLogHandler(record.instanceId),
        });
        const ranForMs = Math.max(this.clock.nowMs() - startedOnClockMs, performance.now() - started);
        if (ranForMs > this.functionTimeoutMs) throw new Error(functionTimeoutMessage(activity.name, this.functionTimeoutMs, toTimeSpan));
        const value = decodeTypedData(result.returnValue);
        completion = taskCompleted(activity.taskScheduledId, JSON.stringify(value ?? null), this.clock.now().toISOString());
        this.log('debug', `activity '${activity.name}' (id ${activity.taskScheduledId}) completed`, { instanceId: record.instanceId, functionName: activity.name });
      } catch (error) {
        completion = taskFailed(activity.taskScheduledId, activityFailure(activity.name, error), this.clock.now().toISOString());
        this.log('info', `activity '${activity.name}' (id ${activity.taskScheduledId}) failed`, { instanceId: record.instanceId, functionName: activity.name });
      }
    }
    return { record, activity, completion, elapsedMs: performance.now() - started };
  }

  // ---- HTTP and timer triggers ----

  async invokeHttp(target: string, request: HttpInvocation = {}): Promise<HttpInvocationResult> {
    this.assertUsable();
    const method = (request.method ?? 'GET').toUpperCase();
    let registration: FunctionRegistration | undefined;
    let routePath: string;
    let params: Record<string, string> | undefined;

    if (target.startsWith('/') || /^https?:\/\//.test(target)) {
      const url = new URL(target, this.baseUrl);
      const prefix = this.routePrefix ? `/${this.routePrefix}` : '';
      if (prefix && !(url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))) return notFound();
      routePath = url.pathname.slice(prefix.length).replace(/^\/+/, '');
      if ([...url.searchParams].length > 0) request = { ...request, query: { ...Object.fromEntries(url.searchParams), ...(request.query ?? {}) } };
      for (const candidate of this.registrations) {
        if (candidate.triggerType.toLowerCase() !== 'httptrigger' || !candidate.effectiveRoute) continue;
        if (candidate.methods && !candidate.methods.includes(method)) continue;
        const matched = matchRoute(candidate.effectiveRoute, routePath);
        if (matched) {
          registration = candidate;
          params = matched;
          break;
        }
      }
      if (!registration) return notFound();
    } else {
      registration = this.registration(target);
      if (!registration || registration.triggerType.toLowerCase() !== 'httptrigger') {
        throw new DurableDriverError('NotFound', `'${target}' is not a registered HTTP-triggered function`);
      }
      if (registration.methods && !registration.methods.includes(method)) {
        throw new DurableDriverError('BadRequest', `function '${target}' does not accept ${method} (it accepts ${registration.methods.join(', ')})`);
      }
      routePath = request.path?.replace(/^\/+/, '') ?? fillRoute(registration.effectiveRoute ?? registration.name, request.params ?? {});
      params = matchRoute(registration.effectiveRoute ?? registration.name, routePath);
      if (!params) throw new DurableDriverError('BadRequest', `path '${routePath}' does not match the route '${registration.effectiveRoute}' of '${target}'`);
    }

    const query = new URLSearchParams(request.query ?? {});
    const url = `${this.baseUrl}/${this.routePrefix ? `${this.routePrefix}/` : ''}${routePath}${query.toString() !== '' ? `?${query.toString()}` : ''}`;
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers ?? {})) headers[key.toLowerCase()] = value;
    headers.host ??= new URL(this.baseUrl).host;
    let body: RpcTypedData | undefined;
    if (request.body !== undefined && request.body !== null) {
      if (typeof request.body === 'string') body = { string: request.body };
      else if (request.body instanceof Uint8Array) body = { bytes: request.body };
      else {
        body = { string: JSON.stringify(request.body) };
        headers['content-type'] ??= 'application/json';
      }
    }
    const http: RpcHttpData = { method, url, headers, query: Object.fromEntries(query), params: params ?? {}, ...(body ? { body } : {}) };
    const result = await invokeCapturedFunction(registration.name, {
      trigger: { http },
      extraInputsByType: this.clientBindingData(),
      onLog: this.functionLogHandler(undefined),
    });
    const response = decodeTypedData(result.returnValue) as RpcHttpData | undefined;
    return { ...decodeHttpResponse(response), functionName: registration.name };
  }

  async invokeTimer(functionName: string, options: TimerInvocation = {}): Promise<void> {
    this.assertUsable();
    const registration = this.registration(functionName);
    if (!registration || registration.triggerType.toLowerCase() !== 'timertrigger') {
      throw new DurableDriverError('NotFound', `'${functionName}' is not a registered timer-triggered function`);
    }
    // The host's TimerInfo; ScheduleStatus is null when no schedule monitor record exists.
    const timerInfo = { Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: options.isPastDue === true };
    await invokeCapturedFunction(functionName, {
      trigger: { json: JSON.stringify(timerInfo) },
      extraInputsByType: this.clientBindingData(),
      onLog: this.functionLogHandler(undefined),
    });
  }

  private clientBindingData(): Record<string, RpcTypedData> {
    const data: RpcTypedData = { string: JSON.stringify(this.clientInputData()) };
    return { durableClient: data, orchestrationClient: data };
  }

  // ---- background processing (autoRun) ----

  private schedulePump(): void {
    if (!this.options.autoRun || this.isClosed || this.isCrashed || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.exclusive(() => this.runRunnable(Number.POSITIVE_INFINITY))
        .catch((error: unknown) => this.log('error', `background processing failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.armRealTimeTimer());
    });
  }

  private armRealTimeTimer(): void {
    if (this.realTimeTimer) clearTimeout(this.realTimeTimer);
    this.realTimeTimer = undefined;
    if (!this.options.autoRun || this.isClosed || this.clock.mode !== 'real') return;
    const next = this.nextTimerMs();
    if (next === undefined) return;
    const delayMs = Math.min(Math.max(next - this.clock.nowMs(), 0), 2 ** 31 - 1);
    this.realTimeTimer = setTimeout(() => this.schedulePump(), delayMs);
    this.realTimeTimer.unref();
  }

  // ---- plumbing ----

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private requireRecord(instanceId: string): InstanceRecord {
    const record = this.records.get(instanceId);
    if (!record) throw new DurableDriverError('NotFound', `No instance with ID '${instanceId}' found.`);
    return record;
  }

  private assertUsable(): void {
    if (this.isCrashed) throw new DurableDriverError('Closed', 'the driver crashed (fault injection); start a new driver on the same stateDir');
    if (this.isClosed) throw new DurableDriverError('Closed', 'the driver is closed');
  }

  /**
   * Marks a record as changed. Records are written in batches (saveChanged): at the
   * end of each run, just before a simulated crash and on close, so that what a
   * crash leaves on disk is what a host that wrote after every change would leave,
   * without rewriting a whole history per change.
   */
  private persist(record: InstanceRecord): void {
    // A crashed or closed host writes nothing more.
    if (this.isCrashed || this.isClosed) return;
    this.changeMarks.set(record.instanceId, ++this.changeCount);
    if (!this.store.persistent) return;
    this.unsaved.set(record.instanceId, record);
  }

  /** Writes a record at once: a client's request (start, event, terminate) is stored before it is answered. */
  private persistNow(record: InstanceRecord): void {
    if (this.isCrashed || this.isClosed) return;
    this.changeMarks.set(record.instanceId, ++this.changeCount);
    this.unsaved.delete(record.instanceId);
    this.store.save(record);
  }

  private saveChanged(): void {
    if (this.isCrashed || this.isClosed) return;
    for (const record of this.unsaved.values()) this.store.save(record);
    this.unsaved.clear();
  }

  private crash(): void {
    this.saveChanged();
    this.isCrashed = true;
    this.unsaved.clear();
  }

  private functionLogHandler(instanceId: string | undefined): FunctionLogHandler | undefined {
    const logger = this.logger;
    if (!logger) return undefined;
    return (entry) =>
      logger({
        level: toDriverLevel(entry.level),
        category: entry.category === 'system' ? 'system' : 'function',
        message: entry.message,
        functionName: entry.functionName,
        ...(instanceId ? { instanceId } : {}),
      });
  }

  private log(level: DriverLogLevel, message: string, context: { instanceId?: string; functionName?: string } = {}): void {
    this.logger?.({ level, category: 'driver', message, ...context });
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.saveChanged();
    this.isClosed = true;
    if (this.realTimeTimer) clearTimeout(this.realTimeTimer);
    for (const dispose of this.disposers.splice(0)) dispose();
    await this.server?.close();
  }
}

/** A timer's fireAt in ms, parsed once: every step looks at every pending timer. */
const timerMsCache = new WeakMap<PendingTimer, number>();
function timerMs(timer: PendingTimer): number {
  let ms = timerMsCache.get(timer);
  if (ms === undefined) {
    ms = new Date(timer.fireAt).getTime();
    timerMsCache.set(timer, ms);
  }
  return ms;
}

function activityKey(record: InstanceRecord, activity: PendingActivity): string {
  return `${record.instanceId}\u0000${activity.executionId}\u0000${activity.taskScheduledId}`;
}

function stripPlayed(event: HistoryEvent): HistoryEvent {
  const { IsPlayed: _played, ...rest } = event;
  return rest as HistoryEvent;
}

function toDriverLevel(level: string): DriverLogLevel {
  switch (level.toLowerCase()) {
    case 'error':
    case 'critical':
      return 'error';
    case 'warning':
    case 'warn':
      return 'warn';
    case 'information':
    case 'info':
      return 'info';
    default:
      return 'debug';
  }
}

/**
 * A thrown activity error as the host records it: Reason and Details (what the library
 * turns into `Error("<Reason> \n <Details>")`), and FailureDetails when the library's
 * exception-properties provider serialised the error into its message.
 */
function activityFailure(name: string, error: unknown): { reason: string; details: string; failureDetails?: FailureDetailsPayload } {
  const err = error instanceof Error ? error : new Error(String(error));
  let failureDetails: FailureDetailsPayload | undefined;
  try {
    const parsed = JSON.parse(err.message) as Record<string, unknown>;
    if (typeof parsed.errorType === 'string' && typeof parsed.errorMessage === 'string') {
      failureDetails = {
        ErrorType: parsed.errorType,
        ErrorMessage: parsed.errorMessage,
        ...(typeof parsed.stackTrace === 'string' ? { StackTrace: parsed.stackTrace } : {}),
        ...(typeof parsed.isNonRetriable === 'boolean' ? { IsNonRetriable: parsed.isNonRetriable } : {}),
        ...(parsed.properties && typeof parsed.properties === 'object' ? { Properties: parsed.properties as Record<string, unknown> } : {}),
      };
    }
  } catch {
    // an ordinary message
  }
  const message = failureDetails?.ErrorMessage ?? err.message;
  const reason = `Activity function '${name}' failed: ${message}`;
  const details = JSON.stringify({ ErrorType: failureDetails?.ErrorType ?? err.name, Message: message, StackTrace: err.stack ?? '' });
  return { reason, details, ...(failureDetails ? { failureDetails } : {}) };
}

function fillRoute(template: string, params: Record<string, string>): string {
  return template
    .replace(/\{\*?([^}:?=]+)[^}]*\}/g, (_match, name: string) => (params[name] !== undefined ? encodeURIComponent(params[name] as string) : ''))
    .replace(/\/+/g, '/')
    .replace(/^\/+|\/+$/g, '');
}

function notFound(): HttpInvocationResult {
  return { status: 404, headers: {}, body: '', jsonBody: undefined };
}

function decodeHttpResponse(response: RpcHttpData | undefined): HttpInvocationResult {
  // A function that returns nothing answers 204, like the host.
  if (!response) return { status: 204, headers: {}, body: '', jsonBody: undefined };
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(response.headers ?? {})) headers[key.toLowerCase()] = value;
  const bodyValue = decodeTypedData(response.body ?? undefined);
  const body = bodyValue === undefined ? '' : Buffer.isBuffer(bodyValue) ? bodyValue.toString('utf8') : typeof bodyValue === 'string' ? bodyValue : JSON.stringify(bodyValue);
  let jsonBody: unknown;
  if (body !== '') {
    try {
      jsonBody = JSON.parse(body);
    } catch {
      jsonBody = undefined;
    }
  }
  return { status: Number(response.statusCode ?? 200), headers, body, jsonBody };
}

/**
 * Starts a driver: loads any persisted instances from `stateDir`, installs the host
 * stand-in (idempotent) and opens the loopback HTTP server.
 */
export async function createDurableDriver(options: DurableDriverOptions): Promise<DurableDriver> {
  installFunctionsHost();
  const driver = new Driver(options);
  await driver.start();
  return driver;
}

export type { Driver as DurableDriverImplementation };
