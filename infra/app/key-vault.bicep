// The vault consumers read the rotated keys from. RBAC authorization (no access
// policies), soft delete and purge protection: a published key cannot be
// destroyed, by mistake or by an attacker, before consumers have moved on.

@description('Name of the Key Vault (3-24 letters, digits and dashes).')
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Days a deleted vault or secret can be recovered (7-90). Purge protection keeps it for the whole period.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Whether the vault answers on its public endpoint; Disabled leaves only private endpoints (and trusted Azure services). Consumers must then reach it privately too.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

output id string = vault.id
