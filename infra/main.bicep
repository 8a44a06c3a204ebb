// Deploys the Cosmos DB key rotator with `azd up`: a Durable Functions app on the
// Flex Consumption plan, its storage, telemetry and Key Vault, and the least
// privilege it needs on each Cosmos DB account it rotates.
// See the README (Deploy to Azure) for the parameters, what gets created and why each role is granted.
targetScope = 'subscription'

@description('Per-account overrides, one object per account (the object form of a ROTATION_TARGETS item).')
type rotationTargetOverride = {
  @description('Resource ID of the Cosmos DB account.')
  resourceId: string

  @description('Name operators and secret names use for the account (default: the account name).')
  name: string?

  @description('Key Vault secret holding the active read-write key.')
  secretName: string?

  @description('Key Vault secret holding the active read-only key.')
  readOnlySecretName: string?

  @description('Key Vault secret holding the read-write connection string.')
  connectionStringSecretName: string?

  @description('Days between rotations of this account.')
  rotationIntervalInDays: int?

  @description('Also rotate the read-only key pair of this account.')
  rotateReadOnlyKeys: bool?

  @description('Also publish a connection-string secret for this account.')
  publishConnectionString: bool?
}

@description('Name of the azd environment; seeds every resource name (resourceToken) and tags the resources.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of the app and its resources; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create for the app (default: rg-{environmentName}).')
param resourceGroupName string = ''

@description('Comma-separated resource IDs of the Cosmos DB accounts to rotate (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.DocumentDB/databaseAccounts/{name}). The accounts may live in any resource group or subscription of the tenant.')
param cosmosAccountResourceIds string

@description('Per-account overrides; an account listed here is rotated even when cosmosAccountResourceIds omits it.')
param rotationTargetOverrides rotationTargetOverride[] = []

@description('Resource ID of an existing Key Vault (RBAC authorization) to publish the keys to; empty creates a new vault.')
param existingKeyVaultResourceId string = ''

@description('NCRONTAB (six fields, UTC) of the timer that starts due rotations.')
param rotationSchedule string = '0 0 * * * *'

@description('An account is due when its secret is older than this many days.')
@minValue(1)
@maxValue(3650)
param rotationIntervalInDays int = 30

@description('Hours a key must be unused before it is regenerated (Cosmos DB safe key rotation uses 12).')
@minValue(1)
param idleWindowInHours int = 12

@description('Minutes added to key last-use times, because they are approximate.')
@minValue(0)
param usageMarginInMinutes int = 30

@description('Consecutive data-plane successes needed to accept a new key.')
@minValue(1)
param validationProbeCount int = 3

@description('Minutes over which the validation probes are spread.')
@minValue(0)
param validationSpreadInMinutes int = 5

@description('Hours to wait for a standby key that is still in use before stopping.')
@minValue(1)
param standbyWaitMaxInHours int = 48

@description('Hours to wait for consumers to leave the old key before the rotation needs attention.')
@minValue(1)
param consumerWaitMaxInHours int = 72

@description('Minutes between checks of the old key\'s usage while waiting for consumers.')
@minValue(1)
param consumerCheckIntervalInMinutes int = 60

@description('UTC days and hours in which keys may be regenerated, e.g. Mon-Fri 08:00-17:00 (several separated by ;); empty: any time.')
param rotationWindows string = ''

@description('Also rotate the read-only key pair (own secret).')
param rotateReadOnlyKeys bool = false

@description('Also publish a connection-string secret.')
param publishConnectionString bool = false

@description('Name of the read-write key secret; {account} is the account name.')
param secretNameTemplate string = '{account}-key'

@description('Name of the read-only key secret; {account} is the account name.')
param readOnlySecretNameTemplate string = '{account}-readonly-key'

@description('Name of the connection-string secret; {account} is the account name.')
param connectionStringSecretNameTemplate string = '{account}-connection-string'

@description('Days until each published secret version expires; must exceed every rotation interval.')
@minValue(1)
@maxValue(3650)
param secretExpiryInDays int = 90

@description('Most ARM reads per second the app sends to one subscription, per worker process (ARM refills 25 per second).')
@minValue(1)
@maxValue(250)
param armReadsPerSecond int = 20

@description('Most ARM writes per second (listKeys, regenerateKey and other POST actions included) the app sends to one subscription, per worker process (ARM refills 10 per second).')
@minValue(1)
@maxValue(200)
param armWritesPerSecond int = 5

@description('Most Key Vault requests other than secret sets the app sends per second to the vault, per worker process (the vault takes 4,000 in 10 seconds, consumers included).')
@minValue(1)
@maxValue(400)
param keyVaultRequestsPerSecond int = 100

@description('Most new secret versions the app writes per second to the vault, per worker process (the vault takes 300 in 10 seconds).')
@minValue(1)
@maxValue(30)
param keyVaultSecretSetsPerSecond int = 10

@description('The timer starts due rotations while fewer than this many run, over all accounts.')
@minValue(1)
@maxValue(100000)
param maxRotationsInFlight int = 2000

@description('The timer starts due rotations while fewer than this many run in one subscription.')
@minValue(1)
@maxValue(100000)
param maxRotationsInFlightPerSubscription int = 200

@description('Hours after which the schedule may restart a failed or needs-attention rotation.')
@minValue(1)
param failedRotationRetryInHours int = 24

@description('Days earlier rotations stay in the history before the timer purges them.')
@minValue(1)
@maxValue(3650)
param historyRetentionInDays int = 365

@description('Earlier rotations kept per account in the history.')
@minValue(1)
@maxValue(10000)
param historyMaxPerAccount int = 100

@description('Days without any key use before the key report calls an account ready to disable local authentication.')
@minValue(1)
@maxValue(3650)
param localAuthUnusedInDays int = 30

@description('Durable Functions task hub name (3-45 letters and digits, starting with a letter).')
@minLength(3)
@maxLength(45)
param durableTaskHubName string = 'cosmoskeyrotation'

@description('Most instances the Flex Consumption plan may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Preview: after provisioning, the postprovision hook turns on Cosmos DB safe key rotation (capabilities EnableKeyCheckBeforeRegenerationPreview and EnableAccountKeysLastUsageCheckInDisableLocalAuth) on every target account, with the deploying user\'s own rights. Off by default; see the README (Deploy to Azure).')
param enableSafeKeyRotation bool = false

@description('Client ID of a Microsoft Entra ID app registration (with the app roles Reader, Operator and Forcer) to put in front of the operator API with App Service authentication; empty keeps function keys. See the README (Who may call the operator API).')
param operatorApiClientId string = ''

@description('Put the vault (when this template creates it) and the app\'s storage on private endpoints with public access off, and send the Function App\'s outbound traffic through a new virtual network. See the README (Network).')
param privateNetworking bool = false

@description('Address space of that virtual network (CIDR, /16 to /23): the app gets its first /24, the private endpoints the second.')
param virtualNetworkAddressPrefix string = '10.60.0.0/16'

@description('Where the app reads the list of accounts to rotate: appSetting (ROTATION_TARGETS, up to about 900 accounts) or blob (a container rotation-targets in the app\'s storage, blob targets.json, which you upload; ROTATION_TARGETS_BLOB_URL). The accounts\' role assignments come from cosmosAccountResourceIds and rotationTargetOverrides either way. See the README (Configuration: Targets in a blob).')
@allowed([
  'appSetting'
  'blob'
])
param rotationTargetsSource string = 'appSetting'

@description('Where the Durable task hub lives: AzureStorage (queues and tables in the app\'s storage account) or DurableTaskScheduler (a Durable Task Scheduler and task hub, identity-based). See the README (Durable Task Scheduler).')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('SKU of the Durable Task Scheduler, when durableBackend is DurableTaskScheduler.')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('Email addresses the rotation alerts (needs attention, failed, waiting too long, key too old) go to. See the README (Monitoring and alerts).')
param alertEmails array = []

@description('Optional webhook (Teams, PagerDuty, a Logic App) the rotation alerts are also posted to; empty: email only.')
@secure()
param alertWebhookUrl string = ''

@description('A rotation waiting longer than this many hours for a key to be idle raises an alert.')
@minValue(1)
param waitAlertThresholdInHours int = 24

@description('Days beyond its rotation interval a key may reach before the "key too old" alert fires.')
@minValue(0)
param keyAgeGraceInDays int = 3

@description('Optional HTTPS webhook of a consumer app that gets Key Vault\'s SecretNewVersionCreated events (reload the key at once); empty: no subscription.')
@secure()
param consumerWebhookUrl string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'api'
var deploymentContainerName = 'deployment-package'
// The list of accounts as a blob in the app's storage (ROTATION_TARGETS_BLOB_URL), or in the ROTATION_TARGETS app setting.
var targetsInBlob = rotationTargetsSource == 'blob'
var rotationTargetsContainerName = 'rotation-targets'
var rotationTargetsBlobName = 'targets.json'

// Target accounts: the comma-separated list, plus every account that has overrides.
// An account with overrides appears once, as its override object.
var listedAccountIds = filter(map(split(cosmosAccountResourceIds, ','), id => trim(id)), id => !empty(id))
var overriddenAccountIds = map(rotationTargetOverrides, target => toLower(target.resourceId))
var listedWithoutOverrides = filter(union(listedAccountIds, []), id => !contains(overriddenAccountIds, toLower(id)))
var rotationTargets = concat(map(listedWithoutOverrides, id => { resourceId: id }), rotationTargetOverrides)
var targetAccountIds = map(rotationTargets, target => target.resourceId)
var targetSubscriptionGuids = union(map(targetAccountIds, id => toLower(split(id, '/')[2])), [])
var targetSubscriptionIds = map(targetSubscriptionGuids, id => '/subscriptions/${id}')

// Whether any target publishes a connection-string secret, by the rule src/config.ts applies
// to each target: its own publishConnectionString, else whether it names a connection-string
// secret, else PUBLISH_CONNECTION_STRING. Only then may the rotator list connection strings.
var connectionStringsPublished = !empty(filter(rotationTargets, target => target.?publishConnectionString ?? (target.?connectionStringSecretName != null || publishConnectionString)))

var useExistingKeyVault = !empty(existingKeyVaultResourceId)
var existingKeyVaultIdParts = split(existingKeyVaultResourceId, '/')
var appResourceGroupName = !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
var keyVaultSubscriptionId = useExistingKeyVault ? existingKeyVaultIdParts[2] : subscription().subscriptionId
var keyVaultResourceGroupName = useExistingKeyVault ? existingKeyVaultIdParts[4] : appResourceGroupName
var keyVaultName = useExistingKeyVault ? existingKeyVaultIdParts[8] : 'kv-${resourceToken}'
var keyVaultId = resourceId(keyVaultSubscriptionId, keyVaultResourceGroupName, 'Microsoft.KeyVault/vaults', keyVaultName)
var publicNetworkAccess = privateNetworking ? 'Disabled' : 'Enabled'
var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: appResourceGroupName
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
    publicNetworkAccess: publicNetworkAccess
    rotationTargetsContainerName: targetsInBlob ? rotationTargetsContainerName : ''
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module rotationEvents 'app/rotation-events.bicep' = {
  name: 'rotation-events'
  scope: rg
  params: {
    topicName: 'evgt-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module rotationAlerts 'app/rotation-alerts.bicep' = {
  name: 'rotation-alerts'
  scope: rg
  params: {
    namePrefix: 'rotation-${resourceToken}'
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.name
    alertEmails: alertEmails
    alertWebhookUrl: alertWebhookUrl
    waitAlertThresholdInHours: waitAlertThresholdInHours
    keyAgeGraceInDays: keyAgeGraceInDays
  }
}

// Read when the module starts (after the vault exists): a system topic must be in its vault's region.
resource vaultForEvents 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
  scope: resourceGroup(keyVaultSubscriptionId, keyVaultResourceGroupName)
}

module keyVaultEvents 'app/key-vault-events.bicep' = if (!empty(consumerWebhookUrl)) {
  name: 'key-vault-events-${resourceToken}'
  scope: resourceGroup(keyVaultSubscriptionId, keyVaultResourceGroupName)
  params: {
    vaultName: keyVaultName
    systemTopicName: 'evgst-${resourceToken}'
    location: vaultForEvents.location
    tags: tags
    consumerWebhookUrl: consumerWebhookUrl
  }
  dependsOn: [
    keyVault
  ]
}

module keyVault 'app/key-vault.bicep' = if (!useExistingKeyVault) {
  name: 'key-vault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    publicNetworkAccess: publicNetworkAccess
  }
}

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: virtualNetworkAddressPrefix
  }
}

// The app's storage on private endpoints: blob (host, deployment package), queue and table (Durable task hub).
var storageEndpoints = [
  'blob'
  'queue'
  'table'
]

module storageEndpoint 'app/private-endpoint.bicep' = [
  for service in storageEndpoints: if (privateNetworking) {
    name: 'pe-storage-${service}'
    scope: rg
    params: {
      name: 'pe-st${resourceToken}-${service}'
      location: location
      tags: tags
      subnetId: network!.outputs.privateEndpointSubnetId
      targetResourceId: storage.outputs.id
      groupId: service
      privateDnsZoneId: service == 'blob' ? network!.outputs.blobZoneId : service == 'queue' ? network!.outputs.queueZoneId : network!.outputs.tableZoneId
    }
  }
]

// The vault, new or existing, on a private endpoint in the app's network. An existing
// vault keeps its own public access setting: its owner decides that.
module keyVaultEndpoint 'app/private-endpoint.bicep' = if (privateNetworking) {
  name: 'pe-key-vault'
  scope: rg
  params: {
    name: 'pe-kv-${resourceToken}'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetResourceId: keyVaultId
    groupId: 'vault'
    privateDnsZoneId: network!.outputs.vaultZoneId
  }
  dependsOn: [
    keyVault
  ]
}

module durableTaskScheduler 'app/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: 'dts-${resourceToken}'
    location: location
    tags: tags
    taskHubName: durableTaskHubName
    skuName: durableTaskSchedulerSku
    principalId: identity.outputs.principalId
  }
}

// The vault may live in another resource group or subscription when it already exists.
// Its name is known before deployment either way; the new vault must exist first.
module keyVaultAccess 'app/key-vault-access.bicep' = {
  name: 'key-vault-access-${resourceToken}'
  scope: resourceGroup(keyVaultSubscriptionId, keyVaultResourceGroupName)
  params: {
    vaultName: keyVaultName
    principalId: identity.outputs.principalId
  }
  dependsOn: [
    keyVault
  ]
}

module rotatorRole 'app/rotator-role.bicep' = {
  name: 'rotator-role-${resourceToken}'
  params: {
    roleName: 'Cosmos DB Key Rotator (${environmentName}, ${resourceToken})'
    roleSeed: resourceToken
    assignableSubscriptionIds: union([subscription().id], targetSubscriptionIds)
    publishConnectionString: connectionStringsPublished
  }
}

// One role assignment per account, deployed in the account's own resource group.
module cosmosAccountAccess 'app/cosmos-account-access.bicep' = [
  for accountId in targetAccountIds: {
    name: 'rotator-access-${uniqueString(toLower(accountId), resourceToken)}'
    scope: resourceGroup(split(accountId, '/')[2], split(accountId, '/')[4])
    params: {
      accountName: last(split(accountId, '/'))
      principalId: identity.outputs.principalId
      rotatorRoleDefinitionName: rotatorRole.outputs.roleDefinitionName
    }
  }
]

// Regeneration status lives outside the accounts: one assignment per subscription holding targets.
module operationStatusAccess 'app/operation-status-access.bicep' = [
  for subscriptionGuid in targetSubscriptionGuids: {
    name: 'rotator-operation-status-${uniqueString(subscriptionGuid, resourceToken)}'
    scope: subscription(subscriptionGuid)
    params: {
      principalId: identity.outputs.principalId
      operationStatusRoleDefinitionName: rotatorRole.outputs.operationStatusRoleDefinitionName
    }
  }
]

// Every setting src/config.ts reads, except EMULATOR_CA_CERT_PATH (local emulator only).
// test/unit/infra-settings.test.ts keeps this list, config.ts and local.settings.sample.json in step.
var rotationAppSettings = {
  KEY_VAULT_URL: keyVaultAccess.outputs.vaultUri
  // One of the two: an app setting holds about 900 resource IDs (Linux refuses an environment string over 128 KB).
  ROTATION_TARGETS: targetsInBlob ? '' : string(rotationTargets)
  ROTATION_TARGETS_BLOB_URL: targetsInBlob ? '${storage.outputs.blobEndpoint}${rotationTargetsContainerName}/${rotationTargetsBlobName}' : ''
  ROTATION_SCHEDULE: rotationSchedule
  ROTATION_INTERVAL_IN_DAYS: string(rotationIntervalInDays)
  IDLE_WINDOW_IN_HOURS: string(idleWindowInHours)
  USAGE_MARGIN_IN_MINUTES: string(usageMarginInMinutes)
  VALIDATION_PROBE_COUNT: string(validationProbeCount)
  VALIDATION_SPREAD_IN_MINUTES: string(validationSpreadInMinutes)
  STANDBY_WAIT_MAX_IN_HOURS: string(standbyWaitMaxInHours)
  CONSUMER_WAIT_MAX_IN_HOURS: string(consumerWaitMaxInHours)
  CONSUMER_CHECK_INTERVAL_IN_MINUTES: string(consumerCheckIntervalInMinutes)
  ROTATION_WINDOWS: rotationWindows
  ROTATE_READONLY_KEYS: rotateReadOnlyKeys ? 'true' : 'false'
  PUBLISH_CONNECTION_STRING: publishConnectionString ? 'true' : 'false'
  SECRET_NAME_TEMPLATE: secretNameTemplate
  READONLY_SECRET_NAME_TEMPLATE: readOnlySecretNameTemplate
  CONNECTION_STRING_SECRET_NAME_TEMPLATE: connectionStringSecretNameTemplate
  SECRET_EXPIRY_IN_DAYS: string(secretExpiryInDays)
  ARM_ENDPOINT: environment().resourceManager
  COSMOS_ARM_API_VERSION: '2026-04-01-preview'
  ARM_READS_PER_SECOND: string(armReadsPerSecond)
  ARM_WRITES_PER_SECOND: string(armWritesPerSecond)
  KEY_VAULT_REQUESTS_PER_SECOND: string(keyVaultRequestsPerSecond)
  KEY_VAULT_SECRET_SETS_PER_SECOND: string(keyVaultSecretSetsPerSecond)
  AZURE_CREDENTIAL: 'managed-identity'
  AZURE_CLIENT_ID: identity.outputs.clientId
  MAX_ROTATIONS_IN_FLIGHT: string(maxRotationsInFlight)
  MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION: string(maxRotationsInFlightPerSubscription)
  FAILED_ROTATION_RETRY_IN_HOURS: string(failedRotationRetryInHours)
  HISTORY_RETENTION_IN_DAYS: string(historyRetentionInDays)
  HISTORY_MAX_PER_ACCOUNT: string(historyMaxPerAccount)
  LOCAL_AUTH_UNUSED_IN_DAYS: string(localAuthUnusedInDays)
  DURABLE_TASK_HUB_NAME: useDurableTaskScheduler ? durableTaskScheduler!.outputs.taskHubName : durableTaskHubName
  OPERATOR_API_AUTH: empty(operatorApiClientId) ? 'function-key' : 'entra-id'
  ROTATION_EVENTS_TOPIC_ENDPOINT: rotationEvents.outputs.endpoint
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.name
    appSettings: rotationAppSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    operatorApiClientId: operatorApiClientId
    virtualNetworkSubnetId: privateNetworking ? network!.outputs.appSubnetId : ''
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''
  }
  // Private endpoints first, so the app's first start finds its storage and vault.
  dependsOn: [
    storageEndpoint
    keyVaultEndpoint
  ]
}

// Outputs become azd environment values: names and endpoints only, never a key or secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_RESOURCE_MANAGER_ENDPOINT string = environment().resourceManager
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.uri
output KEY_VAULT_URL string = keyVaultAccess.outputs.vaultUri
output KEY_VAULT_RBAC_AUTHORIZATION bool = keyVaultAccess.outputs.rbacAuthorizationEnabled
output ROTATOR_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ROTATOR_ROLE_DEFINITION_NAME string = rotatorRole.outputs.roleDefinitionName
output ROTATOR_OPERATION_STATUS_ROLE_DEFINITION_NAME string = rotatorRole.outputs.operationStatusRoleDefinitionName
output ROTATION_TARGET_ACCOUNT_IDS string = join(targetAccountIds, ',')
output ENABLE_SAFE_KEY_ROTATION bool = enableSafeKeyRotation
output OPERATOR_API_AUTH string = empty(operatorApiClientId) ? 'function-key' : 'entra-id'
output DURABLE_BACKEND string = durableBackend
output ROTATION_EVENTS_TOPIC_ENDPOINT string = rotationEvents.outputs.endpoint
output ROTATION_TARGETS_BLOB_URL string = targetsInBlob ? '${storage.outputs.blobEndpoint}${rotationTargetsContainerName}/${rotationTargetsBlobName}' : ''
