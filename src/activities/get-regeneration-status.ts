/**
 * Activity: poll a key regeneration once. The orchestrator waits between polls
 * with durable timers: a regeneration can take hours, an activity must not.
 */
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult, GetRegenerationStatusInput, GetRegenerationStatusResult } from './contracts.js';
import { runActivity } from './run-activity.js';

export async function getRegenerationStatus(
  input: GetRegenerationStatusInput,
  context: InvocationContext,
): Promise<ActivityResult<GetRegenerationStatusResult>> {
  return runActivity('getRegenerationStatus', context, async (runtime): Promise<GetRegenerationStatusResult> => {
    const { cosmosManagement } = runtime.adapters;
    const progress = await cosmosManagement.getRegenerationStatus(input.accountId, input.keyKind, input.operation.pollerState);
    if (progress.status === 'InProgress') return { status: 'InProgress' };
    if (progress.status === 'Failed') {
      context.warn(`getRegenerationStatus: regenerating the ${input.keyKind} key of ${input.accountId} failed: ${progress.message ?? 'no reason given'}`);
      return { status: 'Failed', message: progress.message ?? 'ARM reported the regeneration as failed without a reason' };
    }
    const facts = await cosmosManagement.getAccount(input.accountId);
    const generationTime = facts.keys[input.keyKind].generationTime;
    context.log(`getRegenerationStatus: the ${input.keyKind} key of ${input.accountId} was regenerated (generationTime ${generationTime ?? 'not reported'})`);
    return { status: 'Succeeded', ...(generationTime ? { generationTime } : {}) };
  });
}
