import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTarget, loadConfig, settingTargets, operatorApiAuthOf, parseAccountId, rotationSettingsOf, SETTING_NAMES, SETTINGS } from '../../src/config.js';
import type { ConfigError } from '../../src/errors.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const ACCOUNT_A = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.DocumentDB/databaseAccounts/orders-db`;
const ACCOUNT_B = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.DocumentDB/databaseAccounts/users-db`;

const tempDir = mkdtempSync(join(tmpdir(), 'config-test-'));
const caPath = join(tempDir, 'ca.pem');
writeFileSync(caPath, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    KEY_VAULT_URL: 'https://my-vault.vault.azure.net/',
    ROTATION_TARGETS: JSON.stringify([ACCOUNT_A]),
    ...overrides,
  };
}

function problemsOf(values: NodeJS.ProcessEnv): { setting: string; message: string }[] {
  try {
    loadConfig(values);
  } catch (error) {
    expect((error as Error).name).toBe('ConfigError');
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

function expectProblem(values: NodeJS.ProcessEnv, setting: string, fragment: string | RegExp): void {
  const problems = problemsOf(values);
  const forSetting = problems.filter((problem) => problem.setting === setting);
  expect(forSetting.map((problem) => problem.message).join('\n')).toMatch(fragment);
}

describe('config: defaults', () => {
  it('when only the two required settings are set, then every other setting takes its documented default', () => {
    const config = loadConfig(env());
    expect(config).toMatchObject({
      keyVaultUrl: 'https://my-vault.vault.azure.net',
      rotationSchedule: '0 0 * * * *',
      rotationIntervalInDays: 30,
      idleWindowInHours: 12,
      usageMarginInMinutes: 30,
      validationProbeCount: 3,
      validationSpreadInMinutes: 5,
      standbyWaitMaxInHours: 48,
      consumerWaitMaxInHours: 72,
      consumerCheckIntervalInMinutes: 60,
      rotateReadOnlyKeys: false,
      publishConnectionString: false,
      secretExpiryInDays: 90,
      armEndpoint: 'https://management.azure.com',
      azureCredential: 'default',
      azureClientId: null,
      emulatorCaCertPath: null,
      emulatorCaCert: null,
      maxRotationsInFlight: 2000,
      maxRotationsInFlightPerSubscription: 200,
      failedRotationRetryInHours: 24,
      durableTaskHubName: 'cosmoskeyrotation',
    });
  });

  it('when a setting is present but empty (as Azure app settings often are), then its default applies', () => {
    expect(loadConfig(env({ IDLE_WINDOW_IN_HOURS: '', AZURE_CLIENT_ID: '  ' })).idleWindowInHours).toBe(12);
  });

  it('when a target is a plain resource ID, then its rotation settings are resolved from the global settings', () => {
    const config = loadConfig(env({ ROTATION_INTERVAL_IN_DAYS: '14', IDLE_WINDOW_IN_HOURS: '24' }));
    expect(rotationSettingsOf(settingTargets(config)[0]!)).toEqual({
      accountId: ACCOUNT_A,
      accountName: 'orders-db',
      subscriptionId: SUB,
      resourceGroup: 'rg-app',
      secretName: 'orders-db-key',
      readOnlySecretName: 'orders-db-readonly-key',
      connectionStringSecretName: null,
      rotateReadOnlyKeys: false,
      rotationIntervalInDays: 14,
      idleWindowInHours: 24,
      usageMarginInMinutes: 30,
      validationProbeCount: 3,
      validationSpreadInMinutes: 5,
      standbyWaitMaxInHours: 48,
      consumerWaitMaxInHours: 72,
      consumerCheckIntervalInMinutes: 60,
      secretExpiryInDays: 90,
      rotationWindows: [],
    });
  });
});

describe('config: required settings', () => {
  it('when KEY_VAULT_URL and ROTATION_TARGETS are missing, then one error names both', () => {
    let error: Error | undefined;
    try {
      loadConfig({});
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.name).toBe('ConfigError');
    expect(error?.message).toMatch(/KEY_VAULT_URL: is required/);
    expect(error?.message).toMatch(/ROTATION_TARGETS: is required/);
  });

  it('when several settings are wrong at once, then every one is reported, not just the first', () => {
    const problems = problemsOf(env({ IDLE_WINDOW_IN_HOURS: 'twelve', VALIDATION_PROBE_COUNT: '0', ROTATE_READONLY_KEYS: 'yes' }));
    expect(problems.map((problem) => problem.setting)).toEqual(['IDLE_WINDOW_IN_HOURS', 'VALIDATION_PROBE_COUNT', 'ROTATE_READONLY_KEYS']);
  });
});

describe('config: value formats', () => {
  it('when KEY_VAULT_URL is not https, then the error says an https URL is expected', () => {
    expectProblem(env({ KEY_VAULT_URL: 'http://my-vault.vault.azure.net' }), 'KEY_VAULT_URL', /https URL/);
    expectProblem(env({ KEY_VAULT_URL: 'my-vault' }), 'KEY_VAULT_URL', /https URL/);
    expectProblem(env({ KEY_VAULT_URL: 'https://v.vault.azure.net/?x=1' }), 'KEY_VAULT_URL', /without query/);
  });

  it('when ARM_ENDPOINT names a sovereign cloud, then it is used without a trailing slash', () => {
    expect(loadConfig(env({ ARM_ENDPOINT: 'https://management.usgovcloudapi.net/' })).armEndpoint).toBe('https://management.usgovcloudapi.net');
    expectProblem(env({ ARM_ENDPOINT: 'http://127.0.0.1:8080' }), 'ARM_ENDPOINT', /https/);
  });

  it('when a number is not a whole number in range, then the error gives the range', () => {
    expectProblem(env({ ROTATION_INTERVAL_IN_DAYS: '1.5' }), 'ROTATION_INTERVAL_IN_DAYS', /whole number from 1 to 3650/);
    expectProblem(env({ IDLE_WINDOW_IN_HOURS: '0' }), 'IDLE_WINDOW_IN_HOURS', /from 1 to 720, got 0/);
    expectProblem(env({ USAGE_MARGIN_IN_MINUTES: '-5' }), 'USAGE_MARGIN_IN_MINUTES', /from 0 to 1440/);
    expectProblem(env({ MAX_ROTATIONS_IN_FLIGHT: '10k' }), 'MAX_ROTATIONS_IN_FLIGHT', /got "10k"/);
    expectProblem(env({ MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION: '0' }), 'MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION', /from 1 to 100000, got 0/);
  });

  it('when a deployment still sets MAX_STARTS_PER_RUN or MAX_STARTS_PER_SUBSCRIPTION, then it refuses to start, naming each and what replaced it', () => {
    expectProblem(env({ MAX_STARTS_PER_RUN: '10' }), 'MAX_STARTS_PER_RUN', /no longer read: .*rotations in flight.*MAX_ROTATIONS_IN_FLIGHT \(default 2000\)/);
    expectProblem(env({ MAX_STARTS_PER_SUBSCRIPTION: '5' }), 'MAX_STARTS_PER_SUBSCRIPTION', /no longer read: .*MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION \(default 200\)/);
    // Empty, as an app setting that was cleared but not deleted: nothing to refuse.
    expect(loadConfig(env({ MAX_STARTS_PER_RUN: '', MAX_STARTS_PER_SUBSCRIPTION: ' ' })).maxRotationsInFlight).toBe(2000);
  });

  it('when a boolean is not true or false, then the error says so; any letter case is accepted', () => {
    expectProblem(env({ PUBLISH_CONNECTION_STRING: '1' }), 'PUBLISH_CONNECTION_STRING', /true or false/);
    expect(loadConfig(env({ ROTATE_READONLY_KEYS: 'TRUE' })).rotateReadOnlyKeys).toBe(true);
  });

  it('when ROTATION_SCHEDULE is not a six-field NCRONTAB, then the error shows the expected fields', () => {
    expectProblem(env({ ROTATION_SCHEDULE: '0 3 * * *' }), 'ROTATION_SCHEDULE', /six fields/);
    expectProblem(env({ ROTATION_SCHEDULE: '0 0 25 * * *' }), 'ROTATION_SCHEDULE', /hour field "25"/);
    expectProblem(env({ ROTATION_SCHEDULE: '0 */0 * * * *' }), 'ROTATION_SCHEDULE', /minute field/);
    expect(loadConfig(env({ ROTATION_SCHEDULE: '0 30 2 * * Mon-Fri' })).rotationSchedule).toBe('0 30 2 * * Mon-Fri');
    expect(loadConfig(env({ ROTATION_SCHEDULE: '0 */15 1,13 1-7 JAN *' })).rotationSchedule).toBe('0 */15 1,13 1-7 JAN *');
  });

  it('when AZURE_CREDENTIAL is unknown, then the three accepted values are listed', () => {
    expectProblem(env({ AZURE_CREDENTIAL: 'cli' }), 'AZURE_CREDENTIAL', /"default", "managed-identity" or "emulator"/);
  });

  it('when AZURE_CREDENTIAL is emulator without an emulator CA, then it is refused as local-only', () => {
    expectProblem(env({ AZURE_CREDENTIAL: 'emulator' }), 'AZURE_CREDENTIAL', /only for the local emulator.*EMULATOR_CA_CERT_PATH/);
    const config = loadConfig(env({ AZURE_CREDENTIAL: 'emulator', EMULATOR_CA_CERT_PATH: caPath }));
    expect(config.azureCredential).toBe('emulator');
    expect(config.emulatorCaCert).toContain('BEGIN CERTIFICATE');
  });

  it('when EMULATOR_CA_CERT_PATH cannot be read or is not a certificate, then the error names the file', () => {
    expectProblem(env({ EMULATOR_CA_CERT_PATH: join(tempDir, 'missing.pem') }), 'EMULATOR_CA_CERT_PATH', /cannot be read \(ENOENT\)/);
    const notPem = join(tempDir, 'not.pem');
    writeFileSync(notPem, 'hello');
    expectProblem(env({ EMULATOR_CA_CERT_PATH: notPem }), 'EMULATOR_CA_CERT_PATH', /PEM certificate/);
  });

  it('when AZURE_CLIENT_ID is not a GUID, then the error says a client ID is expected', () => {
    expectProblem(env({ AZURE_CLIENT_ID: 'my-identity' }), 'AZURE_CLIENT_ID', /GUID/);
    expect(loadConfig(env({ AZURE_CLIENT_ID: 'AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee' })).azureClientId).toBe('AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee');
  });

  it('when a secret name template has characters Key Vault refuses or an unknown placeholder, then it is rejected', () => {
    expectProblem(env({ SECRET_NAME_TEMPLATE: '{account}_key' }), 'SECRET_NAME_TEMPLATE', /Key Vault secret name/);
    expectProblem(env({ READONLY_SECRET_NAME_TEMPLATE: '{name}-ro' }), 'READONLY_SECRET_NAME_TEMPLATE', /only placeholder is \{account\}/);
  });

  it('when DURABLE_TASK_HUB_NAME has dashes, then it is refused as a task hub name', () => {
    expectProblem(env({ DURABLE_TASK_HUB_NAME: 'cosmos-rotation' }), 'DURABLE_TASK_HUB_NAME', /letters and digits/);
  });

  it('when secrets would expire before the next rotation, then SECRET_EXPIRY_IN_DAYS is refused', () => {
    expectProblem(env({ SECRET_EXPIRY_IN_DAYS: '30' }), 'SECRET_EXPIRY_IN_DAYS', /must exceed the rotation interval .* \(30 days\)/);
  });
});

describe('config: ROTATION_TARGETS', () => {
  it('when it is not JSON or not a non-empty array, then the error describes the expected shape', () => {
    expectProblem(env({ ROTATION_TARGETS: ACCOUNT_A }), 'ROTATION_TARGETS', /not valid JSON/);
    expectProblem(env({ ROTATION_TARGETS: '[]' }), 'ROTATION_TARGETS', /non-empty JSON array/);
    expectProblem(env({ ROTATION_TARGETS: '{"resourceId": "x"}' }), 'ROTATION_TARGETS', /non-empty JSON array/);
    expectProblem(env({ ROTATION_TARGETS: '[42]' }), 'ROTATION_TARGETS', /item 0: expected a resource ID string or an object/);
  });

  it('when a resource ID is not a Cosmos DB account, then the error shows the expected form', () => {
    const wrong = [
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/orders`,
      '/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/orders',
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/Orders_DB`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/orders/extra`,
    ];
    for (const id of wrong) {
      expectProblem(env({ ROTATION_TARGETS: JSON.stringify([id]) }), 'ROTATION_TARGETS', /item 0: .* is not a Cosmos DB account resource ID/);
    }
  });

  it('when the provider and segment names differ in letter case, then the resource ID is still accepted', () => {
    const id = `/SUBSCRIPTIONS/${SUB}/resourcegroups/RG-App/providers/microsoft.documentdb/DATABASEACCOUNTS/orders-db`;
    expect(parseAccountId(id)).toEqual({ subscriptionId: SUB, resourceGroup: 'RG-App', accountName: 'orders-db' });
    expect(settingTargets(loadConfig(env({ ROTATION_TARGETS: JSON.stringify([id]) })))[0]!.accountId).toBe(id);
  });

  it('when an account is listed twice (even in another letter case), then that is an error', () => {
    expectProblem(env({ ROTATION_TARGETS: JSON.stringify([ACCOUNT_A, { resourceId: ACCOUNT_A.toUpperCase().replace(/ORDERS-DB$/, 'orders-db') }]) }), 'ROTATION_TARGETS', /listed twice \(items 0 and 1\)/);
  });

  it('when an override object has an unknown or mistyped field, then each is reported with its item', () => {
    const problems = problemsOf(env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, secretname: 'x', rotationIntervalInDays: '7', rotateReadOnlyKeys: 'yes' }]) }));
    const messages = problems.map((problem) => problem.message).join('\n');
    expect(messages).toMatch(/item 0: unknown field "secretname"/);
    expect(messages).toMatch(/"rotationIntervalInDays" must be a whole number of days/);
    expect(messages).toMatch(/"rotateReadOnlyKeys" must be true or false/);
  });

  it('when an override object has no resourceId, then that is reported', () => {
    expectProblem(env({ ROTATION_TARGETS: JSON.stringify([{ name: 'orders' }]) }), 'ROTATION_TARGETS', /item 0: "resourceId" is required/);
  });

  it('when an override sets names, interval and pairs, then they win over the global settings for that account only', () => {
    const config = loadConfig(
      env({
        ROTATION_TARGETS: JSON.stringify([
          { resourceId: ACCOUNT_A, name: 'orders', secretName: 'orders-cosmos-key', rotationIntervalInDays: 7, rotateReadOnlyKeys: true, publishConnectionString: true },
          ACCOUNT_B,
        ]),
      }),
    );
    const [a, b] = settingTargets(config);
    expect(a).toMatchObject({
      name: 'orders',
      accountName: 'orders-db',
      secretName: 'orders-cosmos-key',
      readOnlySecretName: 'orders-readonly-key',
      connectionStringSecretName: 'orders-connection-string',
      rotationIntervalInDays: 7,
      rotateReadOnlyKeys: true,
    });
    expect(b).toMatchObject({ name: 'users-db', secretName: 'users-db-key', connectionStringSecretName: null, rotationIntervalInDays: 30, rotateReadOnlyKeys: false });
  });

  it('when PUBLISH_CONNECTION_STRING is on, then every target gets a connection-string secret unless its override turns it off', () => {
    const config = loadConfig(env({ PUBLISH_CONNECTION_STRING: 'true', ROTATION_TARGETS: JSON.stringify([ACCOUNT_A, { resourceId: ACCOUNT_B, publishConnectionString: false }]) }));
    expect(settingTargets(config).map((target) => target.connectionStringSecretName)).toEqual(['orders-db-connection-string', null]);
  });

  it('when an override names a connection-string secret, then it is published even with the global switch off; contradicting the switch is an error', () => {
    const config = loadConfig(env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, connectionStringSecretName: 'orders-cs' }]) }));
    expect(settingTargets(config)[0]!.connectionStringSecretName).toBe('orders-cs');
    expectProblem(
      env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, connectionStringSecretName: 'orders-cs', publishConnectionString: false }]) }),
      'ROTATION_TARGETS',
      /"connectionStringSecretName" is set but "publishConnectionString" is false/,
    );
  });

  it('when an override secret name is not a valid Key Vault name, then it is refused', () => {
    expectProblem(env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, secretName: 'orders.key' }]) }), 'ROTATION_TARGETS', /"secretName" "orders.key" is not a Key Vault secret name/);
  });

  it('when two accounts would write the same secret, then the clash is an error naming both', () => {
    expectProblem(env({ SECRET_NAME_TEMPLATE: 'cosmos-key', ROTATION_TARGETS: JSON.stringify([ACCOUNT_A, ACCOUNT_B]) }), 'ROTATION_TARGETS', /"cosmos-key" would be written by both .*orders-db and .*users-db/);
    expectProblem(
      env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, secretName: 'Shared' }, { resourceId: ACCOUNT_B, secretName: 'shared' }]) }),
      'ROTATION_TARGETS',
      /would be written by both/,
    );
  });

  it('when one account would use the same secret for two values, then that is an error', () => {
    expectProblem(
      env({ ROTATE_READONLY_KEYS: 'true', ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, secretName: 'k', readOnlySecretName: 'k' }]) }),
      'ROTATION_TARGETS',
      /"k" would hold two different values/,
    );
  });

  it('when two targets share a name, then that is an error', () => {
    expectProblem(env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, name: 'main' }, { resourceId: ACCOUNT_B, name: 'Main' }]) }), 'ROTATION_TARGETS', /the name "Main" is used by both/);
  });
});

describe('config: ROTATION_TARGETS_BLOB_URL', () => {
  const BLOB = 'https://stfleet.blob.core.windows.net/rotation-targets/targets.json';

  it('when the targets are in a blob, then ROTATION_TARGETS may be empty and the config names the blob as the list to read', () => {
    const config = loadConfig(env({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: BLOB }));
    expect(config.targetsSource).toEqual({ kind: 'blob', blobUrl: BLOB });
  });

  it('when both ROTATION_TARGETS and ROTATION_TARGETS_BLOB_URL are set, then the app refuses to start: the accounts are listed in one place only', () => {
    expectProblem(env({ ROTATION_TARGETS_BLOB_URL: BLOB }), 'ROTATION_TARGETS', /is set together with ROTATION_TARGETS_BLOB_URL: list the accounts in one place only/);
    expectProblem(env({ ROTATION_TARGETS: '[42]', ROTATION_TARGETS_BLOB_URL: BLOB }), 'ROTATION_TARGETS', /together with ROTATION_TARGETS_BLOB_URL/);
  });

  it('when neither is set, then the error names both', () => {
    expectProblem(env({ ROTATION_TARGETS: undefined }), 'ROTATION_TARGETS', /is required \(or ROTATION_TARGETS_BLOB_URL, for a list too large for one app setting\)/);
  });

  it('when the blob URL carries a SAS token, or names no blob, then it is refused, and the token is never repeated', () => {
    const sas = `${BLOB}?sv=2024-01-01&sig=c2VjcmV0c2lnbmF0dXJl`;
    const problems = problemsOf(env({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: sas }));
    expect(problems).toEqual([{ setting: 'ROTATION_TARGETS_BLOB_URL', message: expect.stringMatching(/without a SAS token .* with its managed identity/) }]);
    expect(JSON.stringify(problems)).not.toContain('c2VjcmV0c2lnbmF0dXJl');
    expectProblem(env({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: 'https://stfleet.blob.core.windows.net/rotation-targets' }), 'ROTATION_TARGETS_BLOB_URL', /expected the URL of a blob/);
    expectProblem(env({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: 'http://stfleet.blob.core.windows.net/c/b.json' }), 'ROTATION_TARGETS_BLOB_URL', /https URL/);
    expect(loadConfig(env({ ROTATION_TARGETS: '', ROTATION_TARGETS_BLOB_URL: 'https://127.0.0.1:10000/strotator/rotation-targets/targets.json' })).targetsSource.kind).toBe('blob');
  });
});

describe('config: findTarget', () => {
  const config = { targets: settingTargets(loadConfig(env({ ROTATION_TARGETS: JSON.stringify([{ resourceId: ACCOUNT_A, name: 'orders' }, ACCOUNT_B]) }))) };

  it('when asked by resource ID in any letter case, by account name or by name, then the configured target is found', () => {
    expect(findTarget(config, ACCOUNT_A.toLowerCase())?.accountId).toBe(ACCOUNT_A);
    expect(findTarget(config, 'orders-db')?.accountId).toBe(ACCOUNT_A);
    expect(findTarget(config, 'ORDERS')?.accountId).toBe(ACCOUNT_A);
    expect(findTarget(config, 'users-db')?.accountId).toBe(ACCOUNT_B);
  });

  it('when the account is not configured, then nothing is found', () => {
    expect(findTarget(config, 'payments-db')).toBeUndefined();
    expect(findTarget(config, ACCOUNT_A.replace('orders-db', 'other'))).toBeUndefined();
  });
});

describe('config: the settings table', () => {
  it('when the brief\'s settings are listed, then the table has exactly those names, in order', () => {
    expect(SETTING_NAMES).toEqual([
      'KEY_VAULT_URL',
      'ROTATION_TARGETS',
      'ROTATION_TARGETS_BLOB_URL',
      'ROTATION_SCHEDULE',
      'ROTATION_INTERVAL_IN_DAYS',
      'IDLE_WINDOW_IN_HOURS',
      'USAGE_MARGIN_IN_MINUTES',
      'VALIDATION_PROBE_COUNT',
      'VALIDATION_SPREAD_IN_MINUTES',
      'STANDBY_WAIT_MAX_IN_HOURS',
      'CONSUMER_WAIT_MAX_IN_HOURS',
      'CONSUMER_CHECK_INTERVAL_IN_MINUTES',
      'ROTATION_WINDOWS',
      'ROTATE_READONLY_KEYS',
      'PUBLISH_CONNECTION_STRING',
      'SECRET_NAME_TEMPLATE',
      'READONLY_SECRET_NAME_TEMPLATE',
      'CONNECTION_STRING_SECRET_NAME_TEMPLATE',
      'SECRET_EXPIRY_IN_DAYS',
      'ARM_ENDPOINT',
      'COSMOS_ARM_API_VERSION',
      'ARM_READS_PER_SECOND',
      'ARM_WRITES_PER_SECOND',
      'KEY_VAULT_REQUESTS_PER_SECOND',
      'KEY_VAULT_SECRET_SETS_PER_SECOND',
      'AZURE_CREDENTIAL',
      'AZURE_CLIENT_ID',
      'EMULATOR_CA_CERT_PATH',
      'MAX_ROTATIONS_IN_FLIGHT',
      'MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION',
      'FAILED_ROTATION_RETRY_IN_HOURS',
      'HISTORY_RETENTION_IN_DAYS',
      'HISTORY_MAX_PER_ACCOUNT',
      'LOCAL_AUTH_UNUSED_IN_DAYS',
      'DURABLE_TASK_HUB_NAME',
      'OPERATOR_API_AUTH',
      'ROTATION_EVENTS_TOPIC_ENDPOINT',
    ]);
  });

  it('when ARM_READS_PER_SECOND or ARM_WRITES_PER_SECOND is not a whole number of at least 1, then it is refused, naming the setting', () => {
    expectProblem(env({ ARM_READS_PER_SECOND: '0' }), 'ARM_READS_PER_SECOND', /from 1 to 250/);
    expectProblem(env({ ARM_WRITES_PER_SECOND: '2.5' }), 'ARM_WRITES_PER_SECOND', /whole number from 1 to 200/);
    expect(loadConfig(env({}))).toMatchObject({ armReadsPerSecond: 20, armWritesPerSecond: 5 });
  });

  it('when KEY_VAULT_REQUESTS_PER_SECOND or KEY_VAULT_SECRET_SETS_PER_SECOND is outside what one vault takes, then it is refused, naming the setting', () => {
    // Key Vault service limits (Microsoft Learn): 4,000 transactions and 300 secret creations per vault in 10 seconds.
    expectProblem(env({ KEY_VAULT_REQUESTS_PER_SECOND: '401' }), 'KEY_VAULT_REQUESTS_PER_SECOND', /from 1 to 400/);
    expectProblem(env({ KEY_VAULT_SECRET_SETS_PER_SECOND: '31' }), 'KEY_VAULT_SECRET_SETS_PER_SECOND', /from 1 to 30/);
    expect(loadConfig(env({}))).toMatchObject({ keyVaultRequestsPerSecond: 100, keyVaultSecretSetsPerSecond: 10 });
  });

  it('when OPERATOR_API_AUTH is neither function-key nor entra-id, then it is refused, and the routes keep requiring function keys', () => {
    expectProblem(env({ OPERATOR_API_AUTH: 'entra' }), 'OPERATOR_API_AUTH', /"function-key" or "entra-id"/);
    expect(operatorApiAuthOf({ OPERATOR_API_AUTH: 'entra' })).toBe('function-key');
    expect(operatorApiAuthOf({ OPERATOR_API_AUTH: 'entra-id' })).toBe('entra-id');
    expect(operatorApiAuthOf({})).toBe('function-key');
  });

  it('when every documented default is parsed, then it is valid', () => {
    for (const spec of Object.values(SETTINGS)) {
      const text = (spec as { default?: string }).default;
      if (text !== undefined) expect(() => (spec.parse as (raw: string) => unknown)(text), spec.env).not.toThrow();
    }
  });

  it('when local.settings.sample.json is read, then it lists every setting plus the Functions host values, and its values are valid', () => {
    const sample = JSON.parse(readFileSync(new URL('../../local.settings.sample.json', import.meta.url), 'utf8')) as { Values: Record<string, string> };
    expect(Object.keys(sample.Values).sort()).toEqual([...SETTING_NAMES, 'AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME'].sort());
    expect(sample.Values.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(sample.Values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    // The sample's CA file only exists once the emulator ran: point it at a test certificate.
    expect(() => loadConfig({ ...sample.Values, EMULATOR_CA_CERT_PATH: caPath })).not.toThrow();
  });
});
