/**
 * Activity: one data-plane probe with a key the activity reads itself (the key
 * never travels through the orchestrator). A rejected key is a result
 * (`accepted: false`), not an error: new keys take a while to be accepted
 * everywhere, and the orchestrator counts consecutive successes.
 */
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult, ValidateKeyInput, ValidateKeyResult } from './contracts.js';
import { runActivity } from './run-activity.js';

export async function validateKey(input: ValidateKeyInput, context: InvocationContext): Promise<ActivityResult<ValidateKeyResult>> {
  return runActivity('validateKey', context, async (runtime): Promise<ValidateKeyResult> => {
    const { cosmosManagement, cosmosData } = runtime.adapters;
    const [facts, key] = await Promise.all([cosmosManagement.getAccount(input.accountId), cosmosManagement.getKey(input.accountId, input.keyKind)]);
    const probe = await cosmosData.probeKey(facts.documentEndpoint, key);
    const reason = probe.reason && facts.disableLocalAuth ? `${probe.reason} (the account has disableLocalAuth: keys are refused)` : probe.reason;
    context.log(`validateKey: the ${input.keyKind} key of ${input.accountId} was ${probe.accepted ? 'accepted' : `not accepted: ${reason}`}`);
    return { accepted: probe.accepted, status: probe.status, ...(reason ? { reason } : {}), probedAt: runtime.now().toISOString() };
  });
}
