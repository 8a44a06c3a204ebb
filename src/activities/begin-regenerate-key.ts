/**
 * Activity: start regenerating one key, at most once per rotation.
 * - alreadyRegenerated: the key's generationTime is at or after `notRegeneratedSince`
 *   (a replay, a retry after a crash, or the operation finished meanwhile);
 * - blocked: the safe-rotation check refused; retry at `retryAt`;
 * - busy: another operation holds the account (ARM 409, Cosmos DB 412); ask again later;
 * - started: the long-running operation's state, to poll with getRegenerationStatus.
 */
import type { InvocationContext } from '@azure/functions';
import { regeneratedSince } from '../domain/rotation-plan.js';
import { isBlockedError, isBusyStatus, isTransientError } from '../errors.js';
import type { ActivityResult, BeginRegenerateKeyInput, BeginRegenerateKeyResult } from './contracts.js';
import { runActivity } from './run-activity.js';

export async function beginRegenerateKey(input: BeginRegenerateKeyInput, context: InvocationContext): Promise<ActivityResult<BeginRegenerateKeyResult>> {
  return runActivity('beginRegenerateKey', context, async (runtime): Promise<BeginRegenerateKeyResult> => {
    const { cosmosManagement } = runtime.adapters;
    const facts = await cosmosManagement.getAccount(input.accountId);
    const generationTime = facts.keys[input.keyKind].generationTime;
    if (generationTime && regeneratedSince(generationTime, input.notRegeneratedSince, input.generationTimeBefore)) {
      context.log(`beginRegenerateKey: the ${input.keyKind} key of ${input.accountId} was regenerated at ${generationTime}, not before ${input.notRegeneratedSince}: not again`);
      return { outcome: 'alreadyRegenerated', generationTime };
    }
    try {
      const started = await cosmosManagement.beginRegenerateKey(input.accountId, input.keyKind, {
        skipUsageCheck: input.skipUsageCheck,
        idleWindowInHours: input.idleWindowInHours,
        usageMarginInMinutes: input.usageMarginInMinutes,
      });
      context.log(
        `beginRegenerateKey: regenerating the ${input.keyKind} key of ${input.accountId} (rotation ${input.rotationId}` +
          `${input.skipUsageCheck ? ', usage check skipped' : ''}): ${started.status}`,
      );
      return { outcome: 'started', operation: { pollerState: started.pollerState }, startedAt: runtime.now().toISOString() };
    } catch (error) {
      if (isBlockedError(error)) {
        context.log(`beginRegenerateKey: ${error.message}`);
        return { outcome: 'blocked', lastUsedAt: error.lastUsedAt, retryAt: error.retryAt, message: error.message };
      }
      if (isTransientError(error) && isBusyStatus(error.statusCode)) {
        context.log(`beginRegenerateKey: the ${input.keyKind} key of ${input.accountId} cannot be regenerated now: ${error.message}`);
        return { outcome: 'busy', message: error.message };
      }
      throw error;
    }
  });
}
