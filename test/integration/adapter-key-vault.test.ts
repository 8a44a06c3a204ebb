/**
 * The Key Vault adapter against the emulated vault, through the real
 * @azure/keyvault-secrets client: latest-version properties, publishing with
 * tags, content type and expiry, throttling retried by the SDK, and errors
 * that say how to fix them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretValue } from '../../src/azure/secret-value.js';
import type { KeyVaultAdapter } from '../../src/azure/key-vault.js';
import { control, secretClient } from '../helpers/emulator.js';
import { caught, startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

let fixture: RotatorFixture;
let vault: KeyVaultAdapter;

const TAGS = { cosmosAccount: '/subscriptions/x/resourceGroups/rg-app/providers/Microsoft.DocumentDB/databaseAccounts/orders-db', keyKind: 'secondary', rotationId: 'r-1' };

beforeEach(async () => {
  fixture = await startRotatorFixture();
  vault = fixture.adapters.keyVault;
});

afterEach(async () => {
  await fixture.close();
});

describe('Key Vault adapter', () => {
  it('when the secret does not exist yet, then its latest properties are null', async () => {
    expect(await vault.getLatestSecretProperties('orders-db-key')).toBeNull();
  });

  it('when a key is published, then the new version carries the tags, content type and expiry, and consumers read the value', async () => {
    const expiresOn = new Date(fixture.emulator.clock.nowMs() + 90 * 86_400_000);
    const published = await vault.publishSecret('orders-db-key', new SecretValue('value-one'), { tags: TAGS, contentType: 'application/vnd.cosmos-key', expiresOn });

    expect(published).toMatchObject({ name: 'orders-db-key', tags: TAGS, contentType: 'application/vnd.cosmos-key', expiresOn: expiresOn.toISOString(), enabled: true });
    expect(published.version).toMatch(/^[0-9a-f]{32}$/);
    expect(await vault.getLatestSecretProperties('orders-db-key')).toEqual(published);
    expect((await secretClient(fixture.emulator).getSecret('orders-db-key')).value).toBe('value-one');
    // The properties never include the value.
    expect(JSON.stringify(published)).not.toContain('value-one');
  });

  it('when a second version is published, then the latest properties are the second version\'s', async () => {
    const expiresOn = new Date(fixture.emulator.clock.nowMs() + 86_400_000);
    await vault.publishSecret('orders-db-key', new SecretValue('v1'), { tags: TAGS, contentType: 'c', expiresOn });
    fixture.emulator.clock.advance(60_000);
    const second = await vault.publishSecret('orders-db-key', new SecretValue('v2'), { tags: { ...TAGS, rotationId: 'r-2' }, contentType: 'c', expiresOn });
    const latest = await vault.getLatestSecretProperties('orders-db-key');
    expect(latest?.version).toBe(second.version);
    expect(latest?.tags.rotationId).toBe('r-2');
    expect(latest?.createdOn).toBe(fixture.emulator.clock.now().toISOString());
  });

  // Update-AzKeyVaultSecret (Microsoft Learn, "Updates editable attributes of a secret"): its example keeps the Version and
  // the Created time and changes only Updated and the tags; the secret value is not an attribute an update can change.
  it('when the rotation tags the current version (its regeneration marker), then no version is added, the value and creation time stay, and the other tags are kept', async () => {
    const expiresOn = new Date(fixture.emulator.clock.nowMs() + 86_400_000);
    const published = await vault.publishSecret('orders-db-key', new SecretValue('value-one'), { tags: TAGS, contentType: 'application/vnd.cosmos-key', expiresOn });
    fixture.emulator.clock.advance(60_000);
    const marked = await vault.updateSecretTags('orders-db-key', published.version, { ...TAGS, regeneratingKeyKind: 'primary' });

    expect(marked).toMatchObject({ version: published.version, createdOn: published.createdOn, contentType: 'application/vnd.cosmos-key', tags: { ...TAGS, regeneratingKeyKind: 'primary' } });
    expect(await vault.getLatestSecretProperties('orders-db-key')).toEqual(marked);
    expect((await secretClient(fixture.emulator).getSecret('orders-db-key')).value).toBe('value-one');
    expect(fixture.emulator.state().keyVault.secrets['orders-db-key']?.versions).toHaveLength(1);
  });

  it('when Key Vault throttles twice with 429, then the SDK retries and the version is published once', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 429, retryAfterSeconds: 0, times: 2 });
    const published = await vault.publishSecret('orders-db-key', new SecretValue('v1'), { tags: TAGS, contentType: 'c', expiresOn: new Date(fixture.emulator.clock.nowMs() + 86_400_000) });
    expect(published.version).toBeTruthy();
    expect(fixture.emulator.state().keyVault.secrets['orders-db-key']?.versions).toHaveLength(1);
  });

  it('when Key Vault keeps throttling, then the error is transient', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'GET', status: 429, retryAfterSeconds: 0, times: 20 });
    expect(await caught(vault.getLatestSecretProperties('orders-db-key'))).toMatchObject({ name: 'TransientError', statusCode: 429 });
  });

  it('when the identity may not write secrets, then the error is permanent and names the Key Vault Secrets Officer role on the vault', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 403, times: 1 });
    const error = await caught(vault.publishSecret('orders-db-key', new SecretValue('v1'), { tags: TAGS, contentType: 'c', expiresOn: new Date(fixture.emulator.clock.nowMs() + 86_400_000) }));
    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 403 });
    expect(error.message).toContain(`"Key Vault Secrets Officer" role on the vault ${fixture.emulator.keyVaultUrl}`);
  });

  it('when the secret was deleted but is recoverable, then publishing fails permanently with how to recover or purge it', async () => {
    const client = secretClient(fixture.emulator);
    await client.setSecret('orders-db-key', 'old');
    const poller = await client.beginDeleteSecret('orders-db-key');
    await poller.pollUntilDone();
    const error = await caught(vault.publishSecret('orders-db-key', new SecretValue('v1'), { tags: TAGS, contentType: 'c', expiresOn: new Date(fixture.emulator.clock.nowMs() + 86_400_000) }));
    expect(error).toMatchObject({ name: 'PermanentError', statusCode: 409 });
    expect(error.message).toMatch(/deleted but recoverable.*recover it/);
  });
});
