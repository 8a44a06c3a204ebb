// The rotator itself: a Function App on the Flex Consumption plan (Linux,
// Node.js 22), running as the user-assigned identity. Every connection it makes
// (storage, telemetry, ARM, Key Vault) uses that identity: no key or connection
// secret is stored in its settings.

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app (a region that offers Flex Consumption).')
param location string

@description('Tags applied to the plan and the app; the app also gets azd-service-name.')
param tags object

@description('azd service name in azure.yaml that deploys to this app.')
param serviceName string

@description('Resource ID of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client ID of that identity (for the Functions host connections).')
param identityClientId string

@description('Name of the storage account used as AzureWebJobsStorage.')
param storageAccountName string

@description('Blob endpoint of that storage account (https://{name}.blob.core.windows.net/ in the public cloud).')
param storageBlobEndpoint string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('The rotator\'s own settings (src/config.ts), merged with the host settings below.')
param appSettings object

@description('Most instances Flex Consumption may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Client ID of the Microsoft Entra ID app registration in front of the operator API (App Service authentication); empty leaves the API to function keys.')
param operatorApiClientId string

@description('Resource ID of the subnet (delegated to Microsoft.App/environments) the app sends its outbound traffic through; empty for none.')
param virtualNetworkSubnetId string

@description('Endpoint of the Durable Task Scheduler that holds the task hub; empty keeps the task hub in the storage account.')
param durableTaskSchedulerEndpoint string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Settings the Functions host reads (never src/config.ts). Identity-based
// AzureWebJobsStorage: Durable Functions' queues, tables and leases included.
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app settings on
// Flex Consumption: the runtime comes from functionAppConfig.runtime below.
var hostAppSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

// With the Durable Task Scheduler, these app settings override host.json's
// extensions.durableTask.storageProvider (AzureStorage) with the azureManaged provider,
// which reads the scheduler's endpoint and identity from the named connection string.
var durableTaskSchedulerSettings = empty(durableTaskSchedulerEndpoint)
  ? {}
  : {
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, hostAppSettings, durableTaskSchedulerSettings)
  }

  // Microsoft Entra ID in front of the operator API: App Service refuses a request
  // without a valid token for the app registration (401) before the app runs, and
  // passes the caller to it as x-ms-client-principal (OPERATOR_API_AUTH=entra-id).
  resource authentication 'config' = if (!empty(operatorApiClientId)) {
    name: 'authsettingsV2'
    properties: {
      platform: {
        enabled: true
      }
      globalValidation: {
        requireAuthentication: true
        unauthenticatedClientAction: 'Return401'
      }
      httpSettings: {
        requireHttps: true
      }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            clientId: operatorApiClientId
            openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          }
          validation: {
            allowedAudiences: [
              'api://${operatorApiClientId}'
              operatorApiClientId
            ]
          }
        }
      }
      login: {
        tokenStore: {
          enabled: false
        }
      }
    }
  }

  // No publishing passwords: azd deploys with the signed-in user's Entra ID token.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
