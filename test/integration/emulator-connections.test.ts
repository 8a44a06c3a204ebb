/**
 * Connections the emulator keeps for its clients. Its clock is virtual: while
 * the process is busy (a fleet's orchestrations replaying, thousands of
 * requests in one virtual instant) seconds of wall time pass in which a
 * client's pooled connection is idle. Node's HTTP server closes a keep-alive
 * connection idle for `keepAliveTimeout` (5 s by default), and a client that
 * sends its next request on that connection in the same turn of the event loop
 * gets ECONNRESET: nodejs/node#54293 ("Network request fails after event loop
 * is blocked for a few seconds"), the race Miniflare's loopback server also
 * removed by disabling the timeout (cloudflare/workers-sdk#14850). The
 * emulator keeps idle connections until the client closes them or the
 * emulator stops.
 *
 * The wait here is real time on purpose: the keep-alive timer is a wall-clock
 * timer, and the event loop is blocked past Node's default timeout, as a busy
 * demo blocks it.
 */
import { Agent } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { CosmosClient } from '@azure/cosmos';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { SUBSCRIPTION_ID, armClient, startTestEmulator } from '../helpers/emulator.js';

/** Node's default `server.keepAliveTimeout`, plus a margin. */
const PAST_NODE_KEEP_ALIVE_TIMEOUT_IN_MS = 5_000 + 1_000;

const running: AzureEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()));
});

function blockEventLoop(durationInMs: number): void {
  const until = Date.now() + durationInMs;
  while (Date.now() < until) {
    // Busy, as a process replaying many orchestrations is: no I/O and no timers run meanwhile.
  }
}

describe('idle keep-alive connections', () => {
  it('when a client reuses its pooled connection after the process was busy longer than Node keeps idle connections, then the request succeeds', async () => {
    const emulator = await startTestEmulator();
    running.push(emulator);
    const account = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
    const keys = await armClient(emulator).databaseAccounts.listKeys('rg-app', 'orders');
    // A keep-alive pool, as an app's CosmosClient has; no retries, so that a reset connection shows.
    const agent = new Agent({ ca: emulator.caCertPem, keepAlive: true });
    const client = new CosmosClient({
      endpoint: account.documentEndpoint,
      key: keys.primaryMasterKey!,
      agent,
      connectionPolicy: { enableEndpointDiscovery: false, retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 } },
    });
    try {
      const { database } = await client.databases.createIfNotExists({ id: 'app' });
      const { container } = await database.containers.createIfNotExists({ id: 'items', partitionKey: { paths: ['/tenant'] } });
      await container.items.upsert({ id: 'first', tenant: 'orders' });

      blockEventLoop(PAST_NODE_KEEP_ALIVE_TIMEOUT_IN_MS);
      const second = await container.items.upsert({ id: 'second', tenant: 'orders' }).then(
        (response) => response.statusCode,
        (error: unknown) => `${(error as Error).message} (${(error as { code?: unknown }).code})`,
      );

      expect(second).toBe(201);
    } finally {
      client.dispose();
      agent.destroy();
    }
  });
});
