/**
 * The ARM actions the rotator performs: one list, used by the adapters (each
 * call names its action) and by infra's custom roles (npm run infra:build writes
 * infra/app/rotator-role-actions.json from here; tests keep the two equal, and
 * equal to what the adapters are served by the local emulator).
 */
export const COSMOS_ACTIONS = {
  readAccount: 'Microsoft.DocumentDB/databaseAccounts/read',
  listKeys: 'Microsoft.DocumentDB/databaseAccounts/listKeys/action',
  listReadOnlyKeys: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/action',
  regenerateKey: 'Microsoft.DocumentDB/databaseAccounts/regenerateKey/action',
  listConnectionStrings: 'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action',
  /**
   * Polling a regeneration and its final GET: in the spec's regenerateKey
   * examples (2026-03-15, 2026-04-01-preview) both its Azure-AsyncOperation and
   * its Location URL are served at
   * /subscriptions/{id}/providers/Microsoft.DocumentDB/locations/{region}/operationsStatus/{operation},
   * outside the account: a role assigned on the account does not cover it.
   */
  readOperationStatus: 'Microsoft.DocumentDB/locations/operationsStatus/read',
} as const;

export type CosmosAction = (typeof COSMOS_ACTIONS)[keyof typeof COSMOS_ACTIONS];

/** Granted on each target account, whatever the settings. */
export const ACCOUNT_ROLE_ACTIONS: readonly CosmosAction[] = [
  COSMOS_ACTIONS.readAccount,
  COSMOS_ACTIONS.listKeys,
  COSMOS_ACTIONS.listReadOnlyKeys,
  COSMOS_ACTIONS.regenerateKey,
];

/**
 * Added to the account role only when some target publishes a connection-string
 * secret (PUBLISH_CONNECTION_STRING, or a target's own override): no other code
 * path lists connection strings.
 */
export const CONNECTION_STRING_ROLE_ACTIONS: readonly CosmosAction[] = [COSMOS_ACTIONS.listConnectionStrings];

/** Granted on each subscription holding a target account: only the status of long-running operations. */
export const OPERATION_STATUS_ROLE_ACTIONS: readonly CosmosAction[] = [COSMOS_ACTIONS.readOperationStatus];

/** The account role's actions as deployed with these settings. */
export function rotatorRoleActions(options: { publishConnectionString: boolean }): readonly CosmosAction[] {
  return options.publishConnectionString ? [...ACCOUNT_ROLE_ACTIONS, ...CONNECTION_STRING_ROLE_ACTIONS] : ACCOUNT_ROLE_ACTIONS;
}

/** Every action the account role may hold (connection strings published). */
export const ROTATOR_ROLE_ACTIONS: readonly CosmosAction[] = rotatorRoleActions({ publishConnectionString: true });

/** Whether the settings make the rotator publish a connection string for any target (and so list them). */
export function publishesConnectionStrings(targets: ReadonlyArray<{ connectionStringSecretName: string | null }>): boolean {
  return targets.some((target) => target.connectionStringSecretName !== null);
}

/** The content of infra/app/rotator-role-actions.json, which infra/app/rotator-role.bicep loads. */
export interface RoleActionsFile {
  accountActions: readonly CosmosAction[];
  connectionStringActions: readonly CosmosAction[];
  operationStatusActions: readonly CosmosAction[];
}

export const ROLE_ACTIONS_FILE: RoleActionsFile = {
  accountActions: ACCOUNT_ROLE_ACTIONS,
  connectionStringActions: CONNECTION_STRING_ROLE_ACTIONS,
  operationStatusActions: OPERATION_STATUS_ROLE_ACTIONS,
};
