import { describe, expect, it } from 'vitest';
import type { AccountReport, DemoReport } from '../../emulator/demo/report.js';
import { formatSummary } from '../../emulator/demo/summary.js';

const LEDGER_ID = '/subscriptions/00000000-0000-4000-8000-00000000de00/resourceGroups/rotation-demo/providers/Microsoft.DocumentDB/databaseAccounts/ledger';

function reportWith(account: Partial<AccountReport>, counts: { instances?: number; histories?: number } = {}): DemoReport {
  return {
    version: 1,
    scenario: { name: 'story', title: 'story', file: null, start: '2025-03-03T03:00:00.000Z', end: '2025-03-05T03:00:00.000Z', runForMs: 172_800_000 },
    passed: true,
    expectationFailures: [],
    accounts: [
      {
        name: 'ledger',
        id: LEDGER_ID,
        outcome: 'rotated',
        runs: [],
        phases: [],
        waits: [],
        regenerations: [],
        activeKeyKind: 'secondary',
        retries: null,
        ...account,
      },
    ],
    consumers: { calls: 1, succeeded: 1, failures: 0, failuresByCause: {}, keyVaultReads: 1, keyVaultReadFailures: 0, byConsumer: [] },
    arm: { total: 1, byOperation: { getAccount: 1 }, byStatus: { 200: 1 } },
    keyVault: { total: 1, byOperation: { getSecret: 1 }, byStatus: { 200: 1 }, byConsumers: 1 },
    cosmosDataPlane: { total: 1, byOperation: {}, byStatus: {} },
    armPacing: { bySubscription: {}, max: { reads: { perSecond: 1, perMinute: 1 }, writes: { perSecond: 0, perMinute: 0 } } },
    timerRuns: [],
    progress: { configuredAccounts: 1, rotatedAccounts: 1, allRotatedOffsetMs: 3_600_000, stoppedBy: 'runFor', virtualMs: 172_800_000 },
    longestLogLine: { chars: 10, where: null },
    durable: { instances: counts.instances ?? 1, episodes: 1, historyEvents: 1, activityCalls: 1, timersCreated: 1, crashes: 0, byInstance: [] },
    events: { byType: { newKeyPublished: 1 }, total: 1, resends: 0, telemetryRecords: 1 },
    leaks: {
      keyValuesChecked: 1,
      scanned: { histories: counts.histories ?? 1, customStatuses: 1, outputs: 1, logLines: 1, httpResponses: 1, taskHubFiles: 1, events: 1, telemetry: 1 },
      found: [],
    },
    operatorActions: [],
    timeline: [],
    wallClockMs: 1000,
    emulatorStats: { arm: {}, cosmos: {}, keyvault: {} },
  } as unknown as DemoReport;
}

describe('the summary', () => {
  it('when a wait reason names the account by its resource ID, then it names it by its name and says the whole reason', () => {
    const reason =
      `regeneration of secondary blocked: The secondary key of ${LEDGER_ID} was used at 2025-03-03T03:00:00.000Z, within the idle window: ` +
      'retry at 2025-03-03T15:30:00.000Z. ARM said: 400 BadRequest: Cannot regenerate the secondary key of account ledger, or set SkipAccountKeysLastUsageCheck to true to regenerate it anyway.';
    const wait = { phase: 'regeneratingStandby', reason, from: '2025-03-03T04:00:00.000Z', until: '2025-03-03T15:30:00.000Z', durationMs: 41_400_000, hours: 11.5 };

    const text = formatSummary(reportWith({ waits: [wait] })).replace(/\s+/g, ' ');

    expect(text).toContain('waited 11h30m in regeneratingStandby: regeneration of secondary blocked: The secondary key of ledger was used at');
    expect(text).toContain('to regenerate it anyway.');
    expect(text).not.toContain('/subscriptions/');
    expect(text).not.toContain('...');
  });

  it('when a wait lasted 5h38m30s, then it prints exactly that, not a time rounded through hundredths of an hour', () => {
    const wait = { phase: 'waitingForConsumers', reason: 'old key primary in use', from: '2025-03-04T04:06:30.000Z', until: '2025-03-04T09:45:00.000Z', durationMs: 20_310_000, hours: 5.64 };

    expect(formatSummary(reportWith({ waits: [wait] }))).toContain('waited 5h38m30s in waitingForConsumers');
  });

  it('when keys were regenerated, then the summary says the times are when Azure finished', () => {
    const text = formatSummary(reportWith({ regenerations: [{ keyKind: 'secondary', at: '2025-03-03T03:01:00.000Z', offsetMs: 60_000 }] }));

    expect(text).toContain('Azure finished regenerating secondary at +1m');
  });

  it('when the rotation polled and checked without being refused, then those counts are not called retries', () => {
    const text = formatSummary(reportWith({ retries: { blockedRegenerations: 0, validationFailures: 0, regenerationPolls: 4, usageChecks: 2 } }));

    expect(text).not.toMatch(/retr/i);
    expect(text).toContain('4 regeneration status polls, 2 usage checks');
    const refused = formatSummary(reportWith({ retries: { blockedRegenerations: 1, validationFailures: 0, regenerationPolls: 4, usageChecks: 2 } }));
    expect(refused).toMatch(/retried after: 1 refused regeneration\n/);
  });

  it('when there is one of a thing, then it is counted in the singular', () => {
    const text = formatSummary(reportWith({}, { instances: 1, histories: 1 }));

    expect(text).toContain('1 orchestration,');
    expect(text).toContain('in 1 history, 1 custom status, 1 output, 1 log line, 1 HTTP response, 1 task hub file');
  });

  it('when ARM throttled and the schedule ran, then the summary gives answers by status, the peak second and minute per subscription, and what the timer read', () => {
    const report = reportWith({});
    report.arm.byStatus = { 200: 40, 202: 2, 429: 3 };
    report.armPacing = {
      bySubscription: { a: { reads: { perSecond: 30, perMinute: 90 }, writes: { perSecond: 4, perMinute: 12 } } },
      max: { reads: { perSecond: 30, perMinute: 90 }, writes: { perSecond: 4, perMinute: 12 } },
    };
    report.timerRuns = [
      { at: '2025-03-03T03:00:00.000Z', offsetMs: 0, keyVault: { getSecret: 6 }, arm: {}, keyValuesRead: 6 },
      { at: '2025-03-04T03:00:00.000Z', offsetMs: 86_400_000, keyVault: { listSecrets: 1 }, arm: {}, keyValuesRead: 0 },
    ];

    const text = formatSummary(report);

    expect(text).toContain('by status: 200 40, 202 2, 429 3\n');
    expect(text).toContain('by status: 200 1 (no 429)');
    expect(text).toContain('peak per subscription (1 subscription): reads 30 in a second, 90 in a minute; writes 4 in a second, 12 in a minute');
    expect(text).toContain('2 timer runs; the busiest made 6 Key Vault requests (getSecret 6) and 0 ARM requests; 6 secret values read; longest log line 10 characters');
  });

  it('when a fleet has more accounts than fit in blocks, then accounts are counted by outcome with the first few names, and the time the last one was rotated', () => {
    const report = reportWith({});
    const template = report.accounts[0]!;
    report.accounts = Array.from({ length: 30 }, (_, index) => ({ ...template, name: `acct-${String(index + 1).padStart(2, '0')}`, outcome: index < 28 ? 'rotated' : 'running' }));
    report.progress = { configuredAccounts: 30, rotatedAccounts: 28, allRotatedOffsetMs: null, stoppedBy: 'runFor', virtualMs: 172_800_000 };

    const text = formatSummary(report);

    expect(text).toMatch(/ {3}28 rotated +acct-01, acct-02, acct-03, acct-04, acct-05, \.\.\. 23 more\n/);
    expect(text).toMatch(/ {4}2 running +acct-29, acct-30\n/);
    expect(text).toContain('28 of 30 configured accounts rotated by the end');
    expect(text).not.toContain('Key Vault holds');
  });
});
