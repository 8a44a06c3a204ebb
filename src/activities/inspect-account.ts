/**
 * Activity: the facts a rotation decides on. Capabilities, endpoint, each
 * key's generation and last-use times (ARM), and which key kind the Key Vault
 * secret holds now (its latest version's `keyKind` tag). Reads only.
 */
import type { InvocationContext } from '@azure/functions';
import { isKeyKind } from '../domain/keys.js';
import type { Runtime } from '../runtime.js';
import type { ActivityResult, InspectAccountInput, InspectAccountResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { SECRET_TAGS } from './secret-format.js';

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
  const [facts, latest] = await Promise.all([cosmosManagement.getAccount(input.accountId), keyVault.getLatestSecretProperties(input.secretName)]);
  const taggedAccount = latest?.tags[SECRET_TAGS.cosmosAccount];
  const foreign = taggedAccount !== undefined && taggedAccount.toLowerCase() !== input.accountId.toLowerCase();
  if (foreign) {
    // Someone else's secret under our name: its tags say nothing about this account's keys.
    context?.warn(`inspectAccount: secret ${input.secretName} is tagged for ${taggedAccount}, not ${input.accountId}: ignoring its tags`);
  }
  const tags = latest && !foreign ? latest.tags : {};
  const keyKindTag = tags[SECRET_TAGS.keyKind];
  const publishedKeyKind = isKeyKind(keyKindTag) ? keyKindTag : null;
  return {
    accountId: input.accountId,
    accountName: facts.accountName,
    documentEndpoint: facts.documentEndpoint,
    capabilities: facts.capabilities,
    safeRotationCheckEnabled: facts.safeRotationCheckEnabled,
    disableLocalAuth: facts.disableLocalAuth,
    keys: facts.keys,
    publishedKeyKind,
    publishedRotationId: tags[SECRET_TAGS.rotationId] ?? null,
    publishedAt: latest?.createdOn ?? null,
    inspectedAt: runtime.now().toISOString(),
  };
}
