/**
 * Activity: before a rotation regenerates its standby, tag the secret's
 * current version with a regeneration marker (MARKER_TAGS). Key Vault adds no
 * version for a tag update and the value is not touched: consumers see the
 * same secret. A later start that finds the standby regenerated after the
 * marker resumes at validation (whereRotationStopped). Idempotent: marking
 * again replaces the marker; the version's other tags are kept.
 */
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult, MarkRegenerationInput, MarkRegenerationResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { MARKER_TAGS, MAX_SECRET_TAGS, NO_GENERATION_TIME, isTaggedForAnotherAccount } from './secret-format.js';

export async function markRegeneration(input: MarkRegenerationInput, context: InvocationContext): Promise<ActivityResult<MarkRegenerationResult>> {
  return runActivity('markRegeneration', context, async (runtime): Promise<MarkRegenerationResult> => {
    const { keyVault } = runtime.adapters;
    const latest = await keyVault.getLatestSecretProperties(input.secretName);
    const notMarked = (reason: string): MarkRegenerationResult => {
      context.warn(`markRegeneration: ${reason}; a rotation stopped after this regeneration starts over instead of resuming at validation`);
      return { outcome: 'notMarked', reason };
    };
    if (latest === null) return notMarked(`secret ${input.secretName} has no version yet`);
    if (isTaggedForAnotherAccount(latest.tags, input.accountId)) return notMarked(`secret ${input.secretName} is tagged for another account`);
    const { marker } = input;
    const tags = {
      ...latest.tags,
      [MARKER_TAGS.keyKind]: marker.keyKind,
      [MARKER_TAGS.rotationId]: marker.rotationId,
      [MARKER_TAGS.since]: marker.markedAt,
      [MARKER_TAGS.generationTimeBefore]: marker.generationTimeBefore ?? NO_GENERATION_TIME,
    };
    if (Object.keys(tags).length > MAX_SECRET_TAGS) {
      return notMarked(`secret ${input.secretName} version ${latest.version} has too many tags for the marker (Key Vault allows ${MAX_SECRET_TAGS})`);
    }
    const updated = await keyVault.updateSecretTags(input.secretName, latest.version, tags);
    context.log(`markRegeneration: marked secret ${input.secretName} version ${updated.version}: rotation ${marker.rotationId} regenerates ${marker.keyKind}`);
    return { outcome: 'marked', secretVersion: updated.version };
  });
}
