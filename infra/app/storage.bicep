// Storage for the Functions host (AzureWebJobsStorage), the Durable task hub
// (queues, tables, blob leases) and the Flex Consumption deployment package.
// Shared keys are off: the app reaches it with its managed identity only.

@description('Name of the storage account (3-24 lowercase letters and digits).')
param name string

@description('Azure region of the storage account.')
param location string

@description('Tags applied to the storage account.')
param tags object

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Principal ID of the managed identity that the Functions host runs as.')
param principalId string

@description('Blob container that holds the list of accounts to rotate (ROTATION_TARGETS_BLOB_URL); empty: the list is in the ROTATION_TARGETS app setting and no container is created.')
param rotationTargetsContainerName string = ''

@description('Whether the account answers on its public endpoints; Disabled leaves only private endpoints (and trusted Azure services).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

// Built-in role definition IDs (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
// Storage Blob Data Owner: the host manages blob containers and leases (singleton locks, timer
// schedule monitor, Durable partition leases) and reads the deployment package.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor: Durable Functions' control and work-item queues.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: Durable Functions' history and instances tables.
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Storage Blob Data Reader, on the targets container only: the app reads the list of accounts to rotate.
var storageBlobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

resource rotationTargetsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = if (!empty(rotationTargetsContainerName)) {
  parent: storage::blobService
  name: empty(rotationTargetsContainerName) ? 'unused' : rotationTargetsContainerName
  properties: {
    publicAccess: 'None'
  }
}

// What the app needs of the targets container, granted on it alone. (Blob Data Owner on the account
// covers it today, for the host; this assignment keeps the app's read of its target list explicit
// and working if the host's role is ever narrowed.)
resource rotationTargetsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(rotationTargetsContainerName)) {
  name: guid(rotationTargetsContainer.id, principalId, storageBlobDataReaderRoleId)
  scope: rotationTargetsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output rotationTargetsContainerId string = empty(rotationTargetsContainerName) ? '' : rotationTargetsContainer.id
