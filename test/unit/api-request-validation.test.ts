import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import type { RotationTarget } from '../../src/config.js';
import { accountFromRoute, resolveAccount } from '../../src/api/accounts.js';
import { MAX_BODY_BYTES, readJsonBody } from '../../src/api/body.js';
import { BODY_SPECS } from '../../src/api/operations.js';

const ORDERS_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/orders';
const config = {
  targets: [
    { name: 'orders', accountName: 'orders', accountId: ORDERS_ID } as RotationTarget,
    { name: 'billing-prod', accountName: 'billingacct', accountId: ORDERS_ID.replace('orders', 'billingacct') } as RotationTarget,
  ],
};

function post(body: string | undefined, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ url: 'http://localhost/api/rotations', method: 'POST', headers, ...(body === undefined ? {} : { body: { string: body } }) });
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { status, code, message } = error as { status: number; code: string; message: string };
    return { status, code, message };
  }
  throw new Error('expected a refusal');
}

describe('request bodies', () => {
  it('when the body is a valid start request, then its fields come back typed', async () => {
    const body = await readJsonBody(post('{"account":"orders","force":true,"reason":"leaked in a log"}'), BODY_SPECS.startRotation);
    expect(body).toEqual({ account: 'orders', force: true, reason: 'leaked in a log' });
  });

  it('when the body is not JSON, then it is refused as malformedJson', async () => {
    expect(await refusal(readJsonBody(post('{"account": orders}'), BODY_SPECS.startRotation))).toMatchObject({ status: 400, code: 'malformedJson' });
  });

  it('when the body is a JSON array or a string, then it is refused and the expected fields are named', async () => {
    const result = await refusal(readJsonBody(post('["orders"]'), BODY_SPECS.startRotation));
    expect(result).toMatchObject({ status: 400, code: 'invalidBody' });
    expect(result.message).toContain('"account"');
    expect(await refusal(readJsonBody(post('"orders"'), BODY_SPECS.startRotation))).toMatchObject({ code: 'invalidBody' });
  });

  it('when a field is unknown, then it is refused and named with the allowed fields', async () => {
    const result = await refusal(readJsonBody(post('{"account":"orders","forse":true}'), BODY_SPECS.startRotation));
    expect(result).toMatchObject({ status: 400, code: 'unknownField' });
    expect(result.message).toContain('"forse"');
    expect(result.message).toContain('"force"?');
  });

  it('when a field has the wrong type, then the refusal names the field and the type it got', async () => {
    const result = await refusal(readJsonBody(post('{"account":"orders","force":"yes"}'), BODY_SPECS.startRotation));
    expect(result).toMatchObject({ status: 400, code: 'invalidField', message: 'The field "force" must be true or false, not a string.' });
    expect(await refusal(readJsonBody(post('{"account":42}'), BODY_SPECS.startRotation))).toMatchObject({ code: 'invalidField', message: expect.stringContaining('"account" must be a string, not a number') });
  });

  it('when a required field is missing or blank, then the refusal says it is required', async () => {
    expect(await refusal(readJsonBody(post(''), BODY_SPECS.startRotation))).toMatchObject({ status: 400, code: 'missingField', message: expect.stringContaining('"account" is required') });
    expect(await refusal(readJsonBody(post('{"reason":"   "}'), BODY_SPECS.cancelRotation))).toMatchObject({ code: 'invalidField', message: expect.stringContaining('must not be empty') });
  });

  it('when a string is longer than allowed or holds control characters, then it is refused', async () => {
    expect(await refusal(readJsonBody(post(JSON.stringify({ reason: 'x'.repeat(501) })), BODY_SPECS.cancelRotation))).toMatchObject({ code: 'invalidField', message: expect.stringContaining('at most 500') });
    expect(await refusal(readJsonBody(post(JSON.stringify({ reason: 'line\u0007bell' })), BODY_SPECS.cancelRotation))).toMatchObject({ code: 'invalidField', message: expect.stringContaining('control characters') });
  });

  it('when the body is larger than the limit, then it is refused whether or not its length is declared', async () => {
    const big = JSON.stringify({ account: 'orders', reason: 'x'.repeat(MAX_BODY_BYTES) });
    expect(await refusal(readJsonBody(post(big), BODY_SPECS.startRotation))).toMatchObject({ status: 400, code: 'bodyTooLarge' });
    expect(await refusal(readJsonBody(post('{}', { 'content-length': String(MAX_BODY_BYTES + 1) }), BODY_SPECS.consumersMoved))).toMatchObject({ code: 'bodyTooLarge' });
  });

  it('when an endpoint has only optional fields, then an empty body is accepted', async () => {
    expect(await readJsonBody(post(undefined), BODY_SPECS.consumersMoved)).toEqual({});
  });
});

describe('account references', () => {
  it('when the configured name, the account name or the resource ID in any case is given, then the same target is found', () => {
    expect(resolveAccount(config, 'orders').accountId).toBe(ORDERS_ID);
    expect(resolveAccount(config, 'billing-prod').accountName).toBe('billingacct');
    expect(resolveAccount(config, 'billingacct').name).toBe('billing-prod');
    expect(resolveAccount(config, ORDERS_ID.toUpperCase()).name).toBe('orders');
  });

  it('when a resource ID is not a Cosmos DB account ID, then it is a 400 that shows the expected shape', async () => {
    const storage = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/orders';
    const result = await refusal(Promise.resolve().then(() => resolveAccount(config, storage)));
    expect(result).toMatchObject({ status: 400, code: 'invalidAccount' });
    expect(result.message).toContain('Microsoft.DocumentDB/databaseAccounts/{account}');
  });

  it('when a valid account is not configured, then it is a 404 that says only configured accounts rotate', async () => {
    const other = ORDERS_ID.replace('orders', 'payments');
    expect(await refusal(Promise.resolve().then(() => resolveAccount(config, other)))).toMatchObject({ status: 404, code: 'accountNotConfigured' });
    expect(await refusal(Promise.resolve().then(() => resolveAccount(config, 'payments')))).toMatchObject({ status: 404, code: 'accountNotConfigured', message: expect.stringContaining('ROTATION_TARGETS') });
  });

  it('when the reference is neither a name nor a resource ID, then it is a 400', async () => {
    expect(await refusal(Promise.resolve().then(() => resolveAccount(config, 'orders; drop')))).toMatchObject({ status: 400, code: 'invalidAccount' });
    expect(await refusal(Promise.resolve().then(() => resolveAccount(config, ' ')))).toMatchObject({ status: 400, code: 'invalidAccount' });
  });

  it('when a route value is a still-encoded resource ID, then it is decoded once', () => {
    expect(accountFromRoute(encodeURIComponent(ORDERS_ID))).toBe(ORDERS_ID);
    expect(accountFromRoute('orders')).toBe('orders');
    expect(() => accountFromRoute('%E0%A4%A')).toThrow(/not a valid URL-encoded/);
  });
});
