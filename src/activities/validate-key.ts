/**
 * Activity: one data-plane probe of every region (the global endpoint and each
 * regional one the account reports) with a key the activity reads itself (the
 * key never travels through the orchestrator); accepted only when all accept.
 * The probes of one validation (`session`) read the key and the regions once
 * (validation-session.ts), not once a probe. A rejected key (401/403) is a
 * result (`accepted: false`), not an error: new keys take a while to be
 * accepted everywhere, and the orchestrator counts consecutive successes. No
 * answer, throttling or a server error says nothing about the key: that is a
 * transient failure, retried, and never counted against the key.
 */
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult, ValidateKeyInput, ValidateKeyResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { TransientError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { forgetReads, heldReads, holdReads, type ValidationReads } from './validation-session.js';

export async function validateKey(input: ValidateKeyInput, context: InvocationContext): Promise<ActivityResult<ValidateKeyResult>> {
  return runActivity('validateKey', context, async (runtime): Promise<ValidateKeyResult> => {
    const { cosmosData } = runtime.adapters;
    const session = input.session;
    const reads = (session ? heldReads(session, input.accountId, input.keyKind, runtime.now()) : undefined) ?? (await readForValidation(runtime, input));
    if (session) holdReads(session, input.accountId, input.keyKind, reads, runtime.now());
    const { key, endpoints } = reads;
    const facts = { disableLocalAuth: reads.disableLocalAuth };
    let accepted: { status: number } | undefined;
    for (const endpoint of endpoints) {
      const probe = await cosmosData.probeKey(endpoint.documentEndpoint, key);
      const where = endpoints.length > 1 ? ` in ${endpoint.locationName} (${endpoint.documentEndpoint})` : '';
      if (!probe.accepted && (probe.status === 0 || probe.status === 408 || probe.status === 429 || probe.status >= 500)) {
        throw new TransientError(`The data plane of ${input.accountId}${where} did not answer the probe of the ${input.keyKind} key (${probe.status || 'no answer'}: ${probe.reason ?? 'no reason'})`, {
          statusCode: probe.status,
          operation: 'probe the data plane',
          resource: input.accountId,
        });
      }
      if (!probe.accepted) {
        const cause = probe.reason && facts.disableLocalAuth ? `${probe.reason} (the account has disableLocalAuth: keys are refused)` : probe.reason;
        const reason = `${cause ?? 'not accepted'}${where}`;
        context.log(`validateKey: the ${input.keyKind} key of ${input.accountId} was not accepted: ${reason}`);
        // The key or the regions may have changed: the next probe reads them again.
        if (session) forgetReads(session);
        return { accepted: false, status: probe.status, reason, probedAt: runtime.now().toISOString() };
      }
      accepted = probe;
    }
    context.log(`validateKey: the ${input.keyKind} key of ${input.accountId} was accepted by ${endpoints.length} endpoint(s)`);
    return { accepted: true, status: accepted?.status ?? 200, probedAt: runtime.now().toISOString() };
  });
}

/** The key and the endpoints to probe: the global endpoint and every regional one ARM reports (a new key reaches regions at different times). */
async function readForValidation(runtime: Runtime, input: ValidateKeyInput): Promise<ValidationReads> {
  const { cosmosManagement } = runtime.adapters;
  const [facts, key] = await Promise.all([cosmosManagement.getAccount(input.accountId), cosmosManagement.getKey(input.accountId, input.keyKind)]);
  const endpoints = [{ locationName: 'global endpoint', documentEndpoint: facts.documentEndpoint }, ...(facts.regionEndpoints ?? [])].filter(
    (endpoint, index, all) => all.findIndex((other) => other.documentEndpoint.toLowerCase() === endpoint.documentEndpoint.toLowerCase()) === index,
  );
  return { key, endpoints, disableLocalAuth: facts.disableLocalAuth };
}
