/**
 * A configured rotation target as src/config.ts resolves it with every
 * default, for tests that start from settings rather than from app settings.
 */
import type { RotationTarget } from '../../src/config.js';

export const TEST_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000001';

export function rotationTarget(name: string, overrides: Partial<RotationTarget> = {}): RotationTarget {
  const subscriptionId = overrides.subscriptionId ?? TEST_SUBSCRIPTION_ID;
  return {
    name,
    accountId: `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/${name}`,
    accountName: name,
    subscriptionId,
    resourceGroup: 'rg',
    secretName: `${name}-key`,
    readOnlySecretName: `${name}-readonly-key`,
    connectionStringSecretName: null,
    rotateReadOnlyKeys: false,
    rotationIntervalInDays: 30,
    idleWindowInHours: 12,
    usageMarginInMinutes: 30,
    validationProbeCount: 3,
    validationSpreadInMinutes: 5,
    standbyWaitMaxInHours: 48,
    consumerWaitMaxInHours: 72,
    consumerCheckIntervalInMinutes: 60,
    secretExpiryInDays: 90,
    ...overrides,
  };
}
