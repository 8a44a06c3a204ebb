/**
 * Throttling as Azure answers it, on the emulator's clock and on by default.
 *
 * Sources: Microsoft Learn, "Understand how Azure Resource Manager throttles requests"
 * (regional throttling and token bucket algorithm: per subscription, principal and
 * operation type, reads 250 refilled 25/s, writes 200 refilled 10/s, a subscription-wide
 * bucket of 15 times that; 429 with Retry-After; x-ms-ratelimit-remaining-subscription-reads
 * on reads and -writes on writes). Microsoft Learn, "Azure Key Vault service limits"
 * (secrets: 300 CREATE secret and 4,000 other transactions per 10 seconds per vault) and
 * "Azure Key Vault throttling guidance" (429; a refused request does not count).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { ARM_API_VERSION, SUBSCRIPTION_ID, accountPath, armRequest, control, httpsRequest, startTestEmulator } from '../helpers/emulator.js';

let emulator: AzureEmulator;

beforeEach(async () => {
  emulator = await startTestEmulator();
  await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' });
});

afterEach(async () => emulator?.close());

const read = (token = 'emulator-token') =>
  armRequest(emulator, 'GET', `${accountPath('rg-app', 'orders')}?api-version=${ARM_API_VERSION}`, { headers: { authorization: `Bearer ${token}` } });
const listKeys = () => armRequest(emulator, 'POST', `${accountPath('rg-app', 'orders')}/listKeys?api-version=${ARM_API_VERSION}`);

async function times<T>(count: number, call: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < count; index += 1) results.push(await call());
  return results;
}

describe('Resource Manager throttling (token buckets, on by default with Azure\'s numbers)', () => {
  it('when one principal sends 250 reads in the same second, then each answer counts down x-ms-ratelimit-remaining-subscription-reads and the 251st gets 429 with Retry-After', async () => {
    const answers = await times(250, () => read());
    const refused = await read();

    expect(answers[0]!.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('249');
    expect(answers[249]!.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('0');
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ error: { code: 'SubscriptionRequestsThrottled' } });
  });

  it('when the emulator clock moves one second after the read bucket emptied, then 25 more reads pass, not more', async () => {
    await times(250, () => read());
    emulator.clock.advance(1_000);

    const refilled = await times(26, () => read());

    expect(refilled.slice(0, 25).every((answer) => answer.status === 200)).toBe(true);
    expect(refilled[25]!.status).toBe(429);
  });

  it('when listKeys (a POST action) is called, then it counts as a write: 200 burst, 10 per second, x-ms-ratelimit-remaining-subscription-writes', async () => {
    const answers = await times(200, listKeys);
    const refused = await listKeys();
    emulator.clock.advance(1_000);
    const refilled = await times(11, listKeys);

    expect(answers[0]!.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('199');
    expect(answers[0]!.headers['x-ms-ratelimit-remaining-subscription-reads']).toBeUndefined();
    expect(refused.status).toBe(429);
    expect(refilled.filter((answer) => answer.status === 200)).toHaveLength(10);
    // Reads have their own bucket.
    expect((await read()).status).toBe(200);
  });

  it('when another principal reads, then it has its own bucket, until the subscription-wide one (15 times as large) is empty', async () => {
    await control(emulator, 'PUT', '/throttling', { arm: { reads: { bucketSize: 2, refillPerSecond: 1 }, subscriptionMultiplier: 2 } });

    const first = await times(3, () => read('principal-a'));
    const second = await times(2, () => read('principal-b'));
    const third = await read('principal-c');

    expect(first.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(second.map((answer) => answer.status)).toEqual([200, 200]);
    expect(third.status).toBe(429);
  });

  it('when throttling is turned off through the control API, then nothing is refused and no remaining count is sent; DELETE brings Azure\'s numbers back', async () => {
    const off = await control(emulator, 'PUT', '/throttling', { arm: { enabled: false } });
    const answers = await times(260, () => read());
    const restored = await control(emulator, 'DELETE', '/throttling');

    expect(off.body).toMatchObject({ arm: { enabled: false }, keyVault: { enabled: true } });
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(answers[0]!.headers['x-ms-ratelimit-remaining-subscription-reads']).toBeUndefined();
    expect(restored.body).toMatchObject({ arm: { enabled: true, reads: { bucketSize: 250, refillPerSecond: 25 }, writes: { bucketSize: 200, refillPerSecond: 10 }, subscriptionMultiplier: 15 } });
    expect((await read()).headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('249');
  });

  it('when the throttling change is malformed, then 400 names the field and nothing changes', async () => {
    const bad = await control(emulator, 'PUT', '/throttling', { arm: { reads: { bucketSize: -1 } } });

    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('arm.reads.bucketSize');
    expect((await control(emulator, 'GET', '/throttling')).body).toMatchObject({ arm: { reads: { bucketSize: 250 } } });
  });
});

describe('Key Vault throttling (per vault, per 10 seconds, on by default)', () => {
  const token = { authorization: 'Bearer emulator-token' };
  const put = (name: string) =>
    httpsRequest(`${emulator.keyVaultUrl}/secrets/${name}?api-version=7.6`, { ca: emulator.caCertPem, method: 'PUT', headers: token, body: { value: 'v' } });
  const get = (name: string) => httpsRequest(`${emulator.keyVaultUrl}/secrets/${name}/?api-version=7.6`, { ca: emulator.caCertPem, headers: token });

  it('when 300 secrets are created within 10 seconds, then the 301st gets 429 Throttled with Retry-After, and it passes once the window has passed on the emulator clock', async () => {
    const created = await times(300, () => put('orders-key'));
    const refused = await put('orders-key');
    emulator.clock.advance(10_000);
    const later = await put('orders-key');

    expect(created.every((answer) => answer.status === 200)).toBe(true);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'Throttled' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(later.status).toBe(200);
    // Reads are counted apart from creations.
    expect((await get('orders-key')).status).toBe(200);
  });

  it('when reads pass the vault\'s limit, then they are refused, and refused requests do not count against the next window', async () => {
    await control(emulator, 'PUT', '/throttling', { keyVault: { otherTransactionsPerWindow: 3 } });
    await put('orders-key');

    const answers = await times(5, () => get('orders-key'));
    emulator.clock.advance(10_000);
    const next = await times(3, () => get('orders-key'));

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
    expect(next.every((answer) => answer.status === 200)).toBe(true);
  });
});
