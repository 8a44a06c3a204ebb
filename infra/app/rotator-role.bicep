// The custom roles the rotator holds: exactly the ARM actions it performs.
// rotator-role-actions.json is written from src/azure/permissions.ts
// (npm run infra:build); unit tests fail when the two differ, and an integration
// test fails when the roles differ from what the adapters are served, so the roles
// can neither lag behind nor exceed the code.
//
// Two roles, because Cosmos DB serves the status of a key regeneration outside
// the account (/subscriptions/{id}/providers/Microsoft.DocumentDB/locations/...):
// the account role is assigned on each target account, the operation-status role
// on each subscription that holds one, and it can read nothing but operation status.
targetScope = 'subscription'

@description('Display name of the account role; unique in the tenant. The operation-status role is named after it.')
param roleName string

@description('Deterministic seed for the role definition IDs, so a redeployment updates the same roles.')
param roleSeed string

@description('Subscription IDs (/subscriptions/{id}) where the roles may be assigned: this subscription and every subscription holding a target account.')
param assignableSubscriptionIds array

@description('Whether some target publishes a connection-string secret: only then may the account role list connection strings.')
param publishConnectionString bool

var roleActions = loadJsonContent('rotator-role-actions.json')

resource rotatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleSeed, 'cosmos-key-rotator')
  properties: {
    roleName: roleName
    description: 'Read Cosmos DB accounts, list and regenerate their keys: what the Cosmos DB key rotator does, and nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: concat(roleActions.accountActions, publishConnectionString ? roleActions.connectionStringActions : [])
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableSubscriptionIds
  }
}

resource operationStatusRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleSeed, 'cosmos-key-rotator-operation-status')
  properties: {
    roleName: '${roleName} - operation status'
    description: 'Read the status of Cosmos DB long-running operations (the key regenerations the Cosmos DB key rotator starts), and nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions.operationStatusActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableSubscriptionIds
  }
}

output roleDefinitionName string = rotatorRole.name
output operationStatusRoleDefinitionName string = operationStatusRole.name
