// The custom role the rotator holds on each Cosmos DB account: exactly the ARM
// actions the adapters perform. rotator-role-actions.json is written from
// src/azure/permissions.ts (npm run infra:build) and a unit test fails when the
// two differ, so the role can neither lag behind nor exceed the code.
targetScope = 'subscription'

@description('Display name of the role; unique in the tenant.')
param roleName string

@description('Deterministic seed for the role definition ID, so a redeployment updates the same role.')
param roleSeed string

@description('Subscription IDs (/subscriptions/{id}) where the role may be assigned: this subscription and every subscription holding a target account.')
param assignableSubscriptionIds array

var rotatorRoleActions = loadJsonContent('rotator-role-actions.json')

resource rotatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleSeed, 'cosmos-key-rotator')
  properties: {
    roleName: roleName
    description: 'Read Cosmos DB accounts, list and regenerate their keys: what the Cosmos DB key rotator does, and nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: rotatorRoleActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableSubscriptionIds
  }
}

output roleDefinitionName string = rotatorRole.name
