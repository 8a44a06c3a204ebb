/**
 * Least privilege, checked on the compiled templates (the ARM JSON the Bicep CLI
 * builds, evaluated by test/helpers/arm.ts) without Azure: what the rotator's
 * identity may do is the custom account role (the code's action list) on each
 * target account, the custom operation-status role on each subscription holding
 * one, and a short list of built-in data roles on its own resources.
 * (test/integration/adapter-permissions.test.ts checks that the code's lists equal
 * what the adapters are served.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_ROLE_ACTIONS,
  COSMOS_ACTIONS,
  OPERATION_STATUS_ROLE_ACTIONS,
  ROLE_ACTIONS_FILE,
  publishesConnectionStrings,
  rotatorRoleActions,
} from '../../src/azure/permissions.js';
import { loadConfig, settingTargets } from '../../src/config.js';
import { bicepSources } from '../../scripts/bicep-cli.js';
import { ROLE_ACTIONS_PATH, renderRoleActions } from '../../scripts/infra-build.js';
import { bicepAvailable, evaluate, moduleOf, placeholderParameters, resourcesOf, resourceTypeOf, template, type ArmResource, type ArmTemplate } from '../helpers/arm.js';

/** Built-in roles the template may grant, each for a reason the README deployment section gives. */
const ALLOWED_BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '0ad04412-c4d5-4796-b79c-f76d14c8d402': 'Durable Task Data Contributor',
  'd5a91429-5739-47e2-a06b-3470a27159e7': 'EventGrid Data Sender',
};

/** Broad roles that must never appear, whatever the reason. */
const FORBIDDEN_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
  '5bd9cd88-fe45-4216-938b-f97437e15450': 'DocumentDB Account Contributor',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
};

const GUID_LITERAL = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/gi;
const SUBSCRIPTION_SCHEMA = /subscriptionDeploymentTemplate\.json/;
/** The one assignment above resource level: the operation-status role, on a subscription holding target accounts. */
const OPERATION_STATUS_ACCESS = 'app/operation-status-access.bicep';
const ACCOUNT = (subscription: string, name: string): string => `/subscriptions/${subscription}/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/${name}`;
const SUB_A = '00000000-0000-0000-0000-000000000001';
const SUB_B = '00000000-0000-0000-0000-000000000002';

/** What the deployment of main.bicep would name, for these parameters. */
const MAIN_PARAMETERS = { environmentName: 'test', location: 'westeurope', cosmosAccountResourceIds: ACCOUNT(SUB_A, 'orders') };

describe('the custom roles\' action file', () => {
  it('when the code\'s action lists change, then the roles\' action file must be regenerated (npm run infra:build) to match it exactly', () => {
    const onDisk = readFileSync(ROLE_ACTIONS_PATH, 'utf8');

    expect(JSON.parse(onDisk)).toEqual(JSON.parse(JSON.stringify(ROLE_ACTIONS_FILE)));
    expect(onDisk).toBe(renderRoleActions(ROLE_ACTIONS_FILE));
    const everyAction = Object.values(ROLE_ACTIONS_FILE).flat();
    expect(everyAction.every((action) => !action.includes('*'))).toBe(true);
    expect(new Set(everyAction).size).toBe(everyAction.length);
  });
});

describe.runIf(bicepAvailable)('least privilege in the compiled templates', () => {
  // A skipped suite is still collected: without the CLI there is nothing to read.
  if (!bicepAvailable) return;
  const templates = new Map<string, ArmTemplate>(bicepSources().map((path) => [path, template(path)]));
  const roleTemplate = templates.get('app/rotator-role.bicep')!;
  const roleDefinitions = resourcesOf(roleTemplate).filter((resource) => resource.type === 'Microsoft.Authorization/roleDefinitions');
  const roleAssignments = [...templates].flatMap(([path, armTemplate]) =>
    resourcesOf(armTemplate)
      .filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments')
      .map((resource) => ({ path, armTemplate, resource })),
  );
  const evaluated = (armTemplate: ArmTemplate, value: unknown, given: Record<string, unknown> = {}): unknown => evaluate(value, { template: armTemplate, parameters: placeholderParameters(armTemplate, given) });
  const permissionsOf = (role: ArmResource, publishConnectionString: boolean) =>
    evaluated(roleTemplate, role.properties!.permissions, { publishConnectionString }) as Array<Record<string, unknown[]>>;
  const roleIdOf = (armTemplate: ArmTemplate, assignment: ArmResource): string => String(evaluated(armTemplate, assignment.properties!.roleDefinitionId)).split('/').at(-1)!;
  const scopeTypeOf = (armTemplate: ArmTemplate, assignment: ArmResource): string =>
    assignment.scope === undefined ? (SUBSCRIPTION_SCHEMA.test(String((armTemplate as { $schema?: string }).$schema)) ? 'subscription' : 'resourceGroup') : resourceTypeOf(String(evaluated(armTemplate, assignment.scope)));

  describe('the custom rotator roles', () => {
    it('when the roles are compiled, then each has one permission entry, with no wildcard, no data action and no exclusion', () => {
      expect(roleDefinitions).toHaveLength(2);
      for (const role of roleDefinitions) {
        for (const publish of [false, true]) {
          const permissions = permissionsOf(role, publish);
          expect(permissions).toHaveLength(1);
          expect(permissions[0]).toMatchObject({ notActions: [], dataActions: [], notDataActions: [] });
          expect(permissions[0]!.actions!.every((action) => typeof action === 'string' && !action.includes('*'))).toBe(true);
        }
      }
    });

    it('when no target publishes a connection string, then the account role cannot list connection strings', () => {
      const [accountRole] = roleDefinitions;
      const actions = permissionsOf(accountRole!, false)[0]!.actions;

      expect(actions).toEqual([...ACCOUNT_ROLE_ACTIONS]);
      expect(actions).not.toContain(COSMOS_ACTIONS.listConnectionStrings);
      expect(actions).toEqual([...rotatorRoleActions({ publishConnectionString: false })]);
    });

    it('when some target publishes a connection string, then the account role may also list connection strings, and nothing else changes', () => {
      const [accountRole, operationStatusRole] = roleDefinitions;

      expect(permissionsOf(accountRole!, true)[0]!.actions).toEqual([...ACCOUNT_ROLE_ACTIONS, COSMOS_ACTIONS.listConnectionStrings]);
      expect(permissionsOf(accountRole!, true)[0]!.actions).toEqual([...rotatorRoleActions({ publishConnectionString: true })]);
      expect(permissionsOf(operationStatusRole!, true)).toEqual(permissionsOf(operationStatusRole!, false));
    });

    it('when the operation-status role is compiled, then it can only read the status of Cosmos DB operations', () => {
      const actions = permissionsOf(roleDefinitions[1]!, true)[0]!.actions;

      expect(actions).toEqual([...OPERATION_STATUS_ROLE_ACTIONS]);
      for (const action of actions!) expect(action).toBe('Microsoft.DocumentDB/locations/operationsStatus/read');
    });

    it('when the roles are created, then they may be assigned in this subscription and in each subscription holding a target, nowhere else', () => {
      const main = templates.get('main.bicep')!;
      const rotatorRole = moduleOf(main, 'rotatorRole');
      const scopes = evaluate(rotatorRole.properties.parameters.assignableSubscriptionIds!.value, {
        template: main,
        parameters: { ...MAIN_PARAMETERS, cosmosAccountResourceIds: `${ACCOUNT(SUB_B, 'orders')},${ACCOUNT(SUB_B, 'billing')}` },
      });

      expect(scopes).toEqual(['/subscriptions/00000000-0000-0000-0000-0000000000aa', `/subscriptions/${SUB_B}`]);
    });
  });

  describe('which deployments may list connection strings (main.bicep, checked against src/config.ts)', () => {
    const main = templates.get('main.bicep')!;
    const rotatorRole = moduleOf(main, 'rotatorRole');

    // rotationTargetOverrides is what main.bicep writes into ROTATION_TARGETS; the app decides per target from it and PUBLISH_CONNECTION_STRING.
    it.each([
      ['no target publishes (the default)', [{ resourceId: ACCOUNT(SUB_A, 'orders-db') }], false],
      ['PUBLISH_CONNECTION_STRING is true', [{ resourceId: ACCOUNT(SUB_A, 'orders-db') }, { resourceId: ACCOUNT(SUB_A, 'billing-db') }], true],
      ['one override sets publishConnectionString', [{ resourceId: ACCOUNT(SUB_A, 'orders-db') }, { resourceId: ACCOUNT(SUB_A, 'billing-db'), publishConnectionString: true }], false],
      ['one override names a connection-string secret', [{ resourceId: ACCOUNT(SUB_A, 'orders-db') }, { resourceId: ACCOUNT(SUB_A, 'billing-db'), connectionStringSecretName: 'billing-connection' }], false],
      ['every target opts out although PUBLISH_CONNECTION_STRING is true', [{ resourceId: ACCOUNT(SUB_A, 'orders-db'), publishConnectionString: false }], true],
      ['one target of two opts out of PUBLISH_CONNECTION_STRING', [{ resourceId: ACCOUNT(SUB_A, 'orders-db'), publishConnectionString: false }, { resourceId: ACCOUNT(SUB_A, 'billing-db') }], true],
    ] as const)('when %s, then the role may list connection strings exactly when the app would publish one', (_case, rotationTargets, publishConnectionString) => {
      const config = loadConfig({
        KEY_VAULT_URL: 'https://kv-abc.vault.azure.net',
        ROTATION_TARGETS: JSON.stringify(rotationTargets),
        PUBLISH_CONNECTION_STRING: String(publishConnectionString),
      });
      const deployed = evaluate(rotatorRole.properties.parameters.publishConnectionString!.value, {
        template: main,
        parameters: { ...MAIN_PARAMETERS, cosmosAccountResourceIds: '', rotationTargetOverrides: rotationTargets, publishConnectionString },
      });

      expect(deployed).toBe(publishesConnectionStrings(settingTargets(config)));
    });
  });

  describe('role assignments', () => {
    it('when the templates are compiled, then there are role assignments to check (storage x3, the targets container, telemetry, vault, Cosmos DB account, operation status, Durable Task Scheduler, rotation events topic)', () => {
      expect(roleAssignments).toHaveLength(10);
    });

    it('when an assignment is deployed twice, then its name is the same deterministic guid(scope, principal, role), and no template reads the clock or randomness', () => {
      for (const { path, resource } of roleAssignments) expect(String(resource.name), path).toMatch(/^\[guid\((?:resourceId\(.+\)|subscription\(\)\.id), parameters\('principalId'\), variables\('\w+'\)\)\]$/);
      for (const [path, armTemplate] of templates) expect(JSON.stringify(armTemplate), path).not.toMatch(/\b(newGuid|utcNow)\(/);
    });

    it('when a resource-level assignment is deployed, then it is scoped to one resource of the rotator, never a resource group or subscription, and names a service principal', () => {
      for (const { path, armTemplate, resource } of roleAssignments.filter((entry) => entry.path !== OPERATION_STATUS_ACCESS)) {
        // One resource, or one child of a resource (the targets container of the app's storage account).
        expect(resourceTypeOf(String(evaluated(armTemplate, resource.scope))), path).toMatch(/^Microsoft\.\w+(\/\w+)+$/);
        expect(resource.properties!.principalType, path).toBe('ServicePrincipal');
      }
    });

    it('when the one subscription-level assignment is deployed, then it grants the operation-status role and nothing else', () => {
      const subscriptionLevel = roleAssignments.filter(({ armTemplate, resource }) => scopeTypeOf(armTemplate, resource) === 'subscription');

      expect(subscriptionLevel.map((entry) => entry.path)).toEqual([OPERATION_STATUS_ACCESS]);
      const [{ armTemplate, resource }] = subscriptionLevel as [(typeof subscriptionLevel)[number]];
      expect(evaluated(armTemplate, resource.properties!.roleDefinitionId)).toBe(
        '/subscriptions/00000000-0000-0000-0000-0000000000aa/providers/Microsoft.Authorization/roleDefinitions/param-operationStatusRoleDefinitionName',
      );
      expect(resource.properties!.principalType).toBe('ServicePrincipal');
    });

    it('when targets live in several subscriptions, then main.bicep deploys the operation-status assignment once in each of them', () => {
      const main = templates.get('main.bicep')!;
      const access = moduleOf(main, 'operationStatusAccess');
      const parameters = { ...MAIN_PARAMETERS, cosmosAccountResourceIds: `${ACCOUNT(SUB_A, 'orders')}, ${ACCOUNT(SUB_B, 'billing')},${ACCOUNT(SUB_A, 'audit')}` };
      const count = evaluate(access.copy!.count, { template: main, parameters }) as number;
      const subscriptions = Array.from({ length: count }, (_unused, copyIndex) => evaluate(access.subscriptionId, { template: main, parameters, copyIndex }));

      expect(subscriptions).toEqual([SUB_A, SUB_B]);
      expect(access.properties.parameters.operationStatusRoleDefinitionName!.value).toBe("[reference('rotatorRole').outputs.operationStatusRoleDefinitionName.value]");
    });

    it('when a Cosmos DB account is a target, then the identity gets the account role in the account\'s own subscription and group, on that account only', () => {
      const main = templates.get('main.bicep')!;
      const access = moduleOf(main, 'cosmosAccountAccess');
      const parameters = { ...MAIN_PARAMETERS, cosmosAccountResourceIds: ACCOUNT(SUB_B, 'billing') };
      const [assignment] = roleAssignments.filter((entry) => entry.path === 'app/cosmos-account-access.bicep');

      expect(evaluate(access.copy!.count, { template: main, parameters })).toBe(1);
      expect([access.subscriptionId, access.resourceGroup, access.properties.parameters.accountName!.value].map((value) => evaluate(value, { template: main, parameters, copyIndex: 0 }))).toEqual([SUB_B, 'rg-data', 'billing']);
      expect(evaluated(assignment!.armTemplate, assignment!.resource.scope, { accountName: 'billing' })).toBe(
        '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-test/providers/Microsoft.DocumentDB/databaseAccounts/billing',
      );
      expect(roleIdOf(assignment!.armTemplate, assignment!.resource)).toBe('param-rotatorRoleDefinitionName');
    });

    it('when a GUID appears in a template, then it is a named variable holding one of the allowed built-in roles', () => {
      for (const [path, armTemplate] of templates) {
        const named = Object.values(armTemplate.variables ?? {}).filter((value): value is string => typeof value === 'string').map((value) => value.toLowerCase());
        for (const id of [...JSON.stringify(armTemplate).matchAll(GUID_LITERAL)].map((match) => match[1]!.toLowerCase())) {
          expect(Object.keys(FORBIDDEN_ROLES), `${path} grants ${FORBIDDEN_ROLES[id]}`).not.toContain(id);
          expect(Object.keys(ALLOWED_BUILT_IN_ROLES), `${path} uses an unexpected GUID ${id}`).toContain(id);
          if (path !== 'main.bicep') expect(named, `${path}: ${id} must be a named variable`).toContain(id);
        }
      }
    });

    it('when the templates are compiled, then each allowed built-in role is granted exactly where the README deployment section says', () => {
      const grants = roleAssignments.map(({ path, armTemplate, resource }) => {
        const roleId = roleIdOf(armTemplate, resource);
        const role = ALLOWED_BUILT_IN_ROLES[roleId] ?? (path === OPERATION_STATUS_ACCESS ? 'custom operation-status role' : 'custom rotator role');
        return `${role} on ${scopeTypeOf(armTemplate, resource)}`;
      });

      expect(grants.sort()).toEqual([
        'Durable Task Data Contributor on Microsoft.DurableTask/schedulers',
        'EventGrid Data Sender on Microsoft.EventGrid/topics',
        'Key Vault Secrets Officer on Microsoft.KeyVault/vaults',
        'Monitoring Metrics Publisher on Microsoft.Insights/components',
        'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
        'Storage Blob Data Reader on Microsoft.Storage/storageAccounts/blobServices/containers',
        'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
        'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
        'custom operation-status role on subscription',
        'custom rotator role on Microsoft.DocumentDB/databaseAccounts',
      ]);
    });
  });

  describe('no keys or secrets', () => {
    it('when any template is compiled, then it calls no list*() function (listKeys, listConnectionStrings, listAccountSas...), holds no account key and has no secure parameter but a webhook URL', () => {
      for (const [path, armTemplate] of templates) {
        const text = JSON.stringify(armTemplate);
        expect(text, path).not.toMatch(/\blist[A-Za-z]*\(/);
        expect(text, path).not.toMatch(/AccountKey=|SharedAccessSignature=|(primary|secondary)(Readonly)?MasterKey/i);
        // The one exception: a webhook URL (alerts, a consumer's endpoint) may embed the receiver's own key; Azure and the Bicep linter treat it as a secure input.
        const secure = Object.entries(armTemplate.parameters ?? {}).filter(([, param]) => param.type === 'securestring').map(([name]) => name);
        expect(secure.filter((name) => !/WebhookUrl$/.test(name)), path).toEqual([]);
      }
    });

    it('when outputs are written to the azd environment, then none carries a key, secret or connection string', () => {
      for (const [path, armTemplate] of templates) {
        for (const [name, output] of Object.entries(armTemplate.outputs ?? {})) {
          // String literals (a role's GUID seed) are left out: what is checked is what the output reads.
          expect(`${name} = ${JSON.stringify(output.value).replace(/'[^']*'/g, "''")}`, path).not.toMatch(/secret|password|connectionstring|instrumentationkey|\bkeys?\b|_KEYS?\b/i);
        }
      }
    });

    it('when storage and telemetry are created, then shared keys and local authentication are off, so nothing key-based would work anyway', () => {
      const [storage] = resourcesOf(templates.get('app/storage.bicep')!).filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts');
      const [insights] = resourcesOf(templates.get('app/monitoring.bicep')!).filter((resource) => resource.type === 'Microsoft.Insights/components');

      expect(storage!.properties).toMatchObject({ allowSharedKeyAccess: false, allowBlobPublicAccess: false });
      // The App Insights connection string names the component; with local auth off it cannot send telemetry alone.
      expect(insights!.properties).toMatchObject({ DisableLocalAuth: true });
    });

    it('when a new vault is created, then it uses RBAC authorization with soft delete and purge protection', () => {
      const [vault] = resourcesOf(templates.get('app/key-vault.bicep')!).filter((resource) => resource.type === 'Microsoft.KeyVault/vaults');

      expect(vault!.properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true, enablePurgeProtection: true });
      expect(vault!.properties).not.toHaveProperty('accessPolicies');
    });
  });
});
