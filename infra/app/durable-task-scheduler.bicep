// Optional (durableBackend = 'DurableTaskScheduler'): the Durable Task Scheduler
// and one task hub run the app's orchestrations instead of queues and tables in
// its storage account. The app reaches it with its managed identity only.

@description('Name of the scheduler (3-64 letters, digits and dashes).')
param name string

@description('Azure region of the scheduler; the Function App\'s region keeps latency low.')
param location string

@description('Tags applied to the scheduler.')
param tags object

@description('Task hub name (the app\'s DURABLE_TASK_HUB_NAME).')
param taskHubName string

@description('Consumption: billed per action, for bursty or small fleets; Dedicated: reserved capacity units for steady high throughput.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string

@description('Principal ID of the managed identity the Functions host runs as.')
param principalId string

// Built-in role definition ID: Durable Task Data Contributor (run, query and manage
// orchestrations in the scheduler's task hubs; no management of the scheduler itself).
var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: skuName == 'Dedicated'
      ? {
          name: skuName
          capacity: 1
        }
      : {
          name: skuName
        }
    // Identity decides who may use it; an empty list would refuse every caller, the app included.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }

  resource taskHub 'taskHubs' = {
    name: taskHubName
  }
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, principalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = scheduler.properties.endpoint
output taskHubName string = scheduler::taskHub.name
