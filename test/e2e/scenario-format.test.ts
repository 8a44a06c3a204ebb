import { describe, expect, it } from 'vitest';
import { problemsOf } from '../helpers/scenario-problems.js';
import { runScenario } from '../../emulator/demo/runner.js';
import { formatDuration, parseDuration, parseScenario } from '../../emulator/demo/scenario.js';

const minimal = { version: 1, name: 'minimal', runFor: '1d', accounts: [{ name: 'orders' }] };

describe('scenario files', () => {
  it('when only the required fields are given, then the defaults describe one account, primary active, no consumers', () => {
    const scenario = parseScenario(minimal, { source: 'scenario.json' });
    expect(scenario.runForMs).toBe(86_400_000);
    expect(scenario.accounts[0]).toMatchObject({ name: 'orders', regenerationSeconds: 60, usageLagSeconds: 0, initialActiveKeyKind: 'primary', configured: true });
    expect(scenario.consumers).toEqual([]);
    expect(scenario.expect.noConsumerFailures).toBe(false);
  });

  it('when an http action asks to print its answer, then the action carries print; a print that is not true or false is refused', () => {
    const actions = [{ at: '1h', type: 'http', method: 'GET', path: '/api/keys', print: true }, { at: '2h', type: 'http', method: 'GET', path: '/api/rotations' }];
    expect(parseScenario({ ...minimal, actions }, { source: 'scenario.json' }).actions.map((a) => (a as { print?: boolean }).print)).toEqual([true, false]);
    expect(problemsOf({ ...minimal, actions: [{ at: '1h', type: 'http', method: 'GET', path: '/api/keys', print: 'yes' }] }).join('\n')).toMatch(/print/);
  });

  it('when a file names a JSON schema for its editor, then the runner accepts it and ignores it', () => {
    expect(parseScenario({ $schema: './my-scenario.schema.json', ...minimal }, { source: 'scenario.json' }).name).toBe('minimal');
  });

  it('when a field is misspelt, then the error names it and lists the allowed ones', () => {
    const problems = problemsOf({ ...minimal, consumers: [{ name: 'api', account: 'orders', refreshEvry: '1h' }] });
    expect(problems).toEqual([expect.stringMatching(/^consumers\[0\]\.refreshEvry: unknown field \(allowed: .*refreshEvery/)]);
  });

  it('when several fields are wrong, then every one is reported with its path', () => {
    const problems = problemsOf({
      version: 2,
      name: 'Bad Name',
      runFor: '3 days',
      accounts: [{ name: 'orders', regenerationSeconds: -5 }],
      consumers: [{ name: 'api', account: 'payments', callEvery: '5x' }],
      actions: [{ at: '1h', type: 'start', account: 'orders', force: 'yes' }, { at: '2h', type: 'reboot' }],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^version: must be 1/),
      expect.stringMatching(/^name: must be lower-case/),
      expect.stringMatching(/^runFor: must be a duration/),
      expect.stringMatching(/^accounts\[0\]\.regenerationSeconds: must be a whole number from 0/),
      expect.stringMatching(/^consumers\[0\]\.account: "payments" is not one of the scenario's accounts \(orders\)/),
      expect.stringMatching(/^consumers\[0\]\.callEvery: must be a duration/),
      expect.stringMatching(/^actions\[0\]\.force: must be true or false/),
      expect.stringMatching(/^actions\[1\]\.type: must be one of timer, start, force/),
    ]);
  });

  it('when a scenario sets a setting the runner owns, then it is refused with the reason', () => {
    const problems = problemsOf({ ...minimal, settings: { KEY_VAULT_URL: 'https://elsewhere.vault.azure.net', IDLE_WINDOW_IN_HOURS: 12 } });
    expect(problems).toEqual([expect.stringMatching(/^settings\.KEY_VAULT_URL: is set by the runner/)]);
  });

  it('when a scenario names a setting the app does not read, or gives a bad value, then each is refused by the app\'s own validation, naming it', () => {
    const problems = problemsOf({ ...minimal, settings: { IDLE_WINDOW_HOURS: 12, CONSUMER_WAIT_MAX_IN_HOURS: 'three days', STANDBY_WAIT_MAX_IN_HOURS: 24 } });
    expect(problems).toEqual([
      expect.stringMatching(/^settings\.IDLE_WINDOW_HOURS: is not a setting the app reads/),
      expect.stringMatching(/^settings\.CONSUMER_WAIT_MAX_IN_HOURS: /),
    ]);
  });

  it('when a fault is given for a span of time, then it needs no count and may not have one; a crash may name the activity it follows', () => {
    const scenario = parseScenario(
      { ...minimal, actions: [{ at: '1h', type: 'fault', service: 'keyvault', method: 'PUT', status: 429, for: '20m' }, { at: '2h', type: 'crash', afterActivity: 'publishKey' }] },
      { source: 'scenario.json' },
    );
    expect(scenario.actions).toEqual([
      { atMs: 3_600_000, type: 'fault', fault: { service: 'keyvault', method: 'PUT', status: 429, times: 10_000 }, forMs: 1_200_000 },
      { atMs: 7_200_000, type: 'crash', afterActivity: 'publishKey' },
    ]);
    const problems = problemsOf({ ...minimal, actions: [{ at: '1h', type: 'fault', service: 'arm', status: 503, for: '20m', times: 3 }, { at: '1h', type: 'crash', afterActivity: 'reboot' }] });
    expect(problems).toEqual([expect.stringMatching(/^actions\[0\]\.times: cannot be given with "for"/), expect.stringMatching(/^actions\[1\]\.afterActivity: must be one of inspectAccount/)]);
  });

  it('when a crash is aimed before a named activity, then it is read as such; aimed both before and after, it is refused naming the field', () => {
    const scenario = parseScenario({ ...minimal, actions: [{ at: '2h', type: 'crash', beforeActivity: 'publishKey' }] }, { source: 'scenario.json' });
    expect(scenario.actions).toEqual([{ atMs: 7_200_000, type: 'crash', afterActivity: null, beforeActivity: 'publishKey' }]);
    const problems = problemsOf({ ...minimal, actions: [{ at: '1h', type: 'crash', beforeActivity: 'publishKey', afterActivity: 'validateKey' }, { at: '1h', type: 'crash', beforeActivity: 'reboot' }] });
    expect(problems).toEqual([
      expect.stringMatching(/^actions\[0\]\.beforeActivity: cannot be given with "afterActivity"/),
      expect.stringMatching(/^actions\[1\]\.beforeActivity: must be one of inspectAccount/),
    ]);
  });

  it('when an account is changed mid-story, then disableLocalAuth, capabilities and deletion are read; a deletion with other changes, or an empty change, is refused', () => {
    const scenario = parseScenario(
      { ...minimal, actions: [{ at: '1h', type: 'changeAccount', account: 'orders', disableLocalAuth: true, capabilities: ['EnableServerless'] }, { at: '2h', type: 'changeAccount', account: 'orders', deleted: true }] },
      { source: 'scenario.json' },
    );
    expect(scenario.actions).toEqual([
      { atMs: 3_600_000, type: 'changeAccount', account: 'orders', disableLocalAuth: true, capabilities: ['EnableServerless'] },
      { atMs: 7_200_000, type: 'changeAccount', account: 'orders', deleted: true },
    ]);
    const problems = problemsOf({ ...minimal, actions: [{ at: '1h', type: 'changeAccount', account: 'orders', deleted: true, disableLocalAuth: true }, { at: '1h', type: 'changeAccount', account: 'orders' }, { at: '1h', type: 'changeAccount', account: 'orders', deleted: true, region: 'x' }] });
    expect(problems).toEqual([
      expect.stringMatching(/^actions\[0\]\.deleted: cannot be given with other changes/),
      expect.stringMatching(/^actions\[1\]: a changeAccount needs disableLocalAuth, capabilities or deleted/),
      expect.stringMatching(/^actions\[2\]\.region: unknown field/),
    ]);
  });

  it('when scheduledTimer is on, then the runner fires the app\'s timer at each ROTATION_SCHEDULE occurrence in virtual time and the due account is rotated by it', async () => {
    const scenario = parseScenario(
      {
        ...minimal,
        start: '2025-03-03T01:00:00Z',
        runFor: '2d',
        scheduledTimer: true,
        settings: { ROTATION_SCHEDULE: '0 30 3 * * *' },
        accounts: [{ name: 'orders', secretAge: '31d' }],
        expect: { accounts: { orders: { outcome: 'rotated', runs: ['rotated'] } } },
      },
      { source: 'scenario.json' },
    );
    const report = await runScenario(scenario, { source: 'scenario.json' });

    expect(report.expectationFailures).toEqual([]);
    expect(report.operatorActions.filter((action) => action.type === 'timer').map((action) => action.at)).toEqual(['2025-03-03T03:30:00.000Z', '2025-03-04T03:30:00.000Z']);
  });

  it('when scheduledTimer is on and ROTATION_SCHEDULE restricts both day fields, then the file is refused naming the setting', () => {
    const problems = problemsOf({ ...minimal, scheduledTimer: true, settings: { ROTATION_SCHEDULE: '0 0 3 1 * mon' } });
    expect(problems).toEqual([expect.stringMatching(/^settings\.ROTATION_SCHEDULE: .*both the day of the month and the day of the week/)]);
  });

  it('when an account seeds an untagged secret and an action fails the next regeneration, then both are read with their defaults', () => {
    const scenario = parseScenario(
      { ...minimal, accounts: [{ name: 'orders', initialSecret: 'untagged' }], actions: [{ at: '0m', type: 'failRegeneration', account: 'orders' }] },
      { source: 'scenario.json' },
    );
    expect(scenario.accounts[0]).toMatchObject({ initialSecret: 'untagged' });
    expect(scenario.actions).toEqual([{ atMs: 0, type: 'failRegeneration', account: 'orders', keyKind: null, times: 1, message: null }]);
    expect(problemsOf({ ...minimal, accounts: [{ name: 'orders', initialActiveKeyKind: null, initialSecret: 'untagged' }] })).toEqual([expect.stringMatching(/^accounts\[0\]\.initialSecret: has no meaning/)]);
  });

  it('when expectations name runs, secret versions, a time before which a key must stay, and how waits ended, then they are read; a wrong wait ending is refused', () => {
    const expect_ = { accounts: { orders: { runs: ['cancelled', 'rotated'], secretVersions: 2, notRegeneratedBefore: { primary: '12h30m' }, waitEndings: ['consumers:operator'] } } };
    expect(parseScenario({ ...minimal, expect: expect_ }, { source: 'scenario.json' }).expect.accounts.orders).toEqual({
      runs: ['cancelled', 'rotated'],
      secretVersions: 2,
      notRegeneratedBefore: { primary: 45_000_000 },
      waitEndings: ['consumers:operator'],
    });
    expect(problemsOf({ ...minimal, expect: { accounts: { orders: { waitEndings: ['consumers:gone'] } } } })).toEqual([expect.stringMatching(/^expect\.accounts\.orders\.waitEndings/)]);
  });

  it('when an action comes after the end of the run, then it is refused', () => {
    const problems = problemsOf({ ...minimal, actions: [{ at: '2d', type: 'timer' }] });
    expect(problems).toEqual([expect.stringMatching(/^actions\[0\]\.at: is after the end of the run \(runFor 1d\)/)]);
  });

  it('when a fault lacks a status and a delay, then it is refused before the emulator sees it', () => {
    const problems = problemsOf({ ...minimal, actions: [{ at: '1h', type: 'fault', service: 'arm', times: 2 }] });
    expect(problems).toEqual(['actions[0]: a fault needs a status, a delayMs, or both']);
  });

  it('when actions are listed out of order, then they run by time, ties in file order', () => {
    const scenario = parseScenario(
      {
        ...minimal,
        actions: [
          { at: '2h', type: 'crash' },
          { at: '1h', type: 'force', account: 'orders' },
          { at: '1h', type: 'timer' },
        ],
      },
      { source: 'scenario.json' },
    );
    expect(scenario.actions.map((action) => action.type)).toEqual(['start', 'timer', 'crash']);
    expect(scenario.actions[0]).toMatchObject({ type: 'start', force: true });
  });

  it('when an expectation names a cancelled rotation, then it is spelt as the HTTP API spells the state: cancelled', () => {
    const scenario = parseScenario({ ...minimal, expect: { accounts: { orders: { outcome: 'cancelled' } } } }, { source: 'scenario.json' });
    expect(scenario.expect.accounts.orders).toEqual({ outcome: 'cancelled' });
    expect(problemsOf({ ...minimal, expect: { accounts: { orders: { outcome: 'canceled' } } } })).toEqual([
      expect.stringMatching(/^expect\.accounts\.orders\.outcome: must be one of .*cancelled.*, got "canceled"/),
    ]);
  });

  it('when durations are written with units, then they read as ms and print back the same way', () => {
    expect(parseDuration('1d2h30m')).toBe(95_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h1d')).toBeNull();
    expect(formatDuration(95_400_000)).toBe('1d2h30m');
  });
});
