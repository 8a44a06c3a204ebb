/**
 * Who is calling the operator API, and whether they may.
 *
 * With OPERATOR_API_AUTH=entra-id, App Service authentication signs callers in
 * with Microsoft Entra ID in front of the app and passes the signed-in principal
 * in `x-ms-client-principal` (base64 JSON: auth_typ, claims [{typ, val}],
 * name_typ, role_typ; Microsoft Learn, "Work with user identities in Azure App
 * Service authentication"). App Service sets that header itself and drops
 * copies sent by clients, so it is trusted then, and only then: with
 * OPERATOR_API_AUTH=function-key anyone could send it, so it is ignored and the
 * caller is "function key" (the Functions host checked the key before the app
 * ran). The caller's app roles (defined on the app registration) decide what it
 * may do; see OPERATION_ROLES.
 */
import type { HttpRequest } from '@azure/functions';
import type { OperatorApiAuth } from '../config.js';
import { ApiError } from './errors.js';

export const APP_ROLES = ['Reader', 'Operator', 'Forcer'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export interface OperationAccess {
  role: AppRole;
  /** What the caller tried, for the 403 message. */
  action: string;
}

/**
 * The app role each route requires (docs/openapi.json names it as x-app-role).
 * A start with `force: true` also requires FORCE_ACCESS. The roles are separate:
 * an operator who should also read is given Reader too.
 */
export const OPERATION_ACCESS = {
  listRotations: { role: 'Reader', action: 'list rotations' },
  getRotation: { role: 'Reader', action: 'read a rotation' },
  getRotationPlan: { role: 'Reader', action: 'read a rotation plan' },
  startRotation: { role: 'Operator', action: 'start a rotation' },
  consumersMoved: { role: 'Operator', action: 'confirm that consumers moved' },
  cancelRotation: { role: 'Operator', action: 'cancel a rotation' },
  getRotationHistory: { role: 'Reader', action: 'read a rotation history' },
  getKeyReport: { role: 'Reader', action: 'read the key report' },
  getDashboard: { role: 'Reader', action: 'open the dashboard' },
} as const satisfies Record<string, OperationAccess>;

export const FORCE_ACCESS: OperationAccess = { role: 'Forcer', action: 'force a rotation (force: true)' };

export type OperationName = keyof typeof OPERATION_ACCESS;

/** Recorded as who asked for a change when function keys guard the API (the key names no person). */
export const FUNCTION_KEY_CALLER = 'function key';

export interface Caller {
  /** Recorded with every change the caller asks for: the principal's name, or "function key". */
  name: string;
  /** Whether the name comes from a principal the platform signed in. */
  authenticated: boolean;
  /** App roles of a signed-in principal; a function-key caller may do everything the key allows. */
  roles: readonly string[] | 'all';
}

export const CLIENT_PRINCIPAL_HEADER = 'x-ms-client-principal';

interface ClientPrincipal {
  auth_typ?: unknown;
  claims?: unknown;
  name_typ?: unknown;
  role_typ?: unknown;
}

// Claim types Entra ID tokens carry (after App Service's claim mapping), tried in order for a readable name.
const NAME_CLAIMS = ['name', 'preferred_username', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'upn', 'email'];
// A service principal (client-credentials token) has no user name: its application ID, then its object ID.
const APPLICATION_CLAIMS = ['appid', 'azp', 'http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];

/** The caller of one request, or a 401 when the platform should have signed someone in and did not. */
export function callerOf(request: Pick<HttpRequest, 'headers'>, mode: OperatorApiAuth): Caller {
  if (mode === 'function-key') return { name: FUNCTION_KEY_CALLER, authenticated: false, roles: 'all' };
  const header = request.headers.get(CLIENT_PRINCIPAL_HEADER);
  if (!header) {
    throw new ApiError(
      401,
      'unauthenticated',
      'No signed-in caller: call the API with a Microsoft Entra ID access token for the app registration (Authorization: Bearer ...); App Service authentication passes the caller on.',
      { 'WWW-Authenticate': 'Bearer' },
    );
  }
  const claims = claimsOf(header);
  const first = (types: readonly string[]): string | undefined => types.map((type) => claims.find((claim) => claim.typ === type)?.val).find((value) => value);
  const nameType = claims.nameType;
  const name = (nameType ? claims.find((claim) => claim.typ === nameType)?.val : undefined) || first(NAME_CLAIMS) || request.headers.get('x-ms-client-principal-name') || first(APPLICATION_CLAIMS);
  if (!name) throw new ApiError(401, 'unauthenticated', 'The signed-in caller has no name, application ID or object ID claim, so no change could be recorded as theirs.');
  const roleTypes = new Set([...ROLE_CLAIMS, ...(claims.roleType ? [claims.roleType] : [])]);
  const roles = claims.filter((claim) => roleTypes.has(claim.typ)).map((claim) => claim.val);
  return { name, authenticated: true, roles };
}

/** A 403 naming the role the caller lacks (app roles are assigned on the app registration's enterprise application). */
export function requireRole(caller: Caller, { role, action }: OperationAccess): void {
  if (caller.roles === 'all' || caller.roles.includes(role)) return;
  throw new ApiError(
    403,
    'forbidden',
    `${caller.name} may not ${action}: that needs the app role ${role}, and the caller has ${caller.roles.length ? caller.roles.join(', ') : 'no app role'}. Assign ${role} to the caller on the app registration's enterprise application.`,
  );
}

type Claims = Array<{ typ: string; val: string }> & { nameType?: string; roleType?: string };

function claimsOf(header: string): Claims {
  let principal: ClientPrincipal;
  try {
    principal = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as ClientPrincipal;
  } catch {
    throw new ApiError(401, 'unauthenticated', `The ${CLIENT_PRINCIPAL_HEADER} header is not base64-encoded JSON, so the caller is unknown.`);
  }
  if (principal === null || typeof principal !== 'object' || !Array.isArray(principal.claims)) {
    throw new ApiError(401, 'unauthenticated', `The ${CLIENT_PRINCIPAL_HEADER} header has no claims, so the caller is unknown.`);
  }
  const claims = principal.claims
    .filter((claim): claim is { typ: string; val: string } => typeof claim === 'object' && claim !== null && typeof claim.typ === 'string' && typeof claim.val === 'string')
    .map(({ typ, val }) => ({ typ, val })) as Claims;
  if (typeof principal.name_typ === 'string') claims.nameType = principal.name_typ;
  if (typeof principal.role_typ === 'string') claims.roleType = principal.role_typ;
  return claims;
}
