/**
 * How the emulated Cosmos DB data plane shapes its resources on the wire:
 * resource IDs, self links, etags and the system properties (`_rid`, `_self`,
 * `_etag`, `_ts`) that the service adds to databases, containers and items.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { regionsOf } from './accounts.js';
import type { AccountState, ContainerState, DatabaseState } from './contracts.js';

/** Cosmos DB resource IDs are base64 with `-` in place of `/`. */
function encodeRid(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\//g, '-');
}

function decodeRid(rid: string): Buffer {
  return Buffer.from(rid.replace(/-/g, '/'), 'base64');
}

/** A database `_rid`: 4 bytes. */
export function newDatabaseRid(): string {
  return encodeRid(randomBytes(4));
}

/** A container `_rid`: its database's 4 bytes, then 4 of its own (the SDK checks for 8). */
export function newContainerRid(databaseRid: string): string {
  const own = randomBytes(4);
  // A high bit set would mark a different resource kind in a real rid.
  own[0] = own[0] & 0x7f;
  return encodeRid(Buffer.concat([decodeRid(databaseRid), own]));
}

/** An item `_rid`: its container's 8 bytes, then 8 of its own. */
export function newItemRid(containerRid: string): string {
  return encodeRid(Buffer.concat([decodeRid(containerRid), randomBytes(8)]));
}

/** A fresh etag, quoted as the service sends it. */
export function newEtag(): string {
  return `"${randomUUID()}"`;
}

/** A stable etag for resources whose state holds none (databases, containers). */
export function derivedEtag(rid: string, tsInSeconds: number): string {
  const hex = createHash('sha256').update(`${rid}:${tsInSeconds}`).digest('hex');
  return `"${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}"`;
}

export function databaseBody(database: DatabaseState): Record<string, unknown> {
  return {
    id: database.id,
    _rid: database._rid,
    _self: `dbs/${database._rid}/`,
    _etag: derivedEtag(database._rid, database._ts),
    _colls: 'colls/',
    _users: 'users/',
    _ts: database._ts,
  };
}

export function containerBody(database: DatabaseState, container: ContainerState): Record<string, unknown> {
  return {
    id: container.id,
    indexingPolicy: {
      indexingMode: 'consistent',
      automatic: true,
      includedPaths: [{ path: '/*' }],
      excludedPaths: [{ path: '/"_etag"/?' }],
    },
    partitionKey: container.partitionKey,
    conflictResolutionPolicy: { mode: 'LastWriterWins', conflictResolutionPath: '/_ts', conflictResolutionProcedure: '' },
    geospatialConfig: { type: 'Geography' },
    _rid: container._rid,
    _ts: container._ts,
    _self: `dbs/${database._rid}/colls/${container._rid}/`,
    _etag: derivedEtag(container._rid, container._ts),
    _docs: 'docs/',
    _sprocs: 'sprocs/',
    _triggers: 'triggers/',
    _udfs: 'udfs/',
    _conflicts: 'conflicts/',
  };
}

/** The single partition key range every emulated container has: the whole hash space. */
export function partitionKeyRangeBody(database: DatabaseState, container: ContainerState): Record<string, unknown> {
  const rid = encodeRid(Buffer.concat([decodeRid(container._rid), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x50])]));
  return {
    _rid: rid,
    id: '0',
    _etag: derivedEtag(rid, container._ts),
    minInclusive: '',
    maxExclusive: 'FF',
    ridPrefix: 0,
    _self: `dbs/${database._rid}/colls/${container._rid}/pkranges/${rid}/`,
    throughputFraction: 1,
    status: 'online',
    parents: [],
    ownedArchivalPKRangeIds: [],
    _ts: container._ts,
    _lsn: 1,
  };
}

/** Adds the system properties to a stored item (mutates and returns `item`). */
export function stampItem(
  item: Record<string, unknown>,
  database: DatabaseState,
  container: ContainerState,
  options: { rid: string; tsInSeconds: number },
): Record<string, unknown> {
  item._rid = options.rid;
  item._self = `dbs/${database._rid}/colls/${container._rid}/docs/${options.rid}/`;
  item._etag = newEtag();
  item._attachments = 'attachments/';
  item._ts = options.tsInSeconds;
  return item;
}

/** `GET /`: the database account, pointing at the emulator's own endpoint for this account. */
export function databaseAccountBody(account: AccountState): Record<string, unknown> {
  const regions = regionsOf(account).map((region) => ({ name: regionDisplayName(region.location), databaseAccountEndpoint: region.documentEndpoint }));
  return {
    _self: '',
    id: account.name,
    _rid: `${account.name}.documents.azure.com`,
    media: '//media/',
    addresses: '//addresses/',
    _dbs: '//dbs/',
    writableLocations: regions.slice(0, 1),
    readableLocations: regions,
    enableMultipleWriteLocations: false,
    continuousBackupEnabled: false,
    enableNRegionSynchronousCommit: false,
    enablePerPartitionFailoverBehavior: false,
    userReplicationPolicy: { asyncReplication: false, minReplicaSetSize: 3, maxReplicasetSize: 4 },
    userConsistencyPolicy: { defaultConsistencyLevel: 'Session' },
    systemReplicationPolicy: { minReplicaSetSize: 3, maxReplicasetSize: 4 },
    readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
  };
}

/** `westus2` -> `West US 2`, as the data plane names regions; already-displayed names pass through. */
function regionDisplayName(location: string): string {
  if (/\s/.test(location) || /[A-Z]/.test(location)) return location;
  const words: Record<string, string> = {
    west: 'West', east: 'East', north: 'North', south: 'South', central: 'Central', us: 'US', europe: 'Europe', uk: 'UK',
  };
  const parts = location.match(/(west|east|north|south|central|us|europe|uk|[a-z]+|\d+)/g) ?? [location];
  return parts.map((part) => words[part] ?? part.charAt(0).toUpperCase() + part.slice(1)).join(' ');
}
