/**
 * Cosmos DB through Azure Resource Manager (@azure/arm-cosmosdb, api-version
 * 2026-04-01-preview): account facts with key usage times, keys, connection
 * strings, and key regeneration as a long-running operation.
 *
 * The SDK's 16.x models predate safe key rotation: they drop
 * `approximateLastUsageTime` from typed results and strip
 * `skipAccountKeysLastUsageCheck` from the regenerate body. Both travel
 * through the client's own pipeline here (same auth, retries and LRO
 * handling): the usage time is read from the raw response body, and the skip
 * flag is added to the serialised body by a pipeline policy.
 */
import { CosmosDBManagementClient } from '@azure/arm-cosmosdb';
import { RestError, createPipelineRequest, type PipelinePolicy, type PipelineRequest, type PipelineResponse, type SendRequest } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { parseAccountId } from '../config.js';
import { armBudgetPolicy, type ArmBudget } from './arm-budget.js';
import type { AccountFacts, KeyFacts, RegionEndpoint } from '../domain/account-facts.js';
import { KEY_KINDS, KEY_PAIRS, KEYS_METADATA_PROPERTY, type KeyKind, type KeyPairName } from '../domain/keys.js';
import { BlockedError, PermanentError, classifyAzureError, isBusyStatus, parseRetryAfter, redactSecrets } from '../errors.js';
import { COSMOS_ACTIONS, type CosmosAction } from './permissions.js';
import { SecretValue } from './secret-value.js';
import { throttlingTelemetryPolicy } from './throttling-telemetry.js';
import { pipelineTlsOptions } from './tls.js';

/** The default api-version (COSMOS_ARM_API_VERSION): the first that reports key usage times. */
export const ARM_API_VERSION = '2026-04-01-preview';
/** The spec's spelling of the regenerate body's skip flag (examples/2026-04-01-preview/CosmosDBDatabaseAccountRegenerateKey.json). */
export const SKIP_USAGE_CHECK_FLAG = 'skipAccountKeysLastUsageCheck';

/**
 * Whether an api-version's keysMetadata carries approximateLastUsageTime: the
 * 2026-04-01-preview examples do, the stable 2026-03-15 ones have
 * generationTime only. Later versions are assumed to keep it.
 */
export function reportsKeyUsage(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= ARM_API_VERSION.slice(0, 10);
}

/** Capability that turns on ARM's refusal to regenerate a recently used key. */
export const KEY_CHECK_CAPABILITY = 'EnableKeyCheckBeforeRegenerationPreview';
/** The window ARM's safe-rotation check uses, whatever IDLE_WINDOW_IN_HOURS says. */
export const SAFE_ROTATION_WINDOW_IN_HOURS = 12;
/**
 * When ARM refuses but the usage it reports is older than the window, the use
 * that blocked it is not visible yet (usage times lag): look again this much
 * later at the least, by which time it shows and gives the real retry time.
 */
export const MIN_LAGGED_USAGE_RETRY_IN_MINUTES = 5;

/** Which ARM action each adapter method performs: the custom role must allow all of them. */
export const ADAPTER_ACTIONS = {
  getAccount: [COSMOS_ACTIONS.readAccount],
  listKeys: [COSMOS_ACTIONS.listKeys, COSMOS_ACTIONS.listReadOnlyKeys],
  getConnectionString: [COSMOS_ACTIONS.listConnectionStrings],
  // The SDK polls once right after starting; on a refusal the account is re-read.
  beginRegenerateKey: [COSMOS_ACTIONS.regenerateKey, COSMOS_ACTIONS.readOperationStatus, COSMOS_ACTIONS.readAccount],
  // Location and Azure-AsyncOperation are the same operationsStatus URL (the spec's regenerateKey examples).
  getRegenerationStatus: [COSMOS_ACTIONS.readOperationStatus],
} as const satisfies Record<string, readonly CosmosAction[]>;

/** Every ARM action some adapter call performs. */
export const USED_COSMOS_ACTIONS: ReadonlySet<CosmosAction> = new Set(Object.values(ADAPTER_ACTIONS).flat());

const performedActions = new Set<CosmosAction>();

/** The actions actually performed in this process so far (tests compare it with USED_COSMOS_ACTIONS). */
export function performedCosmosActions(): ReadonlySet<CosmosAction> {
  return new Set(performedActions);
}

export type { AccountFacts, KeyFacts } from '../domain/account-facts.js';

export type RegenerationStatus = 'InProgress' | 'Succeeded' | 'Failed';

export interface RegenerationStarted {
  /** core-lro's serialised poller state (URLs and status, never keys): resume with getRegenerationStatus. */
  pollerState: string;
  /** What the first poll saw; a fast regeneration may already be done. */
  status: RegenerationStatus;
  message?: string;
}

export interface RegenerationProgress {
  /**
   * Unreadable: the identity may not read the operation's status (a role
   * assigned on the account alone); the key's generation time must tell.
   */
  status: RegenerationStatus | 'Unreadable';
  /** Why it failed, or why the status could not be read. */
  message?: string;
  /** ARM's Retry-After on the status answer, while the operation runs. */
  retryAfterInMs?: number;
}

export interface BeginRegenerateKeyOptions {
  /** Send skipAccountKeysLastUsageCheck: true (a forced rotation). */
  skipUsageCheck: boolean;
  /** Used to compute when a regeneration the safe-rotation check refused can be retried. */
  idleWindowInHours: number;
  usageMarginInMinutes: number;
}

export interface CosmosManagementOptions {
  credential: TokenCredential;
  armEndpoint: string;
  /** COSMOS_ARM_API_VERSION; default ARM_API_VERSION. */
  apiVersion?: string;
  caCertPem: string | null;
  /** The time used to judge key usage (the emulator's clock in tests). */
  now?: () => Date;
  /** SDK retry policy (it already honours Retry-After on 429/503). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** The process's ARM request budget per subscription (ARM_READS_PER_SECOND, ARM_WRITES_PER_SECOND); none: unpaced. */
  budget?: ArmBudget;
}

const DEFAULT_MAX_RETRIES = 4;
const REQUEST_TIMEOUT_IN_MS = 60_000;
const HOUR_IN_MS = 3_600_000;
const MINUTE_IN_MS = 60_000;

/**
 * Marks a regenerate request that must carry the skip flag. Set per call as a
 * custom header; the pipeline policy below removes it before the request
 * leaves and adds the flag to the JSON body instead.
 */
const SKIP_USAGE_CHECK_MARKER = 'x-cosmos-key-rotation-skip-usage-check';

/** Adds `skipAccountKeysLastUsageCheck: true` to the serialised regenerate body when the call asked for it. */
export const skipUsageCheckPolicy: PipelinePolicy = {
  name: 'skipAccountKeysLastUsageCheckPolicy',
  async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
    if (!request.headers.has(SKIP_USAGE_CHECK_MARKER)) return next(request);
    request.headers.delete(SKIP_USAGE_CHECK_MARKER);
    if (request.method === 'POST' && /\/regenerateKey$/i.test(new URL(request.url).pathname) && typeof request.body === 'string') {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      body[SKIP_USAGE_CHECK_FLAG] = true;
      request.body = JSON.stringify(body);
    }
    return next(request);
  },
};

export class CosmosManagementAdapter {
  readonly #options: CosmosManagementOptions;
  readonly #clients = new Map<string, CosmosDBManagementClient>();
  readonly #now: () => Date;
  readonly #apiVersion: string;

  constructor(options: CosmosManagementOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#apiVersion = options.apiVersion ?? ARM_API_VERSION;
  }

  /** Capabilities, endpoint, local-auth switch and, per key, generation and last-use times. */
  async getAccount(accountId: string): Promise<AccountFacts> {
    const { client, resourceGroup, accountName } = this.#target(accountId);
    let rawBody: string | undefined;
    const account = await this.#armCall(COSMOS_ACTIONS.readAccount, 'read the account', accountId, () =>
      client.databaseAccounts.get(resourceGroup, accountName, {
        onResponse: (response) => {
          rawBody = response.bodyAsText ?? undefined;
        },
      }),
    );
    // keysMetadata is read from the wire: the SDK model knows generationTime only.
    const raw = parseJson(rawBody) as { properties?: { keysMetadata?: Record<string, { generationTime?: unknown; approximateLastUsageTime?: unknown }> } };
    const metadata = raw?.properties?.keysMetadata ?? {};
    const keys = Object.fromEntries(
      KEY_KINDS.map((kind) => {
        const entry = metadata[KEYS_METADATA_PROPERTY[kind]];
        return [kind, { generationTime: isoTime(entry?.generationTime), lastUsedAt: isoTime(entry?.approximateLastUsageTime) }];
      }),
    ) as Record<KeyKind, KeyFacts>;
    const capabilities = (account.capabilities ?? []).map((capability) => capability.name).filter((name): name is string => typeof name === 'string');
    if (!account.documentEndpoint) {
      throw new PermanentError(`The account ${accountId} has no documentEndpoint: it may still be provisioning or not be a Cosmos DB for NoSQL account.`, {
        operation: 'read the account',
        resource: accountId,
      });
    }
    return {
      accountId,
      accountName,
      documentEndpoint: account.documentEndpoint,
      capabilities,
      safeRotationCheckEnabled: capabilities.some((name) => name.toLowerCase() === KEY_CHECK_CAPABILITY.toLowerCase()),
      disableLocalAuth: account.disableLocalAuth === true,
      keys,
      usageReported: reportsKeyUsage(this.#apiVersion),
      regionEndpoints: regionEndpointsOf(account.readLocations ?? account.locations ?? []),
    };
  }

  /** The two keys of a pair. The only place key values come from. */
  async listKeys(accountId: string, pair: KeyPairName): Promise<Partial<Record<KeyKind, SecretValue>>> {
    const { client, resourceGroup, accountName } = this.#target(accountId);
    const keys =
      pair === 'readWrite'
        ? await this.#armCall(COSMOS_ACTIONS.listKeys, 'list the keys', accountId, () => client.databaseAccounts.listKeys(resourceGroup, accountName))
        : await this.#armCall(COSMOS_ACTIONS.listReadOnlyKeys, 'list the read-only keys', accountId, () =>
            client.databaseAccounts.listReadOnlyKeys(resourceGroup, accountName),
          );
    const values = keys as Partial<Record<string, string>>;
    const result: Partial<Record<KeyKind, SecretValue>> = {};
    for (const kind of KEY_PAIRS[pair].kinds) {
      const value = values[KEYS_METADATA_PROPERTY[kind]];
      if (value) result[kind] = new SecretValue(value);
    }
    return result;
  }

  /** One key, read from ARM now. */
  async getKey(accountId: string, keyKind: KeyKind): Promise<SecretValue> {
    const pair: KeyPairName = KEY_PAIRS.readWrite.kinds.includes(keyKind) ? 'readWrite' : 'readOnly';
    const key = (await this.listKeys(accountId, pair))[keyKind];
    if (!key) {
      throw new PermanentError(`ARM returned no ${keyKind} key for ${accountId}.`, { operation: 'list the keys', resource: accountId });
    }
    return key;
  }

  /** The NoSQL connection string of one key, as ARM composes it. */
  async getConnectionString(accountId: string, keyKind: KeyKind): Promise<SecretValue> {
    const { client, resourceGroup, accountName } = this.#target(accountId);
    const result = await this.#armCall(COSMOS_ACTIONS.listConnectionStrings, 'list the connection strings', accountId, () =>
      client.databaseAccounts.listConnectionStrings(resourceGroup, accountName),
    );
    const strings = result.connectionStrings ?? [];
    const wanted = keyKind.toLowerCase();
    const description = CONNECTION_STRING_DESCRIPTIONS[keyKind];
    const match =
      strings.find((entry) => entry.keyKind?.toLowerCase() === wanted && (entry.type === undefined || entry.type.toLowerCase() === 'sql')) ??
      strings.find((entry) => entry.keyKind === undefined && entry.description?.toLowerCase() === description.toLowerCase());
    if (!match?.connectionString) {
      throw new PermanentError(`ARM returned no NoSQL connection string for the ${keyKind} key of ${accountId}.`, {
        operation: 'list the connection strings',
        resource: accountId,
      });
    }
    return new SecretValue(match.connectionString);
  }

  /**
   * Starts regenerating a key. Throws BlockedError when the safe-rotation
   * check refuses (with the time to retry), TransientError when another
   * operation holds the account, PermanentError when retrying cannot help.
   */
  async beginRegenerateKey(accountId: string, keyKind: KeyKind, options: BeginRegenerateKeyOptions): Promise<RegenerationStarted> {
    const { client, resourceGroup, accountName } = this.#target(accountId);
    const operation = `regenerate the ${keyKind} key`;
    for (const action of ADAPTER_ACTIONS.beginRegenerateKey) performedActions.add(action);
    try {
      const poller = await client.databaseAccounts.beginRegenerateKey(
        resourceGroup,
        accountName,
        { keyKind },
        options.skipUsageCheck ? { requestOptions: { customHeaders: { [SKIP_USAGE_CHECK_MARKER]: 'true' } } } : {},
      );
      return { pollerState: portablePollerState(poller.toString()), status: statusOf(poller.getOperationState().status) };
    } catch (error) {
      if (isStatusReadRefused(error)) {
        // ARM accepted the regeneration; only its first status poll was refused: it runs.
        const message = redactSecrets((error as Error).message);
        return { pollerState: JSON.stringify({ state: { status: 'running', config: {}, statusUnreadable: true, failureMessage: message } }), status: 'InProgress' };
      }
      if (isOperationFailure(error)) {
        const message = redactSecrets((error as Error).message);
        return { pollerState: JSON.stringify({ state: { status: 'failed', config: {}, failureMessage: message } }), status: 'Failed', message };
      }
      const classified = classifyAzureError(error, { operation, resource: accountId, service: 'arm', action: COSMOS_ACTIONS.regenerateKey });
      const statusCode = (classified as { statusCode?: number }).statusCode;
      if (statusCode !== undefined && isRefusal(statusCode)) {
        const code = (classified as { code?: string }).code;
        const refusal = { statusCode, ...(code ? { code } : {}), message: (error as Error).message };
        if (options.skipUsageCheck) throw await this.#refusedDespiteSkipFlag(accountId, keyKind, refusal, classified);
        const blocked = await this.#blockedBySafeRotation(accountId, keyKind, options, refusal);
        if (blocked) throw blocked;
      }
      throw classified;
    }
  }

  /** Polls a regeneration once, from the state beginRegenerateKey returned. */
  async getRegenerationStatus(accountId: string, keyKind: KeyKind, pollerState: string): Promise<RegenerationProgress> {
    const stored = readPollerState(pollerState);
    if (!stored) {
      throw new PermanentError(`The saved state of the ${keyKind} key regeneration of ${accountId} cannot be read; start the rotation again.`, {
        operation: 'read the regeneration status',
        resource: accountId,
      });
    }
    // A finished state needs no request (and core-lro would throw the stored, unserialisable error).
    if (stored.status === 'succeeded') return { status: 'Succeeded' };
    if (stored.status === 'failed' || stored.status === 'canceled') return { status: 'Failed', message: stored.failureMessage ?? `the regeneration ended ${stored.status}` };
    if (stored.statusUnreadable) return { status: 'Unreadable', message: stored.failureMessage ?? 'the status read was refused' };
    const { client, resourceGroup, accountName } = this.#target(accountId);
    const operation = `read the status of the ${keyKind} key regeneration`;
    for (const action of ADAPTER_ACTIONS.getRegenerationStatus) performedActions.add(action);
    if (stored.operationLocation) return this.#readOperationStatus(client, accountId, operation, stored.operationLocation);
    try {
      // Resuming polls exactly once (the SDK's begin* polls after creating the poller).
      const poller = await client.databaseAccounts.beginRegenerateKey(resourceGroup, accountName, { keyKind }, { resumeFrom: pollerState });
      return { status: statusOf(poller.getOperationState().status) };
    } catch (error) {
      if (isOperationFailure(error)) return { status: 'Failed', message: redactSecrets((error as Error).message) };
      if (isStatusReadRefused(error)) return { status: 'Unreadable', message: redactSecrets((error as Error).message) };
      throw classifyAzureError(error, { operation, resource: accountId, service: 'arm', action: COSMOS_ACTIONS.regenerateKey });
    }
  }

  /**
   * One GET of the operation's Azure-AsyncOperation URL, through the client's
   * pipeline (auth, retries, throttling telemetry). Resuming core-lro's poller
   * would, once the status says Succeeded, also GET the Location URL for the
   * final result; regenerateKey has none (the spec defines no response body),
   * so that request bought nothing. Retry-After on the status answer is passed on.
   */
  async #readOperationStatus(client: CosmosDBManagementClient, accountId: string, operation: string, url: string): Promise<RegenerationProgress> {
    const request = createPipelineRequest({ url, method: 'GET' });
    const response = await this.#armCall(COSMOS_ACTIONS.readOperationStatus, operation, accountId, async () => {
      const answer = await client.sendRequest(request);
      if (answer.status >= 200 && answer.status < 300) return answer;
      const body = parseJson(answer.bodyAsText ?? undefined) as { error?: { code?: string; message?: string } } | undefined;
      const error = new RestError(body?.error?.message ?? `The operation status answered ${answer.status}.`, {
        statusCode: answer.status,
        ...(body?.error?.code ? { code: body.error.code } : {}),
        request,
        response: answer,
      });
      if (isStatusReadRefused(error)) return error;
      throw error;
    });
    if (response instanceof RestError) return { status: 'Unreadable', message: redactSecrets(response.message) };
    const body = parseJson(response.bodyAsText ?? undefined) as { status?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
    const retryAfterInMs = parseRetryAfter(response.headers.get('retry-after'), this.#now().getTime());
    const hint = retryAfterInMs ? { retryAfterInMs } : {};
    const status = typeof body?.status === 'string' ? body.status.toLowerCase() : '';
    if (status === 'succeeded') return { status: 'Succeeded' };
    if (status === 'failed' || status === 'canceled' || status === 'cancelled') {
      const reason = typeof body?.error?.message === 'string' && body.error.message ? body.error.message : `the operation ended ${status}`;
      return { status: 'Failed', message: redactSecrets(`${typeof body?.error?.code === 'string' ? `${body.error.code}: ` : ''}${reason}`) };
    }
    return { status: 'InProgress', ...hint };
  }

  /**
   * ARM refused a regeneration with a 4xx. Its code for "key in use" is not
   * public, so the reason is judged from the usage it reports, not the code.
   */
  async #blockedBySafeRotation(
    accountId: string,
    keyKind: KeyKind,
    options: BeginRegenerateKeyOptions,
    refusal: { statusCode: number; code?: string; message: string },
  ): Promise<BlockedError | undefined> {
    // A 409 or 412 that says another operation holds the account is that, whatever the usage: retry soon, not in 12 hours.
    if (isBusyStatus(refusal.statusCode) && OPERATION_IN_PROGRESS.test(refusal.message)) return undefined;
    const facts = await this.getAccount(accountId);
    if (!facts.safeRotationCheckEnabled) return undefined;
    const now = this.#now();
    const lastUsedAt = facts.keys[keyKind].lastUsedAt;
    const windowInMs = Math.max(options.idleWindowInHours, SAFE_ROTATION_WINDOW_IN_HOURS) * HOUR_IN_MS;
    const marginInMs = options.usageMarginInMinutes * MINUTE_IN_MS;
    const detail = `ARM said: ${refusal.statusCode}${refusal.code ? ` ${refusal.code}` : ''}: ${firstLine(refusal.message)}`;
    const common = { statusCode: refusal.statusCode, operation: `regenerate the ${keyKind} key`, resource: accountId, ...(refusal.code ? { code: refusal.code } : {}) };
    if (lastUsedAt && Date.parse(lastUsedAt) + windowInMs > now.getTime()) {
      const retryAt = new Date(Date.parse(lastUsedAt) + windowInMs + marginInMs).toISOString();
      return new BlockedError(`The ${keyKind} key of ${accountId} was used at ${lastUsedAt}, within the idle window: retry at ${retryAt}. ${detail}`, {
        ...common,
        retryAt,
        lastUsedAt,
      });
    }
    // "Another operation in progress" is not a usage refusal, whatever the usage says.
    if (isBusyStatus(refusal.statusCode)) return undefined;
    const retryAt = new Date(now.getTime() + Math.max(marginInMs, MIN_LAGGED_USAGE_RETRY_IN_MINUTES * MINUTE_IN_MS)).toISOString();
    return new BlockedError(
      `The safe-rotation check refused to regenerate the ${keyKind} key of ${accountId} although the last use ARM reports (${lastUsedAt ?? 'none'}) is outside the idle window; ` +
        `usage times lag, so a recent use may not show yet: retry at ${retryAt}. ${detail}`,
      { ...common, retryAt, lastUsedAt },
    );
  }

  /**
   * ARM refused a forced regeneration (the skip flag was sent). Its reason is
   * not public either: re-read the key's usage so the operator sees what ARM
   * saw, and say that the refusal came despite the flag.
   */
  async #refusedDespiteSkipFlag(
    accountId: string,
    keyKind: KeyKind,
    refusal: { statusCode: number; code?: string; message: string },
    classified: Error,
  ): Promise<Error> {
    if (isBusyStatus(refusal.statusCode) && OPERATION_IN_PROGRESS.test(refusal.message)) return classified;
    let usage: string;
    try {
      const facts = await this.getAccount(accountId);
      usage =
        `the last use ARM reports for it is ${facts.keys[keyKind].lastUsedAt ?? 'none'}` +
        `${facts.usageReported ? '' : ` (api-version ${this.#apiVersion} reports no usage times)`}; ` +
        `the safe-rotation check is ${facts.safeRotationCheckEnabled ? 'enabled' : 'not enabled'} on the account`;
    } catch (readError) {
      usage = `its usage could not be re-read (${firstLine((readError as Error).message)})`;
    }
    return new PermanentError(
      `Azure refused to regenerate the ${keyKind} key of ${accountId} even with ${SKIP_USAGE_CHECK_FLAG}: true (a forced rotation): ${usage}. ` +
        `ARM said: ${refusal.statusCode}${refusal.code ? ` ${refusal.code}` : ''}: ${firstLine(refusal.message)}. ` +
        `Nothing was regenerated. Check the account in the portal, or wait until the key is idle and rotate without force.`,
      { statusCode: refusal.statusCode, operation: `regenerate the ${keyKind} key`, resource: accountId, ...(refusal.code ? { code: refusal.code } : {}) },
    );
  }

  async #armCall<T>(action: CosmosAction, operation: string, accountId: string, call: () => Promise<T>): Promise<T> {
    performedActions.add(action);
    try {
      return await call();
    } catch (error) {
      throw classifyAzureError(error, { operation, resource: accountId, service: 'arm', action });
    }
  }

  #target(accountId: string): { client: CosmosDBManagementClient; resourceGroup: string; accountName: string } {
    const parsed = parseAccountId(accountId);
    if (!parsed) {
      throw new PermanentError(`"${accountId}" is not a Cosmos DB account resource ID.`, { operation: 'call ARM', resource: accountId });
    }
    const key = parsed.subscriptionId.toLowerCase();
    let client = this.#clients.get(key);
    if (!client) {
      const { armEndpoint, credential, caCertPem, retry } = this.#options;
      client = new CosmosDBManagementClient(credential, parsed.subscriptionId, {
        endpoint: armEndpoint,
        apiVersion: this.#apiVersion,
        credentialScopes: [`${armEndpoint}/.default`],
        retryOptions: { maxRetries: retry?.maxRetries ?? DEFAULT_MAX_RETRIES, ...(retry?.retryDelayInMs !== undefined ? { retryDelayInMs: retry.retryDelayInMs } : {}), ...(retry?.maxRetryDelayInMs !== undefined ? { maxRetryDelayInMs: retry.maxRetryDelayInMs } : {}) },
        ...pipelineTlsOptions(caCertPem),
      });
      client.pipeline.addPolicy(skipUsageCheckPolicy, { afterPhase: 'Serialize' });
      client.pipeline.addPolicy(requestTimeoutPolicy);
      // After the retry policy: every attempt actually sent (SDK retries, LRO polls) takes its turn.
      // Added before the telemetry policy, so that one still sees each 429 the budget turns into an error.
      if (this.#options.budget) client.pipeline.addPolicy(armBudgetPolicy(this.#options.budget, parsed.subscriptionId), { afterPhase: 'Retry' });
      client.pipeline.addPolicy(throttlingTelemetryPolicy('arm'), { afterPhase: 'Retry' });
      this.#clients.set(key, client);
    }
    return { client, resourceGroup: parsed.resourceGroup, accountName: parsed.accountName };
  }
}

const CONNECTION_STRING_DESCRIPTIONS: Record<KeyKind, string> = {
  primary: 'Primary SQL Connection String',
  secondary: 'Secondary SQL Connection String',
  primaryReadonly: 'Primary Read-Only SQL Connection String',
  secondaryReadonly: 'Secondary Read-Only SQL Connection String',
};

/** A hung connection must not hold an activity until the function timeout. */
const requestTimeoutPolicy: PipelinePolicy = {
  name: 'rotatorRequestTimeoutPolicy',
  async sendRequest(request, next) {
    if (!request.timeout) request.timeout = REQUEST_TIMEOUT_IN_MS;
    return next(request);
  },
};

const OPERATION_IN_PROGRESS = /operation in progress|exclusive lock|another operation/i;

/** Statuses that may be the safe-rotation refusal; auth, missing and throttled answers are not. */
function isRefusal(statusCode: number): boolean {
  return statusCode >= 400 && statusCode < 500 && ![401, 403, 404, 408, 429].includes(statusCode);
}

/** core-lro reports an operation that ended Failed as a plain Error with this text (no HTTP status). */
function isOperationFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'Error' && error.message.startsWith('The long-running operation has failed');
}

function statusOf(lroStatus: string): RegenerationStatus {
  switch (lroStatus) {
    case 'succeeded':
      return 'Succeeded';
    case 'failed':
    case 'canceled':
      return 'Failed';
    default:
      return 'InProgress';
  }
}

/**
 * Keeps what resuming needs (status, URLs) and drops `result` and `error`:
 * they are not needed, an Error does not survive JSON anyway, and a result
 * body must never reach the task hub's history.
 */
function portablePollerState(serialised: string): string {
  const parsed = JSON.parse(serialised) as { state: Record<string, unknown> };
  const { result: _result, error: _error, ...state } = parsed.state;
  return JSON.stringify({ state });
}

function readPollerState(pollerState: string): { status: string; operationLocation?: string; failureMessage?: string; statusUnreadable?: true } | undefined {
  const parsed = parseJson(pollerState) as
    | { state?: { status?: unknown; config?: { operationLocation?: unknown; metadata?: { mode?: unknown } }; failureMessage?: unknown; statusUnreadable?: unknown } }
    | undefined;
  const state = parsed?.state;
  if (typeof state?.status !== 'string' || !state.config) return undefined;
  // core-lro's mode OperationLocation: the URL is the Azure-AsyncOperation header (the spec's regenerateKey examples).
  const { operationLocation, metadata } = state.config;
  const statusUrl = typeof operationLocation === 'string' && metadata?.mode === 'OperationLocation' ? operationLocation : undefined;
  return {
    status: state.status,
    ...(statusUrl ? { operationLocation: statusUrl } : {}),
    ...(typeof state.failureMessage === 'string' ? { failureMessage: state.failureMessage } : {}),
    ...(state.statusUnreadable === true ? { statusUnreadable: true as const } : {}),
  };
}

/**
 * A 401/403 on a long-running operation's status or result URL. Those URLs are
 * subscription-level: an identity whose role is assigned on the account alone
 * may start a regeneration it cannot then poll.
 */
function isStatusReadRefused(error: unknown): boolean {
  const { statusCode, request } = (error ?? {}) as { statusCode?: unknown; request?: { url?: unknown } };
  return (statusCode === 401 || statusCode === 403) && typeof request?.url === 'string' && /\/(operationsStatus|operationResults)\//i.test(request.url);
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** ARM times are UTC; a value without a zone designator is read as UTC, not local time. */
function isoTime(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value) ? `${value}Z` : value;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The regional endpoints ARM reports, each once, in failover order. */
function regionEndpointsOf(locations: ReadonlyArray<{ locationName?: string; documentEndpoint?: string; failoverPriority?: number }>): RegionEndpoint[] {
  const seen = new Set<string>();
  return [...locations]
    .sort((a, b) => (a.failoverPriority ?? 0) - (b.failoverPriority ?? 0))
    .filter((location): location is { locationName?: string; documentEndpoint: string } => typeof location.documentEndpoint === 'string' && location.documentEndpoint !== '')
    .filter((location) => !seen.has(location.documentEndpoint.toLowerCase()) && Boolean(seen.add(location.documentEndpoint.toLowerCase())))
    .map((location) => ({ locationName: location.locationName ?? location.documentEndpoint, documentEndpoint: location.documentEndpoint }));
}

function firstLine(text: string): string {
  return redactSecrets((text.split('\n')[0] ?? '').slice(0, 400));
}
