// One private endpoint: a private IP in the network for one service of one
// resource (a vault, or the blob, queue or table service of a storage account),
// registered in its private DNS zone so the usual host name resolves to it.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the endpoint (the network\'s region).')
param location string

@description('Tags applied to the endpoint.')
param tags object

@description('Resource ID of the subnet the endpoint gets its address from.')
param subnetId string

@description('Resource ID of the vault or storage account the endpoint reaches.')
param targetResourceId string

@description('Private-link group of the target: vault, blob, queue or table.')
@allowed([
  'vault'
  'blob'
  'queue'
  'table'
])
param groupId string

@description('Resource ID of the private DNS zone for that group.')
param privateDnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }

  resource dnsZoneGroup 'privateDnsZoneGroups' = {
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: groupId
          properties: {
            privateDnsZoneId: privateDnsZoneId
          }
        }
      ]
    }
  }
}
