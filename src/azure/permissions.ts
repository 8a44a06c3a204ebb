/**
 * The ARM actions the adapters perform: one list, used by the adapters (each
 * call names its action) and by infra's custom role (a test keeps them equal).
 */
export const COSMOS_ACTIONS = {
  readAccount: 'Microsoft.DocumentDB/databaseAccounts/read',
  listKeys: 'Microsoft.DocumentDB/databaseAccounts/listKeys/action',
  listReadOnlyKeys: 'Microsoft.DocumentDB/databaseAccounts/readonlykeys/action',
  regenerateKey: 'Microsoft.DocumentDB/databaseAccounts/regenerateKey/action',
  listConnectionStrings: 'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action',
} as const;

export type CosmosAction = (typeof COSMOS_ACTIONS)[keyof typeof COSMOS_ACTIONS];

/** The custom role's actions: every action some adapter call performs. */
export const ROTATOR_ROLE_ACTIONS: readonly CosmosAction[] = Object.values(COSMOS_ACTIONS);
