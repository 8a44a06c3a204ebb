/**
 * The emulated Key Vault seen through the real @azure/keyvault-secrets client
 * (and raw HTTPS for what the SDK hides: the auth challenge, error bodies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { httpsRequest, secretClient, startTestEmulator } from '../helpers/emulator.js';

const API_VERSION = '7.5';

let emulator: AzureEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

function vaultRequest(method: string, path: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? 'emulator-token'}`;
  const separator = path.includes('?') ? '&' : '?';
  return httpsRequest(`${emulator.keyVaultUrl}${path}${separator}api-version=${API_VERSION}`, { ca: emulator.caCertPem, method, headers, body: options.body });
}

function restError(error: unknown): { statusCode?: number; code?: string; message: string } {
  return error as { statusCode?: number; code?: string; message: string };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('Key Vault: authentication', () => {
  it('when a request carries no token, then it gets 401 with the Key Vault challenge and nothing is written', async () => {
    const response = await vaultRequest('PUT', '/secrets/challenged', { token: null, body: { value: 'should-not-be-stored' } });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+", resource="https:\/\/vault\.azure\.net"$/);
    expect(response.body).toMatchObject({ error: { code: 'Unauthorized' } });
    expect(emulator.state().keyVault.secrets).not.toHaveProperty('challenged');
  });

  it('when the Authorization header is not a bearer token, then it gets 401', async () => {
    const response = await vaultRequest('GET', '/secrets', { token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain('resource="https://vault.azure.net"');
  });

  it('when the SDK client starts, then it answers the challenge and its first write succeeds', async () => {
    const secret = await secretClient(emulator).setSecret('first-write', 'v1');
    expect(secret.value).toBe('v1');
  });

  it('when the api-version is missing, then the request gets 400 BadParameter', async () => {
    const response = await httpsRequest(`${emulator.keyVaultUrl}/secrets`, { ca: emulator.caCertPem, headers: { authorization: 'Bearer t' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'BadParameter' } });
  });
});

describe('Key Vault: secrets and versions', () => {
  it('when a secret is set twice, then "get" returns the latest version and each version stays readable by its id', async () => {
    const client = secretClient(emulator);
    const first = await client.setSecret('db-key', 'value-1');
    emulator.clock.advance(60_000);
    const second = await client.setSecret('db-key', 'value-2');

    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(second.properties.id).toBe(`${emulator.keyVaultUrl}/secrets/db-key/${second.properties.version}`);
    expect((await client.getSecret('db-key')).value).toBe('value-2');
    expect((await client.getSecret('db-key', { version: first.properties.version! })).value).toBe('value-1');

    const versions = await collect(client.listPropertiesOfSecretVersions('db-key'));
    expect(versions.map((version) => version.version)).toEqual([first.properties.version, second.properties.version]);
    expect(versions.map((version) => version.createdOn?.getTime())).toEqual([
      first.properties.createdOn?.getTime(),
      first.properties.createdOn!.getTime() + 60_000,
    ]);
  });

  it('when a secret is set, then its times come from the emulator clock and it is recoverable for 90 days', async () => {
    const secret = await secretClient(emulator).setSecret('clocked', 'x');
    const nowInSeconds = Math.floor(emulator.clock.nowMs() / 1000) * 1000;
    expect(secret.properties.createdOn?.getTime()).toBe(nowInSeconds);
    expect(secret.properties.updatedOn?.getTime()).toBe(nowInSeconds);
    expect(secret.properties.enabled).toBe(true);
    expect(secret.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(secret.properties.recoverableDays).toBe(90);
  });

  it('when a secret is set with tags, a content type and validity dates, then they come back as set', async () => {
    const client = secretClient(emulator);
    const expiresOn = new Date(emulator.clock.nowMs() + 90 * 86_400_000);
    const notBefore = new Date(emulator.clock.nowMs() - 60_000);
    const set = await client.setSecret('tagged', 'secret-value', {
      contentType: 'text/plain',
      tags: { keyKind: 'secondary', account: 'acct1' },
      expiresOn,
      notBefore,
    });
    const read = await client.getSecret('tagged');
    for (const secret of [set, read]) {
      expect(secret.properties.contentType).toBe('text/plain');
      expect(secret.properties.tags).toEqual({ keyKind: 'secondary', account: 'acct1' });
      expect(secret.properties.expiresOn?.getTime()).toBe(Math.floor(expiresOn.getTime() / 1000) * 1000);
      expect(secret.properties.notBefore?.getTime()).toBe(Math.floor(notBefore.getTime() / 1000) * 1000);
    }
  });

  // Sources: Microsoft Learn, "About Azure Key Vault secrets" (values up to 25 KB, contentType up to 255 characters)
  // and the project's second-pass facts (15 tags, tag names and values up to 512 characters; see the note of issue 11).
  it('when a secret is set at the documented limits (15 tags, 512-character tag values, a 25 KB value, a 255-character content type), then it is stored; one past any limit is refused with 400', async () => {
    const client = secretClient(emulator);
    const fifteenTags = Object.fromEntries(Array.from({ length: 15 }, (_, index) => [`tag${index}`, 'x'.repeat(512)]));
    const atLimits = await client.setSecret('at-limits', 'v'.repeat(25 * 1024), { contentType: 'c'.repeat(255), tags: fifteenTags });
    const refusals = await Promise.all([
      client.setSecret('past-limits', 'v', { tags: { ...fifteenTags, tag15: 'one too many' } }).catch((error: unknown) => error),
      client.setSecret('past-limits', 'v', { tags: { long: 'x'.repeat(513) } }).catch((error: unknown) => error),
      client.setSecret('past-limits', 'v'.repeat(25 * 1024 + 1)).catch((error: unknown) => error),
      client.setSecret('past-limits', 'v', { contentType: 'c'.repeat(256) }).catch((error: unknown) => error),
    ]);

    expect(Object.values(atLimits.properties.tags ?? {})).toHaveLength(15);
    expect(atLimits.properties.tags?.tag0).toHaveLength(512);
    expect(refusals.map((error) => (error as { statusCode?: number }).statusCode)).toEqual([400, 400, 400, 400]);
  });

  it('when properties of a version are updated, then only the given ones change and the value is not returned', async () => {
    const client = secretClient(emulator);
    const set = await client.setSecret('updatable', 'keep-me', { contentType: 'text/plain', tags: { a: '1' } });
    emulator.clock.advance(5_000);
    const updated = await client.updateSecretProperties('updatable', set.properties.version!, { tags: { b: '2' } });
    expect(updated.tags).toEqual({ b: '2' });
    expect(updated.contentType).toBe('text/plain');
    expect(updated.updatedOn!.getTime() - updated.createdOn!.getTime()).toBe(5_000);
    expect(updated).not.toHaveProperty('value');
    expect((await client.getSecret('updatable')).value).toBe('keep-me');
  });

  it('when the validity dates of a version are updated, then notBefore and expiresOn round-trip and the other version keeps its own', async () => {
    const client = secretClient(emulator);
    const older = await client.setSecret('validity', 'first', { expiresOn: new Date('2026-06-01T00:00:00Z') });
    const newer = await client.setSecret('validity', 'second');
    const notBefore = new Date('2026-05-01T07:00:00Z');
    const expiresOn = new Date('2026-07-30T08:00:00Z');

    const updated = await client.updateSecretProperties('validity', newer.properties.version!, { notBefore, expiresOn });
    const moved = await client.updateSecretProperties('validity', newer.properties.version!, { expiresOn: new Date('2026-08-01T00:00:00Z') });
    const read = await client.getSecret('validity');
    const versions = await collect(client.listPropertiesOfSecretVersions('validity'));

    expect(updated.notBefore?.toISOString()).toBe('2026-05-01T07:00:00.000Z');
    expect(updated.expiresOn?.toISOString()).toBe('2026-07-30T08:00:00.000Z');
    expect(moved.notBefore?.toISOString()).toBe('2026-05-01T07:00:00.000Z');
    expect(moved.expiresOn?.toISOString()).toBe('2026-08-01T00:00:00.000Z');
    expect(read.value).toBe('second');
    expect(read.properties.notBefore?.toISOString()).toBe('2026-05-01T07:00:00.000Z');
    expect(read.properties.expiresOn?.toISOString()).toBe('2026-08-01T00:00:00.000Z');
    expect(versions.map((version) => [version.version, version.notBefore?.toISOString(), version.expiresOn?.toISOString()])).toEqual([
      [older.properties.version, undefined, '2026-06-01T00:00:00.000Z'],
      [newer.properties.version, '2026-05-01T07:00:00.000Z', '2026-08-01T00:00:00.000Z'],
    ]);
  });

  it('when validity dates are removed with null, then the version has none', async () => {
    const client = secretClient(emulator);
    const set = await client.setSecret('unbounded', 'value', { notBefore: new Date('2026-05-01T07:00:00Z'), expiresOn: new Date('2026-06-01T00:00:00Z') });

    const response = await vaultRequest('PATCH', `/secrets/unbounded/${set.properties.version}`, { body: { attributes: { nbf: null, exp: null } } });
    const read = await client.getSecret('unbounded');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ attributes: { enabled: true } });
    expect((response.body as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty('nbf');
    expect((response.body as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty('exp');
    expect(read.properties.notBefore).toBeUndefined();
    expect(read.properties.expiresOn).toBeUndefined();
  });

  it('when a version is disabled, then reading it gets 403 Forbidden (SecretDisabled), and enabling it again restores it', async () => {
    const client = secretClient(emulator);
    const older = await client.setSecret('toggled', 'old');
    const newer = await client.setSecret('toggled', 'new');
    await client.updateSecretProperties('toggled', older.properties.version!, { enabled: false });

    const refused = restError(await client.getSecret('toggled', { version: older.properties.version! }).catch((error: unknown) => error));
    expect(refused.statusCode).toBe(403);
    expect(refused.code).toBe('Forbidden');
    expect(refused.message).toBe('Operation get is not allowed on a disabled secret.');
    const raw = await vaultRequest('GET', `/secrets/toggled/${older.properties.version}`);
    expect(raw.body).toEqual({ error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
    // The latest version is another one and still readable; the list shows the disabled one.
    expect((await client.getSecret('toggled')).value).toBe('new');
    const versions = await collect(client.listPropertiesOfSecretVersions('toggled'));
    expect(versions.map((version) => [version.version, version.enabled])).toEqual([
      [older.properties.version, false],
      [newer.properties.version, true],
    ]);

    await client.updateSecretProperties('toggled', older.properties.version!, { enabled: true });
    expect((await client.getSecret('toggled', { version: older.properties.version! })).value).toBe('old');
  });

  it('when a secret name has characters Key Vault does not allow, then the request gets 400 BadParameter', async () => {
    const refused = restError(await secretClient(emulator).setSecret('bad_name', 'x').catch((error: unknown) => error));
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('BadParameter');
  });

  it('when a secret or a version does not exist, then the answer is 404 SecretNotFound in Key Vault error shape', async () => {
    const client = secretClient(emulator);
    const missing = restError(await client.getSecret('never-set').catch((error: unknown) => error));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('SecretNotFound');

    const raw = await vaultRequest('GET', '/secrets/never-set/');
    expect(raw.status).toBe(404);
    expect(raw.body).toEqual({ error: { code: 'SecretNotFound', message: expect.stringContaining('never-set') } });

    await client.setSecret('has-one-version', 'x');
    const missingVersion = restError(await client.getSecret('has-one-version', { version: '0'.repeat(32) }).catch((error: unknown) => error));
    expect(missingVersion.statusCode).toBe(404);
    expect(missingVersion.code).toBe('SecretNotFound');
  });

  it('when many secrets exist, then listing pages through all of them without values', async () => {
    const client = secretClient(emulator);
    const names = Array.from({ length: 30 }, (_, index) => `paged-${String(index).padStart(2, '0')}`);
    for (const name of names) await client.setSecret(name, `value-of-${name}`);

    const listed = await collect(client.listPropertiesOfSecrets());
    expect(listed.map((secret) => secret.name).filter((name) => name.startsWith('paged-'))).toEqual(names);
    expect(listed.every((secret) => !('value' in secret))).toBe(true);

    const firstPage = await vaultRequest('GET', '/secrets?maxresults=25');
    const page = firstPage.body as { value: { id: string; value?: string }[]; nextLink: string | null };
    expect(page.value).toHaveLength(25);
    expect(page.value.every((item) => item.value === undefined && !/\/[0-9a-f]{32}$/.test(item.id))).toBe(true);
    expect(page.nextLink).toMatch(new RegExp(`^${emulator.keyVaultUrl}/secrets\\?`));
  });
});

describe('Key Vault: listing secrets (GetSecrets, azure-rest-api-specs keyvault data-plane stable 7.5 secrets.json and GetSecrets-example.json)', () => {
  it('when a secret has several versions, then its list item carries the current version\'s tags, content type and times, and no value or version ID', async () => {
    const client = secretClient(emulator);
    await client.setSecret('listed-current', 'old-value', { tags: { keyKind: 'primary' }, contentType: 'text/plain' });
    emulator.clock.advance(60_000);
    const current = await client.setSecret('listed-current', 'new-value', { tags: { keyKind: 'secondary', rotationId: 'r-2' }, contentType: 'application/x-cosmos-key' });

    const listed = (await collect(client.listPropertiesOfSecrets())).find((secret) => secret.name === 'listed-current')!;

    expect(listed.tags).toEqual({ keyKind: 'secondary', rotationId: 'r-2' });
    expect(listed.contentType).toBe('application/x-cosmos-key');
    expect(listed.createdOn).toEqual(current.properties.createdOn);
    expect(listed.enabled).toBe(true);
    expect(listed.version).toBeUndefined();
    const raw = (await vaultRequest('GET', '/secrets')).body as { value: Array<Record<string, unknown>> };
    const item = raw.value.find((entry) => String(entry.id).endsWith('/secrets/listed-current'))!;
    expect(Object.keys(item).sort()).toEqual(['attributes', 'contentType', 'id', 'tags']);
  });

  it('when maxresults is outside 1 to 25, then the list is refused with 400; without it a page holds at most 25', async () => {
    const client = secretClient(emulator);
    for (let index = 0; index < 26; index++) await client.setSecret(`page-size-${String(index).padStart(2, '0')}`, 'x');
    expect((await vaultRequest('GET', '/secrets?maxresults=26')).status).toBe(400);
    expect((await vaultRequest('GET', '/secrets?maxresults=0')).status).toBe(400);
    const page = (await vaultRequest('GET', '/secrets')).body as { value: unknown[]; nextLink: string | null };
    expect(page.value.length).toBeLessThanOrEqual(25);
    expect(page.nextLink).not.toBeNull();
  });
});

describe('Key Vault: soft delete', () => {
  it('when a secret is deleted, then it is gone until recovered, its name cannot be reused meanwhile, and recovery brings every version back', async () => {
    const client = secretClient(emulator);
    const first = await client.setSecret('removable', 'v1', { tags: { keep: 'yes' } });
    await client.setSecret('removable', 'v2');

    const deletion = await client.beginDeleteSecret('removable', { intervalInMs: 1 });
    const deleted = await deletion.pollUntilDone();
    expect(deleted.recoveryId).toBe(`${emulator.keyVaultUrl}/deletedsecrets/removable`);
    expect(deleted.deletedOn?.getTime()).toBe(Math.floor(emulator.clock.nowMs() / 1000) * 1000);
    expect(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()).toBe(90 * 86_400_000);
    expect(deleted.value).toBeUndefined();

    const gone = restError(await client.getSecret('removable').catch((error: unknown) => error));
    expect(gone.statusCode).toBe(404);
    expect(gone.code).toBe('SecretNotFound');
    const reuse = restError(await client.setSecret('removable', 'v3').catch((error: unknown) => error));
    expect(reuse.statusCode).toBe(409);
    expect(reuse.code).toBe('Conflict');
    const listedDeleted = await collect(client.listDeletedSecrets());
    expect(listedDeleted.map((secret) => secret.name)).toContain('removable');
    expect((await client.getDeletedSecret('removable')).properties.tags).toBeUndefined();

    const recovery = await client.beginRecoverDeletedSecret('removable', { intervalInMs: 1 });
    await recovery.pollUntilDone();
    expect((await client.getSecret('removable')).value).toBe('v2');
    expect((await client.getSecret('removable', { version: first.properties.version! })).properties.tags).toEqual({ keep: 'yes' });
    const missingDeleted = restError(await client.getDeletedSecret('removable').catch((error: unknown) => error));
    expect(missingDeleted.statusCode).toBe(404);
  });

  it('when a deleted secret is purged, then it is gone for good and its name is free again', async () => {
    const client = secretClient(emulator);
    await client.setSecret('purgeable', 'old');
    await (await client.beginDeleteSecret('purgeable', { intervalInMs: 1 })).pollUntilDone();
    await client.purgeDeletedSecret('purgeable');

    const missing = restError(await client.getDeletedSecret('purgeable').catch((error: unknown) => error));
    expect(missing.statusCode).toBe(404);
    const reborn = await client.setSecret('purgeable', 'new');
    const versions = await collect(client.listPropertiesOfSecretVersions('purgeable'));
    expect(versions.map((version) => version.version)).toEqual([reborn.properties.version]);
  });

  it('when the retention of a deleted secret runs out on the emulator clock, then it is purged', async () => {
    const client = secretClient(emulator);
    await client.setSecret('expiring-deletion', 'x');
    await (await client.beginDeleteSecret('expiring-deletion', { intervalInMs: 1 })).pollUntilDone();
    emulator.clock.advance(90 * 86_400_000);
    const missing = restError(await client.getDeletedSecret('expiring-deletion').catch((error: unknown) => error));
    expect(missing.statusCode).toBe(404);
  });
});
