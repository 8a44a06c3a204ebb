/**
 * Activity: the facts a rotation decides on. Capabilities, endpoint, each
 * key's generation and last-use times (ARM), and which key kind the Key Vault
 * secret holds now: its latest version's `keyKind` tag or, for a secret a
 * person put there before this app (no tag), the key its value matches.
 * Reads only; the values compared never leave this activity.
 */
import { timingSafeEqual } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { isKeyKind, type KeyKind } from '../domain/keys.js';
import type { SecretValue } from '../azure/secret-value.js';
import type { Runtime } from '../runtime.js';
import type { ActivityResult, InspectAccountInput, InspectAccountResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { withAssumedUsage } from '../domain/unreported-usage.js';
import { MARKER_TAGS, NO_GENERATION_TIME, SECRET_TAGS, isTaggedForAnotherAccount } from './secret-format.js';
import type { RegenerationMarker } from '../domain/rotation-plan.js';

export async function inspectAccount(input: InspectAccountInput, context: InvocationContext): Promise<ActivityResult<InspectAccountResult>> {
  return runActivity('inspectAccount', context, async (runtime) => {
    const result = await readAccountFacts(runtime, input, context);
    context.log(
      `inspectAccount: ${input.accountId} (${input.pair}): Key Vault holds ${result.publishedKeyKind ?? 'nothing yet'}; ` +
        Object.entries(result.keys)
          .map(([kind, facts]) => `${kind} generated ${facts.generationTime ?? '?'}, last used ${facts.lastUsedAt ?? 'never'}`)
          .join('; '),
    );
    return result;
  });
}

/** The activity's work without the result envelope (the HTTP dry run uses it directly). Throws classified errors. */
export async function readAccountFacts(runtime: Runtime, input: InspectAccountInput, context?: InvocationContext): Promise<InspectAccountResult> {
  const { cosmosManagement, keyVault } = runtime.adapters;
  const [facts, latestSecret] = await Promise.all([cosmosManagement.getAccount(input.accountId), keyVault.getLatestSecret(input.secretName)]);
  const latest = latestSecret?.info ?? null;
  const foreign = latest !== null && isTaggedForAnotherAccount(latest.tags, input.accountId);
  if (foreign) {
    context?.warn(`inspectAccount: secret ${input.secretName} is tagged for ${latest.tags[SECRET_TAGS.cosmosAccount]}, not ${input.accountId}: ignoring its tags`);
  }
  const tags = latest && !foreign ? latest.tags : {};
  const keyKindTag = tags[SECRET_TAGS.keyKind];
  let publishedKeyKind = isKeyKind(keyKindTag) ? keyKindTag : null;
  if (!publishedKeyKind && !foreign && latestSecret?.value) {
    publishedKeyKind = await matchingKeyKind(runtime, input, latestSecret.value);
    if (publishedKeyKind) context?.log(`inspectAccount: secret ${input.secretName} has no keyKind tag; its value is the ${publishedKeyKind} key`);
  }
  const publishedAt = latest?.createdOn ?? null;
  const now = runtime.now();
  const publishedRotationId = tags[SECRET_TAGS.rotationId] ?? null;
  const regenerationMarker = markerOf(tags);
  // The rule reads only settings no target overrides (consumer wait, idle window, margin): the global ones.
  const keys = withAssumedUsage(facts.keys, { ...facts, publishedKeyKind, publishedAt, publishedRotationId }, runtime.config, now);
  if (keys !== facts.keys) {
    context?.log(`inspectAccount: ${input.accountId} reports no key usage times (its api-version); the key the secret replaced counts as in use until consumers-moved or the consumer wait bound`);
  }
  return {
    accountId: input.accountId,
    accountName: facts.accountName,
    documentEndpoint: facts.documentEndpoint,
    capabilities: facts.capabilities,
    safeRotationCheckEnabled: facts.safeRotationCheckEnabled,
    disableLocalAuth: facts.disableLocalAuth,
    keys,
    ...(facts.usageReported === false ? { usageReported: false } : {}),
    publishedKeyKind,
    publishedRotationId,
    publishedAt,
    regenerationMarker,
    inspectedAt: now.toISOString(),
  };
}

/** Which key of the pair a value is (a bare key, or a connection string holding it), compared in constant time. */
async function matchingKeyKind(runtime: Runtime, input: InspectAccountInput, secret: SecretValue): Promise<KeyKind | null> {
  const keys = await runtime.adapters.cosmosManagement.listKeys(input.accountId, input.pair);
  const held = /AccountKey=([^;]+)/i.exec(secret.reveal())?.[1] ?? secret.reveal().trim();
  for (const [kind, key] of Object.entries(keys) as Array<[KeyKind, SecretValue]>) {
    const a = Buffer.from(held);
    const b = Buffer.from(key.reveal());
    if (a.length === b.length && timingSafeEqual(a, b)) return kind;
  }
  return null;
}

/** The regeneration marker a rotation put on the version (all four tags, well formed), or null. */
function markerOf(tags: Readonly<Record<string, string>>): RegenerationMarker | null {
  const keyKind = tags[MARKER_TAGS.keyKind];
  const rotationId = tags[MARKER_TAGS.rotationId];
  const markedAt = tags[MARKER_TAGS.since];
  const before = tags[MARKER_TAGS.generationTimeBefore];
  if (!isKeyKind(keyKind) || !rotationId || !markedAt || Number.isNaN(Date.parse(markedAt)) || before === undefined) return null;
  return { rotationId, keyKind, markedAt, generationTimeBefore: before === NO_GENERATION_TIME ? null : before };
}
