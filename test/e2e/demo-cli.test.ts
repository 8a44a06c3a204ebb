import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeakScanner } from '../../emulator/demo/leaks.js';
import type { DemoReport } from '../../emulator/demo/report.js';
import { checkExpectations, formatTimelineLine } from '../../emulator/demo/runner.js';
import { parseScenario } from '../../emulator/demo/scenario.js';

const projectDir = resolve(import.meta.dirname, '../..');
const workDir = mkdtempSync(join(tmpdir(), 'demo-cli-'));

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function demo(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(projectDir, 'emulator/demo/run.ts'), ...args], {
    cwd: projectDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run demo', () => {
  it('when a scenario expects no consumer failures and a forced rotation breaks a consumer, then it says why and exits 1, and --json holds the same verdict', () => {
    const scenarioFile = join(workDir, 'forced.json');
    writeFileSync(
      scenarioFile,
      JSON.stringify({
        version: 1,
        name: 'forced-breaks-a-consumer',
        runFor: '1h',
        accounts: [{ name: 'orders' }],
        consumers: [{ name: 'orders-api', account: 'orders', refreshEvery: '1h', callEvery: '5m' }],
        actions: [{ at: '0m', type: 'force', account: 'orders', reason: 'test' }],
        expect: { noConsumerFailures: true },
      }),
    );
    const reportFile = join(workDir, 'report.json');

    const result = demo('--scenario', scenarioFile, '--json', reportFile, '--quiet');

    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/forced-breaks-a-consumer: FAILED/);
    expect(result.stdout).toMatch(/expected no consumer failures, got \d+ \(\d+ unauthorized\)/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report).toMatchObject({ version: 1, passed: false, scenario: { name: 'forced-breaks-a-consumer' } });
    expect(report.consumers.failuresByCause.unauthorized).toBeGreaterThan(0);
    expect(report.leaks.found).toEqual([]);
  });

  it('when the scenario file has a mistake, then nothing runs, the field is named and it exits 2', () => {
    const scenarioFile = join(workDir, 'typo.json');
    writeFileSync(scenarioFile, JSON.stringify({ version: 1, name: 'typo', runFor: '1d', accounts: [{ name: 'orders', regenerationSecs: 5 }] }));

    const result = demo('--scenario', scenarioFile);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('accounts[0].regenerationSecs: unknown field');
    expect(result.stdout).toBe('');
  });

  it('when a fleet in the scenario file has a mistake, then nothing runs, the fleet field is named and it exits 2', () => {
    const scenarioFile = join(workDir, 'fleet-typo.json');
    writeFileSync(scenarioFile, JSON.stringify({ version: 1, name: 'fleet-typo', runFor: '1d', fleet: [{ count: 200, namePrefix: 'acct', subscriptions: 5, consumers: { refreshEvry: '12h' } }] }));

    const result = demo('--scenario', scenarioFile);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('fleet[0].consumers.refreshEvry: unknown field');
    expect(result.stdout).toBe('');
  });
});

describe('the leak check', () => {
  it('when a key value appears as is or URL-encoded in any kept text, then it is found with where, whose and which key', () => {
    const scanner = new LeakScanner();
    const value = 'ab+cd/ef==';
    scanner.addKey(value, { account: 'orders', keyKind: 'secondary' });
    scanner.addText('logLines', 'log line 7', 'probing with key ab+cd/ef==');
    scanner.addText('httpResponses', 'HTTP response to GET /x', `{"link":"https://x/?k=${encodeURIComponent(value)}"}`);
    scanner.addText('customStatuses', 'custom status of i', '{"phase":"validating"}');

    const summary = scanner.scan(new Set([value]));

    expect(summary.found).toEqual([
      { where: 'log line 7', account: 'orders', keyKind: 'secondary', current: true },
      { where: 'HTTP response to GET /x', account: 'orders', keyKind: 'secondary', current: true },
    ]);
    expect(summary.scanned).toMatchObject({ logLines: 1, httpResponses: 1, customStatuses: 1 });
  });

  it('when a fleet has many keys and one sits inside a longer run of base64 or after a short key of its own prefix, then exactly the keys present are found', () => {
    const scanner = new LeakScanner();
    const keys = Array.from({ length: 50 }, (_, index) => Buffer.from(`key number ${index} of the fleet, 64 bytes long or so........`).toString('base64'));
    keys.forEach((value, index) => scanner.addKey(value, { account: `acct-${index}`, keyKind: 'primary' }));
    // A short value that is the start of another: both are found when the longer one is there.
    scanner.addKey(keys[7]!.slice(0, 20), { account: 'short', keyKind: 'secondaryReadonly' });
    scanner.addText('histories', 'history of a', `{"blob":"QUJD${keys[3]}RUZH"}`);
    scanner.addText('outputs', 'output of b', `x=${encodeURIComponent(keys[41]!)}&y=${keys[7]}`);
    scanner.addText('logLines', 'log line 1', keys[12]!.slice(0, 60));

    const summary = scanner.scan(new Set());

    expect(summary.found.map((finding) => `${finding.where}: ${finding.account}`)).toEqual([
      'history of a: acct-3',
      'output of b: acct-7',
      'output of b: short',
      'output of b: acct-41',
    ]);
  });

  it('when a key was found anywhere, then the run fails even though the scenario expects nothing about leaks', () => {
    const scenario = parseScenario({ version: 1, name: 'quiet', runFor: '1h', accounts: [{ name: 'orders' }] }, { source: 'test' });
    const report = {
      consumers: { failures: 0, failuresByCause: {}, byConsumer: [] },
      accounts: [],
      operatorActions: [],
      leaks: { keyValuesChecked: 4, scanned: {}, found: [{ where: 'log line 3 (function publishKey)', account: 'orders', keyKind: 'secondary', current: true }] },
    } as unknown as DemoReport;

    expect(checkExpectations(scenario, report)).toEqual(['key values leaked into 1 place: log line 3 (function publishKey)']);
  });
});

describe('the timeline', () => {
  it('when offsets of a two-day story range from +0m to +1d12h11m30s, then every column after them starts at the same place', () => {
    const layout = { accountWidth: 8, runForMs: 2 * 86_400_000 };
    const lines = [0, 90_000, 36 * 3_600_000 + 11 * 60_000 + 30_000, 47 * 3_600_000 + 59 * 60_000 + 59_000].map((offsetMs) =>
      formatTimelineLine({ at: new Date(Date.parse('2025-03-03T03:00:00Z') + offsetMs).toISOString(), offsetMs, account: 'orders', source: 'rotation', text: 'something' }, layout),
    );
    expect(lines[2]).toContain('+1d12h11m30s');
    expect(new Set(lines.map((line) => line.indexOf('%')))).toHaveLength(1);
    expect(new Set(lines.map((line) => line.indexOf('something')))).toHaveLength(1);
  });
});
