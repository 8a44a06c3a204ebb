import { describe, expect, it } from 'vitest';
import type { KeyFacts } from '../../src/domain/account-facts.js';
import type { KeyKind } from '../../src/domain/keys.js';
import { localAuthReadiness } from '../../src/domain/local-auth.js';

const now = new Date('2026-06-01T00:00:00Z');
const keys = (overrides: Partial<Record<KeyKind, Partial<KeyFacts>>> = {}): Record<KeyKind, KeyFacts> => {
  const base: KeyFacts = { generationTime: '2026-01-01T00:00:00.000Z', lastUsedAt: null };
  return {
    primary: { ...base, ...overrides.primary },
    secondary: { ...base, ...overrides.secondary },
    primaryReadonly: { ...base, ...overrides.primaryReadonly },
    secondaryReadonly: { ...base, ...overrides.secondaryReadonly },
  };
};

describe('ready to disable local authentication', () => {
  it('when the last use of any key is 31 days ago and the rule is 30 days, then it is ready', () => {
    const readiness = localAuthReadiness({ keys: keys({ secondaryReadonly: { lastUsedAt: '2026-05-01T00:00:00.000Z' } }), localAuthDisabled: false, unusedForDays: 30, now });
    expect(readiness).toMatchObject({ ready: true, lastKeyUseAt: '2026-05-01T00:00:00.000Z', readyFrom: null });
  });

  it('when one read-only key was used 29 days ago, then it is not ready, and it says when it would be', () => {
    const readiness = localAuthReadiness({ keys: keys({ primaryReadonly: { lastUsedAt: '2026-05-03T00:00:00.000Z' } }), localAuthDisabled: false, unusedForDays: 30, now });
    expect(readiness).toMatchObject({ ready: false, readyFrom: '2026-06-02T00:00:00.000Z' });
    expect(readiness.reason).toContain('primaryReadonly was used at 2026-05-03T00:00:00.000Z');
  });

  it('when a key reports no use but was regenerated 10 days ago, then it has not had the 30 days to show it is unused', () => {
    const readiness = localAuthReadiness({ keys: keys({ primary: { generationTime: '2026-05-22T00:00:00.000Z' } }), localAuthDisabled: false, unusedForDays: 30, now });
    expect(readiness).toMatchObject({ ready: false, readyFrom: '2026-06-21T00:00:00.000Z' });
  });

  it('when usage times are not reported or a key has no times at all, or local auth is off already, then it is never ready', () => {
    expect(localAuthReadiness({ keys: keys(), localAuthDisabled: false, usageReported: false, unusedForDays: 30, now }).ready).toBe(false);
    expect(localAuthReadiness({ keys: keys({ secondary: { generationTime: null } }), localAuthDisabled: false, unusedForDays: 30, now }).reason).toMatch(/neither a last use nor a generation time for secondary/);
    expect(localAuthReadiness({ keys: keys(), localAuthDisabled: true, unusedForDays: 30, now }).reason).toMatch(/already disabled/);
  });
});
