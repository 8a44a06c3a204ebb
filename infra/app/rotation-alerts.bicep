// Alerts on the rotator's telemetry in Application Insights (customEvents and customMetrics
// written through OpenTelemetry, see README "Monitoring and alerts"), and the action group
// they notify: email, and optionally a webhook (Teams, PagerDuty, a Logic App).

@description('Prefix of the alert and action group names.')
param namePrefix string

@description('Azure region of the alert rules (the region of the Application Insights component).')
param location string

@description('Tags applied to the action group and the rules.')
param tags object

@description('Name of the Application Insights component the rotator sends telemetry to.')
param applicationInsightsName string

@description('Email addresses the alerts go to.')
param alertEmails array

@description('Optional webhook the alerts are also posted to (common alert schema); empty: email only.')
@secure()
param alertWebhookUrl string = ''

@description('A rotation waiting longer than this many hours for a key to be idle raises an alert.')
@minValue(1)
param waitAlertThresholdInHours int = 24

@description('Days beyond its rotation interval a key may reach before the "key too old" alert fires (the rotator silently stopped).')
@minValue(0)
param keyAgeGraceInDays int = 3

var emailReceivers = [
  for (email, index) in alertEmails: {
    name: 'email-${index}'
    emailAddress: email
    useCommonAlertSchema: true
  }
]
var webhookReceivers = empty(alertWebhookUrl)
  ? []
  : [
      {
        name: 'webhook'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
      }
    ]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Each rule: a KQL query over the rotator's own telemetry; any row is an alert.
var rules = [
  {
    name: 'needs-attention'
    severity: 2
    description: 'A key rotation stopped and needs attention: consumers still use the old key, or the standby key is in use. The reason and what to do are in the row.'
    frequency: 'PT5M'
    window: 'PT15M'
    query: 'customEvents | where name == "RotationEvent.needsAttention" | project timestamp, account = tostring(customDimensions.account), rotationId = tostring(customDimensions.rotationId), reason = tostring(customDimensions.reason), whatToDo = tostring(customDimensions.whatToDo)'
  }
  {
    name: 'rotation-failed'
    severity: 1
    description: 'A key rotation failed. The reason names the fix; re-running the rotation is safe.'
    frequency: 'PT5M'
    window: 'PT15M'
    query: 'customEvents | where name == "RotationEvent.rotationFailed" | project timestamp, account = tostring(customDimensions.account), rotationId = tostring(customDimensions.rotationId), reason = tostring(customDimensions.reason), whatToDo = tostring(customDimensions.whatToDo)'
  }
  {
    name: 'waiting-too-long'
    severity: 3
    description: 'A key rotation has waited longer than ${waitAlertThresholdInHours} h for a key to be idle (consumers slow to move, a stray consumer, or Azure refusing).'
    frequency: 'PT1H'
    window: 'P2D'
    query: 'let waits = customEvents | where name in ("RotationEvent.waitStarted", "RotationEvent.waitEnded") | extend rotationId = tostring(customDimensions.rotationId), wait = tostring(customDimensions.wait), account = tostring(customDimensions.account); waits | where name == "RotationEvent.waitStarted" | join kind=leftanti (waits | where name == "RotationEvent.waitEnded") on rotationId, wait | where timestamp < ago(${waitAlertThresholdInHours}h) | project timestamp, account, rotationId, wait'
  }
  {
    name: 'key-too-old'
    severity: 2
    description: 'A key is older than its rotation interval plus ${keyAgeGraceInDays} days, or the rotator reported no key ages for a day: the rotator has silently stopped.'
    frequency: 'PT6H'
    window: 'P1D'
    query: 'let ages = customMetrics | where name == "rotation.key.age" | extend account = tostring(customDimensions.account), interval = todouble(customDimensions.rotationIntervalInDays) | summarize ageInDays = max(value) by account, interval; let silent = toscalar(customMetrics | where name == "rotation.key.age" | count) == 0; union (ages | where ageInDays > interval + ${keyAgeGraceInDays} | project account, problem = strcat("key is ", tostring(round(ageInDays, 1)), " days old")), (print account = "(every account)", problem = "no key ages reported for a day: the rotation schedule has stopped" | where silent)'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ag'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'keyrotation'
    enabled: true
    emailReceivers: emailReceivers
    webhookReceivers: webhookReceivers
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: 'Cosmos DB key rotation: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        applicationInsights.id
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: false
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

@description('Resource ID of the action group the alerts notify.')
output actionGroupId string = actionGroup.id
