/**
 * The data-plane probe against the emulator's Cosmos DB endpoint, through the
 * real @azure/cosmos client: a current key is accepted, a replaced one is not,
 * and failures are answers (accepted: false), never thrown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretValue } from '../../src/azure/secret-value.js';
import { control } from '../helpers/emulator.js';
import { startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

let fixture: RotatorFixture;
let orders: string;
let endpoint: string;

beforeEach(async () => {
  fixture = await startRotatorFixture();
  orders = await fixture.createAccount('orders-db', { regenerationSeconds: 60 });
  endpoint = (await fixture.adapters.cosmosManagement.getAccount(orders)).documentEndpoint;
});

afterEach(async () => {
  await fixture.close();
});

describe('probeKey', () => {
  it('when the key is current, then the probe is accepted and the key shows as used', async () => {
    const key = new SecretValue(fixture.keyValue(orders, 'secondary'));
    expect(await fixture.adapters.cosmosData.probeKey(endpoint, key)).toEqual({ accepted: true, status: 200 });
    expect((await fixture.adapters.cosmosManagement.getAccount(orders)).keys.secondary.lastUsedAt).toBe(fixture.emulator.clock.now().toISOString());
  });

  it('when a read-only key is probed, then the read-only probe is accepted', async () => {
    const key = new SecretValue(fixture.keyValue(orders, 'primaryReadonly'));
    expect((await fixture.adapters.cosmosData.probeKey(endpoint, key)).accepted).toBe(true);
  });

  it('when the key was regenerated since, then the old key is rejected with 401, not thrown', async () => {
    const oldKey = new SecretValue(fixture.keyValue(orders, 'secondary'));
    const started = await fixture.adapters.cosmosManagement.beginRegenerateKey(orders, 'secondary', { skipUsageCheck: false, idleWindowInHours: 12, usageMarginInMinutes: 30 });
    fixture.emulator.clock.advance(61_000);
    expect((await fixture.adapters.cosmosManagement.getRegenerationStatus(orders, 'secondary', started.pollerState)).status).toBe('Succeeded');

    const probe = await fixture.adapters.cosmosData.probeKey(endpoint, oldKey);

    expect(probe).toMatchObject({ accepted: false, status: 401 });
    expect(probe.reason).toMatch(/rejected the key \(401 Unauthorized/);
    expect(probe.reason).not.toContain(oldKey.reveal());
    expect((await fixture.adapters.cosmosData.probeKey(endpoint, new SecretValue(fixture.keyValue(orders, 'secondary')))).accepted).toBe(true);
  });

  it('when the data plane throttles once, then the SDK retries and the probe is accepted', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'cosmos', status: 429, retryAfterSeconds: 0, times: 1 });
    expect((await fixture.adapters.cosmosData.probeKey(endpoint, new SecretValue(fixture.keyValue(orders, 'primary')))).accepted).toBe(true);
  });

  it('when the data plane keeps failing with 503, then the probe is not accepted and says what it got', async () => {
    await control(fixture.emulator, 'POST', '/faults', { service: 'cosmos', status: 503, retryAfterSeconds: 0, times: 50 });
    const probe = await fixture.adapters.cosmosData.probeKey(endpoint, new SecretValue(fixture.keyValue(orders, 'primary')));
    expect(probe).toMatchObject({ accepted: false, status: 503 });
    expect(probe.reason).toMatch(/answered 503/);
  });

  it('when nothing listens at the endpoint, then the probe is not accepted with status 0', async () => {
    const probe = await fixture.adapters.cosmosData.probeKey('https://127.0.0.1:1/', new SecretValue(fixture.keyValue(orders, 'primary')));
    expect(probe).toMatchObject({ accepted: false, status: 0 });
    expect(probe.reason).toMatch(/no answer from the data plane/);
  });
});
