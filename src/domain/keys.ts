/**
 * The four Cosmos DB account keys and how they pair up. The pairing is data:
 * a rotation works on one pair, alternating which key of it is active.
 */
export const KEY_KINDS = ['primary', 'secondary', 'primaryReadonly', 'secondaryReadonly'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export type KeyPairName = 'readWrite' | 'readOnly';

export interface KeyPair {
  name: KeyPairName;
  kinds: readonly [KeyKind, KeyKind];
}

export const KEY_PAIRS: Readonly<Record<KeyPairName, KeyPair>> = {
  readWrite: { name: 'readWrite', kinds: ['primary', 'secondary'] },
  readOnly: { name: 'readOnly', kinds: ['primaryReadonly', 'secondaryReadonly'] },
};

/** The other key of the same pair. */
export function otherKeyOf(keyKind: KeyKind): KeyKind {
  const pair = pairOf(keyKind);
  return pair.kinds[0] === keyKind ? pair.kinds[1] : pair.kinds[0];
}

export function pairOf(keyKind: KeyKind): KeyPair {
  return keyKind === 'primary' || keyKind === 'secondary' ? KEY_PAIRS.readWrite : KEY_PAIRS.readOnly;
}

export function isKeyKind(value: unknown): value is KeyKind {
  return typeof value === 'string' && (KEY_KINDS as readonly string[]).includes(value);
}

/** ARM's `keysMetadata` property name for each key kind. */
export const KEYS_METADATA_PROPERTY: Readonly<Record<KeyKind, string>> = {
  primary: 'primaryMasterKey',
  secondary: 'secondaryMasterKey',
  primaryReadonly: 'primaryReadonlyMasterKey',
  secondaryReadonly: 'secondaryReadonlyMasterKey',
};
