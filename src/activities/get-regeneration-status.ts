/**
 * Activity: poll a key regeneration once. The orchestrator waits between polls
 * with durable timers: a regeneration can take hours, an activity must not.
 */
import type { InvocationContext } from '@azure/functions';
import { regeneratedSince } from '../domain/rotation-plan.js';
import { isPermanentError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { ActivityResult, GetRegenerationStatusInput, GetRegenerationStatusResult } from './contracts.js';
import { runActivity } from './run-activity.js';

export async function getRegenerationStatus(
  input: GetRegenerationStatusInput,
  context: InvocationContext,
): Promise<ActivityResult<GetRegenerationStatusResult>> {
  return runActivity('getRegenerationStatus', context, async (runtime): Promise<GetRegenerationStatusResult> => {
    const { cosmosManagement } = runtime.adapters;
    let progress;
    try {
      progress = await cosmosManagement.getRegenerationStatus(input.accountId, input.keyKind, input.operation.pollerState);
    } catch (error) {
      // ARM forgets finished operations after a while (a long outage of the app), and a saved
      // state may not resume: the key's generation time still tells whether it was regenerated.
      if (!isPermanentError(error)) throw error;
      const generationTime = await generatedSince(runtime, input);
      if (!generationTime) throw error;
      context.warn(`getRegenerationStatus: the operation could not be read (${error.message}), but the ${input.keyKind} key was regenerated at ${generationTime}`);
      return { status: 'Succeeded', generationTime };
    }
    if (progress.status === 'Unreadable') {
      // The operation status URL is subscription-level; an identity whose role is assigned on the
      // account alone may not read it. The key's generation time still shows when it is done.
      const generationTime = await generatedSince(runtime, input);
      if (generationTime) return { status: 'Succeeded', generationTime };
      context.warn(
        `getRegenerationStatus: not allowed to read the regeneration's status (${progress.message}); following the ${input.keyKind} key's generation time instead. ` +
          `Granting Microsoft.DocumentDB/locations/operationsStatus/read on the subscription makes failures visible sooner.`,
      );
      return { status: 'InProgress' };
    }
    if (progress.status === 'InProgress') return { status: 'InProgress', ...(progress.retryAfterInMs !== undefined ? { retryAfterInSeconds: Math.ceil(progress.retryAfterInMs / 1000) } : {}) };
    if (progress.status === 'Failed') {
      context.warn(`getRegenerationStatus: regenerating the ${input.keyKind} key of ${input.accountId} failed: ${progress.message ?? 'no reason given'}`);
      return { status: 'Failed', message: progress.message ?? 'ARM reported the regeneration as failed without a reason' };
    }
    // No re-read of the account for its new generationTime: nothing downstream uses it (validation reads what it needs).
    context.log(`getRegenerationStatus: the ${input.keyKind} key of ${input.accountId} was regenerated`);
    return { status: 'Succeeded' };
  });
}

async function generatedSince(runtime: Runtime, input: GetRegenerationStatusInput): Promise<string | null> {
  const generationTime = (await runtime.adapters.cosmosManagement.getAccount(input.accountId)).keys[input.keyKind].generationTime;
  return generationTime && regeneratedSince(generationTime, input.notRegeneratedSince, input.generationTimeBefore) ? generationTime : null;
}
