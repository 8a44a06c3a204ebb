/**
 * The demo's report (format version 1), printed as a summary and written by
 * `--json FILE`. Documented in docs/scenarios.md; fields are only ever added.
 * It never contains a key value: leaks are reported by where they were found.
 */
import type { KeyKind } from '../azure/contracts.js';
import type { EmulatorStats } from '../azure/index.js';
import type { ConsumerStats } from './consumers.js';
import type { ExpectedOutcome, FailureCause } from './scenario.js';

export const REPORT_VERSION = 1;

export interface TimelineEntry {
  /** Virtual time, ISO-8601. */
  at: string;
  /** Virtual ms since the start of the story. */
  offsetMs: number;
  /** The account concerned, when there is one. */
  account: string | null;
  source: 'rotation' | 'consumer' | 'operator' | 'schedule' | 'fault' | 'host' | 'runner';
  text: string;
}

export interface PhaseEntry {
  phase: string;
  at: string;
  offsetMs: number;
  message: string;
  /** Which run of the account's rotation (1 = the first instance started). */
  run: number;
}

export interface WaitEntry {
  phase: string;
  reason: string;
  from: string;
  until: string;
  /** Exact: `until` minus `from`, in virtual ms. */
  durationMs: number;
  /** The same, in hours rounded to 0.01 (for reading; compute with durationMs). */
  hours: number;
}

export interface RegenerationEntry {
  keyKind: KeyKind;
  /** The new key's generation time: when Azure finished the regeneration (the orchestrator learns it at its next poll). */
  at: string;
  offsetMs: number;
}

export interface RotationRunEntry {
  run: number;
  instanceId: string;
  createdAt: string;
  runtimeStatus: string;
  outcome: ExpectedOutcome;
  force: boolean;
  reason: string | null;
  requestedBy: string | null;
  finishedAt: string | null;
  /** The needs-attention or failure message. */
  message: string | null;
}

export interface AccountReport {
  name: string;
  id: string;
  /** The outcome of the last rotation run; notStarted when none ran. */
  outcome: ExpectedOutcome;
  runs: RotationRunEntry[];
  phases: PhaseEntry[];
  waits: WaitEntry[];
  regenerations: RegenerationEntry[];
  /** The key kind the read-write secret's latest version holds at the end (its keyKind tag). */
  activeKeyKind: KeyKind | null;
  /** How each wait for a key to be idle ended, over all runs in order: idle, operator (by, note), forced, or boundPassed. */
  waitEndings: WaitEndingEntry[];
  /** Versions of the read-write secret in Key Vault at the end (the seeded one included). */
  secretVersions: number;
  /** Of the last completed run: retries (refused regenerations, failed validation probes, outages waited out, busy answers) and routine checks (status polls, usage checks). */
  retries: { blockedRegenerations: number; validationFailures: number; regenerationPolls: number; usageChecks: number; outageRetries?: number; busyAnswers?: number } | null;
}

export interface WaitEndingEntry {
  run: number;
  pair: string;
  wait: 'standbyIdle' | 'consumers' | 'refusals';
  ended: 'idle' | 'operator' | 'forced' | 'boundPassed';
  at: string;
  offsetMs: number;
  by: string | null;
  note: string | null;
}

export interface ConsumerSummary {
  calls: number;
  succeeded: number;
  failures: number;
  failuresByCause: Partial<Record<FailureCause, number>>;
  keyVaultReads: number;
  keyVaultReadFailures: number;
  byConsumer: ConsumerStats[];
}

export interface ServiceCalls {
  total: number;
  byOperation: Record<string, number>;
  /** Answers by HTTP status ("200", "429", ...): throttling shows as 429s. */
  byStatus: Record<string, number>;
}

/** Requests that arrived within one window of virtual time (sliding: any second, any minute). */
export interface ArmPeak {
  perSecond: number;
  perMinute: number;
}

/** How hard the app and the consumers drove ARM, per subscription: what a budget per subscription must hold. */
export interface ArmPacing {
  /** Per subscription ID (lower case). Writes are every request that is not a GET: PUT, PATCH, DELETE and POST actions (listKeys, regenerateKey). */
  bySubscription: Record<string, { reads: ArmPeak; writes: ArmPeak }>;
  /** The highest of each over all subscriptions. */
  max: { reads: ArmPeak; writes: ArmPeak };
}

/** One run of the app's timer trigger and the requests it made itself (the orchestrations it started run afterwards). */
export interface TimerRunEntry {
  at: string;
  offsetMs: number;
  keyVault: Record<string, number>;
  arm: Record<string, number>;
  /** getSecret answers return a secret's value: any here means the schedule read key values. */
  keyValuesRead: number;
}

/** How far the fleet got: the story is done for an account when its last run rotated it. */
export interface RotationProgress {
  configuredAccounts: number;
  rotatedAccounts: number;
  /** When the last configured account's rotation completed (virtual ms since the start); null while any is not rotated. */
  allRotatedOffsetMs: number | null;
  /** Why the story ended: its runFor passed, every account was rotated (stopWhenAllRotated), or the runner's wall-clock guard. */
  stoppedBy: 'runFor' | 'allRotated' | 'wallClock';
  /** Virtual ms from the start to where the story ended. */
  virtualMs: number;
}

export interface DurableInstanceCounters {
  instanceId: string;
  account: string | null;
  runtimeStatus: string;
  episodes: number;
  historyEvents: number;
  activityCalls: number;
  activityCallsByName: Record<string, number>;
  timersCreated: number;
}

export interface DurableSummary {
  instances: number;
  episodes: number;
  historyEvents: number;
  activityCalls: number;
  timersCreated: number;
  /** Host crashes injected (and the restarts that followed). */
  crashes: number;
  byInstance: DurableInstanceCounters[];
}

export interface EventSummary {
  /** Deliveries by CloudEvents type without its prefix (newKeyPublished, waitStarted, ...). */
  byType: Record<string, number>;
  total: number;
  /** Deliveries whose id had been delivered before (a resend after a host crash). */
  resends: number;
  /** Telemetry custom events recorded (one per state change, plus any resend). */
  telemetryRecords: number;
}

export interface LeakFinding {
  /** Where the key value was found, e.g. "history of rotation-orders", "log line 123", "HTTP response GET /api/rotations". */
  where: string;
  account: string;
  keyKind: KeyKind;
  /** True when the value was still a valid key at the end; false for an old (regenerated) value. */
  current: boolean;
}

export interface LeakSummary {
  /** Distinct key values the emulator issued during the run (current and regenerated). */
  keyValuesChecked: number;
  scanned: { histories: number; customStatuses: number; outputs: number; logLines: number; httpResponses: number; taskHubFiles: number; events: number; telemetry: number };
  found: LeakFinding[];
}

export interface OperatorActionEntry {
  at: string;
  offsetMs: number;
  type: string;
  account: string | null;
  request: string;
  status: number | null;
  expectedStatus: number | null;
  /** The app's message, when the response carries one. */
  message: string | null;
}

export interface DemoReport {
  version: 1;
  scenario: { name: string; title: string; file: string | null; start: string; end: string; runForMs: number };
  passed: boolean;
  /** One sentence per unmet expectation. */
  expectationFailures: string[];
  accounts: AccountReport[];
  consumers: ConsumerSummary;
  arm: ServiceCalls;
  keyVault: ServiceCalls & { byConsumers: number };
  cosmosDataPlane: ServiceCalls;
  /** Where the app found its targets (the scenario's `targets`), and what it asked the blob service for them. */
  targets: { in: 'setting' | 'blob'; blobStorage: ServiceCalls };
  armPacing: ArmPacing;
  timerRuns: TimerRunEntry[];
  progress: RotationProgress;
  /** The longest line the app and its libraries logged (its length in characters and where it came from). */
  longestLogLine: { chars: number; where: string | null };
  durable: DurableSummary;
  /** The rotator's CloudEvents on the Event Grid topic, and its telemetry custom events. */
  events: EventSummary;
  leaks: LeakSummary;
  operatorActions: OperatorActionEntry[];
  timeline: TimelineEntry[];
  wallClockMs: number;
  /** Raw emulator counters per service and operation. */
  emulatorStats: EmulatorStats;
}
