// Optional: Key Vault's own SecretNewVersionCreated events pushed to a consumer's webhook,
// so that a consumer reloads the key the moment a rotation publishes it. Deployed in the
// vault's resource group (a system topic lives beside its source).

@description('Name of the vault whose secret events are sent.')
param vaultName string

@description('Name of the Event Grid system topic for the vault.')
param systemTopicName string

@description('Azure region of the vault: a system topic is in its source\'s region.')
param location string

@description('Tags applied to the system topic.')
param tags object

@description('HTTPS endpoint of the consumer webhook that receives SecretNewVersionCreated (Event Grid validates it with a handshake).')
@secure()
param consumerWebhookUrl string

@description('Secret names the subscription sends events for (subject filter); empty: every secret of the vault.')
param secretNames array = []

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: vaultName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource consumerSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'consumer-secret-new-version'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: consumerWebhookUrl
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNewVersionCreated'
      ]
      advancedFilters: empty(secretNames)
        ? []
        : [
            {
              operatorType: 'StringIn'
              key: 'data.ObjectName'
              values: secretNames
            }
          ]
    }
    eventDeliverySchema: 'CloudEventSchemaV1_0'
  }
}
