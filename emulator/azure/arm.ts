/**
 * Azure Resource Manager for Microsoft.DocumentDB/databaseAccounts: what the
 * rotation needs (read, update, keys, connection strings, regenerate as a
 * long-running operation, safe-rotation check) in ARM's wire format.
 */
import { randomUUID } from 'node:crypto';
import type { AccountState, EmulatorRequest, EmulatorResponse, EmulatorState, KeyKind, OperationState, ServiceContext } from './contracts.js';
import { KEY_KINDS } from './contracts.js';
import { matchArmRoute, type ArmRoute } from './arm-routes.js';
import { armAccount, armConnectionStrings, armKeys, armReadOnlyKeys } from './arm-resources.js';
import { actualLastUsage } from './key-usage.js';
import { takeOperationFailure } from './operation-failures.js';
import { denial } from './rbac.js';

/** api-versions of Microsoft.DocumentDB/databaseAccounts the emulator accepts (oldest first). */
export const SUPPORTED_API_VERSIONS: readonly string[] = [
  '2019-08-01',
  '2019-12-12',
  '2020-04-01',
  '2020-09-01',
  '2021-01-15',
  '2021-03-15',
  '2021-04-15',
  '2021-05-15',
  '2021-06-15',
  '2021-10-15',
  '2022-05-15',
  '2022-08-15',
  '2022-11-15',
  '2023-03-15',
  '2023-04-15',
  '2023-09-15',
  '2023-11-15',
  '2024-05-15',
  '2024-08-15',
  '2024-11-15',
  '2025-04-15',
  '2025-10-15',
  '2026-03-15',
  '2023-03-01-preview',
  '2023-09-15-preview',
  '2024-02-15-preview',
  '2024-09-01-preview',
  '2024-12-01-preview',
  '2025-05-01-preview',
  '2025-11-01-preview',
  '2026-04-01-preview',
];

/** Capability that makes ARM refuse to regenerate a key used recently. */
export const KEY_CHECK_CAPABILITY = 'EnableKeyCheckBeforeRegenerationPreview';
/** Capability that makes ARM refuse to disable local auth while keys are in use. */
export const DISABLE_LOCAL_AUTH_CHECK_CAPABILITY = 'EnableAccountKeysLastUsageCheckInDisableLocalAuth';
/** Window of the safe-rotation check. */
export const KEY_IN_USE_WINDOW_IN_HOURS = 12;
/**
 * Status and code of a regeneration refused by the safe-rotation check. Azure has
 * not published them; a 400 "BadRequest" is what the Cosmos DB resource provider
 * answers to other requests it refuses on validation. Clients must not rely on it.
 */
export const KEY_IN_USE_STATUS = 400;
export const KEY_IN_USE_CODE = 'BadRequest';
/** Suggested polling interval returned with a new long-running operation. */
const RETRY_AFTER_SECONDS = 10;

const HOUR_IN_MS = 3_600_000;

type Reply = EmulatorResponse;

export function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { error: { code, message } } };
}

export async function handleArm(request: EmulatorRequest, context: ServiceContext): Promise<Reply> {
  const authorization = String(request.headers.authorization ?? '');
  if (!/^Bearer\s+\S+/i.test(authorization)) {
    return armError(
      401,
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
      { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"' },
    );
  }
  const route = matchArmRoute(request.method, request.url.pathname);
  if (route.operation === undefined) {
    return route.methodNotAllowed
      ? armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${request.method}'.`)
      : armError(404, 'NotFound', `The emulator serves no resource at '${request.url.pathname}'.`);
  }
  const denied = denial(context.state.rbac, route.operation, request);
  if (denied) return denied;
  const apiVersion = request.url.searchParams.get('api-version');
  if (!apiVersion) {
    return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  }
  if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
    return armError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for API version '${apiVersion}' and type 'databaseAccounts'. ` +
        `The supported api-versions are '${SUPPORTED_API_VERSIONS.join(', ')}'.`,
    );
  }
  const exchange = { request, context, route, apiVersion, now: context.clock.now() };
  switch (route.operation) {
    case 'getOperationStatus':
    case 'getOperationResult':
      return operationReply(exchange);
    case 'listAccountsBySubscription':
      return listAccounts(exchange);
    default:
      return accountReply(exchange);
  }
}

interface Exchange {
  request: EmulatorRequest;
  context: ServiceContext;
  route: ArmRoute;
  apiVersion: string;
  now: Date;
}

function accountsOf(state: EmulatorState, subscriptionId: string, resourceGroup?: string): AccountState[] {
  return Object.values(state.accounts)
    .filter((account) => account.subscriptionId.toLowerCase() === subscriptionId.toLowerCase())
    .filter((account) => resourceGroup === undefined || account.resourceGroup.toLowerCase() === resourceGroup.toLowerCase())
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The 404 ARM gives for the narrowest missing scope, or undefined when the scope exists. */
function missingScope(context: ServiceContext, route: ArmRoute): Reply | undefined {
  const state = context.state;
  // Deleting an account leaves its subscription and resource group: ARM then answers ResourceNotFound for the account.
  const kept = (state.deletedAccountScopes ?? []).map((scope) => scope.split('/'));
  const subscriptionKept = kept.some(([subscription]) => subscription === route.subscriptionId.toLowerCase());
  const groupKept = kept.some(([subscription, group]) => subscription === route.subscriptionId.toLowerCase() && group === route.resourceGroup?.toLowerCase());
  if (context.accountCount(route.subscriptionId) === 0 && !subscriptionKept) {
    return armError(404, 'SubscriptionNotFound', `The subscription '${route.subscriptionId}' could not be found.`);
  }
  if (route.resourceGroup !== undefined && context.accountCount(route.subscriptionId, route.resourceGroup) === 0 && !groupKept) {
    return armError(404, 'ResourceGroupNotFound', `Resource group '${route.resourceGroup}' could not be found.`);
  }
  return undefined;
}

function provisioningStateOf(context: ServiceContext, account: AccountState): 'Succeeded' | 'Updating' {
  return context.runningOperation(account.id.toLowerCase())?.kind === 'updateAccount' ? 'Updating' : 'Succeeded';
}

function listAccounts({ context, route, apiVersion, now }: Exchange): Reply {
  const missing = missingScope(context, route);
  if (missing) return missing;
  const accounts = accountsOf(context.state, route.subscriptionId, route.resourceGroup);
  const value = accounts.map((account) =>
    armAccount(account, { apiVersion, now, provisioningState: provisioningStateOf(context, account) }),
  );
  return { status: 200, body: { value } };
}

function accountReply(exchange: Exchange): Reply {
  const { context, route, apiVersion, now } = exchange;
  const missing = missingScope(context, route);
  if (missing) return missing;
  if (route.operation === 'listAccountsByResourceGroup') return listAccounts(exchange);
  const accountKey = `/subscriptions/${route.subscriptionId}/resourcegroups/${route.resourceGroup}/providers/microsoft.documentdb/databaseaccounts/${route.accountName}`.toLowerCase();
  const account = context.state.accounts[accountKey];
  if (!account) {
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.DocumentDB/databaseAccounts/${route.accountName}' under resource group '${route.resourceGroup}' was not found.`,
    );
  }
  switch (route.operation) {
    case 'getAccount':
      return { status: 200, body: armAccount(account, { apiVersion, now, provisioningState: provisioningStateOf(context, account) }) };
    case 'listKeys':
      return { status: 200, body: armKeys(account) };
    case 'listReadOnlyKeys':
    case 'getReadOnlyKeys':
      return { status: 200, body: armReadOnlyKeys(account) };
    case 'listConnectionStrings':
      return { status: 200, body: armConnectionStrings(account) };
    case 'regenerateKey':
      return regenerateKey(exchange, accountKey, account);
    case 'updateAccount':
      return updateAccount(exchange, accountKey, account);
    default:
      return armError(404, 'NotFound', `The emulator serves no resource at '${exchange.request.url.pathname}'.`);
  }
}

function parseJsonBody(request: EmulatorRequest): { ok: true; value: Record<string, unknown> } | { ok: false; reply: Reply } {
  const text = request.body.toString('utf8');
  if (!text.trim()) return { ok: false, reply: armError(400, 'InvalidRequestContent', 'The request content was invalid: the body is empty.') };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reply: armError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${(error as Error).message}`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reply: armError(400, 'InvalidRequestContent', 'The request content was invalid: a JSON object is expected.') };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * While another operation holds the account, Cosmos DB's resource provider
 * answers 412 PreconditionFailed, not 409 (azure-rest-api-specs issue 703;
 * terraform-provider-azurerm issue 15842 quotes the same answer).
 */
export const ACCOUNT_BUSY_STATUS = 412;
export const ACCOUNT_BUSY_CODE = 'PreconditionFailed';

function accountBusy(account: AccountState, running: OperationState): Reply {
  return armError(
    ACCOUNT_BUSY_STATUS,
    ACCOUNT_BUSY_CODE,
    `There is already an operation in progress which requires exclusive lock on this service ${account.name} ` +
      `(${running.kind}${running.keyKind ? ` of the ${running.keyKind} key` : ''}, until ${running.completesAt}). Please retry the operation after sometime.`,
  );
}

function hasCapability(account: AccountState, capability: string): boolean {
  return account.capabilities.some((name) => name.toLowerCase() === capability.toLowerCase());
}

function usedWithinWindow(account: AccountState, keyKind: KeyKind, now: Date): string | undefined {
  const lastUse = actualLastUsage(account, keyKind);
  if (lastUse && now.getTime() - Date.parse(lastUse) < KEY_IN_USE_WINDOW_IN_HOURS * HOUR_IN_MS) return lastUse;
  return undefined;
}

function regenerateKey({ request, context, apiVersion, now }: Exchange, accountKey: string, account: AccountState): Reply {
  const parsed = parseJsonBody(request);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.value;
  const keyKind = KEY_KINDS.find((kind) => typeof body.keyKind === 'string' && kind.toLowerCase() === body.keyKind.toLowerCase());
  if (!keyKind) {
    return armError(
      400,
      'BadRequest',
      `Invalid keyKind ${JSON.stringify(body.keyKind ?? null)}. Allowed values: ${KEY_KINDS.join(', ')}.`,
    );
  }
  // ARM property names are case-insensitive; the public docs spell this one with a capital S.
  const skipFields = Object.keys(body).filter((field) => field.toLowerCase() === 'skipaccountkeyslastusagecheck');
  let skipUsageCheck = false;
  for (const field of skipFields) {
    if (typeof body[field] !== 'boolean') {
      return armError(400, 'BadRequest', `${field} must be true or false, got ${JSON.stringify(body[field])}.`);
    }
    skipUsageCheck ||= body[field] as boolean;
  }
  const running = context.runningOperation(accountKey);
  if (running) return accountBusy(account, running);
  if (hasCapability(account, KEY_CHECK_CAPABILITY) && !skipUsageCheck) {
    const lastUse = usedWithinWindow(account, keyKind, now);
    if (lastUse) {
      const idleAt = new Date(Date.parse(lastUse) + KEY_IN_USE_WINDOW_IN_HOURS * HOUR_IN_MS).toISOString();
      return armError(
        KEY_IN_USE_STATUS,
        KEY_IN_USE_CODE,
        `Cannot regenerate the ${keyKind} key of account ${account.name}: it was last used at ${lastUse}, within the last ` +
          `${KEY_IN_USE_WINDOW_IN_HOURS} hours. Retry after ${idleAt} when it is no longer in use, or set ` +
          `SkipAccountKeysLastUsageCheck to true to regenerate it anyway.`,
      );
    }
  }
  const operation = startOperation(context, account, { kind: 'regenerateKey', keyKind, now });
  const planned = operation.plannedFailure ? `, to fail with ${operation.plannedFailure.code} as planned` : '';
  context.log(`arm: regenerating the ${keyKind} key of ${account.id} until ${operation.completesAt} (operation ${operation.id}${planned})`);
  // The spec's examples (2026-03-15 and 2026-04-01-preview CosmosDBDatabaseAccountRegenerateKey.json):
  // 200 when done at once, else 202 with Location and Azure-AsyncOperation both at operationsStatus.
  if (account.regenerationSeconds === 0 && !operation.plannedFailure) {
    context.settle();
    return { status: 200 };
  }
  const headers = operationHeaders(request, account, operation, apiVersion);
  return { status: 202, headers: { ...headers, location: headers['azure-asyncoperation']!, 'retry-after': String(RETRY_AFTER_SECONDS) } };
}

function updateAccount({ request, context, apiVersion, now }: Exchange, accountKey: string, account: AccountState): Reply {
  const parsed = parseJsonBody(request);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.value;
  const unsupportedTop = Object.keys(body).filter((field) => !['properties', 'tags', 'location'].includes(field));
  if (unsupportedTop.length) {
    return armError(400, 'BadRequest', `The emulator cannot update ${unsupportedTop.join(', ')}; it updates properties.capabilities and properties.disableLocalAuth.`);
  }
  if (body.location !== undefined && String(body.location).replace(/\s/g, '').toLowerCase() !== account.location.replace(/\s/g, '').toLowerCase()) {
    return armError(400, 'BadRequest', `The location of account ${account.name} cannot be changed from '${account.location}'.`);
  }
  const properties = body.properties ?? {};
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    return armError(400, 'BadRequest', 'properties must be a JSON object.');
  }
  const patch: NonNullable<OperationState['patch']> = {};
  for (const [field, value] of Object.entries(properties as Record<string, unknown>)) {
    if (field === 'capabilities') {
      if (!Array.isArray(value) || value.some((item) => typeof item?.name !== 'string' || !item.name)) {
        return armError(400, 'BadRequest', 'properties.capabilities must be an array of objects like {"name": "EnableKeyCheckBeforeRegenerationPreview"}.');
      }
      patch.capabilities = [...new Set(value.map((item: { name: string }) => item.name))];
    } else if (field === 'disableLocalAuth') {
      if (typeof value !== 'boolean') return armError(400, 'BadRequest', `properties.disableLocalAuth must be true or false, got ${JSON.stringify(value)}.`);
      patch.disableLocalAuth = value;
    } else {
      return armError(400, 'BadRequest', `The emulator cannot update properties.${field}; it updates properties.capabilities and properties.disableLocalAuth.`);
    }
  }
  const running = context.runningOperation(accountKey);
  if (running) return accountBusy(account, running);
  if (patch.disableLocalAuth === true && !account.disableLocalAuth && hasCapability(account, DISABLE_LOCAL_AUTH_CHECK_CAPABILITY)) {
    const inUse = KEY_KINDS.map((kind) => ({ kind, lastUse: usedWithinWindow(account, kind, now) })).filter((entry) => entry.lastUse);
    if (inUse.length) {
      return armError(
        KEY_IN_USE_STATUS,
        KEY_IN_USE_CODE,
        `Cannot disable local authentication on account ${account.name}: keys used within the last ${KEY_IN_USE_WINDOW_IN_HOURS} hours: ` +
          `${inUse.map((entry) => `${entry.kind} at ${entry.lastUse}`).join(', ')}.`,
      );
    }
  }
  const operation = startOperation(context, account, { kind: 'updateAccount', patch, now });
  context.log(`arm: updating ${account.id} until ${operation.completesAt} (operation ${operation.id})`);
  const headers = operationHeaders(request, account, operation, apiVersion);
  // No Location: the SDK then reads the final result from the account itself.
  delete headers.location;
  return { status: 200, headers, body: armAccount(account, { apiVersion, now, provisioningState: 'Updating' }) };
}

function startOperation(
  context: ServiceContext,
  account: AccountState,
  options: { kind: OperationState['kind']; keyKind?: KeyKind; patch?: OperationState['patch']; now: Date },
): OperationState {
  const operation: OperationState = {
    id: randomUUID(),
    accountId: account.id,
    kind: options.kind,
    startedAt: options.now.toISOString(),
    completesAt: new Date(options.now.getTime() + account.regenerationSeconds * 1000).toISOString(),
    status: 'InProgress',
    ...(options.keyKind ? { keyKind: options.keyKind } : {}),
    ...(options.patch ? { patch: options.patch } : {}),
  };
  return context.mutate((state) => {
    const failure = options.kind === 'regenerateKey' && options.keyKind ? takeOperationFailure(state, account.id, options.keyKind) : undefined;
    state.operations[operation.id] = failure ? { ...operation, plannedFailure: failure } : operation;
    return state.operations[operation.id]!;
  });
}

function operationLocationSegment(account: AccountState): string {
  return account.location.toLowerCase().replace(/\s+/g, '');
}

function operationHeaders(request: EmulatorRequest, account: AccountState, operation: OperationState, apiVersion: string): Record<string, string> {
  const base = `${request.url.origin}/subscriptions/${account.subscriptionId}/providers/Microsoft.DocumentDB/locations/${operationLocationSegment(account)}`;
  const query = `?api-version=${encodeURIComponent(apiVersion)}`;
  return {
    'azure-asyncoperation': `${base}/operationsStatus/${operation.id}${query}`,
    location: `${base}/operationResults/${operation.id}${query}`,
  };
}

/**
 * The status an operationsStatus poll shows: Cosmos DB queues an operation
 * (Enqueued), picks it up (Dequeued), runs it (InProgress), then ends it
 * Succeeded or Failed. The emulator shows each early state for a tenth of the
 * operation's duration, at most 10 seconds each.
 */
export function pollStatus(operation: OperationState, now: Date): 'Enqueued' | 'Dequeued' | 'InProgress' | 'Succeeded' | 'Failed' {
  if (operation.status !== 'InProgress') return operation.status;
  const startedMs = Date.parse(operation.startedAt);
  const slice = Math.min(10_000, (Date.parse(operation.completesAt) - startedMs) / 10);
  const elapsed = now.getTime() - startedMs;
  if (elapsed < slice) return 'Enqueued';
  if (elapsed < 2 * slice) return 'Dequeued';
  return 'InProgress';
}

function operationReply({ request, context, route, apiVersion }: Exchange): Reply {
  const operations = context.state.operations;
  const operation = route.operationId !== undefined && Object.hasOwn(operations, route.operationId) ? operations[route.operationId] : undefined;
  const account = operation ? context.state.accounts[operation.accountId.toLowerCase()] : undefined;
  if (!operation || operation.accountId.split('/')[2]?.toLowerCase() !== route.subscriptionId.toLowerCase()) {
    return armError(404, 'NotFound', `The operation '${route.operationId}' could not be found.`);
  }
  if (route.operation === 'getOperationStatus') {
    const statusPath = request.url.pathname;
    const done = operation.status !== 'InProgress';
    return {
      status: 200,
      body: {
        id: statusPath,
        name: operation.id,
        status: pollStatus(operation, context.clock.now()),
        startTime: operation.startedAt,
        ...(done ? { endTime: operation.completesAt } : {}),
        // A finished operation carries "error": {} when nothing went wrong.
        ...(done ? { error: operation.error ?? {} } : {}),
      },
    };
  }
  if (operation.status === 'InProgress') {
    return { status: 202, headers: account ? { location: operationHeaders(request, account, operation, apiVersion).location! } : {} };
  }
  if (operation.status === 'Failed') {
    // ARM's Location URL answers what the request would have answered had it run synchronously: the error.
    return armError(operation.failureStatus ?? 400, operation.error?.code ?? 'OperationFailed', operation.error?.message ?? 'The operation failed.');
  }
  if (operation.kind === 'updateAccount' && account) {
    return { status: 200, body: armAccount(account, { apiVersion, now: context.clock.now(), provisioningState: provisioningStateOf(context, account) }) };
  }
  return { status: 204 };
}
