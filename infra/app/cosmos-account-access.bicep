// Assigns the custom rotator role to the rotator's identity on one Cosmos DB
// account. Deployed at the account's own resource group (any subscription), once
// per target account: the rotator gets no access to anything else there.

@description('Name of the Cosmos DB account, in this resource group.')
param accountName string

@description('Principal ID of the managed identity that rotates the keys.')
param principalId string

@description('Name (GUID) of the custom rotator role definition.')
param rotatorRoleDefinitionName string

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' existing = {
  name: accountName
}

// Custom role definition ID, resolved in this account's subscription (one of the role's assignable scopes).
var rotatorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', rotatorRoleDefinitionName)

resource rotatorOnAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, rotatorRoleId)
  scope: account
  properties: {
    roleDefinitionId: rotatorRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Cosmos DB key rotator: read the account, list and regenerate its keys.'
  }
}
