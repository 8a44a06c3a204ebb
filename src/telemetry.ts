/**
 * Telemetry through the OpenTelemetry API. In Azure, functions/telemetry.ts
 * starts the Azure Monitor distro (@azure/monitor-opentelemetry), which sends
 * it to Application Insights: a log record carrying
 * `microsoft.custom_event.name` becomes a row of `customEvents`, metrics land
 * in `customMetrics`. Tests register the SDK's in-memory exporters instead.
 * Without a registered provider every call here is a no-op.
 *
 * Dimensions are names, kinds, phases and outcomes: never key material.
 */
import { metrics, type Attributes } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { outcomeOf, type RotationEvent, type RotationEventData } from './domain/rotation-events.js';

export const TELEMETRY_SCOPE = 'cosmos-key-rotation';
/** The attribute the Azure Monitor exporter turns into a customEvents row (its name). */
export const CUSTOM_EVENT_NAME_ATTRIBUTE = 'microsoft.custom_event.name';
/** customEvents name of a rotation state change: RotationEvent plus the event type, e.g. RotationEvent.needsAttention. */
export const CUSTOM_EVENT_PREFIX = 'RotationEvent.';

export const METRIC_NAMES = {
  rotationDuration: 'rotation.duration',
  waitDuration: 'rotation.wait.duration',
  keyAge: 'rotation.key.age',
  accountsOverdue: 'rotation.accounts.overdue',
  throttled: 'rotation.azure.throttled',
} as const;

const logger = () => logs.getLogger(TELEMETRY_SCOPE);
const meter = () => metrics.getMeter(TELEMETRY_SCOPE);

/** The dimensions every record of a rotation carries. */
export function rotationDimensions(event: RotationEvent): Attributes {
  return {
    eventId: event.id,
    eventType: event.type,
    rotationId: event.rotationId,
    accountId: event.accountId,
    account: event.accountName,
    pair: event.pair,
    phase: event.phase,
    outcome: outcomeOf(event),
  };
}

/** One custom event per state change, plus the duration metrics the change closes. */
export function recordRotationEvent(event: RotationEvent, delivery: 'sent' | 'off' | 'failed'): void {
  const dimensions = rotationDimensions(event);
  const details: Attributes = {};
  for (const [name, value] of Object.entries(event.data)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') details[name] = value;
  }
  logger().emit({
    severityNumber: event.type === 'rotationFailed' ? SeverityNumber.ERROR : event.type === 'needsAttention' ? SeverityNumber.WARN : SeverityNumber.INFO,
    body: `${event.type}: ${event.accountName} (${event.pair}) rotation ${event.rotationId}`,
    attributes: { [CUSTOM_EVENT_NAME_ATTRIBUTE]: `${CUSTOM_EVENT_PREFIX}${event.type}`, ...dimensions, ...details, delivery },
  });
  const base = { account: event.accountName, pair: event.pair, outcome: outcomeOf(event) };
  if (event.type === 'rotationCompleted' || event.type === 'needsAttention' || event.type === 'rotationFailed') {
    const { durationInSeconds } = event.data as RotationEventData['rotationCompleted'];
    meter().createHistogram(METRIC_NAMES.rotationDuration, { unit: 's', description: 'How long a rotation ran, start to end' }).record(durationInSeconds, base);
  }
  if (event.type === 'waitEnded') {
    const { waitedInSeconds, wait } = event.data as RotationEventData['waitEnded'];
    meter().createHistogram(METRIC_NAMES.waitDuration, { unit: 's', description: 'How long a rotation waited for a key to be idle' }).record(waitedInSeconds, { ...base, wait });
  }
}

export interface KeyAge {
  account: string;
  accountId: string;
  secretName: string;
  /** Days since the secret's latest version was written; null when there is none yet. */
  ageInDays: number | null;
  rotationIntervalInDays: number;
}

let lastKeyAges: KeyAge[] = [];
let gaugesRegistered = false;

/**
 * Key age per account and accounts overdue, as observable gauges that report
 * what the latest schedule run saw (the schedule reads every secret's age).
 */
export function recordKeyAges(ages: KeyAge[]): void {
  lastKeyAges = ages;
  if (gaugesRegistered) return;
  gaugesRegistered = true;
  const m = meter();
  m.createObservableGauge(METRIC_NAMES.keyAge, { unit: 'd', description: "Age of the key in each account's secret" }).addCallback((result) => {
    for (const age of lastKeyAges) {
      if (age.ageInDays !== null) result.observe(age.ageInDays, { account: age.account, accountId: age.accountId, secretName: age.secretName, rotationIntervalInDays: age.rotationIntervalInDays });
    }
  });
  m.createObservableGauge(METRIC_NAMES.accountsOverdue, { description: 'Accounts whose key is older than their rotation interval' }).addCallback((result) => {
    const overdue = new Set(lastKeyAges.filter((age) => age.ageInDays !== null && age.ageInDays > age.rotationIntervalInDays).map((age) => age.accountId));
    result.observe(overdue.size);
  });
}

/** Test seam: forget the gauges (a test registers a fresh meter provider). */
export function resetTelemetryState(): void {
  lastKeyAges = [];
  gaugesRegistered = false;
}

/** The attribute that marks a trace record as one account's outcome in a schedule run. */
export const SCHEDULE_ENTRY_ATTRIBUTE = 'rotationSchedule.entry';

/**
 * One schedule decision as a log record (a `traces` row in Application
 * Insights) whose fields become customDimensions: account, accountId,
 * outcome, detail, scheduleRunAt. Not a custom event: customEvents are the
 * rotations' state changes.
 */
export function recordScheduleEntry(line: string, fields: Record<string, string>): void {
  logger().emit({
    severityNumber: fields.outcome === 'started' ? SeverityNumber.INFO : SeverityNumber.WARN,
    body: line,
    attributes: { [SCHEDULE_ENTRY_ATTRIBUTE]: true, ...fields },
  });
}

/** A 429 from ARM or Key Vault, counted per attempt (the SDKs retry it, so it is otherwise invisible). */
export function recordThrottling(service: 'arm' | 'keyVault' | 'eventGrid', operation: string): void {
  meter().createCounter(METRIC_NAMES.throttled, { description: 'Throttled (429) answers from Azure, per attempt' }).add(1, { service, operation });
}
