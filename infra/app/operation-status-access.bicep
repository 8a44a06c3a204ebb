// Assigns the custom operation-status role to the rotator's identity on one
// subscription that holds target accounts. Cosmos DB serves the status of a key
// regeneration at /subscriptions/{id}/providers/Microsoft.DocumentDB/locations/...,
// outside the account, so the account role cannot cover it; this role reads
// operation status and nothing else.
targetScope = 'subscription'

@description('Principal ID of the managed identity that rotates the keys.')
param principalId string

@description('Name (GUID) of the custom operation-status role definition.')
param operationStatusRoleDefinitionName string

// Custom role definition ID, resolved in this subscription (one of the role's assignable scopes).
var operationStatusRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', operationStatusRoleDefinitionName)

resource operationStatusInSubscription 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, operationStatusRoleId)
  properties: {
    roleDefinitionId: operationStatusRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Cosmos DB key rotator: read the status of the key regenerations it starts.'
  }
}
