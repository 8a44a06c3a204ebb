/**
 * Simulated consumer apps: what the rotation must not break. Each instance
 * behaves like a real app: it reads the latest version of its Key Vault secret
 * (a real SecretClient) on its refresh interval, like an app setting backed by
 * a Key Vault reference, and calls its account's data plane with the key in
 * hand through a real CosmosClient on its call interval. A stray instance may
 * instead use a key copied from the portal (pinned) until some time, when it is
 * fixed: redeployed with the Key Vault reference, it reads Key Vault at once.
 *
 * Everything runs in virtual time: the runner moves the shared clock to the
 * next due time and calls `runDue`, so a 24-hour refresh interval costs one
 * request, not a day.
 */
import { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import { CosmosClient } from '@azure/cosmos';
import { SecretClient } from '@azure/keyvault-secrets';
import type { KeyKind } from '../azure/contracts.js';
import type { FailureCause, ScenarioConsumer } from './scenario.js';
import { plural } from './text.js';

export const CONSUMER_DATABASE_ID = 'app';
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

class ConsumerInstance {
  readonly label: string;
  nextCallMs: number;
  nextRefreshMs: number;
  private key: KeyInHand | null = null;
  private failingSince: number | null = null;
  private failuresInStreak = 0;
  private stopped = false;
  private refreshes = 0;
  /** The pin ended and the fixed app has started (once, even when that first Key Vault read fails). */
  private redeployed = false;

  constructor(
    private readonly spec: ScenarioConsumer,
    private readonly index: number,
    private readonly startMs: number,
    private readonly env: ConsumerEnvironment,
    private readonly secrets: SecretClient,
    private readonly agent: Agent,
    private readonly stats: ConsumerStats,
    private readonly emit: (event: ConsumerEvent) => void,
  ) {
    this.label = spec.count > 1 ? `${spec.name}#${index + 1}` : spec.name;
    const appStartMs = startMs + spec.startAtMs;
    // Instances are spread over the interval so that they do not all call in the same instant.
    this.nextCallMs = appStartMs + Math.floor((spec.callEveryMs * index) / spec.count);
    // The first read is at app start.
    this.nextRefreshMs = appStartMs;
  }

  nextDueMs(): number | null {
    if (this.stopped) return null;
    return Math.min(this.nextCallMs, this.nextRefreshMs, this.stopAtMs() ?? Infinity, this.pinEndDueMs() ?? Infinity);
  }

  private stopAtMs(): number | null {
    return this.spec.stopAtMs === null ? null : this.startMs + this.spec.stopAtMs;
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
    const account = this.env.account(this.spec.account);
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
    const secretName = this.spec.access === 'readOnly' ? account.readOnlySecretName : account.secretName;
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
    const client = new CosmosClient({
      endpoint: account.documentEndpoint,
      key: value,
      agent: this.agent,
      connectionPolicy: {
        enableEndpointDiscovery: false,
        // A failure is what we count: the SDK's own retries would only hide it (and wait in real time).
        retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 },
      },
    });
    this.key?.client.dispose();
    this.key = { value, version, client };
  }

  private async call(nowMs: number): Promise<void> {
    this.stats.calls += 1;
    if (!this.key) {
      this.fail(nowMs, 'noKey', 'has no key yet (no secret in Key Vault)');
      return;
    }
    const container = this.key.client.database(CONSUMER_DATABASE_ID).container(CONSUMER_CONTAINER_ID);
    try {
      if (this.spec.access === 'readWrite') {
        // '#' is not allowed in item ids.
        await container.items.upsert({ id: this.label.replace('#', '-'), tenant: this.spec.account, calls: this.stats.calls, at: new Date(nowMs).toISOString() });
      } else {
        await container.item(SEED_ITEM_ID, this.spec.account).read();
      }
      this.stats.succeeded += 1;
      const kind = this.env.identifyKey(this.spec.account, this.key.value);
      if (kind !== 'regenerated') this.stats.callsByKeyKind[kind] = (this.stats.callsByKeyKind[kind] ?? 0) + 1;
      if (this.failingSince !== null) {
        this.emit({
          atMs: nowMs,
          consumer: this.label,
          account: this.spec.account,
          kind: 'recovered',
          message: `calls succeed again after ${plural(this.failuresInStreak, 'failure')}`,
        });
        this.failingSince = null;
        this.failuresInStreak = 0;
      }
    } catch (error) {
      const cause = causeOf(error);
      const kind = this.env.identifyKey(this.spec.account, this.key.value);
      const keyText = kind === 'regenerated' ? 'a key that has since been regenerated' : `the ${kind} key`;
      this.fail(nowMs, cause, `${describeCause(cause)} with ${keyText}${this.key.version === 'pinned' ? ' (copied from the portal)' : ''}`);
    }
  }

  private fail(nowMs: number, cause: FailureCause, message: string): void {
    this.stats.failures += 1;
    this.stats.failuresByCause[cause] = (this.stats.failuresByCause[cause] ?? 0) + 1;
    this.failuresInStreak += 1;
    if (this.failingSince === null) {
      this.failingSince = nowMs;
      this.emit({ atMs: nowMs, consumer: this.label, account: this.spec.account, kind: 'failing', cause, message: `call failed: ${message}` });
    }
  }

  dispose(): void {
    this.key?.client.dispose();
    this.key = null;
  }
}

export const SEED_ITEM_ID = 'seed';

/** A scenario's consumers, acting at their due times on the shared clock. */
export class ConsumerFleet {
  private readonly instances: ConsumerInstance[] = [];
  private readonly statsByConsumer = new Map<string, ConsumerStats>();
  private readonly agent: Agent;
  private readonly events: ConsumerEvent[] = [];

  constructor(
    consumers: readonly ScenarioConsumer[],
    private readonly env: ConsumerEnvironment,
    options: { startMs: number; onEvent?: (event: ConsumerEvent) => void },
  ) {
    // One agent trusting the emulator's CA, shared like an app's connection pool.
    this.agent = new Agent({ ca: env.caCertPem, keepAlive: true });
    const secrets = new SecretClient(env.keyVaultUrl, env.credential, {
      // A loopback vault URL is not a *.vault.azure.net host the challenge could be checked against.
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: env.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
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
        this.instances.push(new ConsumerInstance(spec, index, options.startMs, env, secrets, this.agent, stats, emit));
      }
    }
  }

  /** The earliest virtual time any instance wants to act, or null when all have stopped. */
  nextDueMs(): number | null {
    let next: number | null = null;
    for (const instance of this.instances) {
      const due = instance.nextDueMs();
      if (due !== null && (next === null || due < next)) next = due;
    }
    return next;
  }

  /** Lets every instance due at or before now act (concurrently, as separate apps would). */
  async runDue(): Promise<void> {
    const nowMs = this.env.nowMs();
    await Promise.all(
      this.instances.filter((instance) => (instance.nextDueMs() ?? Infinity) <= nowMs).map((instance) => instance.runDue(nowMs)),
    );
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
