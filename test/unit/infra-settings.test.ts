/**
 * The app settings the Bicep deploys, the settings src/config.ts reads and the
 * local sample name the same settings, with the same defaults, and a deployed
 * app would pass its own start-up validation.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, SETTING_NAMES, loadConfig } from '../../src/config.js';
import { REPO_ROOT, bicepFile, bicepFiles, objectVariable, params, readRepoFile, readmeSection, resources, withoutComments } from './infra-bicep-text.js';

const main = bicepFile('infra/main.bicep');
const functionApp = bicepFile('infra/app/function-app.bicep');

/** The rotator's own settings (everything src/config.ts reads that Azure needs). */
const rotationAppSettings = objectVariable(main, 'rotationAppSettings');
/** Settings only the Functions host reads. */
const hostAppSettings = objectVariable(functionApp, 'hostAppSettings');
const deployedSettingNames = [...rotationAppSettings.keys(), ...hostAppSettings.keys()];

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

describe('app settings: Bicep, src/config.ts and local.settings.sample.json', () => {
  it('when the app is deployed, then it gets every setting src/config.ts reads, except the local-emulator ones', () => {
    const expected = SETTING_NAMES.filter((name) => !LOCAL_ONLY_CONFIG_SETTINGS.includes(name));

    expect(sorted(rotationAppSettings.keys())).toEqual(sorted(expected));
  });

  it('when the app is deployed, then the host settings are exactly the identity-based storage and telemetry ones', () => {
    expect(sorted(hostAppSettings.keys())).toEqual(sorted(HOST_ONLY_SETTINGS));
    expect(HOST_ONLY_SETTINGS.filter((name) => SETTING_NAMES.includes(name))).toEqual([]);
  });

  it('when a developer copies local.settings.sample.json, then it names every setting src/config.ts reads plus the Core Tools ones', () => {
    const sample = JSON.parse(readRepoFile('local.settings.sample.json')) as { Values: Record<string, string> };
    const sampleNames = Object.keys(sample.Values).filter((name) => !LOCAL_ONLY_HOST_SETTINGS.includes(name));

    expect(sorted(sampleNames)).toEqual(sorted(SETTING_NAMES));
    expect(LOCAL_ONLY_HOST_SETTINGS.every((name) => name in sample.Values)).toBe(true);
  });

  it('when the app runs on Flex Consumption, then no setting it refuses or that holds a storage key is deployed', () => {
    expect(deployedSettingNames.filter((name) => NOT_ON_FLEX_CONSUMPTION.includes(name))).toEqual([]);
  });

  it('when host.json or a trigger names a %SETTING%, then the deployment sets it (the host would not start otherwise)', () => {
    const sources = [readRepoFile('host.json'), ...listFunctionSources().map((path) => readRepoFile(path))];
    const referenced = new Set(sources.flatMap((text) => [...text.matchAll(/%([A-Za-z_][A-Za-z0-9_]*)%/g)].map((match) => match[1]!)));

    expect(referenced.size).toBeGreaterThan(0);
    for (const name of referenced) expect(deployedSettingNames, `%${name}%`).toContain(name);
  });

  it('when a setting keeps its default, then the Bicep parameter default and the azd parameter default equal the default src/config.ts documents', () => {
    const declared = new Map(params(main).map((param) => [param.name, param]));
    const azdParameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
    const checked: string[] = [];

    for (const spec of Object.values(SETTINGS)) {
      const expression = rotationAppSettings.get(spec.env);
      const paramName = expression && /^(?:string\()?(\w+)\)?(?: \? 'true' : 'false')?$/.exec(expression)?.[1];
      const param = paramName ? declared.get(paramName) : undefined;
      if (!param || !('default' in spec)) continue;
      checked.push(spec.env);

      expect(bicepLiteral(param.defaultText), `${spec.env}: default of param ${param.name}`).toBe(spec.default);
      const azdValue = azdParameters.parameters[param.name]?.value;
      if (azdValue !== undefined) {
        // azd fills the parameter from the environment variable named like the app setting, with the same default.
        expect(azdValue, `${spec.env}: infra/main.parameters.json`).toBe(`\${${spec.env}=${spec.default}}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(18);
  });

  it('when the deployed app starts with the settings the Bicep writes (defaults), then src/config.ts accepts them', () => {
    const accountId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/orders';
    const env: NodeJS.ProcessEnv = {};
    for (const [name, expression] of rotationAppSettings) {
      env[name] = evaluateSetting(expression, { accountId });
    }

    const config = loadConfig(env);

    expect(config.azureCredential).toBe('managed-identity');
    expect(config.azureClientId).toBe('11111111-2222-3333-4444-555555555555');
    expect(config.armEndpoint).toBe('https://management.azure.com');
    expect(config.keyVaultUrl).toBe('https://kv-abc.vault.azure.net');
    expect(config.targets.map((target) => target.accountId)).toEqual([accountId]);
    expect(config.emulatorCaCert).toBeNull();
  });
});

describe('the Function App', () => {
  it('when it is created, then it runs Node.js 22 on a Flex Consumption (FC1) plan as its user-assigned identity', () => {
    const declared = resources(functionApp);
    const plan = declared.find((resource) => resource.type === 'Microsoft.Web/serverfarms')!;
    const site = declared.find((resource) => resource.type === 'Microsoft.Web/sites')!;
    const siteText = site.body.join('\n');

    expect(plan.body.join('\n')).toMatch(/name: 'FC1'\n\s+tier: 'FlexConsumption'/);
    expect(siteText).toMatch(/runtime: \{\n\s+name: 'node'\n\s+version: '22'\n/);
    expect(siteText).toMatch(/type: 'UserAssigned'/);
    expect(siteText).toMatch(/authentication: \{\n\s+type: 'UserAssignedIdentity'/);
    expect(siteText).toContain("'azd-service-name': serviceName");
  });

  it('when azd deploys, then azure.yaml names the TypeScript function service that the Bicep tags', () => {
    const azureYaml = readRepoFile('azure.yaml');

    expect(azureYaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
    expect(withoutComments(main.text)).toContain("var serviceName = 'api'");
  });
});

describe('the deployment guide (the README deployment section)', () => {
  const guide = readmeSection('Deploy to Azure');

  it('when a parameter or the azd environment value feeding it exists, then the guide names it', () => {
    const azdParameters = readRepoFile('infra/main.parameters.json');
    const environmentValues = [...azdParameters.matchAll(/\$\{(\w+)/g)].map((match) => match[1]!);

    for (const name of environmentValues) expect(guide, `azd environment value ${name}`).toContain(`\`${name}\``);
    for (const param of params(main)) expect(guide, `Bicep parameter ${param.name}`).toContain(`\`${param.name}\``);
  });

  it('when azd runs a hook, then the script it names exists', () => {
    const commands = [...readRepoFile('azure.yaml').matchAll(/^\s+run: (.+)$/gm)].map((match) => match[1]!);
    const scripts = commands.flatMap((command) => command.split(' ').filter((word) => /\.(ts|mjs|js|sh|ps1)$/.test(word)));

    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(existsSync(join(REPO_ROOT, script)), script).toBe(true);
  });

  it('when azure.yaml or a template points the reader at a file or a README section, then it exists', () => {
    const sources = [{ path: 'azure.yaml', text: readRepoFile('azure.yaml') }, ...bicepFiles()];
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

describe('template hygiene', () => {
  it.each(bicepFiles().map((file) => [file.path, file] as const))('when %s declares parameters, then each one has a @description', (_path, file) => {
    for (const param of params(file)) {
      expect(param.block, `${file.path}: param ${param.name}`).toMatch(/^@description\('.+'\)$/m);
    }
  });

  it('when resources are named, then names derive from resourceToken = toLower(uniqueString(subscription().id, environmentName, location))', () => {
    const text = withoutComments(main.text);

    expect(text).toContain('var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))');
    expect(text).toMatch(/^targetScope = 'subscription'$/m);
    for (const prefix of ['id', 'st', 'log', 'appi', 'kv', 'func', 'plan']) {
      expect(text).toMatch(new RegExp(`'${prefix}-?\\$\\{resourceToken\\}'`));
    }
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

/** A Bicep literal default as the text an app setting would hold. */
function bicepLiteral(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (/^'.*'$/.test(text)) return text.slice(1, -1).replace(/\\'/g, "'");
  if (/^-?\d+$/.test(text) || text === 'true' || text === 'false') return text;
  throw new Error(`not a literal default: ${text}`);
}

/**
 * What a setting's Bicep expression becomes in Azure, for the expressions main.bicep uses,
 * with module outputs standing in as the values Azure returns. An expression this does not
 * know fails the test, so the check cannot silently skip a new setting.
 */
function evaluateSetting(expression: string, options: { accountId: string }): string {
  const declared = new Map(params(main).map((param) => [param.name, param.defaultText]));
  const known: Record<string, string> = {
    'keyVaultAccess.outputs.vaultUri': 'https://kv-abc.vault.azure.net/',
    'identity.outputs.clientId': '11111111-2222-3333-4444-555555555555',
    'environment().resourceManager': 'https://management.azure.com/',
    // rotationTargets: each listed account as {"resourceId": ...} (see main.bicep).
    'string(rotationTargets)': JSON.stringify([{ resourceId: options.accountId }]),
  };
  if (expression in known) return known[expression]!;
  const literal = /^'(.*)'$/.exec(expression);
  if (literal) return literal[1]!;
  const reference = /^(?:string\()?(\w+)\)?$/.exec(expression);
  if (reference && declared.has(reference[1]!)) {
    const value = bicepLiteral(declared.get(reference[1]!))!;
    // ARM's string() writes booleans as True/False.
    return expression.startsWith('string(') && (value === 'true' || value === 'false') ? `${value[0]!.toUpperCase()}${value.slice(1)}` : value;
  }
  const flag = /^(\w+) \? 'true' : 'false'$/.exec(expression);
  if (flag && declared.has(flag[1]!)) return bicepLiteral(declared.get(flag[1]!))!;
  throw new Error(`the test does not know what "${expression}" becomes in Azure; teach evaluateSetting`);
}
