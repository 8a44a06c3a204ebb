/**
 * Simulated consumer apps: what the rotation must not break. Each instance
 * behaves like a real app: it reads the latest version of its Key Vault secret
 * (a real SecretClient) on its refresh interval, like an app setting backed by
 * a Key Vault reference, and calls its account's data plane with the key in
 * hand through a real CosmosClient on its call interval. A stray instance may
 * instead use a key copied from the portal (pinned) until some time, when it is
 * fixed: redeployed with the Key Vault reference, it reads Key Vault at once.
 * A consumer of kind rotatingClient uses packages/rotating-cosmos-client instead,
 * which also re-reads Key Vault when Cosmos DB answers 401 and retries the call.
 *
 * Everything runs in virtual time: the runner moves the shared clock to the
 * next due time and calls `runDue`, so a 24-hour refresh interval costs one
 * request, not a day.
 */
import type { Agent } from 'node:https';
import { createHttpsAgent, pipelineTlsOptions } from '../../src/azure/tls.js';
import type { TokenCredential } from '@azure/core-auth';
import { CosmosClient } from '@azure/cosmos';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { createRotatingCosmosClient, type RefreshReason, type RotatingClientEvent, type RotatingCosmosClient } from '../../packages/rotating-cosmos-client/src/index.js';
import { KEY_KINDS, type KeyKind } from '../azure/contracts.js';
import { formatDuration, type FailureCause, type ScenarioConsumer } from './scenario.js';
import { plural } from './text.js';

export const CONSUMER_DATABASE_ID = 'app';
const NEW_KEY_PUBLISHED = 'CosmosKeyRotation.newKeyPublished';

/** A CloudEvent as the topic delivers it (only what consumers read). */
export interface DeliveredRotationEvent {
  id: string;
  type: string;
  data?: unknown;
}
export const CONSUMER_CONTAINER_ID = 'items';
export const CONSUMER_PARTITION_KEY_PATH = '/tenant';

/** What a consumer knows about its account: where to call and which secrets to read. */
export interface ConsumerAccountInfo {
  name: string;
  documentEndpoint: string;
  secretName: string;
  readOnlySecretName: string;
}

export interface ConsumerEnvironment {
  nowMs(): number;
  caCertPem: string;
  keyVaultUrl: string;
  credential: TokenCredential;
  account(name: string): ConsumerAccountInfo;
  /** The key value as the portal shows it now (for pinned consumers: "copied by hand"). */
  currentKeyValue(accountName: string, keyKind: KeyKind): string;
  /** Which key kind a value is now, or 'regenerated' when no key of the account has that value any more. */
  identifyKey(accountName: string, value: string): KeyKind | 'regenerated';
}

/** Something the timeline should show. Never carries a key value. */
export interface ConsumerEvent {
  atMs: number;
  consumer: string;
  account: string;
  kind: 'newKey' | 'failing' | 'recovered' | 'keyVaultReadFailed' | 'stopped';
  message: string;
  cause?: FailureCause;
}

export interface ConsumerStats {
  name: string;
  account: string;
  instances: number;
  calls: number;
  succeeded: number;
  failures: number;
  failuresByCause: Partial<Record<FailureCause, number>>;
  /** Successful calls by the key kind that signed them. */
  callsByKeyKind: Partial<Record<KeyKind, number>>;
  keyVaultReads: number;
  keyVaultReadFailures: number;
  /** Secret versions picked up (new keys), over all instances. */
  keyChanges: number;
}

interface KeyInHand {
  value: string;
  /** Key Vault version, or 'pinned'. */
  version: string;
  client: CosmosClient;
}

/** What the fleet asks of an instance, whichever kind it is. */
interface FleetMember {
  nextDueMs(): number | null;
  /** An event from the rotator's Event Grid topic, delivered at nowMs. */
  notify(event: DeliveredRotationEvent, nowMs: number): void;
  runDue(nowMs: number): Promise<void>;
  dispose(): void;
}

/** A failure is what we count: the SDK's own retries would only hide it (and wait in real time). */
const DATA_PLANE_CONNECTION_POLICY = {
  enableEndpointDiscovery: false,
  retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 },
};

function secretClientOptions(env: ConsumerEnvironment): SecretClientOptions {
  return {
    // A loopback vault URL is not a *.vault.azure.net host the challenge could be checked against.
    disableChallengeResourceVerification: true,
    ...pipelineTlsOptions(env.caCertPem),
    retryOptions: { maxRetries: 0 },
  };
}

function labelOf(spec: ScenarioConsumer, index: number): string {
  return spec.count > 1 ? `${spec.name}#${index + 1}` : spec.name;
}

function secretNameOf(spec: ScenarioConsumer, env: ConsumerEnvironment): string {
  const account = env.account(spec.account);
  return spec.access === 'readOnly' ? account.readOnlySecretName : account.secretName;
}

/** What every consumer instance has: its spec, its place among its siblings, and its call bookkeeping. */
abstract class InstanceBase implements FleetMember {
  readonly label: string;
  protected nextCallMs: number;
  protected readonly appStartMs: number;
  protected readonly outcomes: CallOutcomes;
  protected stopped = false;
  /** A newKeyPublished for this app's secret that it has not acted on yet (refresh onEvent). */
  protected pendingEvent: { atMs: number; event: DeliveredRotationEvent } | null = null;

  constructor(
    protected readonly spec: ScenarioConsumer,
    protected readonly index: number,
    protected readonly startMs: number,
    protected readonly env: ConsumerEnvironment,
    protected readonly agent: Agent,
    protected readonly stats: ConsumerStats,
    protected readonly emit: (event: ConsumerEvent) => void,
  ) {
    this.label = labelOf(spec, index);
    this.outcomes = new CallOutcomes(this.label, spec.account, stats, emit);
    this.appStartMs = startMs + spec.startAtMs;
    // Instances are spread over the interval so that they do not all call in the same instant.
    this.nextCallMs = this.appStartMs + Math.floor((spec.callEveryMs * index) / spec.count);
  }

  abstract nextDueMs(): number | null;
  abstract runDue(nowMs: number): Promise<void>;
  abstract dispose(): void;

  notify(event: DeliveredRotationEvent, nowMs: number): void {
    if (this.spec.refresh !== 'onEvent' || this.stopped || nowMs < this.appStartMs) return;
    if (event.type !== NEW_KEY_PUBLISHED || (event.data as { secretName?: unknown } | undefined)?.secretName !== secretNameOf(this.spec, this.env)) return;
    this.pendingEvent ??= { atMs: nowMs, event };
  }

  protected pendingEventDueMs(): number {
    return this.pendingEvent?.atMs ?? Infinity;
  }

  protected stopAtMs(): number | null {
    return this.spec.stopAtMs === null ? null : this.startMs + this.spec.stopAtMs;
  }

  /** The client to call with and how to name its key, or null when the app has no key yet. */
  protected abstract heldKey(): HeldKey | null;
  protected abstract readonly noKeyMessage: string;

  protected async call(nowMs: number): Promise<void> {
    this.stats.calls += 1;
    const held = this.heldKey();
    if (!held) {
      this.outcomes.failed(nowMs, 'noKey', this.noKeyMessage);
      return;
    }
    try {
      await callDataPlane(held.client, this.spec, this.label, this.stats.calls, nowMs);
      this.outcomes.succeeded(nowMs, held.keyKind());
    } catch (error) {
      const cause = causeOf(error);
      this.outcomes.failed(nowMs, cause, `${describeCause(cause)} with ${held.described()}`);
    }
  }
}

interface HeldKey {
  client: CosmosClient;
  /** Which key signed the call, asked after it. */
  keyKind(): KeyKind | null;
  described(): string;
}

/** A keyInHand consumer: reads Key Vault every refreshEvery and calls with the key it holds. */
class ConsumerInstance extends InstanceBase {
  protected readonly noKeyMessage = 'has no key yet (no secret in Key Vault)';
  private nextRefreshMs: number;
  private key: KeyInHand | null = null;
  private refreshes = 0;
  /** The pin ended and the fixed app has started (once, even when that first Key Vault read fails). */
  private redeployed = false;

  constructor(
    spec: ScenarioConsumer,
    index: number,
    startMs: number,
    env: ConsumerEnvironment,
    private readonly secrets: SecretClient,
    agent: Agent,
    stats: ConsumerStats,
    emit: (event: ConsumerEvent) => void,
  ) {
    super(spec, index, startMs, env, agent, stats, emit);
    // The first read is at app start.
    this.nextRefreshMs = this.appStartMs;
  }

  nextDueMs(): number | null {
    if (this.stopped) return null;
    return Math.min(this.nextCallMs, this.nextRefreshMs, this.stopAtMs() ?? Infinity, this.pinEndDueMs() ?? Infinity, this.pendingEventDueMs());
  }

  /** When the fixed app (redeployed with its Key Vault reference) starts, while it still holds the copied key. */
  private pinEndDueMs(): number | null {
    if (this.redeployed || this.key?.version !== 'pinned' || this.spec.pinnedUntilMs === null) return null;
    return this.startMs + this.spec.pinnedUntilMs;
  }

  private pinned(nowMs: number): boolean {
    if (this.spec.pinnedKeyKind === null) return false;
    return this.spec.pinnedUntilMs === null || nowMs < this.startMs + this.spec.pinnedUntilMs;
  }

  async runDue(nowMs: number): Promise<void> {
    const stopAt = this.stopAtMs();
    if (this.stopped) return;
    if (stopAt !== null && nowMs >= stopAt) {
      this.stopped = true;
      this.emit({ atMs: nowMs, consumer: this.label, account: this.spec.account, kind: 'stopped', message: 'shut down (stopAt)' });
      return;
    }
    const pinEnd = this.pinEndDueMs();
    // The fix is a redeployment: the app reads Key Vault as it starts, and its refresh cycle starts over.
    const redeployed = pinEnd !== null && nowMs >= pinEnd;
    if (redeployed) {
      this.redeployed = true;
      this.nextRefreshMs = nowMs;
    }
    if (this.pendingEvent) {
      // Told by the rotator's event: read Key Vault now instead of at the next refresh.
      this.pendingEvent = null;
      this.nextRefreshMs = nowMs;
    }
    if (nowMs >= this.nextRefreshMs) {
      await this.refresh(nowMs);
      // Instances were (re)started at different times: the second read comes earlier for later
      // instances, so that their refreshes spread over the interval instead of landing together.
      const stagger = this.refreshes === 0 && !redeployed ? Math.floor((this.spec.refreshEveryMs * this.index) / this.spec.count) : 0;
      this.refreshes += 1;
      this.nextRefreshMs = nowMs + this.spec.refreshEveryMs - stagger;
    }
    if (nowMs >= this.nextCallMs) {
      await this.call(nowMs);
      this.nextCallMs = nowMs + this.spec.callEveryMs;
    }
  }

  /** Reads the latest secret version (or, while pinned, keeps the copied key). */
  private async refresh(nowMs: number): Promise<void> {
    if (this.pinned(nowMs)) {
      if (!this.key) {
        const kind = this.spec.pinnedKeyKind!;
        this.useKey(this.env.currentKeyValue(this.spec.account, kind), 'pinned');
        this.emit({
          atMs: nowMs,
          consumer: this.label,
          account: this.spec.account,
          kind: 'newKey',
          message: `uses the ${kind} key copied from the portal, not Key Vault`,
        });
      }
      return;
    }
    const secretName = secretNameOf(this.spec, this.env);
    this.stats.keyVaultReads += 1;
    try {
      const secret = await this.secrets.getSecret(secretName);
      const value = secret.value;
      const version = secret.properties.version ?? 'unknown';
      if (!value) return;
      const wasPinned = this.key?.version === 'pinned';
      const kind = this.env.identifyKey(this.spec.account, value);
      if (this.key && this.key.value === value) {
        // The copied key may be the very one Key Vault holds: the app now reads it from Key Vault all the same.
        if (wasPinned) {
          this.key.version = version;
          this.emit({
            atMs: nowMs,
            consumer: this.label,
            account: this.spec.account,
            kind: 'newKey',
            message: `was fixed to read Key Vault; secret ${secretName} version ${version.slice(0, 8)} holds the key it had (${kind} key)`,
          });
        }
        return;
      }
      this.useKey(value, version);
      this.stats.keyChanges += 1;
      this.emit({
        atMs: nowMs,
        consumer: this.label,
        account: this.spec.account,
        kind: 'newKey',
        message: `${wasPinned ? 'was fixed to read Key Vault; ' : ''}picked up secret ${secretName} version ${version.slice(0, 8)} (${kind} key)`,
      });
    } catch (error) {
      this.stats.keyVaultReadFailures += 1;
      const status = statusOf(error);
      if (status === 404) return; // no secret yet: the app keeps running without a key
      this.emit({
        atMs: nowMs,
        consumer: this.label,
        account: this.spec.account,
        kind: 'keyVaultReadFailed',
        message: `could not read ${secretName} from Key Vault (${status ?? (error as Error).name}); keeps the key it has`,
      });
    }
  }

  private useKey(value: string, version: string): void {
    const account = this.env.account(this.spec.account);
    const client = new CosmosClient({ endpoint: account.documentEndpoint, key: value, agent: this.agent, connectionPolicy: DATA_PLANE_CONNECTION_POLICY });
    this.key?.client.dispose();
    this.key = { value, version, client };
  }

  protected heldKey(): HeldKey | null {
    const key = this.key;
    if (!key) return null;
    const kindNow = (): KeyKind | 'regenerated' => this.env.identifyKey(this.spec.account, key.value);
    return {
      client: key.client,
      keyKind: () => {
        const kind = kindNow();
        return kind === 'regenerated' ? null : kind;
      },
      described: () => {
        const kind = kindNow();
        return `${kind === 'regenerated' ? 'a key that has since been regenerated' : `the ${kind} key`}${key.version === 'pinned' ? ' (copied from the portal)' : ''}`;
      },
    };
  }

  dispose(): void {
    this.key?.client.dispose();
    this.key = null;
  }
}

export const SEED_ITEM_ID = 'seed';

/** One data-plane call as the consumer apps make it: a write for read-write access, a read otherwise. */
async function callDataPlane(client: CosmosClient, spec: ScenarioConsumer, label: string, callNumber: number, nowMs: number): Promise<void> {
  const container = client.database(CONSUMER_DATABASE_ID).container(CONSUMER_CONTAINER_ID);
  if (spec.access === 'readWrite') {
    // '#' is not allowed in item ids.
    await container.items.upsert({ id: label.replace('#', '-'), tenant: spec.account, calls: callNumber, at: new Date(nowMs).toISOString() });
  } else {
    await container.item(SEED_ITEM_ID, spec.account).read();
  }
}

/** Counts an instance's calls and tells the timeline when it starts failing and when it recovers. */
class CallOutcomes {
  private failingSince: number | null = null;
  private failuresInStreak = 0;

  constructor(
    private readonly label: string,
    private readonly account: string,
    private readonly stats: ConsumerStats,
    private readonly emit: (event: ConsumerEvent) => void,
  ) {}

  succeeded(nowMs: number, keyKind: KeyKind | null): void {
    this.stats.succeeded += 1;
    if (keyKind) this.stats.callsByKeyKind[keyKind] = (this.stats.callsByKeyKind[keyKind] ?? 0) + 1;
    if (this.failingSince === null) return;
    this.emit({ atMs: nowMs, consumer: this.label, account: this.account, kind: 'recovered', message: `calls succeed again after ${plural(this.failuresInStreak, 'failure')}` });
    this.failingSince = null;
    this.failuresInStreak = 0;
  }

  failed(nowMs: number, cause: FailureCause, message: string): void {
    this.stats.failures += 1;
    this.stats.failuresByCause[cause] = (this.stats.failuresByCause[cause] ?? 0) + 1;
    this.failuresInStreak += 1;
    if (this.failingSince === null) {
      this.failingSince = nowMs;
      this.emit({ atMs: nowMs, consumer: this.label, account: this.account, kind: 'failing', cause, message: `call failed: ${message}` });
    }
  }
}

/**
 * A rotatingClient consumer: the app uses packages/rotating-cosmos-client, whose timers run
 * on the virtual clock (the fleet fires them when due). It re-reads Key Vault every
 * refreshEvery and whenever Cosmos DB answers 401, and then retries the call.
 */
class RotatingClientInstance extends InstanceBase {
  protected readonly noKeyMessage = 'has no key yet (its first Key Vault read failed)';
  /** When the app (re)tries to start: it needs its first Key Vault read to have a client at all. */
  private startDueMs: number;
  private handle: RotatingCosmosClient | null = null;
  private timer: { dueMs: number; callback: () => unknown } | null = null;
  private readonly secretName: string;

  constructor(...args: ConstructorParameters<typeof InstanceBase>) {
    super(...args);
    this.secretName = secretNameOf(this.spec, this.env);
    this.startDueMs = this.appStartMs;
  }

  nextDueMs(): number | null {
    if (this.stopped) return null;
    const readDue = this.handle ? Math.min(this.timer?.dueMs ?? Infinity, this.pendingEventDueMs()) : this.startDueMs;
    return Math.min(this.nextCallMs, readDue, this.stopAtMs() ?? Infinity);
  }

  async runDue(nowMs: number): Promise<void> {
    if (this.stopped) return;
    const stopAt = this.stopAtMs();
    if (stopAt !== null && nowMs >= stopAt) {
      this.stopped = true;
      this.dispose();
      this.emit({ atMs: nowMs, consumer: this.label, account: this.spec.account, kind: 'stopped', message: 'shut down (stopAt)' });
      return;
    }
    if (!this.handle && nowMs >= this.startDueMs) await this.start(nowMs);
    if (this.handle && this.pendingEvent) {
      const { event } = this.pendingEvent;
      this.pendingEvent = null;
      // The library's own event handler: it re-reads Key Vault unless it already holds that version.
      await this.handle.handleEvent(event);
    }
    if (this.timer && nowMs >= this.timer.dueMs) {
      const { callback } = this.timer;
      this.timer = null;
      await callback();
    }
    if (nowMs >= this.nextCallMs) {
      await this.call(nowMs);
      this.nextCallMs = nowMs + this.spec.callEveryMs;
    }
  }

  private async start(nowMs: number): Promise<void> {
    try {
      this.handle = await createRotatingCosmosClient({
        keyVaultUrl: this.env.keyVaultUrl,
        secretName: this.secretName,
        credential: this.env.credential,
        endpoint: this.env.account(this.spec.account).documentEndpoint,
        cosmosOptions: { agent: this.agent, connectionPolicy: DATA_PLANE_CONNECTION_POLICY },
        secretClientOptions: secretClientOptions(this.env),
        refreshIntervalInMs: this.spec.refreshEveryMs,
        timers: {
          setTimeout: (callback, delayInMs) => (this.timer = { dueMs: this.env.nowMs() + delayInMs, callback }),
          clearTimeout: (handle) => {
            if (handle === this.timer) this.timer = null;
          },
        },
        now: () => this.env.nowMs(),
        // Deterministic jitter, different for each instance, so that a scenario tells the same story every run.
        random: () => ((this.index + 1) * 0.618_034) % 1,
        onTelemetry: (event) => this.observe(event),
      });
    } catch (error) {
      // The first read failed: the app cannot start; it tries again at its next call.
      this.stats.keyVaultReads += 1;
      this.stats.keyVaultReadFailures += 1;
      this.startDueMs = nowMs + this.spec.callEveryMs;
      if (statusOf(error) === 404) return;
      this.emit({ atMs: nowMs, consumer: this.label, account: this.spec.account, kind: 'keyVaultReadFailed', message: `could not read ${this.secretName} from Key Vault at start-up (${statusOf(error) ?? (error as Error).name})` });
    }
  }

  private observe(event: RotatingClientEvent): void {
    const atMs = this.env.nowMs();
    if (event.type === 'keyReadFailed') {
      this.stats.keyVaultReads += 1;
      this.stats.keyVaultReadFailures += 1;
      this.emit({
        atMs,
        consumer: this.label,
        account: this.spec.account,
        kind: 'keyVaultReadFailed',
        message: `could not read ${this.secretName} from Key Vault (${event.error.statusCode ?? event.error.name}); keeps the key it has, retries in ${formatDuration(event.retryInMs)}`,
      });
    }
    if (event.type !== 'keyLoaded') return;
    this.stats.keyVaultReads += 1;
    if (!event.changed) return;
    this.stats.keyChanges += 1;
    this.emit({
      atMs,
      consumer: this.label,
      account: this.spec.account,
      kind: 'newKey',
      message: `picked up secret ${this.secretName} version ${event.secretVersion.slice(0, 8)} (${event.keyKind ?? 'untagged'} key) ${READ_REASONS[event.reason]}`,
    });
  }

  protected heldKey(): HeldKey | null {
    const handle = this.handle;
    if (!handle) return null;
    return {
      client: handle.client,
      // After the call: a 401 it answered with a new key shows as the new key.
      keyKind: () => ((KEY_KINDS as readonly string[]).includes(handle.keyKind ?? '') ? (handle.keyKind as KeyKind) : null),
      described: () => `secret version ${handle.secretVersion.slice(0, 8)} (${handle.keyKind ?? 'untagged'} key)`,
    };
  }

  dispose(): void {
    this.handle?.close();
    this.handle = null;
    this.timer = null;
  }
}

const READ_REASONS: Record<RefreshReason, string> = {
  start: 'at start-up (rotating client)',
  timer: 'on its refresh timer',
  retry: 'on a retry after a failed Key Vault read',
  manual: 'when told to',
  event: 'on an Event Grid event (newKeyPublished)',
  unauthorized: 'because Cosmos DB answered 401 to the key it had; the call is retried with it',
};

/** A scenario's consumers, acting at their due times on the shared clock. */
export class ConsumerFleet {
  private readonly instances: FleetMember[] = [];
  private readonly statsByConsumer = new Map<string, ConsumerStats>();
  private readonly agent: Agent;
  private readonly events: ConsumerEvent[] = [];

  constructor(
    consumers: readonly ScenarioConsumer[],
    private readonly env: ConsumerEnvironment,
    options: { startMs: number; onEvent?: (event: ConsumerEvent) => void },
  ) {
    // One agent trusting the emulator's CA, shared like an app's connection pool.
    this.agent = createHttpsAgent(env.caCertPem);
    const secrets = new SecretClient(env.keyVaultUrl, env.credential, secretClientOptions(env));
    const emit = (event: ConsumerEvent): void => {
      this.events.push(event);
      options.onEvent?.(event);
    };
    for (const spec of consumers) {
      const stats: ConsumerStats = {
        name: spec.name,
        account: spec.account,
        instances: spec.count,
        calls: 0,
        succeeded: 0,
        failures: 0,
        failuresByCause: {},
        callsByKeyKind: {},
        keyVaultReads: 0,
        keyVaultReadFailures: 0,
        keyChanges: 0,
      };
      this.statsByConsumer.set(spec.name, stats);
      for (let index = 0; index < spec.count; index += 1) {
        this.instances.push(
          spec.kind === 'rotatingClient'
            ? new RotatingClientInstance(spec, index, options.startMs, env, this.agent, stats, emit)
            : new ConsumerInstance(spec, index, options.startMs, env, secrets, this.agent, stats, emit),
        );
      }
    }
  }

  /** The earliest due time, until an instance acts or is notified (undefined: not known). */
  private nextDue: number | null | undefined;

  /** Hands an event from the rotator's topic to every instance (those with refresh onEvent act on it). */
  notify(event: DeliveredRotationEvent): void {
    const nowMs = this.env.nowMs();
    this.nextDue = undefined;
    for (const instance of this.instances) instance.notify(event, nowMs);
  }

  /**
   * The earliest virtual time any instance wants to act, or null when all have stopped. An instance's due
   * time changes only when it acts or is notified, so the answer is kept until then: the runner asks after
   * every batch of orchestrations, and a fleet has thousands of instances.
   */
  nextDueMs(): number | null {
    if (this.nextDue !== undefined) return this.nextDue;
    let next: number | null = null;
    for (const instance of this.instances) {
      const due = instance.nextDueMs();
      if (due !== null && (next === null || due < next)) next = due;
    }
    this.nextDue = next;
    return next;
  }

  /** Lets every instance due at or before now act (concurrently, as separate apps would). */
  async runDue(): Promise<void> {
    const nowMs = this.env.nowMs();
    if ((this.nextDueMs() ?? Infinity) > nowMs) return;
    this.nextDue = undefined;
    try {
      await Promise.all(
        this.instances.filter((instance) => (instance.nextDueMs() ?? Infinity) <= nowMs).map((instance) => instance.runDue(nowMs)),
      );
    } finally {
      this.nextDue = undefined;
    }
  }

  stats(): ConsumerStats[] {
    return [...this.statsByConsumer.values()].map((stats) => structuredClone(stats));
  }

  eventLog(): ConsumerEvent[] {
    return [...this.events];
  }

  close(): void {
    for (const instance of this.instances) instance.dispose();
    this.agent.destroy();
  }
}

function statusOf(error: unknown): number | undefined {
  const candidate = error as { statusCode?: unknown; code?: unknown };
  if (typeof candidate.statusCode === 'number') return candidate.statusCode;
  if (typeof candidate.code === 'number') return candidate.code;
  return undefined;
}

/** Classifies a failed data-plane call the way an operator would read it. */
export function causeOf(error: unknown): FailureCause {
  const status = statusOf(error);
  if (status === undefined) {
    // Socket errors carry a system code (ECONNREFUSED, ECONNRESET...); anything else was refused by the SDK itself.
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? 'network' : 'clientError';
  }
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'serverError';
  return 'otherHttpError';
}

export function describeCause(cause: FailureCause): string {
  switch (cause) {
    case 'unauthorized':
      return '401 Unauthorized';
    case 'forbidden':
      return '403 Forbidden';
    case 'throttled':
      return '429 throttled';
    case 'serverError':
      return '5xx server error';
    case 'otherHttpError':
      return 'HTTP error';
    case 'network':
      return 'network error';
    case 'clientError':
      return 'refused by the client library';
    case 'noKey':
      return 'no key';
  }
}
