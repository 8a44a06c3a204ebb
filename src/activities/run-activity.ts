/**
 * The one place that decides how an activity ends:
 * - success: `{ ok: true, value }`;
 * - transient failure (throttling, 5xx, timeouts, conflicts): thrown, so
 *   Durable retries the activity with backoff;
 * - permanent or config failure: returned as `{ ok: false, error }`, so the
 *   orchestrator fails the rotation at once with the reason.
 * Nothing here ever carries key material: messages are scrubbed again.
 */
import type { InvocationContext } from '@azure/functions';
import { isRotatorError, redactSecrets, type TransientError } from '../errors.js';
import { getRuntime, type Runtime } from '../runtime.js';
import { retryAfterSuffix, type ActivityError, type ActivityResult } from './contracts.js';

export async function runActivity<T>(
  name: string,
  context: InvocationContext,
  work: (runtime: Runtime) => Promise<T>,
): Promise<ActivityResult<T>> {
  try {
    const value = await work(getRuntime());
    return { ok: true, value };
  } catch (error) {
    const failure = activityErrorOf(error);
    if (failure === 'transient') {
      context.warn(`${name}: transient failure, Durable will retry: ${redactSecrets((error as Error).message)}`);
      // The orchestrator honours Retry-After once Durable's retries are spent: it can only read the message.
      const retryAfterInMs = (error as TransientError).retryAfterInMs;
      if (retryAfterInMs !== undefined && !(error as Error).message.includes('Retry-After')) (error as Error).message += retryAfterSuffix(retryAfterInMs);
      throw error;
    }
    if (!isRotatorError(error)) context.error(`${name}: unexpected error: ${redactSecrets(error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error))}`);
    context.error(`${name}: ${failure.kind} failure: ${failure.message}`);
    return { ok: false, error: failure };
  }
}

function activityErrorOf(error: unknown): ActivityError | 'transient' {
  if (isRotatorError(error)) {
    if (error.kind === 'transient') return 'transient';
    const code = 'code' in error && error.code ? error.code : 'statusCode' in error && error.statusCode ? String(error.statusCode) : undefined;
    return {
      kind: error.kind === 'config' ? 'config' : 'permanent',
      message: redactSecrets(error.message),
      ...(code ? { code } : {}),
    };
  }
  // Not classified: a bug or an unexpected shape. Retrying would only delay the report.
  // Its type, text and stack are internals: runActivity logs them; the status only says where to look.
  return { kind: 'permanent', message: 'an unexpected error; the function app log has its details under this activity and instance' };
}
