/**
 * Counts requests per service and operation (`GET /_emulator/stats`), so tests
 * and the demo can say "3 getAccount calls, 1 regenerateKey" without parsing logs.
 * Counts are kept in memory only: they describe this process, not the state.
 */
import type { EmulatorRequest } from './contracts.js';
import type { ServiceName } from './faults.js';

export type EmulatorStats = Record<ServiceName, Record<string, number>>;

export class RequestStats {
  private counts: EmulatorStats = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };

  count(service: ServiceName, operation: string): void {
    const byOperation = this.counts[service];
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  }

  snapshot(): EmulatorStats {
    return structuredClone(this.counts);
  }

  reset(): void {
    this.counts = { arm: {}, cosmos: {}, keyvault: {}, eventgrid: {}, storage: {} };
  }
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
