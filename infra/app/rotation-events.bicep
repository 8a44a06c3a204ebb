// The Event Grid topic the rotator sends its rotation events to (CloudEvents 1.0), and the
// one role the rotator needs on it: EventGrid Data Sender, on this topic only. Local (access
// key) auth is off: only Entra ID identities with that role can publish.

@description('Name of the Event Grid topic.')
param topicName string

@description('Azure region of the topic.')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Principal ID of the managed identity that sends the rotation events.')
param principalId string

// Built-in role definition ID: EventGrid Data Sender (Microsoft.EventGrid/events/send/action).
var eventGridDataSenderRoleId = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource dataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, eventGridDataSenderRoleId)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSenderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('The endpoint the rotator posts its events to (ROTATION_EVENTS_TOPIC_ENDPOINT).')
output endpoint string = topic.properties.endpoint

@description('Resource ID of the topic, for event subscriptions.')
output id string = topic.id
