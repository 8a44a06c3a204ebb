/**
 * The loopback HTTP server a function's DurableClient talks to: the subset of the
 * Durable Functions HTTP API the JavaScript client calls, under both base paths the host
 * serves (the local RPC endpoint `/durabletask/` and the webhooks
 * `/runtime/webhooks/durabletask/`, which need the system key in `code`), with the
 * extension's status codes. It also serves the app's own HTTP routes (`/api/...`).
 * Plain HTTP: the host's local durable endpoint is plain HTTP too.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DurableDriverError, httpStatusFor } from './errors.js';
import type { RuntimeStatus } from './history.js';
import type { StatusPayload, StatusViewOptions } from './status.js';

export interface DurableHttpBackend {
  readonly taskHub: string;
  readonly webhookCode: string;
  readonly httpRoutePrefix: string;
  createInstance(orchestratorName: string, instanceId: string | undefined, inputJson: string | null): string;
  statusPayload(instanceId: string, options?: StatusViewOptions): StatusPayload | undefined;
  queryStatus(filter: {
    runtimeStatus?: RuntimeStatus[];
    createdTimeFrom?: Date | string;
    createdTimeTo?: Date | string;
    instanceIdPrefix?: string;
    showInput?: boolean;
  }): StatusPayload[];
  enqueueEvent(instanceId: string, eventName: string, dataJson: string | null): void;
  enqueueTermination(instanceId: string, reason: string | null): void;
  purgeInstance(instanceId: string): number;
  purgeWhere(filter: { runtimeStatus?: RuntimeStatus[]; createdTimeFrom?: Date | string; createdTimeTo?: Date | string }): number;
  invokeHttp(
    target: string,
    request: { method?: string; headers?: Record<string, string>; body?: unknown },
  ): Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

export interface DurableHttpServer {
  readonly baseUrl: string;
  /** Durable API requests served, by operation (e.g. `listInstances`, `getStatus`, `startNew`): what a client's calls cost. */
  requestCounts(): Record<string, number>;
  resetRequestCounts(): void;
  close(): Promise<void>;
}

/**
 * The page size of an instance query that names no `top`: the extension
 * pages by 100 (its query's default page size; Azure/azure-functions-durable-python
 * issue 580 names it), so a client that follows `x-ms-continuation-token`
 * makes one request per 100 instances.
 */
export const DEFAULT_INSTANCE_PAGE_SIZE = 100;

const rpcBase = '/durabletask';
const webhookBase = '/runtime/webhooks/durabletask';
const runtimeStatuses: RuntimeStatus[] = ['Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Pending', 'Suspended'];

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export async function startDurableHttpServer(backend: DurableHttpBackend, options: { port: number }): Promise<DurableHttpServer> {
  let counts: Record<string, number> = {};
  // No keep-alive timeout, as the Azure emulator's servers (see emulator/azure/https-server.ts): on a virtual clock a
  // wall-clock idle timer races clients reusing pooled connections.
  const server = createServer({ keepAliveTimeout: 0 }, (request, response) => {
    const operation = operationOf(request);
    if (operation) counts[operation] = (counts[operation] ?? 0) + 1;
    void handle(backend, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requestCounts: () => ({ ...counts }),
    resetRequestCounts: () => {
      counts = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The durable API operation a request asks for, or undefined for the app's own routes. */
function operationOf(request: IncomingMessage): string | undefined {
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  const base = [webhookBase, rpcBase].find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (base === undefined) return undefined;
  const [controller, instanceId, operation] = path.slice(base.length).split('/').filter(Boolean);
  const method = request.method ?? 'GET';
  if (controller === 'orchestrators') return 'startNew';
  if (controller !== 'instances') return `${method} ${controller ?? '/'}`;
  if (!instanceId) return method === 'GET' ? 'listInstances' : 'purgeInstances';
  if (operation) return operation;
  return method === 'GET' ? 'getStatus' : method === 'DELETE' ? 'purgeInstance' : method;
}

async function handle(backend: DurableHttpBackend, request: IncomingMessage, response: ServerResponse): Promise<void> {
  let reply: Reply;
  try {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
    reply = await route(backend, request, url, body);
  } catch (error) {
    if (error instanceof DurableDriverError) reply = errorReply(httpStatusFor(error.code), error.message);
    else reply = errorReply(500, `Something went wrong while processing your request: ${error instanceof Error ? error.message : String(error)}`);
  }
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | Buffer = '';
  if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) payload = reply.body;
  else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  response.writeHead(reply.status, headers);
  response.end(payload);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function errorReply(status: number, message: string): Reply {
  return { status, body: { Message: message } };
}

async function route(backend: DurableHttpBackend, request: IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
  const path = decodeURIComponent(url.pathname);
  const prefix = backend.httpRoutePrefix ? `/${backend.httpRoutePrefix}` : '';
  if (path.startsWith(`${webhookBase}/`) || path === webhookBase) {
    if (url.searchParams.get('code') !== backend.webhookCode) return { status: 401 };
    return durableApi(backend, request, url, path.slice(webhookBase.length), body);
  }
  if (path.startsWith(`${rpcBase}/`) || path === rpcBase) {
    return durableApi(backend, request, url, path.slice(rpcBase.length), body);
  }
  if (prefix === '' || path === prefix || path.startsWith(`${prefix}/`)) {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) if (typeof value === 'string') headers[key] = value;
    const result = await backend.invokeHttp(`${url.pathname}${url.search}`, {
      method: request.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
    });
    return { status: result.status, headers: result.headers, body: result.body };
  }
  return { status: 404 };
}

async function durableApi(backend: DurableHttpBackend, request: IncomingMessage, url: URL, subPath: string, body: Buffer): Promise<Reply> {
  const method = request.method ?? 'GET';
  const segments = subPath.split('/').filter((segment) => segment !== '');
  const [controller, first, second, third] = segments;

  if (controller === 'orchestrators' && first) {
    if (method !== 'POST') return { status: 404 };
    const text = body.toString('utf8').trim();
    let inputJson: string | null = null;
    if (text !== '') {
      try {
        inputJson = JSON.stringify(JSON.parse(text));
      } catch {
        return errorReply(400, 'Invalid JSON content');
      }
    }
    const id = backend.createInstance(first, second, inputJson);
    return checkStatusReply(backend, url, id);
  }

  if (controller === 'instances') {
    if (!first) {
      if (method === 'GET') return listInstances(backend, url, request);
      if (method === 'DELETE') return purgeWithFilter(backend, url);
      return { status: 404 };
    }
    if (!second) {
      if (method === 'GET') return getStatus(backend, url, first);
      if (method === 'DELETE') {
        if (!backend.statusPayload(first)) return { status: 404 };
        return { status: 200, body: { instancesDeleted: backend.purgeInstance(first) } };
      }
      return { status: 404 };
    }
    if (method !== 'POST') return { status: 404 };
    const operation = second.toLowerCase();
    if (operation === 'raiseevent' && third) {
      if (!backend.statusPayload(first)) return { status: 404 };
      const contentType = String(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') return errorReply(400, 'Only application/json request content is supported');
      const text = body.toString('utf8').trim();
      let dataJson: string | null = null;
      if (text !== '') {
        try {
          dataJson = JSON.stringify(JSON.parse(text));
        } catch {
          return errorReply(400, 'Invalid JSON content');
        }
      }
      backend.enqueueEvent(first, third, dataJson);
      return { status: 202 };
    }
    if (operation === 'terminate') {
      backend.enqueueTermination(first, url.searchParams.get('reason'));
      return { status: 202 };
    }
    if (['rewind', 'restart', 'suspend', 'resume'].includes(operation)) {
      return errorReply(501, `The durable driver does not implement '${second}'.`);
    }
    return { status: 404 };
  }

  if (controller === 'entities') return errorReply(501, 'The durable driver does not implement durable entities.');
  return { status: 404 };
}

function checkStatusReply(backend: DurableHttpBackend, url: URL, instanceId: string): Reply {
  const links = managementLinks(backend, url.origin, instanceId);
  return {
    status: 202,
    headers: { location: links.statusQueryGetUri, 'retry-after': '10' },
    body: links,
  };
}

function managementLinks(backend: DurableHttpBackend, origin: string, instanceId: string) {
  const instance = `${origin}${webhookBase}/instances/${encodeURIComponent(instanceId)}`;
  const query = `taskHub=${encodeURIComponent(backend.taskHub)}&connection=Storage&code=${backend.webhookCode}`;
  return {
    id: instanceId,
    statusQueryGetUri: `${instance}?${query}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
    terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
    purgeHistoryDeleteUri: `${instance}?${query}`,
    restartPostUri: `${instance}/restart?${query}`,
    suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
    resumePostUri: `${instance}/resume?reason={text}&${query}`,
  };
}

function booleanParameter(url: URL, name: string): boolean | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  return undefined;
}

function getStatus(backend: DurableHttpBackend, url: URL, instanceId: string): Reply {
  const options: StatusViewOptions = {
    showHistory: booleanParameter(url, 'showHistory') ?? false,
    showHistoryOutput: booleanParameter(url, 'showHistoryOutput') ?? false,
    showInput: booleanParameter(url, 'showInput') ?? true,
  };
  const payload = backend.statusPayload(instanceId, options);
  if (!payload) return { status: 404 };
  switch (payload.runtimeStatus) {
    case 'Running':
    case 'Pending':
    case 'ContinuedAsNew':
    case 'Suspended':
      return { status: 202, headers: { location: url.href, 'retry-after': '5' }, body: payload };
    case 'Failed':
      return { status: booleanParameter(url, 'returnInternalServerErrorOnFailure') ? 500 : 200, body: payload };
    default:
      return { status: 200, body: payload };
  }
}

function statusFilter(url: URL): { runtimeStatus?: RuntimeStatus[]; createdTimeFrom?: string; createdTimeTo?: string } {
  const filter: { runtimeStatus?: RuntimeStatus[]; createdTimeFrom?: string; createdTimeTo?: string } = {};
  const statuses = url.searchParams
    .getAll('runtimeStatus')
    .flatMap((value) => value.split(','))
    .map((value) => runtimeStatuses.find((status) => status.toLowerCase() === value.trim().toLowerCase()))
    .filter((status): status is RuntimeStatus => status !== undefined);
  if (statuses.length > 0) filter.runtimeStatus = statuses;
  const from = url.searchParams.get('createdTimeFrom');
  const to = url.searchParams.get('createdTimeTo');
  if (from) filter.createdTimeFrom = from;
  if (to) filter.createdTimeTo = to;
  return filter;
}

function listInstances(backend: DurableHttpBackend, url: URL, request: IncomingMessage): Reply {
  const prefix = url.searchParams.get('instanceIdPrefix');
  const all = backend.queryStatus({
    ...statusFilter(url),
    ...(prefix !== null ? { instanceIdPrefix: prefix } : {}),
    showInput: booleanParameter(url, 'showInput') ?? true,
  });
  const requested = Number(url.searchParams.get('top') ?? '');
  const top = Number.isInteger(requested) && requested > 0 ? requested : DEFAULT_INSTANCE_PAGE_SIZE;
  const token = request.headers['x-ms-continuation-token'];
  const offset = typeof token === 'string' && /^\d+$/.test(token) ? Number(token) : 0;
  const page = all.slice(offset, offset + top);
  const headers: Record<string, string> = {};
  if (offset + top < all.length) headers['x-ms-continuation-token'] = String(offset + top);
  return { status: 200, headers, body: page };
}

function purgeWithFilter(backend: DurableHttpBackend, url: URL): Reply {
  const filter = statusFilter(url);
  if (!filter.createdTimeFrom) return errorReply(400, "Please provide value for 'createdTimeFrom' parameter.");
  const deleted = backend.purgeWhere(filter);
  if (deleted === 0) return { status: 404 };
  return { status: 200, body: { instancesDeleted: deleted } };
}
