/**
 * The optional postprovision hook that turns on Cosmos DB safe key rotation,
 * run against the local emulator with the real @azure/arm-cosmosdb client.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import {
  SAFE_KEY_ROTATION_CAPABILITIES,
  capabilitiesWithSafeKeyRotation,
  enableSafeKeyRotation,
  runHook,
} from '../../infra/hooks/safe-key-rotation.js';
import { ARM_API_VERSION, SUBSCRIPTION_ID, accountPath, armClient, startTestEmulator, staticTokenCredential } from '../helpers/emulator.js';

const SERVERLESS = 'EnableServerless';

describe('which capabilities the hook sends', () => {
  it('when the account has other capabilities, then they are kept and the two safe-rotation ones are added', () => {
    expect(capabilitiesWithSafeKeyRotation([SERVERLESS])).toEqual([SERVERLESS, ...SAFE_KEY_ROTATION_CAPABILITIES]);
  });

  it('when one safe-rotation capability is already on (any letter case), then only the other is added', () => {
    expect(capabilitiesWithSafeKeyRotation(['enablekeycheckbeforeregenerationpreview'])).toEqual([
      'enablekeycheckbeforeregenerationpreview',
      'EnableAccountKeysLastUsageCheckInDisableLocalAuth',
    ]);
  });

  it('when both are on, then there is nothing to send', () => {
    expect(capabilitiesWithSafeKeyRotation([...SAFE_KEY_ROTATION_CAPABILITIES, SERVERLESS])).toBeNull();
  });
});

describe('turning safe key rotation on', () => {
  let emulator: AzureEmulator;
  let lines: string[];

  beforeEach(async () => {
    emulator = await startTestEmulator();
    lines = [];
    // regenerationSeconds 0: the capability update completes at once on the manual clock.
    await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-data', name: 'orders', capabilities: [SERVERLESS], regenerationSeconds: 0 });
    await emulator.createAccount({
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'rg-data',
      name: 'billing',
      capabilities: [...SAFE_KEY_ROTATION_CAPABILITIES],
      regenerationSeconds: 0,
    });
  });

  afterEach(async () => {
    await emulator.close();
  });

  function enable(accountIds: string[]) {
    return enableSafeKeyRotation({
      accountIds,
      credential: staticTokenCredential,
      endpoint: emulator.armEndpoint,
      clientOptions: { apiVersion: ARM_API_VERSION, tlsOptions: { ca: emulator.caCertPem } },
      updateIntervalInMs: 1,
      log: (line) => lines.push(line),
    });
  }

  it('when an account lacks the capabilities, then the hook adds them and keeps the capability it had', async () => {
    const outcomes = await enable([accountPath('rg-data', 'orders')]);

    const account = await armClient(emulator).databaseAccounts.get('rg-data', 'orders');
    expect(outcomes.get(accountPath('rg-data', 'orders'))).toBe('enabled');
    expect(emulator.stats().arm.updateAccount).toBe(1);
    expect(account.capabilities?.map((capability) => capability.name)).toEqual([SERVERLESS, ...SAFE_KEY_ROTATION_CAPABILITIES]);
  });

  it('when an account already has them, then the hook sends no update', async () => {
    const outcomes = await enable([accountPath('rg-data', 'billing')]);

    expect(outcomes.get(accountPath('rg-data', 'billing'))).toBe('already-enabled');
    expect(emulator.stats().arm.updateAccount ?? 0).toBe(0);
    expect(lines).toEqual(['safe key rotation: already on for billing']);
  });

  it('when the azd environment does not ask for it, then the hook touches no account', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const exitCode = await runHook(
        { ENABLE_SAFE_KEY_ROTATION: 'false', ROTATION_TARGET_ACCOUNT_IDS: accountPath('rg-data', 'orders') },
        staticTokenCredential,
      );

      expect(exitCode).toBe(0);
      expect(emulator.stats().arm).toEqual({});
    } finally {
      log.mockRestore();
    }
  });

  it('when the signed-in user may not update an account, then the hook exits non-zero with the manual command to run instead', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const exitCode = await runHook(
        {
          ENABLE_SAFE_KEY_ROTATION: 'true',
          ROTATION_TARGET_ACCOUNT_IDS: accountPath('rg-data', 'missing'),
          AZURE_RESOURCE_MANAGER_ENDPOINT: `${emulator.armEndpoint}/`,
        },
        staticTokenCredential,
      );

      expect(exitCode).toBe(1);
      expect(error.mock.calls.flat().join('\n')).toMatch(/az cosmosdb update --capabilities/);
    } finally {
      error.mockRestore();
    }
  });
});
