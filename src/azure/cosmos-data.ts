/**
 * The Cosmos DB data plane (@azure/cosmos), used only to check that a key is
 * accepted: two read-only requests (the account, one page of databases),
 * never a write. A rejection is an answer, not an error.
 */
import type { Agent } from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { redactSecrets } from '../errors.js';
import type { SecretValue } from './secret-value.js';

export interface ProbeResult {
  /** Both reads succeeded with this key. */
  accepted: boolean;
  /** HTTP status of the first failing read (200 when accepted), 0 when no answer came. */
  status: number;
  /** Why it was not accepted. Never contains the key. */
  reason?: string;
}

export interface CosmosDataOptions {
  agent: Agent;
  /** Per request; a probe is two requests. */
  requestTimeoutInMs?: number;
  /** Throttled (429) probes are retried by the SDK at most this many times. */
  maxThrottleRetries?: number;
}

const DEFAULT_REQUEST_TIMEOUT_IN_MS = 10_000;
const DEFAULT_MAX_THROTTLE_RETRIES = 2;

export class CosmosDataAdapter {
  readonly #options: CosmosDataOptions;

  constructor(options: CosmosDataOptions) {
    this.#options = options;
  }

  async probeKey(documentEndpoint: string, key: SecretValue): Promise<ProbeResult> {
    const client = new CosmosClient({
      endpoint: documentEndpoint,
      key: key.reveal(),
      agent: this.#options.agent,
      connectionPolicy: {
        // Discovery would read the account at start and route elsewhere; a probe talks to this endpoint only.
        enableEndpointDiscovery: false,
        requestTimeout: this.#options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS,
        retryOptions: {
          maxRetryAttemptCount: this.#options.maxThrottleRetries ?? DEFAULT_MAX_THROTTLE_RETRIES,
          maxWaitTimeInSeconds: 10,
        },
      },
    });
    try {
      await client.getDatabaseAccount();
      await client.databases.readAll({ maxItemCount: 1 }).fetchNext();
      return { accepted: true, status: 200 };
    } catch (error) {
      return rejection(error);
    } finally {
      client.dispose();
    }
  }
}

function rejection(error: unknown): ProbeResult {
  const record = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; statusCode?: unknown; substatus?: unknown; message?: unknown; name?: unknown };
  const status = typeof record.code === 'number' ? record.code : typeof record.statusCode === 'number' ? record.statusCode : 0;
  const message = redactSecrets((typeof record.message === 'string' ? record.message : String(error)).split('\n')[0]!.slice(0, 300));
  const substatus = typeof record.substatus === 'number' ? ` (substatus ${record.substatus})` : '';
  let reason: string;
  if (status === 401) reason = `the data plane rejected the key (401 Unauthorized${substatus})`;
  else if (status === 403) reason = `the data plane refused the request (403 Forbidden${substatus}): local (key) authentication may be disabled, or a firewall rule blocks this app`;
  else if (status === 0) reason = `no answer from the data plane (${typeof record.code === 'string' ? record.code : String(record.name ?? 'error')}): ${message}`;
  else reason = `the data plane answered ${status}${substatus}: ${message}`;
  return { accepted: false, status, reason };
}
