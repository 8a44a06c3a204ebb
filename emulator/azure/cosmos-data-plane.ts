/**
 * The Cosmos DB data plane of one emulated account (SQL API over the gateway
 * protocol that `@azure/cosmos` speaks): master-key authorisation with the
 * account's four keys, key-usage recording, databases, containers, the single
 * partition key range of each container, items, and a small query engine.
 *
 * Every authenticated request counts as a use of the key that signed it: that is
 * what ARM later reports as the key's `approximateLastUsageTime`.
 */
import { randomUUID } from 'node:crypto';
import type { AccountState, ContainerState, DatabaseState, EmulatorRequest, EmulatorResponse, ServiceContext } from './contracts.js';
import { isReadOnlyKey, verifyMasterKeySignature } from './cosmos-data-plane-auth.js';
import { QuerySyntaxError, runQuery, type QueryParameter } from './cosmos-data-plane-query.js';
import {
  containerBody,
  databaseAccountBody,
  databaseBody,
  newContainerRid,
  newDatabaseRid,
  newItemRid,
  partitionKeyRangeBody,
  stampItem,
} from './cosmos-data-plane-resources.js';
import { recordKeyUse } from './key-usage.js';
import { regionalKeyValues } from './accounts.js';

/** Largest item the service stores (2 MB). */
const MAX_ITEM_SIZE_IN_BYTES = 2 * 1024 * 1024;
/** Page size when the client asks for none (`x-ms-max-item-count` absent or -1). */
const DEFAULT_PAGE_SIZE = 100;
const ILLEGAL_ID_CHARACTERS = /[/\\?#]/;

export async function handleCosmosDataPlane(
  accountKey: string,
  request: EmulatorRequest,
  context: ServiceContext,
  /** Which region's endpoint was called: 0 the global (first region's) one. */
  regionIndex = 0,
): Promise<EmulatorResponse> {
  const activityId = randomUUID();
  const account = context.state.accounts[accountKey];
  if (!account) {
    return errorResponse(new CosmosError(404, 'NotFound', `The database account '${accountKey}' does not exist.`), activityId);
  }

  let route: Route;
  try {
    route = parseRoute(request);
  } catch (error) {
    return errorResponse(asCosmosError(error), activityId);
  }

  const auth = verifyMasterKeySignature(
    account,
    request.headers,
    { verb: request.method, resourceType: route.resourceType, resourceLink: route.resourceLink },
    { emulatorNow: context.clock.now(), wallNow: new Date(), keyValues: regionalKeyValues(account, regionIndex, context.clock.now()) },
  );
  if (!auth.ok) {
    const error = new CosmosError(auth.status, auth.code, auth.message, { subStatus: auth.subStatus, plain: true });
    return errorResponse(error, activityId);
  }

  return context.mutate((state) => {
    const current = state.accounts[accountKey];
    recordKeyUse(current, auth.keyKind, context.clock.now());
    try {
      if (isWrite(request, route) && isReadOnlyKey(auth.keyKind)) {
        throw new CosmosError(
          403,
          'Forbidden',
          `The request needs write access, but it is authorised with the read-only key ${auth.keyKind}. Use a read-write key for ${request.method} ${request.url.pathname}.`,
          { plain: true },
        );
      }
      const response = serve(current, route, request, { nowInSeconds: Math.floor(context.clock.nowMs() / 1000) });
      return withCommonHeaders(response, activityId);
    } catch (error) {
      return errorResponse(asCosmosError(error), activityId);
    }
  });
}

// ---------------------------------------------------------------- routing

interface Route {
  /** Decoded path segments: `['dbs', 'db1', 'colls', 'c1']`. */
  segments: string[];
  /** What the request is about, as signed: `dbs`, `colls`, `docs`, `pkranges`, or `''` for the account. */
  resourceType: string;
  /** The name-based link that is signed. */
  resourceLink: string;
}

function parseRoute(request: EmulatorRequest): Route {
  let segments: string[];
  try {
    segments = request.url.pathname.split('/').filter((segment) => segment.length > 0).map(decodeURIComponent);
  } catch {
    throw new CosmosError(400, 'BadRequest', `The request path ${request.url.pathname} is not correctly percent-encoded.`);
  }
  if (segments.length === 0) return { segments, resourceType: '', resourceLink: '' };
  // `/dbs/db1/colls` names the feed `colls` of `dbs/db1`; `/dbs/db1/colls/c1` names the resource itself.
  if (segments.length % 2 === 1) {
    return { segments, resourceType: segments[segments.length - 1], resourceLink: segments.slice(0, -1).join('/') };
  }
  return { segments, resourceType: segments[segments.length - 2], resourceLink: segments.join('/') };
}

function isWrite(request: EmulatorRequest, route: Route): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  if (request.method === 'POST' && (isQuery(request) || isQueryPlan(request))) return false;
  return route.segments.length > 0;
}

function isQuery(request: EmulatorRequest): boolean {
  return (
    header(request, 'x-ms-documentdb-isquery')?.toLowerCase() === 'true' ||
    (header(request, 'content-type') ?? '').toLowerCase().startsWith('application/query+json')
  );
}

function isQueryPlan(request: EmulatorRequest): boolean {
  return header(request, 'x-ms-cosmos-is-query-plan-request')?.toLowerCase() === 'true';
}

interface ServeOptions {
  nowInSeconds: number;
}

function serve(account: AccountState, route: Route, request: EmulatorRequest, options: ServeOptions): EmulatorResponse {
  const [root, databaseId, collsSegment, containerId, childType, itemId, ...rest] = route.segments;
  const method = request.method;

  if (route.segments.length === 0) {
    if (method !== 'GET') throw methodNotAllowed(method, 'the database account');
    return ok(200, databaseAccountBody(account));
  }
  if (root !== 'dbs') throw unsupported(route);

  if (databaseId === undefined) {
    if (method === 'GET') return feed(request, 'Databases', '', Object.values(account.databases).map(databaseBody));
    if (method === 'POST' && isQuery(request)) return queryFeed(request, 'Databases', '', Object.values(account.databases).map(databaseBody));
    if (method === 'POST') return createDatabase(account, request, options);
    throw methodNotAllowed(method, 'the databases feed');
  }

  const database = account.databases[databaseId];
  if (collsSegment === undefined) {
    if (method === 'GET') return ok(200, databaseBody(requireDatabase(database)));
    if (method === 'DELETE') {
      requireDatabase(database);
      delete account.databases[databaseId];
      return { status: 204 };
    }
    throw methodNotAllowed(method, 'a database');
  }
  if (collsSegment !== 'colls') throw unsupported(route);
  const db = requireDatabase(database);

  if (containerId === undefined) {
    const bodies = Object.values(db.containers).map((container) => containerBody(db, container));
    if (method === 'GET') return feed(request, 'DocumentCollections', db._rid, bodies);
    if (method === 'POST' && isQuery(request)) return queryFeed(request, 'DocumentCollections', db._rid, bodies);
    if (method === 'POST') return createContainer(db, request, options);
    throw methodNotAllowed(method, 'the containers feed');
  }

  const container = requireContainer(db, containerId);
  if (childType === undefined) {
    if (method === 'GET') return ok(200, containerBody(db, container), containerHeaders(db, container));
    if (method === 'DELETE') {
      delete db.containers[containerId];
      return { status: 204 };
    }
    throw methodNotAllowed(method, 'a container');
  }

  if (childType === 'pkranges' && itemId === undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, 'the partition key ranges feed');
    return feed(request, 'PartitionKeyRanges', container._rid, [partitionKeyRangeBody(db, container)]);
  }
  if (childType !== 'docs' || rest.length > 0) throw unsupported(route);

  const items = new ItemStore(db, container, options.nowInSeconds);
  if (itemId === undefined) {
    if (header(request, 'a-im') !== undefined) {
      throw new CosmosError(400, 'BadRequest', 'The change feed is not served by the local emulator.');
    }
    if (header(request, 'x-ms-cosmos-is-batch-request') !== undefined) {
      throw new CosmosError(400, 'BadRequest', 'Transactional batch and bulk requests are not served by the local emulator.');
    }
    if (method === 'GET') return withSession(feed(request, 'Documents', container._rid, items.list(partitionKeyHeader(request))), db, container);
    if (method === 'POST' && isQueryPlan(request)) return queryPlan(request);
    if (method === 'POST' && isQuery(request)) {
      return withSession(queryFeed(request, 'Documents', container._rid, items.list(partitionKeyHeader(request))), db, container);
    }
    if (method === 'POST') return withSession(items.create(request), db, container);
    throw methodNotAllowed(method, 'the items feed');
  }
  if (method === 'GET') return withSession(items.read(itemId, request), db, container);
  if (method === 'PUT') return withSession(items.replace(itemId, request), db, container);
  if (method === 'DELETE') return withSession(items.delete(itemId, request), db, container);
  if (method === 'PATCH') return withSession(items.patch(itemId, request), db, container);
  throw methodNotAllowed(method, 'an item');
}

// ---------------------------------------------------------------- databases and containers

function createDatabase(account: AccountState, request: EmulatorRequest, options: ServeOptions): EmulatorResponse {
  const body = readJsonObject(request);
  const id = validId(body.id);
  if (account.databases[id]) throw conflict();
  const database: DatabaseState = { id, _rid: newDatabaseRid(), _ts: options.nowInSeconds, containers: {} };
  account.databases[id] = database;
  return ok(201, databaseBody(database));
}

function createContainer(database: DatabaseState, request: EmulatorRequest, options: ServeOptions): EmulatorResponse {
  const body = readJsonObject(request);
  const id = validId(body.id);
  if (database.containers[id]) throw conflict();
  const container: ContainerState = {
    id,
    _rid: newContainerRid(database._rid),
    _ts: options.nowInSeconds,
    partitionKey: validPartitionKeyDefinition(body.partitionKey),
    documents: {},
  };
  database.containers[id] = container;
  return ok(201, containerBody(database, container), containerHeaders(database, container));
}

function validPartitionKeyDefinition(value: unknown): ContainerState['partitionKey'] {
  // The SDK always sends one; other clients get the SDK's default.
  if (value === undefined || value === null) return { paths: ['/_partitionKey'], kind: 'Hash', version: 2 };
  const definition = value as { paths?: unknown; kind?: unknown; version?: unknown };
  if (typeof definition !== 'object' || !Array.isArray(definition.paths) || definition.paths.length !== 1) {
    throw new CosmosError(400, 'BadRequest', 'The partition key definition must have exactly one path (hierarchical partition keys are not emulated).');
  }
  const [path] = definition.paths as unknown[];
  if (typeof path !== 'string' || !/^\/\S/.test(path)) {
    throw new CosmosError(400, 'BadRequest', `The partition key path ${JSON.stringify(path)} is invalid: it must start with '/'.`);
  }
  if (definition.kind !== undefined && definition.kind !== 'Hash') {
    throw new CosmosError(400, 'BadRequest', `The partition key kind ${JSON.stringify(definition.kind)} is not emulated; use Hash.`);
  }
  return { paths: [path], kind: 'Hash', version: definition.version === 1 ? 1 : 2 };
}

function containerHeaders(database: DatabaseState, container: ContainerState): Record<string, string> {
  return {
    'x-ms-content-path': container._rid,
    'x-ms-alt-content-path': `dbs/${database.id}/colls/${container.id}`,
  };
}

// ---------------------------------------------------------------- items

class ItemStore {
  constructor(
    private readonly database: DatabaseState,
    private readonly container: ContainerState,
    private readonly nowInSeconds: number,
  ) {}

  list(partitionKey: string | undefined): Record<string, unknown>[] {
    const items = Object.values(this.container.documents);
    return partitionKey === undefined ? items : items.filter((item) => this.partitionKeyOf(item) === partitionKey);
  }

  create(request: EmulatorRequest): EmulatorResponse {
    const body = readItem(request);
    const id = validId(body.id);
    const partitionKey = this.partitionKeyFor(body, request);
    const key = storageKey(partitionKey, id);
    const existing = this.container.documents[key];
    const upsert = header(request, 'x-ms-documentdb-is-upsert')?.toLowerCase() === 'true';
    if (existing && !upsert) throw conflict();
    if (existing) checkIfMatch(existing, request);
    const rid = existing ? String(existing._rid) : newItemRid(this.container._rid);
    const item = stampItem({ ...withoutSystemProperties(body) }, this.database, this.container, { rid, tsInSeconds: this.nowInSeconds });
    this.container.documents[key] = item;
    return ok(existing ? 200 : 201, item, { etag: String(item._etag) });
  }

  read(id: string, request: EmulatorRequest): EmulatorResponse {
    const item = this.find(id, request);
    const ifNoneMatch = header(request, 'if-none-match');
    if (ifNoneMatch !== undefined && ifNoneMatch === item._etag) return { status: 304, headers: { etag: String(item._etag) } };
    return ok(200, item, { etag: String(item._etag) });
  }

  replace(id: string, request: EmulatorRequest): EmulatorResponse {
    const existing = this.find(id, request);
    checkIfMatch(existing, request);
    const body = readItem(request);
    if (validId(body.id) !== id) {
      throw new CosmosError(400, 'BadRequest', `The id in the body (${JSON.stringify(body.id)}) does not match the id in the request path (${JSON.stringify(id)}).`);
    }
    const partitionKey = this.partitionKeyFor(body, request);
    if (partitionKey !== this.partitionKeyOf(existing)) {
      throw new CosmosError(400, 'BadRequest', 'Replace cannot change the partition key value of an item.');
    }
    const item = stampItem({ ...withoutSystemProperties(body) }, this.database, this.container, {
      rid: String(existing._rid),
      tsInSeconds: this.nowInSeconds,
    });
    this.container.documents[storageKey(partitionKey, id)] = item;
    return ok(200, item, { etag: String(item._etag) });
  }

  delete(id: string, request: EmulatorRequest): EmulatorResponse {
    const existing = this.find(id, request);
    checkIfMatch(existing, request);
    delete this.container.documents[storageKey(this.partitionKeyOf(existing), id)];
    return { status: 204 };
  }

  patch(id: string, request: EmulatorRequest): EmulatorResponse {
    const existing = this.find(id, request);
    checkIfMatch(existing, request);
    // The SDK sends either the bare list of operations or {operations, condition}.
    const body = readJson(request);
    const operations = Array.isArray(body) ? body : (body as { operations?: unknown } | null)?.operations;
    if (!Array.isArray(operations) || operations.length === 0) {
      throw new CosmosError(400, 'BadRequest', 'A patch request needs a non-empty list of operations.');
    }
    if (!Array.isArray(body) && (body as { condition?: unknown }).condition !== undefined) {
      throw new CosmosError(400, 'BadRequest', 'Conditional patch is not supported by the local emulator.');
    }
    const patched = structuredClone(withoutSystemProperties(existing));
    for (const operation of operations as unknown[]) applyPatchOperation(patched, operation);
    if (patched.id !== id || this.partitionKeyOf(patched) !== this.partitionKeyOf(existing)) {
      throw new CosmosError(400, 'BadRequest', 'A patch cannot change the id or the partition key of an item.');
    }
    const item = stampItem(patched, this.database, this.container, { rid: String(existing._rid), tsInSeconds: this.nowInSeconds });
    this.container.documents[storageKey(this.partitionKeyOf(item), id)] = item;
    return ok(200, item, { etag: String(item._etag) });
  }

  private find(id: string, request: EmulatorRequest): Record<string, unknown> {
    const partitionKey = partitionKeyHeader(request);
    if (partitionKey === undefined) {
      throw new CosmosError(400, 'BadRequest', 'PartitionKey value must be supplied for this operation (header x-ms-documentdb-partitionkey).');
    }
    const item = this.container.documents[storageKey(partitionKey, id)];
    if (!item) throw notFound();
    return item;
  }

  /** The partition key of a new item: from its body, checked against the header when one is sent. */
  private partitionKeyFor(body: Record<string, unknown>, request: EmulatorRequest): string {
    const fromBody = this.partitionKeyOf(body);
    const fromHeader = partitionKeyHeader(request);
    if (fromHeader !== undefined && fromHeader !== fromBody) {
      throw new CosmosError(400, 'BadRequest', "PartitionKey extracted from document doesn't match the one specified in the header.", { subStatus: 1001 });
    }
    return fromBody;
  }

  /** The item's partition key value as the canonical JSON array the SDK sends (`["x"]`; `[{}]` when absent). */
  private partitionKeyOf(item: Record<string, unknown>): string {
    const value = valueAtPath(item, this.container.partitionKey.paths[0]);
    return JSON.stringify([value === undefined ? {} : value]);
  }
}

function storageKey(partitionKey: string, id: string): string {
  return JSON.stringify([partitionKey, id]);
}

function valueAtPath(item: Record<string, unknown>, path: string): unknown {
  let current: unknown = item;
  for (const rawSegment of path.split('/').slice(1)) {
    const segment = rawSegment.startsWith('"') && rawSegment.endsWith('"') ? rawSegment.slice(1, -1) : rawSegment;
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function withoutSystemProperties(item: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!['_rid', '_self', '_etag', '_attachments', '_ts'].includes(name)) copy[name] = value;
  }
  return copy;
}

function checkIfMatch(item: Record<string, unknown>, request: EmulatorRequest): void {
  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== item._etag) {
    throw new CosmosError(412, 'PreconditionFailed', 'One of the specified pre-condition is not met.');
  }
}

function applyPatchOperation(item: Record<string, unknown>, rawOperation: unknown): void {
  const operation = rawOperation as { op?: unknown; path?: unknown; value?: unknown };
  if (typeof operation !== 'object' || operation === null || typeof operation.path !== 'string' || !operation.path.startsWith('/')) {
    throw new CosmosError(400, 'BadRequest', 'Each patch operation needs an "op" and a "path" starting with "/".');
  }
  const segments = operation.path.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = segments.pop() as string;
  let parent: unknown = item;
  for (const segment of segments) {
    parent = Array.isArray(parent) ? parent[Number(segment)] : (parent as Record<string, unknown> | undefined)?.[segment];
    if (parent === null || typeof parent !== 'object') {
      throw new CosmosError(400, 'BadRequest', `The patch path ${operation.path} does not exist in the item.`);
    }
  }
  const container = parent as Record<string, unknown>;
  switch (operation.op) {
    case 'add':
      if (Array.isArray(container)) container.splice(last === '-' ? container.length : Number(last), 0, operation.value);
      else container[last] = operation.value;
      return;
    case 'set':
      container[last] = operation.value;
      return;
    case 'replace':
    case 'remove':
      if (!(last in container)) throw new CosmosError(400, 'BadRequest', `The patch path ${operation.path} does not exist in the item.`);
      if (operation.op === 'replace') container[last] = operation.value;
      else if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
      return;
    case 'incr': {
      const current = container[last] ?? 0;
      if (typeof current !== 'number' || typeof operation.value !== 'number') {
        throw new CosmosError(400, 'BadRequest', `The patch operation incr at ${operation.path} needs numbers.`);
      }
      container[last] = current + operation.value;
      return;
    }
    default:
      throw new CosmosError(400, 'BadRequest', `The patch operation ${JSON.stringify(operation.op)} is not supported by the local emulator.`);
  }
}

// ---------------------------------------------------------------- feeds and queries

function feed(request: EmulatorRequest, listName: string, ownerRid: string, resources: unknown[]): EmulatorResponse {
  const pageSize = pageSizeOf(request);
  const offset = continuationOffset(request);
  const page = resources.slice(offset, offset + pageSize);
  const headers: Record<string, string> = { 'x-ms-item-count': String(page.length) };
  if (offset + pageSize < resources.length) headers['x-ms-continuation'] = `emulator-offset:${offset + pageSize}`;
  return ok(200, { _rid: ownerRid, [listName]: page, _count: page.length }, headers);
}

function queryFeed(request: EmulatorRequest, listName: string, ownerRid: string, resources: Record<string, unknown>[]): EmulatorResponse {
  const { query, parameters } = readQuery(request);
  let results: unknown[];
  try {
    results = runQuery(query, parameters, resources);
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw new CosmosError(400, 'BadRequest', error.message);
    throw error;
  }
  return feed(request, listName, ownerRid, results);
}

/**
 * The query plan the SDK fetches before a cross-partition query. Every emulated
 * container has one partition key range, so the gateway can answer every query
 * directly and the plan has nothing for the SDK to do.
 */
function queryPlan(request: EmulatorRequest): EmulatorResponse {
  const { query, parameters } = readQuery(request);
  try {
    runQuery(query, parameters, []);
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw new CosmosError(400, 'BadRequest', error.message);
    throw error;
  }
  return ok(200, {
    partitionedQueryExecutionInfoVersion: 2,
    queryInfo: {
      distinctType: 'None',
      top: null,
      offset: null,
      limit: null,
      orderBy: [],
      orderByExpressions: [],
      groupByExpressions: [],
      groupByAliases: [],
      aggregates: [],
      groupByAliasToAggregateType: {},
      rewrittenQuery: '',
      hasSelectValue: false,
      dCountInfo: null,
      hasNonStreamingOrderBy: false,
    },
    queryRanges: [{ min: '', max: 'FF', isMinInclusive: true, isMaxInclusive: false }],
  });
}

function readQuery(request: EmulatorRequest): { query: string; parameters: QueryParameter[] } {
  const body = readJsonObject(request);
  if (typeof body.query !== 'string') throw new CosmosError(400, 'BadRequest', 'The query body needs a "query" string.');
  const parameters = body.parameters ?? [];
  if (!Array.isArray(parameters) || parameters.some((p: unknown) => typeof (p as { name?: unknown } | null)?.name !== 'string')) {
    throw new CosmosError(400, 'BadRequest', 'Query "parameters" must be an array of {name, value}.');
  }
  return { query: body.query, parameters: parameters as QueryParameter[] };
}

function pageSizeOf(request: EmulatorRequest): number {
  const raw = header(request, 'x-ms-max-item-count');
  const size = raw === undefined ? -1 : Number(raw);
  return Number.isInteger(size) && size > 0 ? size : DEFAULT_PAGE_SIZE;
}

function continuationOffset(request: EmulatorRequest): number {
  const token = header(request, 'x-ms-continuation');
  if (token === undefined || token === '') return 0;
  const match = /^emulator-offset:(\d+)$/.exec(token);
  if (!match) throw new CosmosError(400, 'BadRequest', `The continuation token ${JSON.stringify(token)} is not one this emulator issued.`);
  return Number(match[1]);
}

// ---------------------------------------------------------------- requests and responses

function partitionKeyHeader(request: EmulatorRequest): string | undefined {
  const raw = header(request, 'x-ms-documentdb-partitionkey');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CosmosError(400, 'BadRequest', `The partition key header ${raw} is not valid JSON.`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 1) {
    throw new CosmosError(400, 'BadRequest', `The partition key header ${raw} must be a JSON array with one value.`);
  }
  return JSON.stringify(parsed);
}

function readJson(request: EmulatorRequest): unknown {
  try {
    return JSON.parse(request.body.toString('utf8') || 'null');
  } catch {
    throw new CosmosError(400, 'BadRequest', 'The request body is not valid JSON.');
  }
}

function readJsonObject(request: EmulatorRequest): Record<string, unknown> {
  const parsed = readJson(request);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CosmosError(400, 'BadRequest', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function readItem(request: EmulatorRequest): Record<string, unknown> {
  if (request.body.length > MAX_ITEM_SIZE_IN_BYTES) {
    throw new CosmosError(413, 'RequestEntityTooLarge', 'Request size is too large.');
  }
  return readJsonObject(request);
}

function validId(value: unknown): string {
  if (value === undefined || value === null) {
    throw new CosmosError(400, 'BadRequest', "The input content is invalid because the required properties - 'id; ' - are missing.");
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || ILLEGAL_ID_CHARACTERS.test(value) || value.endsWith(' ')) {
    throw new CosmosError(400, 'BadRequest', `The id ${JSON.stringify(value)} is invalid: use 1 to 255 characters without '/', '\\', '?', '#' or a trailing space.`);
  }
  return value;
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function requireDatabase(database: DatabaseState | undefined): DatabaseState {
  if (!database) throw notFound();
  return database;
}

function requireContainer(database: DatabaseState, id: string): ContainerState {
  const container = database.containers[id];
  if (!container) throw notFound();
  return container;
}

function ok(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  const etag = (body as { _etag?: unknown } | null)?._etag;
  return { status, body, headers: typeof etag === 'string' ? { etag, ...headers } : headers };
}

function withSession(response: EmulatorResponse, database: DatabaseState, container: ContainerState): EmulatorResponse {
  // One partition key range, and every write is visible at once: a constant token satisfies Session.
  return { ...response, headers: { ...containerHeaders(database, container), 'x-ms-session-token': '0:-1#1', ...response.headers } };
}

function withCommonHeaders(response: EmulatorResponse, activityId: string): EmulatorResponse {
  return {
    ...response,
    headers: {
      'content-type': 'application/json',
      'x-ms-activity-id': activityId,
      'x-ms-request-charge': '1',
      'x-ms-gatewayversion': 'version=2.14.0',
      'x-ms-serviceversion': 'version=2.14.0.0',
      'x-ms-schemaversion': '1.18',
      ...response.headers,
    },
  };
}

// ---------------------------------------------------------------- errors

class CosmosError extends Error {
  override readonly name = 'CosmosError';
  readonly subStatus: number | undefined;
  /** Auth errors carry their message as is; resource errors wrap it the way the gateway does. */
  readonly plain: boolean;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { subStatus?: number | undefined; plain?: boolean } = {},
  ) {
    super(message);
    this.subStatus = options.subStatus;
    this.plain = options.plain ?? false;
  }
}

function asCosmosError(error: unknown): CosmosError {
  if (error instanceof CosmosError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CosmosError(500, 'InternalServerError', `The local emulator failed: ${message}`);
}

function errorResponse(error: CosmosError, activityId: string): EmulatorResponse {
  const detail = error.plain ? error.message : `Message: ${JSON.stringify({ Errors: [error.message] })}`;
  const headers: Record<string, string> = {};
  if (error.subStatus !== undefined) headers['x-ms-substatus'] = String(error.subStatus);
  return withCommonHeaders(
    {
      status: error.status,
      headers,
      body: { code: error.code, message: `${detail}\r\nActivityId: ${activityId}, Microsoft.Azure.Documents.Common/2.14.0` },
    },
    activityId,
  );
}

function notFound(): CosmosError {
  return new CosmosError(404, 'NotFound', 'Resource Not Found. Learn more: https://aka.ms/cosmosdb-tsg-not-found');
}

function conflict(): CosmosError {
  return new CosmosError(409, 'Conflict', 'Entity with the specified id already exists in the system.');
}

function methodNotAllowed(method: string, what: string): CosmosError {
  return new CosmosError(405, 'MethodNotAllowed', `${method} is not supported on ${what}.`);
}

function unsupported(route: Route): CosmosError {
  return new CosmosError(400, 'BadRequest', `The local emulator does not serve '${route.resourceType}' resources (${route.segments.join('/')}).`);
}
