/**
 * What one request costs the emulator as the fleet it holds grows: the same
 * mix of requests (Cosmos DB data-plane reads and writes signed with an account
 * key, ARM getAccount and listKeys, Key Vault getSecret) against one account of
 * an emulator holding 10 accounts, and of one holding 5,000, in the same
 * process, in alternating rounds so that a busy machine slows both alike.
 * Prints the cost per request of each (its cheapest round) and their ratio
 * (target: at most 1.3).
 * Run with `npm run bench`.
 */
import { performance } from 'node:perf_hooks';
import { bench, describe } from 'vitest';
import type { CosmosClient } from '@azure/cosmos';
import type { AzureEmulator } from '../emulator/azure/index.js';
import { SUBSCRIPTION_ID, armClient, cosmosClient, secretClient, startTestEmulator } from '../test/helpers/emulator.js';

const SMALL_FLEET = 10;
const LARGE_FLEET = 5_000;
const ROUNDS = 7;
/** Requests of each kind per round. */
const DATA_PLANE_CALLS = 60;
const ARM_CALLS = 10;
const KEY_VAULT_CALLS = 10;

interface Fleet {
  accounts: number;
  emulator: AzureEmulator;
  /** One request of each kind, against the fleet's first account. */
  round(): Promise<number>;
}

async function startFleet(accounts: number): Promise<Fleet> {
  // Throttling is Azure's behaviour, not the emulator's cost: off, so that every request is served.
  const emulator = await startTestEmulator({ throttling: false });
  let first: { documentEndpoint: string } | undefined;
  for (let index = 0; index < accounts; index += 1) {
    // A usage lag, so that every data-plane call leaves a pending use the emulator must settle later.
    const created = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-fleet', name: `fleet-${index}`, usageLagSeconds: 3600 });
    first ??= created;
  }
  const key = (await armClient(emulator).databaseAccounts.listKeys('rg-fleet', 'fleet-0')).primaryMasterKey!;
  const cosmos: CosmosClient = cosmosClient(first!.documentEndpoint, key, emulator);
  const { database } = await cosmos.databases.createIfNotExists({ id: 'app' });
  const { container } = await database.containers.createIfNotExists({ id: 'items', partitionKey: { paths: ['/tenant'] } });
  const arm = armClient(emulator);
  const secrets = secretClient(emulator);
  await secrets.setSecret('fleet-0-key', key);
  return {
    accounts,
    emulator,
    async round() {
      const started = performance.now();
      for (let call = 0; call < DATA_PLANE_CALLS; call += 1) {
        if (call % 2 === 0) await container.items.upsert({ id: `item-${call}`, tenant: 'fleet', call });
        else await container.item(`item-${call - 1}`, 'fleet').read();
      }
      for (let call = 0; call < ARM_CALLS; call += 1) {
        await (call % 2 === 0 ? arm.databaseAccounts.get('rg-fleet', 'fleet-0') : arm.databaseAccounts.listKeys('rg-fleet', 'fleet-0'));
      }
      for (let call = 0; call < KEY_VAULT_CALLS; call += 1) await secrets.getSecret('fleet-0-key');
      // Virtual time moves on, as in a run: pending uses become visible and are settled.
      emulator.clock.advance(60_000);
      return (performance.now() - started) / (DATA_PLANE_CALLS + ARM_CALLS + KEY_VAULT_CALLS);
    },
  };
}

/** The cheapest round: other work on the machine only ever adds to a round's time. */
function cheapest(values: number[]): number {
  return Math.min(...values);
}

describe('emulator request cost by fleet size', () => {
  bench(
    `the same requests against an emulator holding ${SMALL_FLEET} and ${LARGE_FLEET} accounts`,
    async () => {
      const seedStarted = performance.now();
      const small = await startFleet(SMALL_FLEET);
      const large = await startFleet(LARGE_FLEET);
      const seedMs = performance.now() - seedStarted;
      try {
        // A warm-up round each (TLS sessions, JIT), then alternating measured rounds.
        await small.round();
        await large.round();
        const costs = new Map<Fleet, number[]>([
          [small, []],
          [large, []],
        ]);
        for (let round = 0; round < ROUNDS; round += 1) {
          for (const fleet of round % 2 === 0 ? [small, large] : [large, small]) costs.get(fleet)!.push(await fleet.round());
        }
        const smallMs = cheapest(costs.get(small)!);
        const largeMs = cheapest(costs.get(large)!);
        console.log(
          JSON.stringify(
            {
              measure: `emulator request cost at ${LARGE_FLEET} accounts vs ${SMALL_FLEET}`,
              msPerRequestAt10Accounts: Number(smallMs.toFixed(3)),
              msPerRequestAt5000Accounts: Number(largeMs.toFixed(3)),
              ratio: Number((largeMs / smallMs).toFixed(2)),
              target: '<= 1.3',
              seedingBothFleetsInSeconds: Number((seedMs / 1000).toFixed(1)),
            },
            null,
            2,
          ),
        );
      } finally {
        await small.emulator.close();
        await large.emulator.close();
      }
    },
    { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
