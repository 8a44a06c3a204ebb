/**
 * The task hub's instance query narrowed to an instance ID prefix: the
 * Durable Functions extension's HTTP API "Get all instances"
 * (`GET instances/?instanceIdPrefix=...`; Microsoft Learn "HTTP API reference"
 * for Durable Functions, and the extension's HttpApiHandler, which serves it on
 * both its webhook and its local RPC routes). durable-functions 3.5.0's
 * DurableClient.getStatusBy sends no such filter, so a client that wants one
 * account's records from it pages through the whole hub; this asks the host
 * for only those instances.
 */
import type { DurableClient, DurableOrchestrationStatus, OrchestrationRuntimeStatus } from 'durable-functions';
import { PermanentError, TransientError } from '../errors.js';

export type PrefixQueryClient = Pick<DurableClient, 'createHttpManagementPayload'>;

const PLACEHOLDER = 'INSTANCE-ID-PLACEHOLDER';

/** Every instance whose ID starts with `prefix` (in the given states), following the host's continuation tokens. */
export async function listInstancesByPrefix(
  client: PrefixQueryClient,
  prefix: string,
  runtimeStatus: OrchestrationRuntimeStatus[],
): Promise<DurableOrchestrationStatus[]> {
  const url = instancesUrl(client);
  url.searchParams.set('instanceIdPrefix', prefix);
  if (runtimeStatus.length > 0) url.searchParams.set('runtimeStatus', runtimeStatus.join(','));
  url.searchParams.set('showInput', 'true');
  const found: DurableOrchestrationStatus[] = [];
  let token: string | null = null;
  do {
    const response: Response = await fetch(url, { headers: token ? { 'x-ms-continuation-token': token } : {} }).catch((error: unknown) => {
      throw new TransientError(`The task hub's instance query could not be reached: ${error instanceof Error ? error.message : String(error)}`, { operation: 'list history records' });
    });
    if (response.status !== 200) {
      const message = `The task hub's instance query answered HTTP ${response.status} (listing the instances starting ${prefix}).`;
      throw response.status === 429 || response.status >= 500 ? new TransientError(message, { statusCode: response.status, operation: 'list history records' }) : new PermanentError(message, { statusCode: response.status, operation: 'list history records' });
    }
    found.push(...((await response.json()) as DurableOrchestrationStatus[]));
    token = response.headers.get('x-ms-continuation-token');
  } while (token);
  return found;
}

/**
 * The host's instances collection: on its local RPC endpoint when the client
 * binding names one (the loopback listener durable-functions itself calls),
 * else the webhook the binding's management payload points at (which carries
 * the system key).
 */
function instancesUrl(client: PrefixQueryClient): URL {
  // clientData is the binding's payload the library keeps; its type does not declare it.
  const rpcBaseUrl = (client as { clientData?: { rpcBaseUrl?: unknown } }).clientData?.rpcBaseUrl;
  if (typeof rpcBaseUrl === 'string' && rpcBaseUrl) return new URL('instances/', rpcBaseUrl);
  const status = new URL(client.createHttpManagementPayload(PLACEHOLDER).statusQueryGetUri);
  status.pathname = status.pathname.replace(new RegExp(`/${PLACEHOLDER}$`), '/');
  return status;
}
