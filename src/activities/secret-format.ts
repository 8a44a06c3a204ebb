/**
 * How published secrets describe themselves. Consumers and operators can rely
 * on these names:
 * - tag `cosmosAccount`: the account's ARM resource ID;
 * - tag `keyKind`: which key the value is (primary, secondary, primaryReadonly, secondaryReadonly);
 * - tag `rotationId`: the rotation that published it (one version per rotation);
 * - tags `regeneratingKeyKind`, `regeneratingRotationId`, `regeneratingSince`,
 *   `regeneratingGenerationTimeBefore`: put on the current version (no new
 *   version, value untouched) just before a rotation regenerates its standby,
 *   so that a rotation stopped after that regeneration but before publishing
 *   can be told apart and resumed at validation (see whereRotationStopped);
 * - content type `application/vnd.cosmos-key` for a bare account key,
 *   `application/vnd.cosmos-connection-string` for a connection string
 *   ("AccountEndpoint=...;AccountKey=...;").
 */
export const SECRET_TAGS = {
  cosmosAccount: 'cosmosAccount',
  keyKind: 'keyKind',
  rotationId: 'rotationId',
} as const;

/** The regeneration marker's tags. */
export const MARKER_TAGS = {
  keyKind: 'regeneratingKeyKind',
  rotationId: 'regeneratingRotationId',
  since: 'regeneratingSince',
  generationTimeBefore: 'regeneratingGenerationTimeBefore',
} as const;

/** Key Vault allows at most 15 tags on a secret version. */
export const MAX_SECRET_TAGS = 15;
/** The marker's generationTimeBefore tag when ARM reported no generation time. */
export const NO_GENERATION_TIME = 'none';

export const KEY_CONTENT_TYPE = 'application/vnd.cosmos-key';
export const CONNECTION_STRING_CONTENT_TYPE = 'application/vnd.cosmos-connection-string';

/**
 * Whether a secret version's tags belong to another account: someone else's
 * secret under our name says nothing about this account's keys.
 */
export function isTaggedForAnotherAccount(tags: Readonly<Record<string, string>>, accountId: string): boolean {
  const tagged = tags[SECRET_TAGS.cosmosAccount];
  return tagged !== undefined && tagged.toLowerCase() !== accountId.toLowerCase();
}
