/**
 * Activity: one data-plane probe with a key the activity reads itself (the key
 * never travels through the orchestrator). A rejected key (401/403) is a
 * result (`accepted: false`), not an error: new keys take a while to be
 * accepted everywhere, and the orchestrator counts consecutive successes. No
 * answer, throttling or a server error says nothing about the key: that is a
 * transient failure, retried, and never counted against the key.
 */
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult, ValidateKeyInput, ValidateKeyResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { TransientError } from '../errors.js';

export async function validateKey(input: ValidateKeyInput, context: InvocationContext): Promise<ActivityResult<ValidateKeyResult>> {
  return runActivity('validateKey', context, async (runtime): Promise<ValidateKeyResult> => {
    const { cosmosManagement, cosmosData } = runtime.adapters;
    const [facts, key] = await Promise.all([cosmosManagement.getAccount(input.accountId), cosmosManagement.getKey(input.accountId, input.keyKind)]);
    const probe = await cosmosData.probeKey(facts.documentEndpoint, key);
    if (!probe.accepted && (probe.status === 0 || probe.status === 408 || probe.status === 429 || probe.status >= 500)) {
      throw new TransientError(`The data plane of ${input.accountId} did not answer the probe of the ${input.keyKind} key (${probe.status || 'no answer'}: ${probe.reason ?? 'no reason'})`, {
        statusCode: probe.status,
        operation: 'probe the data plane',
        resource: input.accountId,
      });
    }
    const reason = probe.reason && facts.disableLocalAuth ? `${probe.reason} (the account has disableLocalAuth: keys are refused)` : probe.reason;
    context.log(`validateKey: the ${input.keyKind} key of ${input.accountId} was ${probe.accepted ? 'accepted' : `not accepted: ${reason}`}`);
    return { accepted: probe.accepted, status: probe.status, ...(reason ? { reason } : {}), probedAt: runtime.now().toISOString() };
  });
}
