/**
 * Counts requests per service and operation (`GET /_emulator/stats`), so tests
 * and the demo can say "3 getAccount calls, 1 regenerateKey" without parsing logs.
 * Counts are kept in memory only: they describe this process, not the state.
 */
import type { EmulatorRequest } from './contracts.js';
import type { ServiceName } from './faults.js';
import { armOperationType } from './throttling.js';

export type EmulatorStats = Record<ServiceName, Record<string, number>>;

/** Reads (GET, HEAD) or writes (everything else: PUT, PATCH, DELETE and POST actions such as listKeys or regenerateKey). */
export type ArmRequestKind = 'reads' | 'writes';

export interface ArmPeak {
  /** The most requests that arrived within any one virtual second (a sliding window). */
  perSecond: number;
  /** The same within any one virtual minute. */
  perMinute: number;
}

/**
 * How hard the services were driven: answers by HTTP status, and for ARM the
 * busiest virtual second and minute per subscription. Every request counts,
 * the ones answered 429 included: they were sent.
 */
export interface TrafficStats {
  /** Answers per service by HTTP status ("200", "429", ...). */
  byStatus: Record<ServiceName, Record<string, number>>;
  /** Per subscription ID (lower case): the peaks of reads and of writes. */
  armPeaks: Record<string, Record<ArmRequestKind, ArmPeak>>;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;

/** Arrival times within the last minute, and the peaks seen so far. */
class SlidingPeaks {
  readonly #arrivals: number[] = [];
  #head = 0;
  #secondHead = 0;
  perSecond = 0;
  perMinute = 0;

  add(atMs: number): void {
    // Virtual time never goes back; should it (a clock reset), the windows start again.
    const last = this.#arrivals[this.#arrivals.length - 1];
    if (last !== undefined && atMs < last) {
      this.#arrivals.length = 0;
      this.#head = 0;
      this.#secondHead = 0;
    }
    this.#arrivals.push(atMs);
    while (this.#arrivals[this.#head]! <= atMs - MINUTE_MS) this.#head += 1;
    this.#secondHead = Math.max(this.#secondHead, this.#head);
    while (this.#arrivals[this.#secondHead]! <= atMs - SECOND_MS) this.#secondHead += 1;
    const end = this.#arrivals.length;
    this.perMinute = Math.max(this.perMinute, end - this.#head);
    this.perSecond = Math.max(this.perSecond, end - this.#secondHead);
    if (this.#head > 4096) {
      this.#arrivals.splice(0, this.#head);
      this.#secondHead -= this.#head;
      this.#head = 0;
    }
  }
}

export class RequestStats {
  private counts: EmulatorStats = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };
  private statuses: TrafficStats['byStatus'] = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };
  private peaks = new Map<string, Record<ArmRequestKind, SlidingPeaks>>();

  count(service: ServiceName, operation: string): void {
    const byOperation = this.counts[service];
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  }

  /** One answer: its status, and for ARM its subscription's pace at the virtual time it arrived. */
  answered(service: ServiceName, request: EmulatorRequest, status: number, atMs: number): void {
    const byStatus = this.statuses[service];
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (service !== 'arm') return;
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(request.url.pathname)?.[1]?.toLowerCase();
    if (subscriptionId === undefined) return;
    let peaks = this.peaks.get(subscriptionId);
    if (!peaks) {
      peaks = { reads: new SlidingPeaks(), writes: new SlidingPeaks() };
      this.peaks.set(subscriptionId, peaks);
    }
    peaks[armRequestKind(request.method)].add(atMs);
  }

  snapshot(): EmulatorStats {
    return structuredClone(this.counts);
  }

  traffic(): TrafficStats {
    const armPeaks: TrafficStats['armPeaks'] = {};
    for (const [subscriptionId, peaks] of [...this.peaks].sort(([a], [b]) => a.localeCompare(b))) {
      armPeaks[subscriptionId] = {
        reads: { perSecond: peaks.reads.perSecond, perMinute: peaks.reads.perMinute },
        writes: { perSecond: peaks.writes.perSecond, perMinute: peaks.writes.perMinute },
      };
    }
    return { byStatus: structuredClone(this.statuses), armPeaks };
  }

  reset(): void {
    this.counts = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };
    this.statuses = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };
    this.peaks = new Map();
  }
}

/** As the throttler sorts them (POST actions are writes), with deletes counted among the writes. */
export function armRequestKind(method: string): ArmRequestKind {
  return armOperationType(method) === 'reads' ? 'reads' : 'writes';
}

/** Key Vault operation names as the SecretClient methods call them. */
export function keyVaultOperationName(request: EmulatorRequest): string {
  const segments = request.url.pathname.split('/').filter(Boolean);
  const method = request.method;
  const [collection, name, third, fourth] = segments;
  if (collection === 'secrets') {
    if (!name) return method === 'GET' ? 'listSecrets' : `${method.toLowerCase()}Secrets`;
    if (third === 'versions' && method === 'GET') return 'listSecretVersions';
    if (third === 'backup') return 'backupSecret';
    if (method === 'PUT') return 'setSecret';
    if (method === 'GET') return 'getSecret';
    if (method === 'PATCH') return 'updateSecretProperties';
    if (method === 'DELETE') return 'deleteSecret';
  }
  if (collection === 'deletedsecrets') {
    if (!name) return 'listDeletedSecrets';
    if (third === 'recover') return 'recoverDeletedSecret';
    if (method === 'DELETE') return 'purgeDeletedSecret';
    if (method === 'GET' && fourth === undefined) return 'getDeletedSecret';
  }
  return `${method} ${collection ?? '/'}`;
}

/** Cosmos DB data-plane operation names, from the verb and resource type. */
export function cosmosOperationName(request: EmulatorRequest): string {
  const segments = request.url.pathname.split('/').filter(Boolean);
  const method = request.method;
  if (segments.length === 0) return 'getDatabaseAccount';
  const isFeed = segments.length % 2 === 1;
  const resourceType = isFeed ? segments[segments.length - 1]! : segments[segments.length - 2]!;
  const noun = { dbs: 'Database', colls: 'Container', docs: 'Item', pkranges: 'PartitionKeyRange' }[resourceType] ?? resourceType;
  if (isFeed) {
    if (method === 'GET') return `list${noun}s`;
    if (method === 'POST') {
      const isQuery = String(request.headers['x-ms-documentdb-isquery'] ?? '').toLowerCase() === 'true';
      return isQuery ? `query${noun}s` : `create${noun}`;
    }
  } else {
    if (method === 'GET') return `read${noun}`;
    if (method === 'PUT') return `replace${noun}`;
    if (method === 'DELETE') return `delete${noun}`;
    if (method === 'PATCH') return `patch${noun}`;
  }
  return `${method} ${resourceType}`;
}
