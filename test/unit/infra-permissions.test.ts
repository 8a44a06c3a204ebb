/**
 * Least privilege, checked on the templates without Azure: what the rotator's
 * identity may do is the custom account role (the code's action list) on each
 * target account, the custom operation-status role on each subscription holding
 * one, and a short list of built-in data roles on its own resources.
 * (test/integration/adapter-permissions.test.ts checks that the custom roles equal
 * what the adapters are served.)
 */
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_ROLE_ACTIONS,
  COSMOS_ACTIONS,
  OPERATION_STATUS_ROLE_ACTIONS,
  ROLE_ACTIONS_FILE,
  publishesConnectionStrings,
  rotatorRoleActions,
} from '../../src/azure/permissions.js';
import { loadConfig } from '../../src/config.js';
import { ROLE_ACTIONS_PATH, renderRoleActions } from '../../scripts/infra-build.js';
import { readFileSync } from 'node:fs';
import { bicepFile, bicepFiles, deployedRotatorRoles, outputs, property, resources, stringVariables, withoutComments } from './infra-bicep-text.js';

/** Built-in roles the template may grant, each for a reason the README deployment section gives. */
const ALLOWED_BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
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

const GUID_LITERAL = /'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/gi;

const roleAssignments = bicepFiles().flatMap((file) =>
  resources(file)
    .filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments')
    .map((resource) => ({ file, resource })),
);

/** The one assignment above resource level: the operation-status role, on a subscription holding target accounts. */
const OPERATION_STATUS_ACCESS = 'infra/app/operation-status-access.bicep';

const isSubscriptionTemplate = (text: string): boolean => /^targetScope = 'subscription'$/m.test(withoutComments(text));

describe('the custom rotator roles', () => {
  const roleTemplate = bicepFile('infra/app/rotator-role.bicep');
  const roleDefinitions = resources(roleTemplate).filter((resource) => resource.type === 'Microsoft.Authorization/roleDefinitions');

  it('when the code\'s action lists change, then the roles\' action file must be regenerated (npm run infra:build) to match it exactly', () => {
    const onDisk = readFileSync(ROLE_ACTIONS_PATH, 'utf8');

    expect(JSON.parse(onDisk)).toEqual(JSON.parse(JSON.stringify(ROLE_ACTIONS_FILE)));
    expect(onDisk).toBe(renderRoleActions(ROLE_ACTIONS_FILE));
  });

  it('when the roles are defined, then their actions come from that file and nothing else: no wildcard, no data action, no other permission entry', () => {
    const text = withoutComments(roleTemplate.text);

    expect(text).toContain("var roleActions = loadJsonContent('rotator-role-actions.json')");
    expect(roleDefinitions.map((role) => role.symbol)).toEqual(['rotatorRole', 'operationStatusRole']);
    for (const role of roleDefinitions) {
      expect(role.body.filter((line) => /^\s+actions: /.test(line)).every((line) => /actions: [\w.?:,() [\]]+$/.test(line) && !line.includes("'"))).toBe(true);
      expect(role.body.filter((line) => /^\s+(notActions|dataActions|notDataActions): /.test(line)).map((line) => line.trim())).toEqual([
        'notActions: []',
        'dataActions: []',
        'notDataActions: []',
      ]);
    }
    const everyAction = Object.values(ROLE_ACTIONS_FILE).flat();
    expect(everyAction.every((action) => !action.includes('*'))).toBe(true);
    expect(new Set(everyAction).size).toBe(everyAction.length);
  });

  it('when no target publishes a connection string, then the account role cannot list connection strings', () => {
    const deployed = deployedRotatorRoles({ publishConnectionString: false });

    expect(deployed.accountActions).toEqual([...ACCOUNT_ROLE_ACTIONS]);
    expect(deployed.accountActions).not.toContain(COSMOS_ACTIONS.listConnectionStrings);
    expect(deployed.accountActions).toEqual([...rotatorRoleActions({ publishConnectionString: false })]);
  });

  it('when some target publishes a connection string, then the account role may also list connection strings, and nothing else changes', () => {
    const deployed = deployedRotatorRoles({ publishConnectionString: true });

    expect(deployed.accountActions).toEqual([...ACCOUNT_ROLE_ACTIONS, COSMOS_ACTIONS.listConnectionStrings]);
    expect(deployed.accountActions).toEqual([...rotatorRoleActions({ publishConnectionString: true })]);
    expect(deployed.operationStatusActions).toEqual(deployedRotatorRoles({ publishConnectionString: false }).operationStatusActions);
  });

  it('when the operation-status role is defined, then it can only read the status of Cosmos DB operations', () => {
    const { operationStatusActions } = deployedRotatorRoles({ publishConnectionString: true });

    expect(operationStatusActions).toEqual([...OPERATION_STATUS_ROLE_ACTIONS]);
    for (const action of operationStatusActions) expect(action).toMatch(/^Microsoft\.DocumentDB\/locations\/operationsStatus\/read$/);
  });

  it('when a Cosmos DB account is a target, then the identity gets the account role on that account only', () => {
    const access = bicepFile('infra/app/cosmos-account-access.bicep');
    const [assignment] = resources(access).filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments');
    const [account] = resources(access).filter((resource) => resource.type === 'Microsoft.DocumentDB/databaseAccounts');

    expect(account?.existing).toBe(true);
    expect(property(assignment!, 'scope')).toBe(account!.symbol);
    expect(assignment!.body.join('\n')).toContain('roleDefinitionId: rotatorRoleId');
    expect(withoutComments(access.text)).toContain(
      "var rotatorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', rotatorRoleDefinitionName)",
    );
  });

  it('when targets live in several subscriptions, then the operation-status role is assigned once on each of them and nowhere else', () => {
    const main = withoutComments(bicepFile('infra/main.bicep').text);

    expect(main).toContain("var targetSubscriptionGuids = union(map(targetAccountIds, id => toLower(split(id, '/')[2])), [])");
    expect(main).toMatch(/module operationStatusAccess 'app\/operation-status-access\.bicep' = \[\n\s+for subscriptionGuid in targetSubscriptionGuids: \{\n.*\n\s+scope: subscription\(subscriptionGuid\)\n/);
    expect(main).toContain('operationStatusRoleDefinitionName: rotatorRole.outputs.operationStatusRoleDefinitionName');
  });
});

describe('which deployments may list connection strings (main.bicep, checked against src/config.ts)', () => {
  const main = withoutComments(bicepFile('infra/main.bicep').text);
  const rule = /^var connectionStringsPublished = !empty\(filter\(rotationTargets, (\w+) => ([\w.?()!=| ]+)\)\)$/m.exec(main);
  /** main.bicep's own per-target predicate, run as JavaScript: Bicep's `.?` is JavaScript's `?.`, and `??`, `||`, `!=` null mean the same. */
  const bicepPredicate = rule ? (new Function(rule[1]!, 'publishConnectionString', `return ${rule[2]!.replaceAll('.?', '?.')};`) as (target: object, publish: boolean) => boolean) : undefined;
  const ACCOUNT = (name: string): string => `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/${name}`;

  it('when the rotator role module is deployed, then its publishConnectionString is the rule computed over every rotation target', () => {
    expect(bicepPredicate).toBeDefined();
    expect(main).toMatch(/module rotatorRole 'app\/rotator-role\.bicep' = \{\n(?: {2}.*\n)*? {4}publishConnectionString: connectionStringsPublished\n/);
  });

  // rotationTargets is what main.bicep writes into ROTATION_TARGETS; the app decides per target from it and PUBLISH_CONNECTION_STRING.
  it.each([
    ['no target publishes (the default)', [{ resourceId: ACCOUNT('orders-db') }], false],
    ['PUBLISH_CONNECTION_STRING is true', [{ resourceId: ACCOUNT('orders-db') }, { resourceId: ACCOUNT('billing-db') }], true],
    ['one override sets publishConnectionString', [{ resourceId: ACCOUNT('orders-db') }, { resourceId: ACCOUNT('billing-db'), publishConnectionString: true }], false],
    ['one override names a connection-string secret', [{ resourceId: ACCOUNT('orders-db') }, { resourceId: ACCOUNT('billing-db'), connectionStringSecretName: 'billing-connection' }], false],
    ['every target opts out although PUBLISH_CONNECTION_STRING is true', [{ resourceId: ACCOUNT('orders-db'), publishConnectionString: false }], true],
    ['one target of two opts out of PUBLISH_CONNECTION_STRING', [{ resourceId: ACCOUNT('orders-db'), publishConnectionString: false }, { resourceId: ACCOUNT('billing-db') }], true],
  ] as const)('when %s, then the role may list connection strings exactly when the app would publish one', (_case, rotationTargets, publishConnectionString) => {
    const config = loadConfig({
      KEY_VAULT_URL: 'https://kv-abc.vault.azure.net',
      ROTATION_TARGETS: JSON.stringify(rotationTargets),
      PUBLISH_CONNECTION_STRING: String(publishConnectionString),
    });
    const bicepDecides = rotationTargets.some((target) => bicepPredicate!(target, publishConnectionString));

    expect(bicepDecides).toBe(publishesConnectionStrings(config.targets));
  });
});

describe('role assignments', () => {
  it('when the templates are read, then there are role assignments to check (storage x3, telemetry, vault, Cosmos DB account, operation status)', () => {
    expect(roleAssignments).toHaveLength(7);
  });

  it.each(roleAssignments.map(({ file, resource }) => [`${file.path} ${resource.symbol}`, resource] as const))(
    'when %s is deployed twice, then its name is the same deterministic guid(scope, principal, role)',
    (_label, resource) => {
      expect(property(resource, 'name')).toMatch(/^guid\((?:\w+\.id|subscription\(\)\.id), principalId, \w+\)$/);
    },
  );

  it.each(roleAssignments.filter(({ file }) => file.path !== OPERATION_STATUS_ACCESS).map(({ file, resource }) => [`${file.path} ${resource.symbol}`, file, resource] as const))(
    'when %s is deployed, then it is scoped to one resource declared in the same template, never a resource group or subscription',
    (_label, file, resource) => {
      const scope = property(resource, 'scope');
      const declared = resources(file).map((candidate) => candidate.symbol);

      expect(scope).toBeDefined();
      expect(declared).toContain(scope);
      expect(resource.body.map((line) => line.trim())).toContain("principalType: 'ServicePrincipal'");
    },
  );

  it('when the one subscription-level assignment is deployed, then it grants the operation-status role and nothing else', () => {
    const file = bicepFile(OPERATION_STATUS_ACCESS);
    const assignments = roleAssignments.filter((entry) => entry.file.path === OPERATION_STATUS_ACCESS);
    const subscriptionLevel = roleAssignments.filter(({ file: candidate, resource }) => property(resource, 'scope') === undefined && isSubscriptionTemplate(candidate.text));

    expect(subscriptionLevel.map((entry) => entry.file.path)).toEqual([OPERATION_STATUS_ACCESS]);
    expect(assignments).toHaveLength(1);
    expect(assignments[0]!.resource.body.map((line) => line.trim())).toEqual(
      expect.arrayContaining(['roleDefinitionId: operationStatusRoleId', "principalType: 'ServicePrincipal'"]),
    );
    expect(withoutComments(file.text)).toContain(
      "var operationStatusRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', operationStatusRoleDefinitionName)",
    );
  });

  it('when any template is read, then nothing makes a name from the clock or randomness (newGuid, utcNow)', () => {
    for (const file of bicepFiles()) {
      expect(withoutComments(file.text), file.path).not.toMatch(/\b(newGuid|utcNow)\s*\(/);
    }
  });

  it('when a role definition ID appears in a template, then it is a named variable holding one of the allowed built-in roles', () => {
    for (const file of bicepFiles()) {
      const text = withoutComments(file.text);
      const literals = [...text.matchAll(GUID_LITERAL)].map((match) => match[1]!.toLowerCase());
      const named = stringVariables(file);

      for (const id of literals) {
        expect(Object.keys(FORBIDDEN_ROLES), `${file.path} grants ${FORBIDDEN_ROLES[id]}`).not.toContain(id);
        expect(Object.keys(ALLOWED_BUILT_IN_ROLES), `${file.path} uses an unexpected GUID ${id}`).toContain(id);
        expect([...named.values()].map((value) => value.toLowerCase()), `${file.path}: ${id} must be a named variable`).toContain(id);
      }
    }
  });

  it('when the templates are read, then each allowed built-in role is granted exactly where the README deployment section says', () => {
    const grants = roleAssignments.map(({ file, resource }) => {
      const roleVariable = /roleDefinitionId: subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\)/.exec(resource.body.join('\n'))?.[1];
      const roleId = roleVariable ? stringVariables(file).get(roleVariable) : undefined;
      const scopeType = resources(file).find((candidate) => candidate.symbol === property(resource, 'scope'))?.type ?? (isSubscriptionTemplate(file.text) ? 'subscription' : 'resource group');
      const custom = file.path === OPERATION_STATUS_ACCESS ? 'custom operation-status role' : 'custom rotator role';
      return `${roleId ? ALLOWED_BUILT_IN_ROLES[roleId] : custom} on ${scopeType}`;
    });

    expect(grants.sort()).toEqual([
      'Key Vault Secrets Officer on Microsoft.KeyVault/vaults',
      'Monitoring Metrics Publisher on Microsoft.Insights/components',
      'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
      'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
      'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
      'custom operation-status role on subscription',
      'custom rotator role on Microsoft.DocumentDB/databaseAccounts',
    ]);
  });
});

describe('no keys or secrets', () => {
  it('when any template is read, then it calls no list*() function (listKeys, listConnectionStrings, listAccountSas...) and holds no account key', () => {
    for (const file of bicepFiles()) {
      const text = withoutComments(file.text);
      expect(text, file.path).not.toMatch(/\blist[A-Za-z]*\s*\(/);
      expect(text, file.path).not.toMatch(/AccountKey=|SharedAccessSignature=|(primary|secondary)(Readonly)?MasterKey/i);
      expect(text, file.path).not.toMatch(/@secure\(\)/);
    }
  });

  it('when outputs are written to the azd environment, then none carries a key, secret or connection string', () => {
    for (const file of bicepFiles()) {
      for (const output of outputs(file)) {
        expect(`${output.name} = ${output.value}`, file.path).not.toMatch(/secret|password|connectionstring|instrumentationkey|\bkeys?\b|_KEYS?\b/i);
      }
    }
  });

  it('when storage and telemetry are created, then shared keys and local authentication are off, so nothing key-based would work anyway', () => {
    const [storage] = resources(bicepFile('infra/app/storage.bicep')).filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts');
    const [insights] = resources(bicepFile('infra/app/monitoring.bicep')).filter((resource) => resource.type === 'Microsoft.Insights/components');

    expect(storage!.body).toContain('    allowSharedKeyAccess: false');
    expect(storage!.body).toContain('    allowBlobPublicAccess: false');
    // The App Insights connection string names the component; with local auth off it cannot send telemetry alone.
    expect(insights!.body).toContain('    DisableLocalAuth: true');
  });

  it('when a new vault is created, then it uses RBAC authorization with soft delete and purge protection', () => {
    const [vault] = resources(bicepFile('infra/app/key-vault.bicep')).filter((resource) => resource.type === 'Microsoft.KeyVault/vaults');

    expect(vault!.body).toEqual(expect.arrayContaining(['    enableRbacAuthorization: true', '    enableSoftDelete: true', '    enablePurgeProtection: true']));
    expect(vault!.body.join('\n')).not.toMatch(/accessPolicies/);
  });
});
