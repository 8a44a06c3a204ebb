/**
 * A CosmosClient that follows the key in Key Vault.
 *
 * How a 401 is caught: @azure/cosmos runs "plugins" around every network
 * request it sends (RequestHandler -> executePlugins(..., 'request')), inside
 * its own retry loop and for every kind of operation, queries and query plans
 * included (an 'operation' plugin would miss those: ClientContext.queryFeed calls
 * the request handler directly). The option is real but left out of the SDK's
 * public typings, so it is passed with a cast; the tests here fail if an SDK
 * upgrade drops it. Our plugin goes last, so each call of `next` sends the
 * request again. It re-signs the request with the SDK's own exported signer
 * (setAuthorizationTokenHeaderUsingMasterKey) when the key changed, which also
 * keeps a CosmosClient (or a container) the app kept from before a swap working.
 */
import { CosmosClient, ResourceType, setAuthorizationTokenHeaderUsingMasterKey, type CosmosClientOptions, type Plugin, type PluginConfig } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { parseEvent, vaultNameOf } from './events.js';
import { parseCosmosSecret, type CosmosCredential, type SecretForm } from './secret-contract.js';

export const DEFAULT_REFRESH_INTERVAL_IN_MS = 3_600_000;
const DEFAULT_JITTER_RATIO = 0.1;
const DEFAULT_RETRY_INITIAL_DELAY_IN_MS = 5_000;
const DEFAULT_RETRY_MAX_DELAY_IN_MS = 300_000;
const DEFAULT_MIN_UNAUTHORIZED_REFRESH_INTERVAL_IN_MS = 30_000;

/** Where the library's timers come from; tests and simulations pass their own. */
export interface Timers {
  /** `callback` may return a promise (the refresh it starts); real timers ignore it. */
  setTimeout(callback: () => unknown, delayInMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type RefreshReason = 'start' | 'timer' | 'retry' | 'manual' | 'event' | 'unauthorized';

/** What the telemetry hook receives. Never carries a key or a connection string. */
export type RotatingClientEvent =
  | { type: 'keyLoaded'; reason: RefreshReason; changed: boolean; secretVersion: string; keyKind: string | null; secretForm: SecretForm; durationInMs: number }
  | { type: 'keyReadFailed'; reason: RefreshReason; attempt: number; retryInMs: number; error: { name: string; statusCode: number | null; message: string } }
  | { type: 'unauthorized'; outcome: 'retriedWithNewKey' | 'noNewKey'; secretVersion: string }
  | { type: 'clientDisposed'; secretVersion: string };

export interface RotatingClientLogger {
  info(message: string): void;
  warning(message: string): void;
}

/** CosmosClient options other than the endpoint and the credential, which the library owns. */
export type RotatingCosmosOptions = Omit<CosmosClientOptions, 'endpoint' | 'key' | 'resourceTokens' | 'tokenProvider' | 'aadCredentials' | 'permissionFeed'>;

export interface CreateRotatingCosmosClientOptions {
  /** e.g. https://my-vault.vault.azure.net */
  keyVaultUrl: string;
  /** The secret this app's rotator publishes, e.g. "orders-key" or "orders-connection-string". */
  secretName: string;
  credential: TokenCredential;
  /** The account's document endpoint. Required for a bare-key secret; for a connection string it overrides AccountEndpoint. */
  endpoint?: string;
  cosmosOptions?: RotatingCosmosOptions;
  secretClientOptions?: SecretClientOptions;
  /** How often the secret is re-read (default 1 hour), minus up to `refreshJitterRatio` of it so that instances spread out. */
  refreshIntervalInMs?: number;
  /** Default 0.1: each wait is 90-100 % of the interval, never longer. */
  refreshJitterRatio?: number;
  /** After a failed read: first retry after about this long (default 5 s), doubling up to `retryMaxDelayInMs` (default 5 min). */
  retryInitialDelayInMs?: number;
  retryMaxDelayInMs?: number;
  /** A 401 re-reads Key Vault at most this often (default 30 s) when the last read brought no new key. */
  minUnauthorizedRefreshIntervalInMs?: number;
  onTelemetry?: (event: RotatingClientEvent) => void;
  logger?: RotatingClientLogger;
  timers?: Timers;
  /** Clock and randomness for the timers, e.g. a virtual clock in a simulation. */
  now?: () => number;
  random?: () => number;
}

export interface RefreshResult {
  changed: boolean;
  secretVersion: string;
  keyKind: string | null;
}

export interface EventHandlingResult {
  /** Events that named this secret (in this vault). */
  matched: number;
  refreshed: boolean;
  /** For Event Grid's webhook handshake: answer `{"validationResponse": ...}`. */
  validationResponse?: string;
}

export interface RotatingCosmosClient {
  /** A CosmosClient on the current key. Read it for each unit of work; an old one keeps working too. */
  readonly client: CosmosClient;
  readonly endpoint: string;
  /** The `keyKind` tag of the secret version in use (primary, secondary, ...), or null. */
  readonly keyKind: string | null;
  readonly secretVersion: string;
  readonly secretForm: SecretForm;
  /** Re-reads the secret now (joins a read already under way). Rejects when Key Vault fails; the current key stays. */
  refresh(): Promise<RefreshResult>;
  /** Give it what an Event Grid trigger or webhook receives (one event or an array, Event Grid or CloudEvents schema). */
  handleEvent(events: unknown): Promise<EventHandlingResult>;
  /** Stops the timer and disposes every client. */
  close(): void;
}

/** Reads the secret once (and fails if it cannot), then keeps the client on the current key. */
export async function createRotatingCosmosClient(options: CreateRotatingCosmosClientOptions): Promise<RotatingCosmosClient> {
  const handle = new RotatingHandle(options);
  await handle.start();
  return handle;
}

interface Generation {
  credential: CosmosCredential;
  endpoint: string;
  client: CosmosClient;
  inFlight: number;
  retired: boolean;
  disposed: boolean;
}

type RequestContext = Parameters<Plugin<unknown>>[0];

const defaultTimers: Timers = {
  setTimeout(callback, delayInMs) {
    const handle = setTimeout(callback, delayInMs);
    // A refresh timer alone never keeps the process alive.
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

class RotatingHandle implements RotatingCosmosClient {
  readonly #options: CreateRotatingCosmosClientOptions;
  readonly #secrets: SecretClient;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #vaultName: string | null;
  #current: Generation | null = null;
  readonly #retired = new Set<Generation>();
  #refreshing: Promise<RefreshResult> | null = null;
  #timer: unknown = null;
  #failedReads = 0;
  #lastUnauthorizedReadAtMs = -Infinity;
  #closed = false;

  constructor(options: CreateRotatingCosmosClientOptions) {
    if (!options.keyVaultUrl) throw new TypeError('createRotatingCosmosClient: keyVaultUrl is required');
    if (!options.secretName) throw new TypeError('createRotatingCosmosClient: secretName is required');
    if (!options.credential) throw new TypeError('createRotatingCosmosClient: credential is required');
    const interval = options.refreshIntervalInMs ?? DEFAULT_REFRESH_INTERVAL_IN_MS;
    if (!(interval > 0)) throw new RangeError(`createRotatingCosmosClient: refreshIntervalInMs must be positive, got ${interval}`);
    this.#options = options;
    this.#secrets = new SecretClient(options.keyVaultUrl, options.credential, options.secretClientOptions);
    this.#timers = options.timers ?? defaultTimers;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#vaultName = vaultNameOf(options.keyVaultUrl);
  }

  get client(): CosmosClient {
    return this.#generation().client;
  }

  get endpoint(): string {
    return this.#generation().endpoint;
  }

  get keyKind(): string | null {
    return this.#generation().credential.keyKind;
  }

  get secretVersion(): string {
    return this.#generation().credential.version;
  }

  get secretForm(): SecretForm {
    return this.#generation().credential.form;
  }

  async start(): Promise<void> {
    await this.#refresh('start');
  }

  refresh(): Promise<RefreshResult> {
    return this.#refresh('manual');
  }

  async handleEvent(events: unknown): Promise<EventHandlingResult> {
    const result: EventHandlingResult = { matched: 0, refreshed: false };
    let needsRead = false;
    for (const event of Array.isArray(events) ? events : [events]) {
      const parsed = parseEvent(event);
      if (parsed.kind === 'subscriptionValidation') result.validationResponse = parsed.validationCode;
      if (parsed.kind !== 'secretNewVersion') continue;
      const { secretName, vaultName, version } = parsed.secret;
      if (secretName.toLowerCase() !== this.#options.secretName.toLowerCase()) continue;
      if (vaultName && this.#vaultName && vaultName.toLowerCase() !== this.#vaultName) continue;
      result.matched += 1;
      // Event Grid delivers at least once: a version already in use needs no read.
      if (version === null || version !== this.#current?.credential.version) needsRead = true;
    }
    if (needsRead) {
      await this.#refresh('event');
      result.refreshed = true;
    }
    return result;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    for (const generation of [...this.#retired, ...(this.#current ? [this.#current] : [])]) this.#dispose(generation);
  }

  #generation(): Generation {
    if (!this.#current) throw new Error('the rotating Cosmos client has not read its secret yet');
    return this.#current;
  }

  /** Single flight: whoever asks while a read is under way gets that read's outcome. */
  #refresh(reason: RefreshReason): Promise<RefreshResult> {
    if (this.#closed) return Promise.reject(new Error('the rotating Cosmos client is closed'));
    this.#refreshing ??= this.#read(reason).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #read(reason: RefreshReason): Promise<RefreshResult> {
    const startedAtMs = this.#now();
    let credential: CosmosCredential;
    let endpoint: string;
    try {
      credential = parseCosmosSecret(await this.#secrets.getSecret(this.#options.secretName));
      endpoint = this.#endpointFor(credential);
    } catch (error) {
      this.#failedReads += 1;
      if (reason === 'start') throw error;
      const retryInMs = this.#retryDelay(this.#failedReads);
      const described = describeError(error);
      this.#emit({ type: 'keyReadFailed', reason, attempt: this.#failedReads, retryInMs, error: described });
      this.#options.logger?.warning(
        `Could not read Key Vault secret ${this.#options.secretName} (${reason}): ${described.name}${described.statusCode ? ` ${described.statusCode}` : ''}; keeping secret version ${this.#current?.credential.version}, retrying in ${Math.round(retryInMs / 1000)} s`,
      );
      this.#schedule(retryInMs);
      throw error;
    }
    this.#failedReads = 0;
    const previous = this.#current;
    const changed = !previous || previous.credential.version !== credential.version || previous.credential.key !== credential.key;
    // A read that finishes after close() builds no client nobody would dispose.
    if (changed && !this.#closed) this.#swapTo(credential, endpoint);
    const event = {
      type: 'keyLoaded',
      reason,
      changed,
      secretVersion: credential.version,
      keyKind: credential.keyKind,
      secretForm: credential.form,
      durationInMs: this.#now() - startedAtMs,
    } as const;
    this.#emit(event);
    if (changed) {
      this.#options.logger?.info(
        `Using Key Vault secret ${this.#options.secretName} version ${credential.version} (${credential.keyKind ?? 'untagged'} ${credential.form === 'key' ? 'key' : 'connection string'}; ${reason})`,
      );
    }
    this.#schedule(this.#regularDelay());
    return { changed, secretVersion: credential.version, keyKind: credential.keyKind };
  }

  #endpointFor(credential: CosmosCredential): string {
    const endpoint = this.#options.endpoint ?? credential.endpoint;
    if (!endpoint) {
      throw new TypeError(
        `createRotatingCosmosClient: Key Vault secret ${this.#options.secretName} holds a bare account key, so pass the account's document endpoint as \`endpoint\``,
      );
    }
    return endpoint;
  }

  #swapTo(credential: CosmosCredential, endpoint: string): void {
    const generation: Generation = { credential, endpoint, client: null as unknown as CosmosClient, inFlight: 0, retired: false, disposed: false };
    const userPlugins = (this.#options.cosmosOptions as { plugins?: PluginConfig[] } | undefined)?.plugins ?? [];
    const options = {
      ...this.#options.cosmosOptions,
      endpoint,
      key: credential.key,
      // Counting first, so that the app's own plugins run inside the count; re-signing last, so that
      // calling next() twice sends the request twice (see the top of this file).
      plugins: [{ on: 'request', plugin: this.#counter(generation) }, ...userPlugins, { on: 'request', plugin: this.#signer(generation) }],
    } as CosmosClientOptions;
    generation.client = new CosmosClient(options);
    const previous = this.#current;
    this.#current = generation;
    if (previous) {
      previous.retired = true;
      this.#retired.add(previous);
      if (previous.inFlight === 0) this.#dispose(previous);
    }
  }

  /** Counts the client's requests in flight, so that a retired client is disposed once they are done. */
  #counter(generation: Generation): Plugin<unknown> {
    return async (context, _diagnostics, next) => {
      generation.inFlight += 1;
      try {
        return await next(context);
      } finally {
        generation.inFlight -= 1;
        if (generation.retired && generation.inFlight === 0) this.#dispose(generation);
      }
    };
  }

  /** Signs with the current key, and answers a 401 with one refresh and one retry. */
  #signer(generation: Generation): Plugin<unknown> {
    return async (context, _diagnostics, next) => {
      let signedWith = generation;
      const current = this.#current;
      if (current && current !== generation) {
        await sign(context, current.credential.key);
        signedWith = current;
      }
      try {
        return await next(context);
      } catch (error) {
        if (!isUnauthorized(error)) throw error;
        const fresh = await this.#keyAfterUnauthorized(signedWith);
        if (!fresh) {
          this.#emit({ type: 'unauthorized', outcome: 'noNewKey', secretVersion: signedWith.credential.version });
          throw error;
        }
        await sign(context, fresh.credential.key);
        this.#emit({ type: 'unauthorized', outcome: 'retriedWithNewKey', secretVersion: fresh.credential.version });
        // A second 401 is the caller's to see.
        return await next(context);
      }
    };
  }

  /** The key to retry a 401 with, or null when Key Vault has nothing newer than the key that failed. */
  async #keyAfterUnauthorized(failed: Generation): Promise<Generation | null> {
    if (this.#current !== failed) return this.#current;
    if (!this.#refreshing) {
      // A key that Key Vault still holds and Cosmos DB refuses is not fixed by reading it again at once.
      if (this.#now() - this.#lastUnauthorizedReadAtMs < (this.#options.minUnauthorizedRefreshIntervalInMs ?? DEFAULT_MIN_UNAUTHORIZED_REFRESH_INTERVAL_IN_MS)) return null;
      this.#lastUnauthorizedReadAtMs = this.#now();
    }
    try {
      await this.#refresh('unauthorized');
    } catch {
      return null;
    }
    return this.#current !== failed ? this.#current : null;
  }

  #dispose(generation: Generation): void {
    if (generation.disposed) return;
    generation.disposed = true;
    this.#retired.delete(generation);
    generation.client.dispose();
    if (generation !== this.#current || this.#closed) this.#emit({ type: 'clientDisposed', secretVersion: generation.credential.version });
  }

  #schedule(delayInMs: number): void {
    if (this.#closed) return;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    const reason: RefreshReason = this.#failedReads > 0 ? 'retry' : 'timer';
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      // Failures are reported through telemetry and retried by #read itself.
      return this.#refresh(reason).catch(() => undefined);
    }, delayInMs);
  }

  #regularDelay(): number {
    const interval = this.#options.refreshIntervalInMs ?? DEFAULT_REFRESH_INTERVAL_IN_MS;
    const jitter = Math.min(Math.max(this.#options.refreshJitterRatio ?? DEFAULT_JITTER_RATIO, 0), 1);
    return Math.round(interval * (1 - jitter * this.#random()));
  }

  /** Exponential, with full jitter on the upper half, and never longer than the regular interval. */
  #retryDelay(attempt: number): number {
    const initial = this.#options.retryInitialDelayInMs ?? DEFAULT_RETRY_INITIAL_DELAY_IN_MS;
    const max = Math.min(this.#options.retryMaxDelayInMs ?? DEFAULT_RETRY_MAX_DELAY_IN_MS, this.#options.refreshIntervalInMs ?? DEFAULT_REFRESH_INTERVAL_IN_MS);
    const ceiling = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
    return Math.round(ceiling * (0.5 + 0.5 * this.#random()));
  }

  #emit(event: RotatingClientEvent): void {
    try {
      this.#options.onTelemetry?.(event);
    } catch {
      // Telemetry never breaks the app.
    }
  }
}

async function sign(context: RequestContext, key: string): Promise<void> {
  context.headers ??= {};
  await setAuthorizationTokenHeaderUsingMasterKey(context.method, context.resourceId ?? '', context.resourceType ?? ResourceType.none, context.headers, key);
}

function isUnauthorized(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 401;
}

function describeError(error: unknown): { name: string; statusCode: number | null; message: string } {
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; statusCode?: unknown; message?: unknown };
  return {
    name: typeof candidate.name === 'string' ? candidate.name : 'Error',
    statusCode: typeof candidate.statusCode === 'number' ? candidate.statusCode : null,
    message: typeof candidate.message === 'string' ? candidate.message : String(error),
  };
}
