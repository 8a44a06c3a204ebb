/**
 * Least privilege, checked on the templates without Azure: what the rotator's
 * identity may do is the custom role (the adapters' own action list) on each
 * target account, and a short list of built-in data roles on its own resources.
 */
import { describe, expect, it } from 'vitest';
import { ROTATOR_ROLE_ACTIONS } from '../../src/azure/permissions.js';
import { ROLE_ACTIONS_PATH, renderRoleActions } from '../../scripts/infra-build.js';
import { readFileSync } from 'node:fs';
import { bicepFile, bicepFiles, outputs, property, resources, stringVariables, withoutComments } from './infra-bicep-text.js';

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

describe('the custom rotator role', () => {
  const roleTemplate = bicepFile('infra/app/rotator-role.bicep');

  it('when the adapters\' action list changes, then the role\'s action file must be regenerated (npm run infra:build) to match it exactly', () => {
    const onDisk = readFileSync(ROLE_ACTIONS_PATH, 'utf8');

    expect(JSON.parse(onDisk)).toEqual([...ROTATOR_ROLE_ACTIONS]);
    expect(onDisk).toBe(renderRoleActions(ROTATOR_ROLE_ACTIONS));
  });

  it('when the role is defined, then its actions are that file and nothing else: no wildcard, no data action, no other permission entry', () => {
    const [role] = resources(roleTemplate).filter((resource) => resource.type === 'Microsoft.Authorization/roleDefinitions');
    const text = withoutComments(roleTemplate.text);

    expect(role).toBeDefined();
    expect(text).toContain("var rotatorRoleActions = loadJsonContent('rotator-role-actions.json')");
    expect(role!.body.filter((line) => /^\s+actions: /.test(line))).toEqual(['        actions: rotatorRoleActions']);
    expect(role!.body.filter((line) => /^\s+(notActions|dataActions|notDataActions): /.test(line)).map((line) => line.trim())).toEqual([
      'notActions: []',
      'dataActions: []',
      'notDataActions: []',
    ]);
    expect(ROTATOR_ROLE_ACTIONS.every((action) => !action.includes('*'))).toBe(true);
  });

  it('when a Cosmos DB account is a target, then the identity gets the custom role on that account only', () => {
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
});

describe('role assignments', () => {
  it('when the templates are read, then there are role assignments to check (storage x3, telemetry, vault, Cosmos DB account)', () => {
    expect(roleAssignments).toHaveLength(6);
  });

  it.each(roleAssignments.map(({ file, resource }) => [`${file.path} ${resource.symbol}`, resource] as const))(
    'when %s is deployed twice, then its name is the same deterministic guid(scope, principal, role)',
    (_label, resource) => {
      expect(property(resource, 'name')).toMatch(/^guid\(\w+\.id, principalId, \w+\)$/);
    },
  );

  it.each(roleAssignments.map(({ file, resource }) => [`${file.path} ${resource.symbol}`, file, resource] as const))(
    'when %s is deployed, then it is scoped to one resource declared in the same template, never a resource group or subscription',
    (_label, file, resource) => {
      const scope = property(resource, 'scope');
      const declared = resources(file).map((candidate) => candidate.symbol);

      expect(scope).toBeDefined();
      expect(declared).toContain(scope);
      expect(resource.body.map((line) => line.trim())).toContain("principalType: 'ServicePrincipal'");
    },
  );

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
      const scopeType = resources(file).find((candidate) => candidate.symbol === property(resource, 'scope'))?.type;
      return `${roleId ? ALLOWED_BUILT_IN_ROLES[roleId] : 'custom rotator role'} on ${scopeType}`;
    });

    expect(grants.sort()).toEqual([
      'Key Vault Secrets Officer on Microsoft.KeyVault/vaults',
      'Monitoring Metrics Publisher on Microsoft.Insights/components',
      'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
      'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
      'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
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
