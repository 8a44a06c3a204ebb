import { describe, expect, it } from 'vitest';
import type { KeyKind } from '../../src/domain/keys.js';
import { otherKeyOf } from '../../src/domain/keys.js';
import {
  idleFrom,
  isIdle,
  nextUsageCheck,
  keyCountsAsUsedUntil,
  outageRetryDelayInMs,
  planPair,
  regeneratedSince,
  successorPublishedAt,
  whereRotationStopped,
  type PairState,
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

  it('when no successor was published, then only the usage report counts', () => {
    expect(keyCountsAsUsedUntil('2026-01-01T05:00:00Z', null)).toBe('2026-01-01T05:00:00Z');
    expect(keyCountsAsUsedUntil(null, null)).toBeNull();
  });
});

const PUBLISHED_AT = '2026-01-10T00:00:00.000Z';
function pairState(generated: { primary: string | null; secondary: string | null }, published: { keyKind: KeyKind | null; rotationId: string | null }): PairState {
  const key = (generationTime: string | null) => ({ generationTime, lastUsedAt: null });
  return {
    keys: { primary: key(generated.primary), secondary: key(generated.secondary), primaryReadonly: key(null), secondaryReadonly: key(null) },
    publishedKeyKind: published.keyKind,
    publishedRotationId: published.rotationId,
    publishedAt: published.keyKind ? PUBLISHED_AT : null,
  };
}

describe('whereRotationStopped', () => {
  it('when this app published secondary and primary was not regenerated since, then a start resumes that rotation at the consumer wait, primary still the old key', () => {
    const stopped = whereRotationStopped('readWrite', pairState({ primary: '2026-01-01T00:00:00Z', secondary: '2026-01-09T23:50:00Z' }, { keyKind: 'secondary', rotationId: 'orders-r1' }));
    expect(stopped).toMatchObject({ from: 'waitingForConsumers', rotationId: 'orders-r1', publishedAt: PUBLISHED_AT, plan: { activeKeyKind: 'primary', standbyKeyKind: 'secondary' } });
  });

  it('when the old key was regenerated after the publication, then the last rotation finished and a new one starts the other way', () => {
    const done = whereRotationStopped('readWrite', pairState({ primary: '2026-01-10T13:00:00Z', secondary: '2026-01-09T23:50:00Z' }, { keyKind: 'secondary', rotationId: 'orders-r1' }));
    expect(done).toMatchObject({ from: 'start', plan: { activeKeyKind: 'secondary', standbyKeyKind: 'primary' } });
  });

  it('when the secret was put there by a person (no rotation ID), then nothing is resumed', () => {
    expect(whereRotationStopped('readWrite', pairState({ primary: '2026-01-01T00:00:00Z', secondary: '2026-01-01T00:00:00Z' }, { keyKind: 'primary', rotationId: null })).from).toBe('start');
  });
});

describe('successorPublishedAt and regeneratedSince', () => {
  it('when this app published the other key and this one was not regenerated since, then that publication is its successor', () => {
    const state = pairState({ primary: '2026-01-01T00:00:00Z', secondary: '2026-01-09T23:50:00Z' }, { keyKind: 'secondary', rotationId: 'orders-r1' });
    expect(successorPublishedAt('primary', state)).toBe(PUBLISHED_AT);
    expect(successorPublishedAt('secondary', state)).toBeNull();
    expect(successorPublishedAt('primary', { ...state, publishedRotationId: null })).toBeNull();
  });

  it('when a regeneration finished in the instant it began, then it counts as regenerated; an unchanged generation time does not', () => {
    const since = '2026-01-10T00:05:00.000Z';
    expect(regeneratedSince(since, since, '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(regeneratedSince(since, since, since)).toBe(false);
    expect(regeneratedSince(since, since)).toBe(false);
    expect(regeneratedSince('2026-01-10T00:06:00.000Z', since)).toBe(true);
    expect(regeneratedSince(null, since, null)).toBe(false);
  });
});

describe('outageRetryDelayInMs', () => {
  it('when a step keeps failing, then the delays double from 1 minute to at most an hour, and never undercut Retry-After', () => {
    expect([0, 1, 2, 5, 6, 10].map((attempt) => outageRetryDelayInMs(attempt) / 60_000)).toEqual([1, 2, 4, 32, 60, 60]);
    expect(outageRetryDelayInMs(0, 5 * 60_000)).toBe(5 * 60_000);
    expect(outageRetryDelayInMs(3, 1000)).toBe(8 * 60_000);
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
