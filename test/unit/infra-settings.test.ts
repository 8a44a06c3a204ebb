/**
 * The app settings the compiled templates deploy (ARM JSON, evaluated by
 * test/helpers/arm.ts), the settings src/config.ts reads and the local sample
 * name the same settings, with the same defaults, and a deployed app would pass
 * its own start-up validation.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, SETTING_NAMES, loadConfig, settingTargets } from '../../src/config.js';
import { bicepSources } from '../../scripts/bicep-cli.js';
import { TEST_DEPLOYMENT, bicepAvailable, evaluate, moduleOf, moduleParameters, placeholderParameters, resourcesOf, template, type ArmTemplate } from '../helpers/arm.js';
import { REPO_ROOT, readRepoFile, readmeSection } from '../helpers/repo-files.js';

const ACCOUNT_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/orders';
/** What azd passes for the required parameters; every other parameter keeps its default. */
const REQUIRED_PARAMETERS = { environmentName: 'test', location: 'westeurope', cosmosAccountResourceIds: ACCOUNT_ID };
const IDENTITY_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
/** What the modules' outputs are in Azure, as reference() returns them. */
const MODULE_OUTPUTS: Record<string, Record<string, unknown>> = {
  identity: { id: '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x', clientId: IDENTITY_CLIENT_ID, principalId: '99999999-0000-0000-0000-000000000000' },
  keyVaultAccess: { vaultUri: 'https://kv-abc.vault.azure.net/', rbacAuthorizationEnabled: true },
  storage: { id: '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Storage/storageAccounts/stabc', name: 'stabc', blobEndpoint: 'https://stabc.blob.core.windows.net/' },
  monitoring: { name: 'appi-abc' },
  network: { appSubnetId: '/subnets/app', privateEndpointSubnetId: '/subnets/private-endpoints', blobZoneId: '/zones/blob', queueZoneId: '/zones/queue', tableZoneId: '/zones/table', vaultZoneId: '/zones/vault' },
  durableTaskScheduler: { endpoint: 'https://dts-abc.westeurope.durabletask.io', taskHubName: 'cosmoskeyrotation' },
  rotatorRole: { roleDefinitionName: 'r', operationStatusRoleDefinitionName: 'o' },
  functionApp: { name: 'func-abc', uri: 'https://func-abc.azurewebsites.net' },
  rotationEvents: { endpoint: 'https://evgt-abc.westeurope-1.eventgrid.azure.net/api/events', id: '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.EventGrid/topics/evgt-abc' },
};
const references = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...Object.fromEntries(Object.entries(MODULE_OUTPUTS).map(([symbol, outputs]) => [symbol, { outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value }])) }])),
  ...extra,
});

/**
 * Read by the Functions host, never by src/config.ts: identity-based AzureWebJobsStorage
 * (Durable Functions included) and identity-based Application Insights.
 */
const HOST_ONLY_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Read by src/config.ts but only meaningful against the local emulator: left unset in Azure. */
const LOCAL_ONLY_CONFIG_SETTINGS = ['EMULATOR_CA_CERT_PATH'];

/**
 * In local.settings.sample.json for Core Tools only: Azurite's connection string (Azure uses the
 * identity-based AzureWebJobsStorage__* settings) and the worker runtime (Flex Consumption takes it
 * from functionAppConfig.runtime, and refuses it as an app setting).
 */
const LOCAL_ONLY_HOST_SETTINGS = ['AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME'];

/** Settings Flex Consumption rejects or ignores (configured elsewhere), or that would hold a storage key. */
const NOT_ON_FLEX_CONSUMPTION = [
  'AzureWebJobsStorage',
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
];

const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe.runIf(bicepAvailable)('the compiled templates', () => {
  // A skipped suite is still collected: without the CLI there is nothing to read.
  if (!bicepAvailable) return;
  const main = template('main.bicep');
  const functionAppTemplate = template('app/function-app.bicep');
  const functionAppModule = moduleOf(main, 'functionApp');

  /** The settings the app's own src/config.ts reads, as main.bicep passes them to the Function App module. */
  const mainScope = (parameters: Record<string, unknown> = {}) => ({ template: main, parameters: { ...REQUIRED_PARAMETERS, ...parameters }, deployment: { ...TEST_DEPLOYMENT, references: references() } });
  const rotationAppSettings = (parameters: Record<string, unknown> = {}): Record<string, string> => moduleParameters(functionAppModule, mainScope(parameters)).appSettings as Record<string, string>;

  /** Every app setting the Function App gets: the module's appsettings resource, evaluated with what main.bicep passes it. */
  const deployedAppSettings = (parameters: Record<string, unknown> = {}): Record<string, string> => {
    const given = moduleParameters(functionAppModule, mainScope(parameters));
    const settings = resourcesOf(functionAppTemplate).find((resource) => resource.type === 'Microsoft.Web/sites/config' && String(resource.name).includes("'appsettings'"));
    const insightsId = `/subscriptions/${TEST_DEPLOYMENT.subscriptionId}/resourceGroups/${TEST_DEPLOYMENT.resourceGroup}/providers/Microsoft.Insights/components/${String(given.applicationInsightsName)}`;
    return evaluate(settings!.properties, {
      template: functionAppTemplate,
      parameters: given,
      deployment: { ...TEST_DEPLOYMENT, references: { [insightsId]: { ConnectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope.in.applicationinsights.azure.com/' } } },
    }) as Record<string, string>;
  };

  describe('app settings: templates, src/config.ts and local.settings.sample.json', () => {
    it('when the app is deployed, then it gets every setting src/config.ts reads, except the local-emulator ones', () => {
      const expected = SETTING_NAMES.filter((name) => !LOCAL_ONLY_CONFIG_SETTINGS.includes(name));

      expect(sorted(Object.keys(rotationAppSettings()))).toEqual(sorted(expected));
    });

    it('when the app is deployed, then the host settings are exactly the identity-based storage and telemetry ones', () => {
      const hostSettings = Object.keys(deployedAppSettings()).filter((name) => !SETTING_NAMES.includes(name));

      expect(sorted(hostSettings)).toEqual(sorted(HOST_ONLY_SETTINGS));
    });

    it('when the app runs on Flex Consumption, then no setting it refuses or that holds a storage key is deployed', () => {
      const deployed = deployedAppSettings();

      expect(Object.keys(deployed).filter((name) => NOT_ON_FLEX_CONSUMPTION.includes(name))).toEqual([]);
      expect(Object.values(deployed).join('\n')).not.toMatch(/AccountKey=|SharedAccessSignature=/);
    });

    it('when host.json or a trigger names a %SETTING%, then the deployment sets it (the host would not start otherwise)', () => {
      const sources = [readRepoFile('host.json'), ...listFunctionSources().map((path) => readRepoFile(path))];
      const referenced = new Set(sources.flatMap((text) => [...text.matchAll(/%([A-Za-z_][A-Za-z0-9_]*)%/g)].map((match) => match[1]!)));
      const deployed = Object.keys(deployedAppSettings());

      expect(referenced.size).toBeGreaterThan(0);
      for (const name of referenced) expect(deployed, `%${name}%`).toContain(name);
    });

    it('when a setting keeps its default, then the template deploys the default src/config.ts documents, and azd fills the parameter with the same default', () => {
      const deployed = rotationAppSettings();
      const azdParameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
      const appSettings = functionAppModule.properties.parameters.appSettings!.value as Record<string, string>;
      const checked: string[] = [];

      for (const spec of Object.values(SETTINGS)) {
        // Settings fed by a parameter of main.bicep; the others are decided by the template (ARM_ENDPOINT, AZURE_CREDENTIAL...).
        const expression = /^\[(?:string\(parameters\('(\w+)'\)\)|parameters\('(\w+)'\)|if\(parameters\('(\w+)'\), 'true', 'false'\))\]$/.exec(appSettings[spec.env] ?? '');
        const paramName = expression?.slice(1).find(Boolean);
        if (!('default' in spec) || spec.default === undefined || !paramName) continue;
        checked.push(spec.env);
        // ARM's string() writes a boolean as True/False; the app's parser takes either case.
        expect(deployed[spec.env]!.toLowerCase(), spec.env).toBe(spec.default.toLowerCase());
        const azdValue = azdParameters.parameters[paramName]?.value;
        // azd fills the parameter from the environment variable named like the app setting, with the same default.
        if (azdValue !== undefined) expect(azdValue, `${spec.env}: infra/main.parameters.json`).toBe(`\${${spec.env}=${spec.default}}`);
      }
      expect(checked.length).toBeGreaterThanOrEqual(18);
    });

    it('when the deployed app starts with the settings the templates write (defaults), then src/config.ts accepts them', () => {
      const config = loadConfig(deployedAppSettings());

      expect(config.azureCredential).toBe('managed-identity');
      expect(config.azureClientId).toBe(IDENTITY_CLIENT_ID);
      expect(config.armEndpoint).toBe('https://management.azure.com');
      expect(config.keyVaultUrl).toBe('https://kv-abc.vault.azure.net');
      expect(settingTargets(config).map((target) => target.accountId)).toEqual([ACCOUNT_ID]);
      expect(config.emulatorCaCert).toBeNull();
    });
  });

  describe('options: Entra ID, private networking, Durable Task Scheduler (off by default)', () => {
    const moduleNamed = (symbol: string) => moduleOf(main, symbol);
    const deployed = (symbol: string, parameters: Record<string, unknown> = {}): boolean => Boolean(evaluate(moduleNamed(symbol).condition ?? true, mainScope(parameters)));
    const siteConfig = (name: string) => resourcesOf(functionAppTemplate).find((resource) => resource.type === 'Microsoft.Web/sites/config' && String(resource.name).includes(`'${name}'`))!;
    const inFunctionApp = (value: unknown, parameters: Record<string, unknown> = {}) => evaluate(value, { template: functionAppTemplate, parameters: moduleParameters(functionAppModule, mainScope(parameters)) });

    it('when no option is set, then nothing of them is deployed and the vault and storage keep their public endpoints', () => {
      expect(['network', 'storageEndpoint', 'keyVaultEndpoint', 'durableTaskScheduler'].map((symbol) => deployed(symbol))).toEqual([false, false, false, false]);
      expect(moduleParameters(moduleNamed('storage'), mainScope()).publicNetworkAccess).toBe('Enabled');
      expect(moduleParameters(moduleNamed('keyVault'), mainScope()).publicNetworkAccess).toBe('Enabled');
      const site = resourcesOf(functionAppTemplate).find((resource) => resource.type === 'Microsoft.Web/sites')!;
      expect((inFunctionApp(site.properties) as { virtualNetworkSubnetId: unknown }).virtualNetworkSubnetId).toBeNull();
      expect(inFunctionApp(siteConfig('authsettingsV2').condition)).toBe(false);
      expect(deployedAppSettings()).toMatchObject({ OPERATOR_API_AUTH: 'function-key', DURABLE_TASK_HUB_NAME: 'cosmoskeyrotation' });
      expect(Object.keys(deployedAppSettings()).filter((name) => /durableTask|DURABLE_TASK_SCHEDULER/.test(name))).toEqual([]);
    });

    it('when an app registration is given, then App Service authentication requires an Entra ID token for it and the app checks roles (OPERATOR_API_AUTH=entra-id)', () => {
      const clientId = '22222222-3333-4444-5555-666666666666';
      const auth = siteConfig('authsettingsV2');

      expect(inFunctionApp(auth.condition, { operatorApiClientId: clientId })).toBe(true);
      expect(inFunctionApp(auth.properties, { operatorApiClientId: clientId })).toEqual({
        platform: { enabled: true },
        globalValidation: { requireAuthentication: true, unauthenticatedClientAction: 'Return401' },
        httpSettings: { requireHttps: true },
        identityProviders: {
          azureActiveDirectory: {
            enabled: true,
            registration: { clientId, openIdIssuer: `https://login.microsoftonline.com/${TEST_DEPLOYMENT.tenantId}/v2.0` },
            validation: { allowedAudiences: [`api://${clientId}`, clientId] },
          },
        },
        login: { tokenStore: { enabled: false } },
      });
      expect(loadConfig(deployedAppSettings({ operatorApiClientId: clientId })).operatorApiAuth).toBe('entra-id');
    });

    it('when private networking is on, then storage (blob, queue, table) and the vault get private endpoints, their public access is off, and the app sends its traffic through the network', () => {
      const on = { privateNetworking: true };
      const endpoints = moduleNamed('storageEndpoint');
      const count = evaluate(endpoints.copy!.count, mainScope(on)) as number;
      const storageEndpoints = Array.from({ length: count }, (_unused, copyIndex) => moduleParameters(endpoints, { ...mainScope(on), copyIndex }));
      const vaultEndpoint = moduleParameters(moduleNamed('keyVaultEndpoint'), mainScope(on));
      const site = resourcesOf(functionAppTemplate).find((resource) => resource.type === 'Microsoft.Web/sites')!;

      expect(['network', 'keyVaultEndpoint'].map((symbol) => deployed(symbol, on))).toEqual([true, true]);
      expect(Array.from({ length: count }, (_unused, copyIndex) => evaluate(endpoints.condition, { ...mainScope(on), copyIndex }))).toEqual([true, true, true]);
      expect(storageEndpoints.map((endpoint) => [endpoint.groupId, endpoint.privateDnsZoneId, endpoint.subnetId])).toEqual([
        ['blob', '/zones/blob', '/subnets/private-endpoints'],
        ['queue', '/zones/queue', '/subnets/private-endpoints'],
        ['table', '/zones/table', '/subnets/private-endpoints'],
      ]);
      expect(vaultEndpoint).toMatchObject({ groupId: 'vault', privateDnsZoneId: '/zones/vault' });
      expect(String(vaultEndpoint.targetResourceId)).toMatch(/\/providers\/Microsoft\.KeyVault\/vaults\/kv-[a-z0-9]{13}$/);
      expect(moduleParameters(moduleNamed('storage'), mainScope(on)).publicNetworkAccess).toBe('Disabled');
      expect(moduleParameters(moduleNamed('keyVault'), mainScope(on)).publicNetworkAccess).toBe('Disabled');
      expect((inFunctionApp(site.properties, on) as { virtualNetworkSubnetId: unknown }).virtualNetworkSubnetId).toBe('/subnets/app');

      const storage = template('app/storage.bicep');
      const [account] = resourcesOf(storage).filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts');
      expect(evaluate(account!.properties, { template: storage, parameters: placeholderParameters(storage, { publicNetworkAccess: 'Disabled' }) })).toMatchObject({ publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny' } });
    });

    it('when private networking uses an existing vault, then its private endpoint targets that vault, and its public access is left to its owner', () => {
      const existing = '/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv-shared';
      const on = { privateNetworking: true, existingKeyVaultResourceId: existing };

      expect(moduleParameters(moduleNamed('keyVaultEndpoint'), mainScope(on)).targetResourceId).toBe(existing);
      expect(deployed('keyVault', on)).toBe(false);
    });

    it('when the network is created, then the app subnet is delegated to Flex Consumption and both subnets lie in the address space', () => {
      const network = template('app/network.bicep');
      const [vnet] = resourcesOf(network).filter((resource) => resource.type === 'Microsoft.Network/virtualNetworks');
      const properties = evaluate(vnet!.properties, { template: network, parameters: placeholderParameters(network, { addressPrefix: '10.60.0.0/16' }) }) as { subnets: Array<{ name: string; properties: { addressPrefix: string; delegations?: Array<{ properties: { serviceName: string } }> } }> };

      expect(properties.subnets.map((subnet) => [subnet.name, subnet.properties.addressPrefix])).toEqual([
        ['app', '10.60.0.0/24'],
        ['private-endpoints', '10.60.1.0/24'],
      ]);
      expect(properties.subnets[0]!.properties.delegations?.map((delegation) => delegation.properties.serviceName)).toEqual(['Microsoft.App/environments']);
    });

    it('when the targets live in a blob (ROTATION_TARGETS_SOURCE=blob), then the container exists, the app reads it with Storage Blob Data Reader on it alone, gets its URL instead of ROTATION_TARGETS, and accepts its settings', () => {
      const blob = { rotationTargetsSource: 'blob' };
      const settings = deployedAppSettings(blob);
      const storageParameters = moduleParameters(moduleNamed('storage'), mainScope(blob));
      const storage = template('app/storage.bicep');
      const inStorage = (value: unknown, parameters: Record<string, unknown>) => evaluate(value, { template: storage, parameters: placeholderParameters(storage, parameters) });
      const container = resourcesOf(storage).find((resource) => resource.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' && String(resource.name).includes('rotationTargetsContainerName'))!;
      const reader = resourcesOf(storage).find((resource) => resource.type === 'Microsoft.Authorization/roleAssignments' && String(resource.scope).includes('containers'))!;

      expect(settings).toMatchObject({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: 'https://stabc.blob.core.windows.net/rotation-targets/targets.json' });
      expect(loadConfig(settings).targetsSource).toEqual({ kind: 'blob', blobUrl: 'https://stabc.blob.core.windows.net/rotation-targets/targets.json' });
      expect(storageParameters.rotationTargetsContainerName).toBe('rotation-targets');
      expect([inStorage(container.condition, { rotationTargetsContainerName: 'rotation-targets' }), inStorage(reader.condition, { rotationTargetsContainerName: 'rotation-targets' })]).toEqual([true, true]);
      expect(String(inStorage(reader.scope, { rotationTargetsContainerName: 'rotation-targets' }))).toMatch(/\/blobServices\/default\/containers\/rotation-targets$/);
      // By default: the list stays in the app setting, and neither the container nor the grant exists.
      expect(deployedAppSettings()).toMatchObject({ ROTATION_TARGETS_BLOB_URL: '' });
      expect(moduleParameters(moduleNamed('storage'), mainScope()).rotationTargetsContainerName).toBe('');
      expect([inStorage(container.condition, { rotationTargetsContainerName: '' }), inStorage(reader.condition, { rotationTargetsContainerName: '' })]).toEqual([false, false]);
    });

    it('when the Durable Task Scheduler is chosen, then the host is pointed at it with its identity, and the app still accepts its settings', () => {
      const dts = { durableBackend: 'DurableTaskScheduler' };
      const settings = deployedAppSettings(dts);

      expect(deployed('durableTaskScheduler', dts)).toBe(true);
      expect(settings).toMatchObject({
        AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged',
        AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
        DURABLE_TASK_SCHEDULER_CONNECTION_STRING: `Endpoint=https://dts-abc.westeurope.durabletask.io;Authentication=ManagedIdentity;ClientID=${IDENTITY_CLIENT_ID}`,
        DURABLE_TASK_HUB_NAME: 'cosmoskeyrotation',
      });
      expect(loadConfig(settings).durableTaskHubName).toBe('cosmoskeyrotation');
      expect(moduleParameters(moduleNamed('durableTaskScheduler'), mainScope(dts))).toMatchObject({ taskHubName: 'cosmoskeyrotation', skuName: 'Consumption' });
    });
  });

  describe('the Function App', () => {
    it('when it is created, then it runs Node.js 22 on a Flex Consumption (FC1) plan as its user-assigned identity', () => {
      const declared = resourcesOf(functionAppTemplate);
      const plan = declared.find((resource) => resource.type === 'Microsoft.Web/serverfarms')!;
      const site = declared.find((resource) => resource.type === 'Microsoft.Web/sites')!;
      const siteProperties = evaluate(site.properties, { template: functionAppTemplate, parameters: placeholderParameters(functionAppTemplate) }) as Record<string, Record<string, Record<string, unknown>>>;

      expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
      expect(siteProperties.functionAppConfig!.runtime).toEqual({ name: 'node', version: '22' });
      expect(site.identity).toMatchObject({ type: 'UserAssigned' });
      expect(siteProperties.functionAppConfig!.deployment).toMatchObject({ storage: { authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: 'param-identityId' } } });
      expect(evaluate(site.tags, { template: functionAppTemplate, parameters: placeholderParameters(functionAppTemplate, { tags: {} }) })).toEqual({ 'azd-service-name': 'param-serviceName' });
    });

    it('when azd deploys, then azure.yaml names the TypeScript function service that the templates tag', () => {
      const azureYaml = readRepoFile('azure.yaml');

      expect(azureYaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
      expect(moduleParameters(functionAppModule, mainScope()).serviceName).toBe('api');
    });
  });

  describe('the outputs azd writes to the environment', () => {
    it('when provisioning ends, then the outputs give the postprovision hook every value it reads, for the accounts just granted', () => {
      const hookSource = readRepoFile('infra/hooks/safe-key-rotation.ts');
      const read = [...new Set([...hookSource.matchAll(/env\.([A-Z_]+)/g)].map((match) => match[1]!))];
      const second = '/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/billing';
      const outputs = Object.fromEntries(
        Object.entries(main.outputs ?? {}).map(([name, output]) => [name, evaluate(output.value, mainScope({ cosmosAccountResourceIds: ` ${ACCOUNT_ID}, ${second},`, enableSafeKeyRotation: true }))]),
      );

      expect(read.sort()).toEqual(['AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_TENANT_ID', 'ENABLE_SAFE_KEY_ROTATION', 'ROTATION_TARGET_ACCOUNT_IDS']);
      expect(outputs).toMatchObject({
        ROTATION_TARGET_ACCOUNT_IDS: `${ACCOUNT_ID},${second}`,
        ENABLE_SAFE_KEY_ROTATION: true,
        AZURE_TENANT_ID: TEST_DEPLOYMENT.tenantId,
        AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.azure.com/',
        KEY_VAULT_URL: 'https://kv-abc.vault.azure.net/',
        OPERATOR_API_AUTH: 'function-key',
        DURABLE_BACKEND: 'AzureStorage',
      });
    });
  });

  describe('the deployment guide (the README deployment section)', () => {
    const guide = readmeSection('Deploy to Azure');

    it('when a parameter or the azd environment value feeding it exists, then the guide names it', () => {
      const azdParameters = readRepoFile('infra/main.parameters.json');
      const environmentValues = [...azdParameters.matchAll(/\$\{(\w+)/g)].map((match) => match[1]!);

      for (const name of environmentValues) expect(guide, `azd environment value ${name}`).toContain(`\`${name}\``);
      for (const name of Object.keys(main.parameters ?? {})) expect(guide, `Bicep parameter ${name}`).toContain(`\`${name}\``);
    });

    it('when azd passes a parameter, then main.bicep declares it', () => {
      const azdParameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, unknown> };

      for (const name of Object.keys(azdParameters.parameters)) expect(Object.keys(main.parameters ?? {}), name).toContain(name);
    });
  });

  describe('template hygiene', () => {
    it.each(bicepSources().map((path) => [path] as const))('when %s declares parameters, then each one has a description', (path) => {
      const armTemplate: ArmTemplate = template(path);
      for (const [name, declared] of Object.entries(armTemplate.parameters ?? {})) expect(declared.metadata?.description, `${path}: param ${name}`).toMatch(/\S/);
    });

    it('when resources are named, then each name derives from resourceToken (unique per subscription, environment and location)', () => {
      const token = evaluate("[variables('resourceToken')]", { template: main, parameters: REQUIRED_PARAMETERS });
      const nameOf = (symbol: string, parameter = 'name'): unknown => moduleParameters(moduleOf(main, symbol), mainScope())[parameter];

      expect(token).toMatch(/^[a-z0-9]{13}$/);
      expect(nameOf('identity')).toBe(`id-${token}`);
      expect(nameOf('storage')).toBe(`st${token}`);
      expect(nameOf('monitoring', 'logAnalyticsName')).toBe(`log-${token}`);
      expect(nameOf('monitoring', 'applicationInsightsName')).toBe(`appi-${token}`);
      expect(nameOf('keyVault')).toBe(`kv-${token}`);
      expect(nameOf('functionApp')).toBe(`func-${token}`);
      expect(nameOf('functionApp', 'planName')).toBe(`plan-${token}`);
    });
  });
});

describe('the local settings sample', () => {
  it('when a developer copies local.settings.sample.json, then it names every setting src/config.ts reads plus the Core Tools ones', () => {
    const sample = JSON.parse(readRepoFile('local.settings.sample.json')) as { Values: Record<string, string> };
    const sampleNames = Object.keys(sample.Values).filter((name) => !LOCAL_ONLY_HOST_SETTINGS.includes(name));

    expect(sorted(sampleNames)).toEqual(sorted(SETTING_NAMES));
    expect(LOCAL_ONLY_HOST_SETTINGS.every((name) => name in sample.Values)).toBe(true);
  });
});

describe('pointers in azure.yaml and the templates', () => {
  const sources = [{ path: 'azure.yaml', text: readRepoFile('azure.yaml') }, ...bicepSources().map((path) => ({ path: `infra/${path}`, text: readRepoFile(`infra/${path}`) }))];

  it('when azd runs a hook, then the script it names exists', () => {
    const commands = [...readRepoFile('azure.yaml').matchAll(/^\s+run: (.+)$/gm)].map((match) => match[1]!);
    const scripts = commands.flatMap((command) => command.split(' ').filter((word) => /\.(ts|mjs|js|sh|ps1)$/.test(word)));

    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(existsSync(join(REPO_ROOT, script)), script).toBe(true);
  });

  // Comments are not compiled, so these read the .bicep text.
  it('when azure.yaml or a template comment points the reader at a file or a README section, then it exists', () => {
    let references = 0;
    let sections = 0;

    for (const source of sources) {
      for (const [path] of source.text.matchAll(/\b(?:(?:docs|src|scripts|infra|test)\/[\w./-]*\w\.\w+|README\.md)\b/g)) {
        references += 1;
        expect(existsSync(join(REPO_ROOT, path)), `${source.path} names ${path}`).toBe(true);
      }
      for (const [, heading] of source.text.matchAll(/README(?:\.md)?(?:, section "| \()([A-Z][\w ]*\w)/g)) {
        sections += 1;
        expect(() => readmeSection(heading!), `${source.path} names the README section ${heading}`).not.toThrow();
      }
    }
    expect(references).toBeGreaterThan(3);
    expect(sections).toBeGreaterThan(1);
  });
});

/** The trigger registrations, where %NAME% binding expressions live. */
function listFunctionSources(): string[] {
  const directory = join(REPO_ROOT, 'functions');
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `functions/${name.split('\\').join('/')}`);
}
