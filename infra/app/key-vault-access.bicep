// Lets the rotator publish new secret versions in one vault, and nothing else:
// "Key Vault Secrets Officer" scoped to that vault only. Deployed at the vault's
// resource group, so it serves a vault this template creates and an existing one.

@description('Name of the Key Vault (new or existing) in this resource group.')
param vaultName string

@description('Principal ID of the managed identity that publishes the rotated keys.')
param principalId string

// Built-in role definition ID: Key Vault Secrets Officer (read and write secrets,
// their versions and attributes; no keys, certificates or vault management).
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output vaultUri string = vault.properties.vaultUri
// An existing vault that still uses access policies would ignore the role assignment above.
output rbacAuthorizationEnabled bool = vault.properties.?enableRbacAuthorization ?? false
