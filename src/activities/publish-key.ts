/**
 * Activity: publish a key (and, when configured, its connection string) as a
 * new Key Vault secret version, which consumers pick up. The activity reads
 * the key itself. Idempotent per rotation: when a secret's latest version
 * already carries this rotation ID and key kind, no version is added.
 */
import type { InvocationContext } from '@azure/functions';
import type { KeyKind } from '../domain/keys.js';
import type { SecretValue } from '../azure/secret-value.js';
import type { Runtime } from '../runtime.js';
import type { ActivityResult, PublishKeyInput, PublishKeyResult } from './contracts.js';
import { runActivity } from './run-activity.js';
import { takeValidatedKey } from './validation-session.js';
import { CONNECTION_STRING_CONTENT_TYPE, KEY_CONTENT_TYPE, SECRET_TAGS } from './secret-format.js';

const DAY_IN_MS = 86_400_000;

export async function publishKey(input: PublishKeyInput, context: InvocationContext): Promise<ActivityResult<PublishKeyResult>> {
  return runActivity('publishKey', context, async (runtime): Promise<PublishKeyResult> => {
    const { cosmosManagement } = runtime.adapters;
    const now = runtime.now();
    const publication = { runtime, input, now, context };
    // The value the validation accepted, when this worker holds it; else read now.
    const validated = input.validationSession ? takeValidatedKey(input.validationSession, input.accountId, input.keyKind, now) : undefined;
    const key = await publishOnce(publication, input.secretName, KEY_CONTENT_TYPE, async () => validated ?? cosmosManagement.getKey(input.accountId, input.keyKind));
    const connectionString = input.connectionStringSecretName
      ? await publishOnce(publication, input.connectionStringSecretName, CONNECTION_STRING_CONTENT_TYPE, () =>
          cosmosManagement.getConnectionString(input.accountId, input.keyKind),
        )
      : null;
    const added = key.added || connectionString?.added === true;
    return {
      outcome: added ? 'published' : 'alreadyPublished',
      secretVersion: key.version,
      connectionStringSecretVersion: connectionString?.version ?? null,
      publishedAt: added ? now.toISOString() : (key.createdOn ?? now.toISOString()),
    };
  });
}

interface Publication {
  runtime: Runtime;
  input: PublishKeyInput;
  now: Date;
  context: InvocationContext;
}

async function publishOnce(
  { runtime, input, now, context }: Publication,
  secretName: string,
  contentType: string,
  readValue: () => Promise<SecretValue>,
): Promise<{ version: string; added: boolean; createdOn: string | null }> {
  const { keyVault } = runtime.adapters;
  const latest = await keyVault.getLatestSecretProperties(secretName);
  if (latest && isThisRotation(latest.tags, input.accountId, input.keyKind, input.rotationId)) {
    context.log(`publishKey: secret ${secretName} already holds the ${input.keyKind} key of rotation ${input.rotationId} (version ${latest.version})`);
    return { version: latest.version, added: false, createdOn: latest.createdOn };
  }
  const value = await readValue();
  const published = await keyVault.publishSecret(secretName, value, {
    contentType,
    expiresOn: new Date(now.getTime() + input.expiresInDays * DAY_IN_MS),
    tags: {
      [SECRET_TAGS.cosmosAccount]: input.accountId,
      [SECRET_TAGS.keyKind]: input.keyKind,
      [SECRET_TAGS.rotationId]: input.rotationId,
    },
  });
  context.log(`publishKey: published the ${input.keyKind} key of ${input.accountId} as secret ${secretName} version ${published.version} (rotation ${input.rotationId})`);
  return { version: published.version, added: true, createdOn: published.createdOn };
}

function isThisRotation(tags: Record<string, string>, accountId: string, keyKind: KeyKind, rotationId: string): boolean {
  return (
    tags[SECRET_TAGS.rotationId] === rotationId &&
    tags[SECRET_TAGS.keyKind] === keyKind &&
    (tags[SECRET_TAGS.cosmosAccount] ?? '').toLowerCase() === accountId.toLowerCase()
  );
}
