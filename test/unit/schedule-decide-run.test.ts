import { describe, expect, it } from 'vitest';
import type { RotationTarget } from '../../src/config.js';
import { rotationTarget } from '../helpers/targets.js';
import { decideRun, dueState, type AccountFacts, type LastRotation, type ScheduleLimits } from '../../src/schedule/decide-run.js';
import { LOG_LINE_LIMIT, scheduleEntry, summaryLine } from '../../src/schedule/schedule-log.js';

const NOW = new Date('2026-03-01T03:00:00.000Z');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const SUB_A = '00000000-0000-0000-0000-00000000000a';
const SUB_B = '00000000-0000-0000-0000-00000000000b';
const limits: ScheduleLimits = { maxRotationsInFlight: 10, maxRotationsInFlightPerSubscription: 5, failedRotationRetryInHours: 24 };

const target = (name: string, overrides: Partial<RotationTarget> = {}): RotationTarget => rotationTarget(name, { subscriptionId: SUB_A, ...overrides });

const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS).toISOString();
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * HOUR_MS).toISOString();

function account(name: string, secretAgeInDays: number | null, lastRotation: LastRotation | null = null, overrides: Partial<RotationTarget> = {}): AccountFacts {
  const t = target(name, overrides);
  return { target: t, secrets: [{ secretName: t.secretName, createdOn: secretAgeInDays === null ? null : daysAgo(secretAgeInDays) }], lastRotation };
}

const names = (decision: ReturnType<typeof decideRun>) => decision.start.map((s) => s.target.name);
const skipOf = (decision: ReturnType<typeof decideRun>, name: string) => decision.skipped.find((s) => s.name === name);

describe('dueState', () => {
  it('when the secret is older than the interval, then the account is due since the secret age plus the interval', () => {
    const due = dueState({ rotationIntervalInDays: 30 }, [{ secretName: 's', createdOn: daysAgo(31) }], NOW);
    expect(due).toMatchObject({ due: true, dueAt: daysAgo(1) });
    expect(due.detail).toContain('31 days old');
  });

  it('when the secret is younger than the interval, then the account is not due and says when it will be', () => {
    expect(dueState({ rotationIntervalInDays: 30 }, [{ secretName: 's', createdOn: daysAgo(29) }], NOW)).toMatchObject({ due: false, dueAt: new Date(NOW.getTime() + DAY_MS).toISOString() });
  });

  it('when no secret exists yet, then the account is due now', () => {
    expect(dueState({ rotationIntervalInDays: 30 }, [{ secretName: 'orders-key', createdOn: null }], NOW)).toMatchObject({ due: true, dueAt: null, detail: 'secret orders-key does not exist yet' });
  });

  it('when the read-only secret is old but the read-write one is fresh, then the oldest secret makes the account due', () => {
    const due = dueState({ rotationIntervalInDays: 30 }, [{ secretName: 'rw', createdOn: daysAgo(1) }, { secretName: 'ro', createdOn: daysAgo(40) }], NOW);
    expect(due.due).toBe(true);
    expect(due.detail).toContain('ro is 40 days old');
  });
});

describe('decideRun', () => {
  it('when some accounts are due and some not, then only the due ones start and the others say when they fall due', () => {
    const decision = decideRun([account('alpha', 31), account('bravo', 2), account('charlie', null)], limits, NOW);
    expect(names(decision)).toEqual(['charlie', 'alpha']);
    expect(decision.due).toBe(2);
    expect(skipOf(decision, 'bravo')).toMatchObject({ reason: 'notDue', until: new Date(NOW.getTime() + 28 * DAY_MS).toISOString() });
  });

  it('when a rotation of a due account is running, then it is not started a second time', () => {
    const decision = decideRun([account('alpha', 40, { runtimeStatus: 'Running', lastUpdatedTime: hoursAgo(1), phase: 'waitingForConsumers' })], limits, NOW);
    expect(decision.start).toEqual([]);
    expect(skipOf(decision, 'alpha')).toMatchObject({ reason: 'running', detail: 'a rotation is running (waitingForConsumers)' });
  });

  it('when an instance is pending or suspended, then it also counts as running', () => {
    const decision = decideRun(
      [account('alpha', 40, { runtimeStatus: 'Pending', lastUpdatedTime: hoursAgo(1) }), account('bravo', 40, { runtimeStatus: 'Suspended', lastUpdatedTime: hoursAgo(1) })],
      limits,
      NOW,
    );
    expect(decision.start).toEqual([]);
    expect(decision.skipped.map((s) => s.reason)).toEqual(['running', 'running']);
  });

  it('when the last rotation ended in needs attention less than the retry delay ago, then it is reported and not restarted', () => {
    const decision = decideRun([account('alpha', 40, { runtimeStatus: 'Completed', outcome: 'needsAttention', lastUpdatedTime: hoursAgo(3), phase: 'needsAttention' })], limits, NOW);
    expect(decision.start).toEqual([]);
    expect(skipOf(decision, 'alpha')).toMatchObject({ reason: 'needsAttention', until: new Date(NOW.getTime() + 21 * HOUR_MS).toISOString() });
  });

  it('when the last rotation failed or was cancelled recently, then it waits for the retry delay too', () => {
    const decision = decideRun(
      [
        account('alpha', 40, { runtimeStatus: 'Failed', lastUpdatedTime: hoursAgo(23), phase: 'failed' }),
        account('bravo', 40, { runtimeStatus: 'Terminated', lastUpdatedTime: hoursAgo(2), phase: 'waitingForConsumers' }),
      ],
      limits,
      NOW,
    );
    expect(decision.start).toEqual([]);
    expect(skipOf(decision, 'alpha')?.reason).toBe('failed');
    expect(skipOf(decision, 'bravo')).toMatchObject({ reason: 'cancelled' });
    expect(skipOf(decision, 'bravo')?.detail).toContain('waitingForConsumers');
  });

  it('when the retry delay after a failure has passed and the account is due, then the schedule restarts it', () => {
    const decision = decideRun([account('alpha', 40, { runtimeStatus: 'Failed', lastUpdatedTime: hoursAgo(25), phase: 'failed' })], limits, NOW);
    expect(names(decision)).toEqual(['alpha']);
  });

  it('when a rotation stopped part-way left a fresh secret, then after the retry delay the account is due for resumption whatever the secret age', () => {
    const stopped = [
      account('alpha', 4, { runtimeStatus: 'Completed', outcome: 'needsAttention', phase: 'needsAttention', lastUpdatedTime: hoursAgo(30) }),
      account('beta', 4, { runtimeStatus: 'Terminated', phase: 'waitingForConsumers', lastUpdatedTime: hoursAgo(25) }),
      account('gamma', 4, { runtimeStatus: 'Failed', phase: 'failed', lastUpdatedTime: hoursAgo(26) }),
    ];
    const decision = decideRun(stopped, limits, NOW);
    expect(names(decision)).toEqual(['alpha', 'gamma', 'beta']);
    expect(decision.start.map((start) => start.detail)).toEqual([
      expect.stringMatching(/^resume: last rotation needs attention/),
      expect.stringMatching(/^resume: last rotation failed/),
      expect.stringMatching(/^resume: last rotation was cancelled in waitingForConsumers/),
    ]);
  });

  it('when a completed rotation rotated, then only the secret age decides', () => {
    const decision = decideRun([account('alpha', 31, { runtimeStatus: 'Completed', outcome: 'rotated', lastUpdatedTime: hoursAgo(1) })], limits, NOW);
    expect(names(decision)).toEqual(['alpha']);
  });

  it('when more accounts are due than the in-flight bound allows, then the most overdue start and the rest start once rotations finish', () => {
    const accounts = [account('a1', 31), account('a2', 60), account('a3', null), account('a4', 45)];
    const decision = decideRun(accounts, { ...limits, maxRotationsInFlight: 2 }, NOW);
    expect(names(decision)).toEqual(['a3', 'a2']);
    expect(decision.due).toBe(4);
    expect(decision.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['a4', 'inFlightLimit'],
      ['a1', 'inFlightLimit'],
    ]);
    expect(skipOf(decision, 'a1')?.detail).toMatch(/2 rotations in flight, MAX_ROTATIONS_IN_FLIGHT=2: starts when one finishes/);
  });

  it('when rotations are already running, then they count against the in-flight bound and only the free places are filled', () => {
    const running: LastRotation = { runtimeStatus: 'Running', lastUpdatedTime: hoursAgo(1), phase: 'waitingForConsumers' };
    const accounts = [account('r1', 31, running), account('r2', 31, running), account('a1', 50), account('a2', 40), account('a3', 35)];
    const decision = decideRun(accounts, { ...limits, maxRotationsInFlight: 3 }, NOW);
    expect(decision.running).toBe(2);
    expect(names(decision)).toEqual(['a1']);
    expect(decision.skipped.filter((s) => s.reason === 'inFlightLimit').map((s) => s.name)).toEqual(['a2', 'a3']);
  });

  it('when the bounds are larger than the backlog, then every due account starts in one run, however many', () => {
    const accounts = Array.from({ length: 1000 }, (_, index) => account(`acct-${String(index).padStart(4, '0')}`, 31 + (index % 7), null, { subscriptionId: `00000000-0000-0000-0000-00000000000${index % 10}` }));
    const decision = decideRun(accounts, { ...limits, maxRotationsInFlight: 2000, maxRotationsInFlightPerSubscription: 200 }, NOW);
    expect(decision.start).toHaveLength(1000);
    expect(decision.skipped).toEqual([]);
  });

  it('when one subscription holds many due accounts, then at most the per-subscription bound run there, running ones included, and others still start', () => {
    const accounts = [
      account('a0', 31, { runtimeStatus: 'Running', lastUpdatedTime: hoursAgo(1) }),
      account('a1', 40),
      account('a2', 41),
      account('a3', 42),
      account('b1', 31, null, { subscriptionId: SUB_B }),
    ];
    const decision = decideRun(accounts, { ...limits, maxRotationsInFlightPerSubscription: 2 }, NOW);
    expect(names(decision)).toEqual(['a3', 'b1']);
    expect(skipOf(decision, 'a2')).toMatchObject({ reason: 'subscriptionInFlightLimit' });
    expect(skipOf(decision, 'a1')?.detail).toContain(SUB_A);
    expect(skipOf(decision, 'a1')?.detail).toContain('MAX_ROTATIONS_IN_FLIGHT_PER_SUBSCRIPTION=2');
  });

  it('when an account could not be read, then it is skipped with the reason and the others proceed', () => {
    const broken: AccountFacts = { ...account('alpha', null), lookupError: 'RestError 503' };
    const decision = decideRun([broken, account('bravo', 40)], limits, NOW);
    expect(names(decision)).toEqual(['bravo']);
    expect(skipOf(decision, 'alpha')).toMatchObject({ reason: 'lookupFailed' });
    expect(skipOf(decision, 'alpha')?.detail).toContain('RestError 503');
  });
});

describe('summaryLine', () => {
  it('when a run started some accounts and skipped others, then one line counts each kind and names its accounts with why', () => {
    const line = summaryLine({
      at: NOW.toISOString(),
      configured: 3,
      due: 2,
      running: 1,
      started: [{ name: 'alpha', detail: 'secret alpha-key is 31 days old (interval 30 days)' }],
      skipped: [
        { name: 'bravo', accountId: 'y', reason: 'running', detail: 'a rotation is running (validating)' },
        { name: 'charlie', accountId: 'z', reason: 'inFlightLimit', detail: 'due; 2 rotations in flight, MAX_ROTATIONS_IN_FLIGHT=2: starts when one finishes' },
      ],
    });
    expect(line).not.toContain('\n');
    expect(line).toMatch(/3 configured, 2 due, 1 running before this run, 1 started \[alpha .*\], 2 skipped \(running 1 \[bravo - .*\]; inFlightLimit 1 \[charlie - .*\]\)/);
  });

  it('when 1,000 accounts with long names are skipped for every reason, then the line stays under 16 KB and names the first three of each kind', () => {
    const reasons = ['notDue', 'running', 'needsAttention', 'failed', 'cancelled', 'inFlightLimit', 'subscriptionInFlightLimit', 'lookupFailed', 'startFailed'] as const;
    const longName = (index: number) => `account-with-a-rather-long-name-${'x'.repeat(60)}-${index}`;
    const skipped = Array.from({ length: 1000 }, (_, index) => ({ name: longName(index), accountId: `id-${index}`, reason: reasons[index % reasons.length]!, detail: `why ${'y'.repeat(400)}` }));
    const started = Array.from({ length: 1000 }, (_, index) => ({ name: longName(index), detail: `due ${'z'.repeat(400)}` }));

    const line = summaryLine({ at: NOW.toISOString(), configured: 2000, due: 1500, running: 0, started, skipped });

    expect(line.length).toBeLessThanOrEqual(LOG_LINE_LIMIT);
    expect(line).toContain('1000 started [');
    expect(line).toContain('and 997 more');
    for (const reason of reasons) expect(line).toMatch(new RegExp(`${reason} 11\\d \\[`));
  });
});

describe('scheduleEntry', () => {
  it('when an account started or was held, then it gets one short entry with its fields; not-due and running accounts get none', () => {
    const entry = scheduleEntry(NOW.toISOString(), { name: 'alpha', accountId: '/subscriptions/x', outcome: 'inFlightLimit', detail: `due ${'y'.repeat(1000)}` });
    expect(entry?.fields).toMatchObject({ account: 'alpha', accountId: '/subscriptions/x', outcome: 'inFlightLimit', scheduleRunAt: NOW.toISOString() });
    expect(entry!.line.length).toBeLessThan(500);
    expect(scheduleEntry(NOW.toISOString(), { name: 'bravo', accountId: 'b', outcome: 'notDue', detail: 'due at ...' })).toBeNull();
    expect(scheduleEntry(NOW.toISOString(), { name: 'bravo', accountId: 'b', outcome: 'running', detail: 'a rotation is running' })).toBeNull();
  });
});
