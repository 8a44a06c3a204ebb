/**
 * The Azure Resource Manager paths the emulator serves, matched the way ARM
 * does: path segments are case-insensitive, names keep the caller's case.
 */
/** The operations, named as in request stats (and in the control API's RBAC deny list). */
export const ARM_OPERATIONS = [
  'listAccountsBySubscription',
  'listAccountsByResourceGroup',
  'getAccount',
  'updateAccount',
  'listKeys',
  'listReadOnlyKeys',
  'getReadOnlyKeys',
  'listConnectionStrings',
  'regenerateKey',
  'getOperationStatus',
  'getOperationResult',
] as const;

export type ArmOperation = (typeof ARM_OPERATIONS)[number];

export interface ArmRoute {
  operation: ArmOperation;
  subscriptionId: string;
  resourceGroup?: string;
  accountName?: string;
  operationId?: string;
}

export type ArmRouteMatch = ArmRoute | { operation: undefined; methodNotAllowed: boolean };

const ACCOUNT_ACTIONS: Record<string, Partial<Record<string, ArmOperation>>> = {
  listkeys: { POST: 'listKeys' },
  readonlykeys: { POST: 'listReadOnlyKeys', GET: 'getReadOnlyKeys' },
  listconnectionstrings: { POST: 'listConnectionStrings' },
  regeneratekey: { POST: 'regenerateKey' },
};

export function matchArmRoute(method: string, pathname: string): ArmRouteMatch {
  const segments = pathname.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));
  const lower = segments.map((segment) => segment.toLowerCase());
  const notFound = { operation: undefined, methodNotAllowed: false } as const;
  const wrongMethod = { operation: undefined, methodNotAllowed: true } as const;
  if (lower[0] !== 'subscriptions' || !segments[1]) return notFound;
  const subscriptionId = segments[1];

  // /subscriptions/{sub}/providers/Microsoft.DocumentDB/...
  if (lower[2] === 'providers' && lower[3] === 'microsoft.documentdb') {
    if (lower[4] === 'databaseaccounts' && segments.length === 5) {
      return method === 'GET' ? { operation: 'listAccountsBySubscription', subscriptionId } : wrongMethod;
    }
    if (lower[4] === 'locations' && segments.length === 8 && segments[7]) {
      const operation = lower[6] === 'operationsstatus' ? 'getOperationStatus' : lower[6] === 'operationresults' ? 'getOperationResult' : undefined;
      if (!operation) return notFound;
      return method === 'GET' ? { operation, subscriptionId, operationId: segments[7] } : wrongMethod;
    }
    return notFound;
  }

  // /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DocumentDB/databaseAccounts[/{name}[/{action}]]
  if (lower[2] !== 'resourcegroups' || !segments[3] || lower[4] !== 'providers' || lower[5] !== 'microsoft.documentdb' || lower[6] !== 'databaseaccounts') {
    return notFound;
  }
  const resourceGroup = segments[3];
  if (segments.length === 7) return method === 'GET' ? { operation: 'listAccountsByResourceGroup', subscriptionId, resourceGroup } : wrongMethod;
  const accountName = segments[7]!;
  if (segments.length === 8) {
    if (method === 'GET') return { operation: 'getAccount', subscriptionId, resourceGroup, accountName };
    if (method === 'PATCH') return { operation: 'updateAccount', subscriptionId, resourceGroup, accountName };
    return wrongMethod;
  }
  if (segments.length === 9) {
    const actions = ACCOUNT_ACTIONS[lower[8]!];
    if (!actions) return notFound;
    const operation = actions[method];
    return operation ? { operation, subscriptionId, resourceGroup, accountName } : wrongMethod;
  }
  return notFound;
}
