/**
 * How published secrets describe themselves. Consumers and operators can rely
 * on these names:
 * - tag `cosmosAccount`: the account's ARM resource ID;
 * - tag `keyKind`: which key the value is (primary, secondary, primaryReadonly, secondaryReadonly);
 * - tag `rotationId`: the rotation that published it (one version per rotation);
 * - content type `application/vnd.cosmos-key` for a bare account key,
 *   `application/vnd.cosmos-connection-string` for a connection string
 *   ("AccountEndpoint=...;AccountKey=...;").
 */
export const SECRET_TAGS = {
  cosmosAccount: 'cosmosAccount',
  keyKind: 'keyKind',
  rotationId: 'rotationId',
} as const;

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
