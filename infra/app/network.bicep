// Optional (privateNetworking = true): a virtual network for the Function App's
// outbound traffic and for the private endpoints of its vault and storage, with
// the private DNS zones that make their usual host names resolve to those endpoints.

@description('Name of the virtual network.')
param name string

@description('Azure region of the network (the Function App\'s region).')
param location string

@description('Tags applied to the network and the DNS zones.')
param tags object

@description('Address space of the network (CIDR); the app and the private endpoints each get a /24 of it.')
param addressPrefix string

// One zone per private-link service the app uses, named for this cloud.
var privateDnsZoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  vault: 'privatelink${environment().suffixes.keyvaultDns}'
}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption integrates with a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in items(privateDnsZoneNames): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, index) in items(privateDnsZoneNames): {
    parent: zones[index]
    name: name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: network.id
      }
    }
  }
]

output appSubnetId string = network.properties.subnets[0].id
output privateEndpointSubnetId string = network.properties.subnets[1].id
output blobZoneId string = zones[0].id
output queueZoneId string = zones[1].id
output tableZoneId string = zones[2].id
output vaultZoneId string = zones[3].id
