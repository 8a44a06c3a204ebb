/**
 * Multi-region accounts: ARM reports each region with its own data-plane endpoint
 * (Azure/azure-rest-api-specs, specification/cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/
 * examples/2026-04-01-preview/CosmosDBDatabaseAccountGet.json: locations[], readLocations[] and
 * writeLocations[] with documentEndpoint like https://ddb1-eastus.documents.azure.com:443/). A regenerated
 * key takes a while to be accepted everywhere (Microsoft Learn, "Rotate keys for Azure Cosmos DB for NoSQL");
 * how long per region is not public, so each region's delay is a setting of the emulated account.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AzureEmulator, CreatedAccount } from '../../emulator/azure/index.js';
import { armClient, cosmosClient, startTestEmulator, SUBSCRIPTION_ID } from '../helpers/emulator.js';

let emulator: AzureEmulator;
let account: CreatedAccount;

beforeEach(async () => {
  emulator = await startTestEmulator();
  account = await emulator.createAccount({
    subscriptionId: SUBSCRIPTION_ID,
    resourceGroup: 'rg-app',
    name: 'orders',
    location: 'West US',
    regenerationSeconds: 0,
    additionalRegions: [
      { location: 'East US', propagationSeconds: 600 },
      { location: 'North Europe', propagationSeconds: 60 },
    ],
  });
});

afterEach(async () => emulator?.close());

async function status(endpoint: string, key: string, on: AzureEmulator = emulator): Promise<number> {
  try {
    await cosmosClient(endpoint, key, on).databases.readAll().fetchAll();
    return 200;
  } catch (error) {
    return (error as { code?: number }).code ?? 0;
  }
}

describe('a multi-region account', () => {
  it('when the account is read through ARM, then every region is listed with its own data-plane endpoint, the first the write region', async () => {
    const arm = await armClient(emulator).databaseAccounts.get('rg-app', 'orders');

    expect(arm.readLocations?.map((location) => [location.locationName, location.documentEndpoint, location.failoverPriority])).toEqual(
      account.regionalEndpoints.map((region, index) => [region.location, region.documentEndpoint, index]),
    );
    expect(new Set(account.regionalEndpoints.map((region) => region.documentEndpoint)).size).toBe(3);
    expect(arm.writeLocations?.map((location) => location.locationName)).toEqual(['West US']);
    expect(arm.documentEndpoint).toBe(account.documentEndpoint);
    const dataPlane = await cosmosClient(account.regionalEndpoints[1]!.documentEndpoint, emulator.state().accounts[account.id.toLowerCase()]!.keys.primary.value, emulator).getDatabaseAccount();
    expect(dataPlane.resource?.readableLocations.map((location) => location.name)).toEqual(['West US', 'East US', 'North Europe']);
  });

  it('when a key is regenerated, then each region accepts the new value only after its propagation time, and keeps accepting the old one until then', async () => {
    const before = emulator.state().accounts[account.id.toLowerCase()]!.keys.secondary.value;
    await armClient(emulator).databaseAccounts.beginRegenerateKeyAndWait('rg-app', 'orders', { keyKind: 'secondary' });
    const after = emulator.state().accounts[account.id.toLowerCase()]!.keys.secondary.value;
    const [west, east, north] = account.regionalEndpoints.map((region) => region.documentEndpoint) as [string, string, string];

    const atOnce = [await status(west, after), await status(east, after), await status(north, after), await status(east, before)];
    emulator.clock.advance(61_000);
    const afterAMinute = [await status(north, after), await status(east, after)];
    emulator.clock.advance(540_000);
    const afterTenMinutes = [await status(east, after), await status(east, before)];

    expect(atOnce).toEqual([200, 401, 401, 200]);
    expect(afterAMinute).toEqual([200, 401]);
    expect(afterTenMinutes).toEqual([200, 401]);
  });

  it('when a region is malformed, then creating the account is refused naming the field', async () => {
    await expect(
      emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'bad', additionalRegions: [{ location: 'West US' }] }),
    ).rejects.toThrow(/additionalRegions\[0\]\.location "West US" is already a region/);
  });

  it('when the emulator restarts with a data directory, then every region answers again at its endpoint with the same keys', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emulator-regions-'));
    try {
      const first = await startTestEmulator({ dataDir });
      const created = await first.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'stored', additionalRegions: [{ location: 'East US' }] });
      await first.close();
      const second = await startTestEmulator({ dataDir });
      try {
        const key = second.state().accounts[created.id.toLowerCase()]!.keys.primary.value;
        const regions = (await armClient(second).databaseAccounts.get('rg-app', 'stored')).readLocations ?? [];
        const answers = await Promise.all(regions.map((region) => status(region.documentEndpoint!, key, second)));

        expect(regions.map((region) => region.locationName)).toEqual(['West US', 'East US']);
        expect(answers).toEqual([200, 200]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
