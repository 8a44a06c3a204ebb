/**
 * The local Azure emulator: Cosmos DB resource manager, one Cosmos DB data
 * plane per account, Key Vault secrets and a control API, over HTTPS on
 * loopback with its own CA, all on one clock. `startAzureEmulator` runs it in
 * process (tests, demo); `cli.ts` runs it as a program.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VirtualClock } from '../clock.js';
import type { EmulatorRequest, EmulatorResponse, EmulatorState, KeyKind, KeyState, ServiceContext } from './contracts.js';
import {
  InputError,
  documentEndpointOf,
  newAccountState,
  parseCreateAccountInput,
  regionsOf,
  accountResourceId,
  type CreateAccountInput,
  type CreatedAccount,
} from './accounts.js';
import { handleArm } from './arm.js';
import { BlobService, blobOperationName } from './blob.js';
import { matchArmRoute } from './arm-routes.js';
import { loadOrCreateCertificates } from './certificates.js';
import { CONTROL_PREFIX, ConflictError, NotFoundError, handleControl, parseKeyUseInput, type ControlDependencies } from './control.js';
import { handleCosmosDataPlane } from './cosmos-data-plane.js';
import { faultMatches, faultResponse, takeFault, type ServiceName } from './faults.js';
import { listen, type Listener, type TlsMaterial } from './https-server.js';
import { EVENT_GRID_PATH, EventGridTopic, type DeliveredEvent, type TopicSubscriber } from './event-grid.js';
import { handleKeyVault } from './key-vault.js';
import { recordKeyUse } from './key-usage.js';
import { settleDue } from './operations.js';
import { RequestStats, cosmosOperationName, keyVaultOperationName, type EmulatorStats, type TrafficStats } from './request-stats.js';
import { StateIndex } from './state-index.js';
import { StateStore, createFreshState, readStateFile } from './state-store.js';
import { Throttler, azureThrottling, mergeThrottling, type ThrottleDecision } from './throttling.js';

export type { CreateAccountInput, CreatedAccount } from './accounts.js';
export type { EmulatorStats, TrafficStats } from './request-stats.js';
export type { CloudEventRecord, DeliveredEvent, TopicSubscriber } from './event-grid.js';
export type * from './contracts.js';

export interface AzureEmulatorOptions {
  /** The clock to run on (shared with the durable driver). Default: a new one, see `manualClock`. */
  clock?: VirtualClock;
  /** Without `clock`: true for a clock that moves only when told, false (default) to follow real time. */
  manualClock?: boolean;
  /** ARM + control port; 0 or absent: the port used last time (with dataDir) or any free port. */
  port?: number;
  /** Key Vault port; 0 or absent: as for `port`. */
  keyVaultPort?: number;
  /** Event Grid topic port; 0 or absent: as for `port`. */
  eventGridPort?: number;
  /** Blob storage port; 0 or absent: as for `port`. */
  storagePort?: number;
  /** Where state.json and the CA live; absent: in memory, CA in a temporary directory. */
  dataDir?: string;
  host?: '127.0.0.1';
  log?: (line: string) => void;
  /**
   * ARM and Key Vault throttling: absent, Azure's published numbers (on by
   * default, as in Azure); `false` turns both off; a partial object changes them
   * (see throttling.ts). The control API's PUT /throttling changes it at run time.
   */
  throttling?: false | Parameters<typeof mergeThrottling>[1];
}

export interface AzureEmulator {
  /** e.g. https://127.0.0.1:P */
  armEndpoint: string;
  /** e.g. https://127.0.0.1:Q (no trailing slash) */
  keyVaultUrl: string;
  /** armEndpoint + /_emulator */
  controlUrl: string;
  /** The Event Grid topic's endpoint, e.g. https://127.0.0.1:R/api/events (CloudEvents schema). */
  eventGridEndpoint: string;
  /** Blob storage's origin, path-style: `${storageEndpoint}/{account}/{container}/{blob}`. */
  storageEndpoint: string;
  /** The blobs: put one (as Put Blob, creating its container), or refuse reads as to an identity without a data role. */
  blobs: {
    put(account: string, container: string, blob: string, content: string | Buffer, contentType?: string): { etag: string };
    denyReads(deny: boolean): void;
  };
  /** The topic's subscribers and what it accepted (in memory: not part of the saved state). */
  eventGrid: {
    subscribe(subscriber: TopicSubscriber): () => void;
    events(): DeliveredEvent[];
    /** Resolves when every accepted event has reached every subscriber. */
    allDelivered(): Promise<void>;
  };
  caCertPath: string;
  caCertPem: string;
  clock: VirtualClock;
  /** A deep copy of the whole state, with due operations completed. */
  state(): EmulatorState;
  /**
   * A copy of every account's keys, by lower-cased resource ID, with due operations completed:
   * cheaper than `state()` (no data, no secrets), for watching regenerations.
   */
  keys(): Record<string, Record<KeyKind, KeyState>>;
  /** A copy of one account's keys (due operations completed); undefined for an unknown account. */
  accountKeys(accountId: string): Record<KeyKind, KeyState> | undefined;
  /** Changes whenever a key value changes or an account comes or goes: `keys()` is worth reading again. */
  keysRevision(): number;
  /** Same as control `POST /accounts`; throws InputError (bad input) or ConflictError (exists). */
  createAccount(input: CreateAccountInput): Promise<CreatedAccount>;
  /** Records a data-plane use of a key at `at` (default now), as an authenticated request would. */
  recordKeyUse(accountId: string, keyKind: KeyKind, at?: Date | string): void;
  /** Requests served since start (or the last reset), per service and operation. */
  stats(): EmulatorStats;
  /** Answers by HTTP status and ARM's busiest virtual second and minute per subscription, since start (or the last reset). */
  traffic(): TrafficStats;
  resetStats(): void;
  close(): Promise<void>;
}

const noLog = (): void => {};

export async function startAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  if (options.host !== undefined && options.host !== '127.0.0.1') throw new Error('the emulator listens on 127.0.0.1 only');
  const log = options.log ?? noLog;
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const persisted = dataDir ? readStateFile(dataDir) : undefined;
  const clock = chooseClock(options, persisted, log);
  const store = new StateStore(persisted ?? createFreshState(clock), clock, dataDir);
  const index = new StateIndex(store.state);
  store.onChange((touched) => index.update(store.state, touched));
  const certificateDir = dataDir ?? mkdtempSync(join(tmpdir(), 'azure-emulator-'));
  const certificates = await loadOrCreateCertificates(certificateDir);
  const stats = new RequestStats();
  const throttler = new Throttler(
    options.throttling === false
      ? mergeThrottling(azureThrottling(), { arm: { enabled: false }, keyVault: { enabled: false } })
      : mergeThrottling(azureThrottling(), options.throttling ?? {}),
  );
  const listeners = new Map<string, Listener>();
  const topic = new EventGridTopic(() => clock.now(), log);
  const blobService = new BlobService({ clock, log, ...(dataDir ? { dataDir } : {}) });
  let closed = false;

  const settle = (): void => {
    const nowMs = clock.nowMs();
    if (index.needsSettling(nowMs)) store.mutate((state) => settleDue(state, new Date(nowMs), index.due(nowMs)));
  };

  const context: ServiceContext = {
    clock,
    get state() {
      return store.state;
    },
    mutate: (change) => store.mutate(change),
    settle,
    runningOperation: (accountKey) => index.runningOperation(store.state, accountKey),
    accountCount: (subscriptionId, resourceGroup) => index.accountCount(subscriptionId, resourceGroup),
    log,
  };

  async function dispatch(
    service: ServiceName,
    operation: string,
    request: EmulatorRequest,
    handler: (request: EmulatorRequest, context: ServiceContext) => Promise<EmulatorResponse>,
  ): Promise<EmulatorResponse> {
    stats.count(service, operation);
    const fault = store.state.faults.some((rule) => faultMatches(rule, service, request))
      ? store.mutate((state) => takeFault(state, service, request))
      : undefined;
    if (fault?.delayMs) await sleep(fault.delayMs);
    let response: EmulatorResponse;
    const throttle = fault?.status === undefined ? throttleDecision(service, request) : undefined;
    if (fault?.status !== undefined) {
      response = faultResponse(service, { ...fault, status: fault.status });
      log(`${service} ${operation}: injected ${fault.status} (fault ${fault.id})`);
    } else if (throttle && !throttle.allowed) {
      response = throttle.response;
      log(`${service} ${operation}: throttled (429, retry after ${throttle.response.headers?.['retry-after']} s)`);
    } else {
      try {
        settle();
        response = await handler(request, context);
      } catch (error) {
        log(`${service} ${operation}: failed: ${(error as Error).stack ?? String(error)}`);
        const message = `The emulator failed while serving ${operation}: ${(error as Error).message}`;
        response = { status: 500, body: service === 'cosmos' ? { code: 'InternalServerError', message } : { error: { code: 'InternalServerError', message } } };
      }
    }
    if (throttle?.allowed) response = { ...response, headers: { ...(response.headers ?? {}), ...throttle.headers } };
    log(`${service} ${request.method} ${request.url.pathname} -> ${response.status}`);
    stats.answered(service, request, response.status, clock.nowMs());
    return withRequestId(service, request, response);
  }

  function throttleDecision(service: ServiceName, request: EmulatorRequest): ThrottleDecision | undefined {
    const nowMs = clock.nowMs();
    if (service === 'arm') return throttler.arm(request, /^\/subscriptions\/([^/]+)/i.exec(request.url.pathname)?.[1], nowMs);
    if (service === 'keyvault') return throttler.keyVault(request, nowMs);
    return undefined;
  }

  const tls: TlsMaterial = certificates;
  const onServerError = (error: unknown): void => log(`server error: ${(error as Error).stack ?? String(error)}`);

  /** Region 0 is the account's global endpoint (its first region); 1.. are its additional regions. */
  async function startDataPlane(accountKey: string, preferredPort: number, regionIndex = 0): Promise<Listener> {
    const listener = await listen(
      tls,
      (request) => dispatch('cosmos', cosmosOperationName(request), request, (r, c) => handleCosmosDataPlane(accountKey, r, c, regionIndex)),
      { preferredPort, fallbackToFreePort: true, onError: onServerError },
    );
    listeners.set(regionIndex === 0 ? `cosmos:${accountKey}` : `cosmos:${accountKey}:${regionIndex}`, listener);
    return listener;
  }

  async function closeDataPlanes(accountKey: string): Promise<void> {
    for (const [name, listener] of [...listeners]) {
      if (name === `cosmos:${accountKey}` || name.startsWith(`cosmos:${accountKey}:`)) {
        listeners.delete(name);
        await listener.close();
      }
    }
  }

  async function createAccount(input: unknown): Promise<CreatedAccount> {
    if (closed) throw new Error('the emulator is closed');
    const parsed = parseCreateAccountInput(input);
    const accountKey = accountResourceId(parsed).toLowerCase();
    if (store.state.accounts[accountKey]) throw new ConflictError(`the account ${accountResourceId(parsed)} already exists`);
    const listener = await startDataPlane(accountKey, 0);
    try {
      const regionPorts: number[] = [];
      for (let index = 0; index < parsed.additionalRegions.length; index += 1) regionPorts.push((await startDataPlane(accountKey, 0, index + 1)).port);
      const account = store.mutate((state) => {
        if (state.accounts[accountKey]) throw new ConflictError(`the account ${accountResourceId(parsed)} already exists`);
        const created = newAccountState(parsed, { dataPlanePort: listener.port, regionPorts, now: clock.now() });
        state.accounts[accountKey] = created;
        return created;
      });
      const regionalEndpoints = regionsOf(account).map(({ location, documentEndpoint }) => ({ location, documentEndpoint }));
      log(`control: created account ${account.id} with its data plane at ${regionalEndpoints.map((region) => `${region.documentEndpoint} (${region.location})`).join(', ')}`);
      return { id: account.id, documentEndpoint: documentEndpointOf(account), regionalEndpoints };
    } catch (error) {
      await closeDataPlanes(accountKey);
      throw error;
    }
  }

  function recordUse(input: unknown): { accountId: string; keyKind: KeyKind; at: string } {
    const { accountId, keyKind, at } = parseKeyUseInput(input, clock.now());
    const accountKey = accountId.toLowerCase();
    store.mutate((state) => {
      const account = state.accounts[accountKey];
      if (!account) throw new InputError(`there is no account ${accountId}`);
      recordKeyUse(account, keyKind, at);
    });
    return { accountId, keyKind, at: at.toISOString() };
  }

  const stopListeners = async (): Promise<void> => {
    await Promise.all([...listeners.values()].map((listener) => listener.close()));
    listeners.clear();
  };

  const controlDependencies: ControlDependencies = {
    clock,
    state: () => {
      settle();
      return store.snapshot();
    },
    createAccount,
    changeAccount: (name, body) => {
      const change = parseAccountChange(body);
      return store.mutate((state) => {
        const account = state.accounts[accountKeyNamed(store.state, name)]!;
        if (change.disableLocalAuth !== undefined) account.disableLocalAuth = change.disableLocalAuth;
        if (change.capabilities !== undefined) account.capabilities = [...change.capabilities];
        log(`control: account ${account.id} changed: ${JSON.stringify(change)}`);
        return { id: account.id, disableLocalAuth: account.disableLocalAuth, capabilities: [...account.capabilities] };
      });
    },
    deleteAccount: (name) =>
      store.mutate((state) => {
        const account = state.accounts[accountKeyNamed(store.state, name)]!;
        delete state.accounts[account.id.toLowerCase()];
        (state.deletedAccountScopes ??= []).push(`${account.subscriptionId}/${account.resourceGroup}`.toLowerCase());
        log(`control: account ${account.id} deleted`);
        return { id: account.id };
      }),
    recordKeyUse: recordUse,
    addFault: (rule) => store.mutate((state) => void state.faults.push(rule)),
    clearFaults: () =>
      store.mutate((state) => {
        const removed = state.faults.length;
        state.faults = [];
        return removed;
      }),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    addOperationFailure: (rule) => store.mutate((state) => void (state.operationFailures ??= []).push(rule)),
    clearOperationFailures: () =>
      store.mutate((state) => {
        const removed = state.operationFailures?.length ?? 0;
        state.operationFailures = [];
        return removed;
      }),
    failOperation: (operationId, failure) => {
      // An operation already due has ended; settle first so that it is not failed after the fact.
      settle();
      return store.mutate((state) => {
        const operation = state.operations[operationId];
        if (!operation) throw new NotFoundError(`there is no operation ${operationId}`);
        if (operation.status !== 'InProgress') throw new ConflictError(`operation ${operationId} has already ended (${operation.status})`);
        operation.plannedFailure = failure;
        log(`control: operation ${operationId} will fail with ${failure.code} at ${operation.completesAt}`);
        return structuredClone(operation);
      });
    },
    setRbac: (rbac) =>
      store.mutate((state) => {
        state.rbac = rbac;
      }),
    throttling: () => throttler.settings(),
    setThrottling: (input) => {
      throttler.set(mergeThrottling(throttler.settings(), input));
      log(`control: throttling is now ${JSON.stringify(throttler.settings())}`);
      return throttler.settings();
    },
  };

  let unsubscribeClock: () => void = noLog;
  try {
    const preferredPorts = store.state.ports;
    const arm = await listen(
      tls,
      (request, remoteAddress) => {
        if (request.url.pathname.startsWith(`${CONTROL_PREFIX}/blobs/`) && isLoopback(remoteAddress)) {
          return Promise.resolve(withRequestId('storage', request, blobService.handleControl(request, request.url.pathname.slice(`${CONTROL_PREFIX}/blobs/`.length))));
        }
        if (request.url.pathname === CONTROL_PREFIX || request.url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
          return handleControl(request, remoteAddress, controlDependencies).then((response) => withRequestId('arm', request, response));
        }
        return dispatch('arm', matchArmRoute(request.method, request.url.pathname).operation ?? 'unknown', request, handleArm);
      },
      {
        preferredPort: options.port || preferredPorts?.arm || 0,
        fallbackToFreePort: !options.port,
        onError: onServerError,
      },
    );
    listeners.set('arm', arm);
    const keyVault = await listen(tls, (request) => dispatch('keyvault', keyVaultOperationName(request), request, handleKeyVault), {
      preferredPort: options.keyVaultPort || preferredPorts?.keyVault || 0,
      fallbackToFreePort: !options.keyVaultPort,
      onError: onServerError,
    });
    listeners.set('keyvault', keyVault);
    const eventGrid = await listen(tls, (request) => dispatch('eventgrid', request.url.pathname === EVENT_GRID_PATH ? 'publishCloudEvents' : 'unknown', request, topic.handle), {
      preferredPort: options.eventGridPort || preferredPorts?.eventGrid || 0,
      fallbackToFreePort: !options.eventGridPort,
      onError: onServerError,
    });
    listeners.set('eventgrid', eventGrid);
    const storage = await listen(tls, (request) => dispatch('storage', blobOperationName(request), request, blobService.handle), {
      preferredPort: options.storagePort || preferredPorts?.storage || 0,
      fallbackToFreePort: !options.storagePort,
      onError: onServerError,
    });
    listeners.set('storage', storage);
    for (const [accountKey, account] of Object.entries(store.state.accounts)) {
      const listener = await startDataPlane(accountKey, account.dataPlanePort);
      if (listener.port !== account.dataPlanePort) {
        log(`control: port ${account.dataPlanePort} of ${account.id} is taken; its data plane moved to ${listener.port}`);
        store.mutate((state) => {
          state.accounts[accountKey]!.dataPlanePort = listener.port;
        });
      }
      for (const [index, region] of (account.regions ?? []).entries()) {
        const regional = await startDataPlane(accountKey, region.dataPlanePort, index + 1);
        if (regional.port !== region.dataPlanePort) {
          log(`control: port ${region.dataPlanePort} of ${account.id} (${region.location}) is taken; it moved to ${regional.port}`);
          store.mutate((state) => {
            state.accounts[accountKey]!.regions![index]!.dataPlanePort = regional.port;
          });
        }
      }
    }
    store.mutate((state) => {
      state.ports = { arm: arm.port, keyVault: keyVault.port, eventGrid: eventGrid.port, storage: storage.port };
    });
    settle();
    unsubscribeClock = clock.onChange(() => {
      if (closed) return;
      try {
        if (index.needsSettling(clock.nowMs())) settle();
        else store.flush();
      } catch (error) {
        log(`clock: could not save the state: ${(error as Error).message}`);
      }
    });
  } catch (error) {
    await stopListeners();
    if (!dataDir) rmSync(certificateDir, { recursive: true, force: true });
    throw error;
  }


  const armEndpoint = listeners.get('arm')!.origin;
  log(`emulator: ARM ${armEndpoint}, Key Vault ${listeners.get('keyvault')!.origin}, Event Grid ${listeners.get('eventgrid')!.origin}${EVENT_GRID_PATH}, blob storage ${listeners.get('storage')!.origin}, clock ${clock.mode} at ${clock.now().toISOString()}`);
  return {
    armEndpoint,
    keyVaultUrl: listeners.get('keyvault')!.origin,
    controlUrl: `${armEndpoint}${CONTROL_PREFIX}`,
    eventGridEndpoint: `${listeners.get('eventgrid')!.origin}${EVENT_GRID_PATH}`,
    storageEndpoint: listeners.get('storage')!.origin,
    blobs: {
      put: (account, container, blob, content, contentType) => blobService.put(account, container, blob, content, contentType),
      denyReads: (deny) => {
        blobService.denyReads = deny;
      },
    },
    eventGrid: {
      subscribe: (subscriber) => topic.subscribe(subscriber),
      events: () => topic.events(),
      allDelivered: () => topic.allDelivered(),
    },
    caCertPath: certificates.caCertPath,
    caCertPem: certificates.caCertPem,
    clock,
    state: controlDependencies.state,
    keys: () => {
      settle();
      return Object.fromEntries(Object.entries(store.state.accounts).map(([key, account]) => [key, structuredClone(account.keys)]));
    },
    accountKeys: (accountId) => {
      settle();
      const accounts = store.state.accounts;
      const key = accountId.toLowerCase();
      return Object.hasOwn(accounts, key) ? structuredClone(accounts[key]!.keys) : undefined;
    },
    keysRevision: () => {
      settle();
      return index.keysRevision;
    },
    createAccount: (input) => createAccount(input),
    recordKeyUse: (accountId, keyKind, at) => {
      recordUse({ accountId, keyKind, ...(at === undefined ? {} : { at: new Date(at).toISOString() }) });
    },
    stats: () => stats.snapshot(),
    traffic: () => stats.traffic(),
    resetStats: () => stats.reset(),
    close: async () => {
      if (closed) return;
      closed = true;
      unsubscribeClock();
      await stopListeners();
      if (dataDir) store.flush();
      else rmSync(certificateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The caller's clock wins; without one, a persisted clock resumes (in the mode
 * asked for). A persisted time later than the caller's clock moves that clock
 * forward: time in the emulator never goes back, or completed operations and
 * usage times would lie in the future.
 */
function chooseClock(options: AzureEmulatorOptions, persisted: EmulatorState | undefined, log: (line: string) => void): VirtualClock {
  const persistedClock = persisted ? VirtualClock.fromSnapshot(persisted.clock) : undefined;
  if (options.clock) {
    if (persistedClock && persistedClock.nowMs() > options.clock.nowMs()) {
      log(`clock: moving the given clock forward to the saved time ${persistedClock.now().toISOString()}`);
      options.clock.set(persistedClock.now());
    }
    return options.clock;
  }
  const mode = options.manualClock ? 'manual' : 'real';
  if (!persistedClock) return new VirtualClock(mode);
  if (persistedClock.mode === mode) return persistedClock;
  return new VirtualClock(mode, persistedClock.now());
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function withRequestId(service: ServiceName, request: EmulatorRequest, response: EmulatorResponse): EmulatorResponse {
  const headers = { ...(response.headers ?? {}) };
  const requestId = randomUUID();
  if (service === 'cosmos') {
    headers['x-ms-activity-id'] ??= String(request.headers['x-ms-activity-id'] ?? requestId);
  } else {
    headers['x-ms-request-id'] ??= requestId;
    if (service === 'arm') headers['x-ms-correlation-request-id'] ??= String(request.headers['x-ms-correlation-request-id'] ?? requestId);
  }
  return { ...response, headers };
}

/**
 * The key of the one account with this name (its data plane may stay up; ARM no longer finds a deleted one).
 * Looked up in the live state: walking a change's draft would copy every account.
 */
function accountKeyNamed(state: EmulatorState, name: string): string {
  const matches = Object.entries(state.accounts).filter(([, account]) => account.name.toLowerCase() === name.toLowerCase());
  if (matches.length === 0) throw new NotFoundError(`there is no account named ${name}`);
  if (matches.length > 1) throw new InputError(`${matches.length} accounts are named ${name}; the control API changes one by name only`);
  return matches[0]![0];
}

function parseAccountChange(body: unknown): { disableLocalAuth?: boolean; capabilities?: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((field) => field !== 'disableLocalAuth' && field !== 'capabilities');
  if (unknown.length) throw new InputError(`unknown field(s): ${unknown.join(', ')}; allowed: disableLocalAuth, capabilities`);
  const change: { disableLocalAuth?: boolean; capabilities?: string[] } = {};
  if (input.disableLocalAuth !== undefined) {
    if (typeof input.disableLocalAuth !== 'boolean') throw new InputError(`disableLocalAuth must be true or false, got ${JSON.stringify(input.disableLocalAuth)}`);
    change.disableLocalAuth = input.disableLocalAuth;
  }
  if (input.capabilities !== undefined) {
    if (!Array.isArray(input.capabilities) || !input.capabilities.every((item) => typeof item === 'string' && item.length > 0)) {
      throw new InputError('capabilities must be an array of capability names');
    }
    change.capabilities = [...new Set(input.capabilities as string[])];
  }
  if (change.disableLocalAuth === undefined && change.capabilities === undefined) throw new InputError('a change needs disableLocalAuth, capabilities, or both');
  return change;
}
