import { describe, expect, it } from 'vitest';
import type { KeyKind } from '../../src/domain/keys.js';
import { otherKeyOf } from '../../src/domain/keys.js';
import {
  idleFrom,
  isIdle,
  nextUsageCheck,
  keyCountsAsUsedUntil,
  planPair,
  regenerationPollDelayInSeconds,
  rotationIdFor,
  rotationInstanceId,
  validationIntervalInMs,
  type UsageFacts,
} from '../../src/domain/rotation-plan.js';

const rule = { idleWindowInHours: 12, usageMarginInMinutes: 30 };
const ACCOUNT_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.DocumentDB/databaseAccounts/orders';

function facts(lastUse: Partial<Record<KeyKind, string>>, publishedKeyKind: KeyKind | null = null): UsageFacts {
  const key = (kind: KeyKind) => ({ lastUsedAt: lastUse[kind] ?? null });
  return {
    keys: { primary: key('primary'), secondary: key('secondary'), primaryReadonly: key('primaryReadonly'), secondaryReadonly: key('secondaryReadonly') },
    publishedKeyKind,
  };
}

describe('planPair', () => {
  it('when Key Vault holds primary, then primary is active and secondary is regenerated first', () => {
    const plan = planPair('readWrite', facts({ secondary: '2026-01-01T00:00:00Z' }, 'primary'));
    expect(plan).toEqual({ pair: 'readWrite', activeKeyKind: 'primary', standbyKeyKind: 'secondary', activeKeySource: 'keyVault' });
  });

  it('when nothing is published yet, then the most recently used key is taken as active', () => {
    const plan = planPair('readWrite', facts({ primary: '2026-01-01T00:00:00Z', secondary: '2026-01-02T00:00:00Z' }));
    expect(plan.activeKeyKind).toBe('secondary');
    expect(plan.activeKeySource).toBe('lastUsage');
  });

  it('when no key was ever used or published, then primary is active by default', () => {
    expect(planPair('readWrite', facts({}))).toMatchObject({ activeKeyKind: 'primary', standbyKeyKind: 'secondary', activeKeySource: 'default' });
  });

  it('when Key Vault holds a read-write key, then the read-only pair is still planned from its own usage', () => {
    const plan = planPair('readOnly', facts({ secondaryReadonly: '2026-01-01T00:00:00Z' }, 'primary'));
    expect(plan).toMatchObject({ activeKeyKind: 'secondaryReadonly', standbyKeyKind: 'primaryReadonly' });
  });

  it('pairs are fixed: primary goes with secondary, read-only with read-only', () => {
    expect(otherKeyOf('primary')).toBe('secondary');
    expect(otherKeyOf('secondaryReadonly')).toBe('primaryReadonly');
  });
});

describe('idle rules', () => {
  it('when a key was used 3 hours ago, then it is idle 9 hours and the margin from now', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(idleFrom('2026-01-01T09:00:00Z', rule)?.toISOString()).toBe('2026-01-01T21:30:00.000Z');
    expect(isIdle('2026-01-01T09:00:00Z', now, rule)).toBe(false);
  });

  it('when a key was never used, then it is idle', () => {
    expect(isIdle(null, new Date(), rule)).toBe(true);
  });

  it('when a key was used 13 hours ago, then it is idle', () => {
    expect(isIdle('2026-01-01T00:00:00Z', new Date('2026-01-01T13:00:00Z'), rule)).toBe(true);
  });
});

describe('keyCountsAsUsedUntil', () => {
  it('when the usage report is older than the publication, then the old key counts as used until it was published', () => {
    expect(keyCountsAsUsedUntil('2026-01-01T00:00:00Z', '2026-01-01T03:00:00.000Z')).toBe('2026-01-01T03:00:00.000Z');
    expect(keyCountsAsUsedUntil(null, '2026-01-01T03:00:00.000Z')).toBe('2026-01-01T03:00:00.000Z');
  });

  it('when consumers used the old key after the publication, then that later use counts', () => {
    expect(keyCountsAsUsedUntil('2026-01-01T05:00:00Z', '2026-01-01T03:00:00.000Z')).toBe('2026-01-01T05:00:00Z');
  });
});

describe('nextUsageCheck', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const deadline = new Date('2026-01-04T00:00:00Z');

  it('when the key cannot be idle before 12 h, then it does not look again before that', () => {
    const at = nextUsageCheck({ now, lastUsedAt: '2026-01-01T00:00:00Z', rule, checkIntervalInMinutes: 60, deadline });
    expect(at.toISOString()).toBe('2026-01-01T12:30:00.000Z');
  });

  it('when the key could be idle soon, then it still waits at least the check interval', () => {
    const at = nextUsageCheck({ now, lastUsedAt: '2025-12-31T12:00:00Z', rule, checkIntervalInMinutes: 60, deadline });
    expect(at.toISOString()).toBe('2026-01-01T01:00:00.000Z');
  });

  it('when the deadline comes first, then it looks at the deadline', () => {
    const at = nextUsageCheck({ now, lastUsedAt: '2026-01-03T23:00:00Z', rule, checkIntervalInMinutes: 60, deadline });
    expect(at.toISOString()).toBe(deadline.toISOString());
  });
});

describe('timing helpers', () => {
  it('polls a regeneration at 30 s, doubling, never more than 15 minutes apart', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(regenerationPollDelayInSeconds)).toEqual([30, 60, 120, 240, 480, 900, 900]);
  });

  it('spreads 3 validation probes over 5 minutes at 2.5 minute intervals', () => {
    expect(validationIntervalInMs(3, 5)).toBe(150_000);
    expect(validationIntervalInMs(1, 5)).toBe(0);
  });
});

describe('identifiers', () => {
  it('derives one instance ID per account, whatever the case of the resource ID', () => {
    expect(rotationInstanceId(ACCOUNT_ID)).toBe('cosmos-rotation--00000000-0000-0000-0000-000000000001--rg-data--orders');
    expect(rotationInstanceId(ACCOUNT_ID.toUpperCase().replace('SUBSCRIPTIONS', 'subscriptions'))).toBe(rotationInstanceId(ACCOUNT_ID));
  });

  it('refuses a resource ID that is not a Cosmos DB account', () => {
    expect(() => rotationInstanceId('/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s')).toThrow(/not a Cosmos DB account resource ID/);
  });

  it('names a rotation after its account and start time', () => {
    expect(rotationIdFor('orders', new Date('2026-03-04T05:06:07.891Z'))).toBe('orders-20260304T050607Z');
  });
});
