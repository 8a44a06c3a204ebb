/**
 * Reading the caller from the principal App Service passes (Microsoft Learn,
 * "Work with user identities in Azure App Service authentication": the header is
 * base64 JSON of auth_typ, claims [{typ, val}], name_typ and role_typ).
 */
import { describe, expect, it } from 'vitest';
import { FUNCTION_KEY_CALLER, OPERATION_ACCESS, callerOf, requireRole } from '../../src/api/auth.js';
import { isApiError } from '../../src/api/errors.js';
import { documentedOperations, loadOpenApi } from '../helpers/openapi.js';

const request = (headers: Record<string, string>) => ({ headers: new Headers(headers) });
const encode = (principal: unknown): string => Buffer.from(JSON.stringify(principal)).toString('base64');

describe('the caller of an operator API request', () => {
  it('when a pipeline signs in with its own identity (client credentials: no user name), then it is named by its application ID and keeps its app roles', () => {
    const header = encode({
      auth_typ: 'aad',
      claims: [
        { typ: 'appid', val: 'b0b0b0b0-0000-0000-0000-000000000001' },
        { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'Operator' },
      ],
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
      role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    });

    const caller = callerOf(request({ 'x-ms-client-principal': header }), 'entra-id');

    expect(caller).toEqual({ name: 'b0b0b0b0-0000-0000-0000-000000000001', authenticated: true, roles: ['Operator'] });
    expect(() => requireRole(caller, { role: 'Operator', action: 'start a rotation' })).not.toThrow();
  });

  it('when the platform does not authenticate callers, then a principal header is ignored and the caller is the function key', () => {
    const header = encode({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'mallory' }, { typ: 'roles', val: 'Forcer' }], name_typ: 'name', role_typ: 'roles' });

    expect(callerOf(request({ 'x-ms-client-principal': header }), 'function-key')).toEqual({ name: FUNCTION_KEY_CALLER, authenticated: false, roles: 'all' });
  });

  it('when a signed-in user has no app role, then the refusal says which role is needed and that the caller has none', () => {
    const caller = callerOf(request({ 'x-ms-client-principal': encode({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'Ada' }], name_typ: 'name', role_typ: 'roles' }) }), 'entra-id');

    let refusal: unknown;
    try {
      requireRole(caller, { role: 'Reader', action: 'list rotations' });
    } catch (error) {
      refusal = error;
    }

    expect(isApiError(refusal) && [refusal.status, refusal.code, refusal.message]).toEqual([403, 'forbidden', expect.stringMatching(/^Ada may not list rotations: that needs the app role Reader, and the caller has no app role\./)]);
  });

  it('when the principal has claims but no name, application ID or object ID, then it is 401: nothing could be recorded as theirs', () => {
    expect(() => callerOf(request({ 'x-ms-client-principal': encode({ auth_typ: 'aad', claims: [{ typ: 'roles', val: 'Reader' }] }) }), 'entra-id')).toThrow(/has no name/);
  });
});

describe('the app roles in docs/openapi.json', () => {
  it('when an operation is documented, then its x-app-role is the role the app requires for it, and every operation has one', () => {
    const documented = Object.fromEntries(documentedOperations(loadOpenApi()).map(({ operation }) => [operation.operationId, (operation as { 'x-app-role'?: string })['x-app-role']]));

    expect(documented).toEqual(Object.fromEntries(Object.entries(OPERATION_ACCESS).map(([name, access]) => [name, access.role])));
  });
});
