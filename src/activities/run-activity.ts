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
import { isRotatorError, redactSecrets } from '../errors.js';
import { getRuntime, type Runtime } from '../runtime.js';
import type { ActivityError, ActivityResult } from './contracts.js';

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
      throw error;
    }
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
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'permanent', message: redactSecrets(`unexpected error: ${message}`) };
}
