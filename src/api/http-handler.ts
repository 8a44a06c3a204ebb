/**
 * Turns an operation into a Functions HTTP handler: resolves the app's
 * dependencies and the durable client, checks who is calling and whether
 * their app role allows the operation, and maps every failure to a JSON
 * error. Refusals (ApiError) are shown as they are; Azure's own refusals
 * (already classified and scrubbed by the adapters) say what to fix; anything
 * else is a 500 that names the invocation to look up in the log, never the
 * error's internals.
 */
import type { HttpHandler, HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { isPermanentError, isRotatorError, isTransientError, redactSecrets } from '../errors.js';
import { describe } from '../schedule/run-schedule.js';
import { OPERATION_ACCESS, callerOf, requireRole, type OperationName } from './auth.js';
import { ApiError, errorResponse, isApiError } from './errors.js';
import type { ApiDependencies, Operation } from './operations.js';

export function httpOperation(name: OperationName, operation: Operation, resolveDependencies: () => ApiDependencies): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext) => {
    try {
      const deps = resolveDependencies();
      // Who is calling, and may they: before the operation reads anything (src/api/auth.ts).
      const caller = callerOf(request, deps.config.operatorApiAuth);
      requireRole(caller, OPERATION_ACCESS[name]);
      // The dashboard's page reads nothing itself: it must load, and show what the API says, even when the target list cannot be read.
      const ready = deps.withCurrentTargets && name !== 'getDashboard' ? await deps.withCurrentTargets() : deps;
      return await operation(request, df.getClient(context), ready, caller);
    } catch (error) {
      return errorResponse(toApiError(name, error, context));
    }
  };
}

function toApiError(name: string, error: unknown, context: InvocationContext): ApiError {
  if (isApiError(error)) return error;
  if (isRotatorError(error) && error.kind === 'config') {
    context.error(`${name}: the app settings are invalid: ${error.message}`);
    return new ApiError(500, 'configurationError', `The function app's settings are invalid, so nothing was done. ${error.message}`);
  }
  if (isTransientError(error)) {
    context.warn(`${name}: Azure is temporarily unavailable: ${describe(error)}`);
    return new ApiError(503, 'azureUnavailable', `Azure did not answer in time (${redactSecrets(error.message)}); try again shortly.`, { 'Retry-After': '30' });
  }
  if (isPermanentError(error)) {
    context.warn(`${name}: Azure refused: ${describe(error)}`);
    return new ApiError(502, 'azureError', redactSecrets(error.message));
  }
  context.error(`${name} failed unexpectedly (invocation ${context.invocationId}): ${describe(error)}`);
  return new ApiError(500, 'internalError', `The request failed unexpectedly; the function app's log has the details under invocation ${context.invocationId}.`);
}
