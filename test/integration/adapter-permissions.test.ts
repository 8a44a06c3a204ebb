/**
 * Least privilege, both ways: the custom roles the templates deploy hold exactly
 * the ARM actions the rotator performs, no fewer (a call Azure would refuse) and
 * no more (a permission nothing uses). What is performed is read from the other
 * side of the wire: the operations the local emulator served, each mapped to the
 * RBAC action Azure checks for it by the one table below.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ArmOperation } from '../../emulator/azure/arm-routes.js';
import type { CosmosManagementAdapter } from '../../src/azure/cosmos-management.js';
import { OPERATION_STATUS_ROLE_ACTIONS, publishesConnectionStrings, rotatorRoleActions } from '../../src/azure/permissions.js';
import { loadConfig, settingTargets } from '../../src/config.js';
import { RotationHarness } from '../workflow/rotation-harness.js';
import { SAFE_CHECK, startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

/**
 * The RBAC action Azure Resource Manager checks for each operation the emulator
 * serves, and the scope it checks it at (Azure's resource provider operations list
 * for Microsoft.DocumentDB). The status of a long-running operation is served at
 * /subscriptions/{id}/providers/Microsoft.DocumentDB/locations/{region}/operationsStatus/{operation},
 * outside the account, so a role on the account cannot allow it; regenerateKey's
 * Location points there too (the spec's 2026-03-15 and 2026-04-01-preview
 * CosmosDBDatabaseAccountRegenerateKey.json examples), so the account's
 * operationResults are never read.
 */
const RBAC_ACTION_OF: Readonly<Record<ArmOperation, { action: string; scope: 'account' | 'subscription' }>> = {
  listAccountsBySubscription: { action: 'Microsoft.DocumentDB/databaseAccounts/read', scope: 'subscription' },
  listAccountsByResourceGroup: { action: 'Microsoft.DocumentDB/databaseAccounts/read', scope: 'subscription' },
  getAccount: { action: 'Microsoft.DocumentDB/databaseAccounts/read', scope: 'account' },
  updateAccount: { action: 'Microsoft.DocumentDB/databaseAccounts/write', scope: 'account' },
  listKeys: { action: 'Microsoft.DocumentDB/databaseAccounts/listKeys/action', scope: 'account' },
  listReadOnlyKeys: { action: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/action', scope: 'account' },
  getReadOnlyKeys: { action: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/read', scope: 'account' },
  listConnectionStrings: { action: 'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action', scope: 'account' },
  regenerateKey: { action: 'Microsoft.DocumentDB/databaseAccounts/regenerateKey/action', scope: 'account' },
  getOperationStatus: { action: 'Microsoft.DocumentDB/locations/operationsStatus/read', scope: 'subscription' },
  getOperationResult: { action: 'Microsoft.DocumentDB/databaseAccounts/operationResults/read', scope: 'account' },
};

/** The actions of the rotator's two custom roles as deployed. */
interface DeployedRotatorRoles {
  accountActions: string[];
  operationStatusActions: string[];
}

/**
 * The roles the templates deploy: the code's lists, which test/unit/infra-permissions.test.ts
 * holds the compiled templates (ARM JSON) to, action for action.
 */
function deployedRotatorRoles(options: { publishConnectionString: boolean }): DeployedRotatorRoles {
  return { accountActions: [...rotatorRoleActions(options)], operationStatusActions: [...OPERATION_STATUS_ROLE_ACTIONS] };
}

/** The actions behind the ARM operations the emulator served, split the way the two roles are. */
function performedActions(served: Record<string, number>): DeployedRotatorRoles {
  const account = new Set<string>();
  const subscription = new Set<string>();
  for (const [operation, count] of Object.entries(served)) {
    if (count === 0) continue;
    const rbac = RBAC_ACTION_OF[operation as ArmOperation];
    if (!rbac) throw new Error(`the emulator served "${operation}", which RBAC_ACTION_OF does not map to an RBAC action`);
    (rbac.scope === 'account' ? account : subscription).add(rbac.action);
  }
  return { accountActions: [...account].sort(), operationStatusActions: [...subscription].sort() };
}

function sorted(roles: DeployedRotatorRoles): DeployedRotatorRoles {
  return { accountActions: [...roles.accountActions].sort(), operationStatusActions: [...roles.operationStatusActions].sort() };
}

describe('the adapters against the deployed roles', () => {
  let fixture: RotatorFixture;
  afterEach(async () => fixture?.close());

  it('when every adapter method runs (a regeneration to its end, a refusal by the safe-rotation check), then the actions it was served equal the roles deployed with connection strings published', async () => {
    fixture = await startRotatorFixture();
    const arm: CosmosManagementAdapter = fixture.adapters.cosmosManagement;
    const orders = await fixture.createAccount('orders-db', { regenerationSeconds: 120 });
    const guarded = await fixture.createAccount('billing-db', { capabilities: [SAFE_CHECK], regenerationSeconds: 120 });
    fixture.emulator.recordKeyUse(guarded, 'secondary', fixture.hoursAgo(1));
    fixture.emulator.resetStats();
    const rule = { skipUsageCheck: false, idleWindowInHours: 12, usageMarginInMinutes: 30 };

    await arm.getAccount(orders);
    await arm.getKey(orders, 'primary');
    await arm.listKeys(orders, 'readOnly');
    await arm.getConnectionString(orders, 'primary');
    const started = await arm.beginRegenerateKey(orders, 'secondary', rule);
    fixture.emulator.clock.advance(121_000);
    expect(await arm.getRegenerationStatus(orders, 'secondary', started.pollerState)).toEqual({ status: 'Succeeded' });
    await expect(arm.beginRegenerateKey(guarded, 'secondary', rule)).rejects.toMatchObject({ name: 'BlockedError' });

    const served = fixture.emulator.stats().arm;
    expect(Object.keys(served).sort()).toEqual(
      ['getAccount', 'getOperationStatus', 'listConnectionStrings', 'listKeys', 'listReadOnlyKeys', 'regenerateKey'].sort(),
    );
    expect(performedActions(served)).toEqual(sorted(deployedRotatorRoles({ publishConnectionString: true })));
  });
});

describe('a whole rotation against the deployed roles', () => {
  let harness: RotationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  // Read-only keys on, so that every action the roles hold has its chance to be used.
  it.each([
    ['false', 'no connection string is published, then listing them is neither done nor allowed'],
    ['true', 'connection strings are published, then listing them is both done and allowed'],
  ])('when PUBLISH_CONNECTION_STRING is %s: %s, and the actions served equal the roles deployed for that setting', async (publish) => {
    harness = await RotationHarness.start({
      accounts: [{ name: 'orders', regenerationSeconds: 90 }],
      settings: { ROTATE_READONLY_KEYS: 'true', PUBLISH_CONNECTION_STRING: publish },
    });
    harness.emulator.resetStats();

    await harness.startRotation('orders');
    const result = await harness.runRotation('orders');

    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output.outcome).toBe('rotated');
    const served = harness.emulator.stats().arm;
    expect((served.listConnectionStrings ?? 0) > 0).toBe(publish === 'true');
    const deployed = deployedRotatorRoles({ publishConnectionString: publishesConnectionStrings(settingTargets(loadConfig(harness.env))) });
    expect(performedActions(served)).toEqual(sorted(deployed));
  });
});
