/**
 * Runs one scenario: the Azure emulator, the durable driver with the app's own
 * functions and the simulated consumers, all on one virtual clock, from the
 * scenario's start to its end. Returns the report; `onLine` receives the
 * timeline as it happens.
 *
 * The loop: at each moment something is due (a consumer call or Key Vault
 * read, an operator action, the end), consumers act first (they were running
 * before anything else happened), then the actions due, then the orchestrations
 * run everything runnable at that instant. Between two such moments the driver
 * fires the durable timers that fall in between, moving the clock timer by
 * timer, so everything happens in time order.
 */
import { parseSchedule } from './ncrontab.js';
import { SETTINGS } from '../../src/config.js';
import '../durable/install.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { VirtualClock } from '../clock.js';
import { startAzureEmulator, type AzureEmulator, type DeliveredEvent, type EmulatorState, type KeyKind, type TrafficStats } from '../azure/index.js';
import { installInMemoryTelemetry } from '../telemetry.js';
import { KEY_KINDS } from '../azure/contracts.js';
import { createDurableDriver, type DriverLogEntry, type DurableDriver, type HttpInvocationResult } from '../durable/index.js';
import { resetRuntime } from '../../src/runtime.js';
import { SECRET_TAGS } from '../../src/activities/secret-format.js';
import type { RotationOutput, RotationStatus } from '../../src/workflow/rotation-types.js';
import { renderAnswer } from '../../src/cli/render.js';
import { ConsumerFleet, type ConsumerEnvironment, type ConsumerEvent } from './consumers.js';
import { LeakScanner } from './leaks.js';
import type {
  AccountReport,
  DemoReport,
  DurableInstanceCounters,
  OperatorActionEntry,
  PhaseEntry,
  RegenerationEntry,
  RotationRunEntry,
  TimelineEntry,
  TimerRunEntry,
  WaitEndingEntry,
  WaitEntry,
} from './report.js';
import { FAILURE_CAUSES, formatDuration, type AccountExpectation, type ExpectedOutcome, type FailureBounds, type FaultInput, type Scenario, type ScenarioAction, type ScenarioAccount } from './scenario.js';
import { addFault, controlRequest, emulatorCredential, secretClientFor, secretNamesFor, seedAccount, type SeededAccount } from './seed.js';
import { plural } from './text.js';

const projectDir = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FUNCTION_MODULES = ['functions/rotation.ts', 'functions/http.ts', 'functions/schedule.ts'].map((file) => join(projectDir, file));

const HOUR_MS = 3_600_000;
/** With nothing else printed for this long, print where things stand. */
const HEARTBEAT_MS = 12 * HOUR_MS;
const WAITING_PHASES = new Set(['waitingForStandbyIdle', 'waitingForConsumers']);
const FINAL_PHASES = new Set(['done', 'needsAttention', 'failed']);

export interface RunScenarioOptions {
  /** The scenario file, for the report. */
  source?: string;
  /** Receives each timeline line as it happens (already formatted). */
  onLine?: (line: string) => void;
  /** End the story as soon as every configured account's last run has rotated it (the bench's "time until all rotated"). */
  stopWhenAllRotated?: boolean;
  /**
   * Stop once this much wall-clock time has passed (the bench's guard for runs that would take hours);
   * the report's progress then says how far virtual time got. Stopping this way makes the counts depend on the machine.
   */
  maxWallClockMs?: number;
}

interface InstanceView {
  run: number;
  instanceId: string;
  account: string;
  createdAt: string;
  runtimeStatus: string;
  phase: string | null;
  message: string | null;
  input: { force?: boolean; reason?: string; requestedBy?: string } | null;
  output: RotationOutput | null;
  failureMessage: string | null;
  finishedAt: string | null;
}

/** The runner's wall-clock guard (maxWallClockMs) passed before the story could start. */
export class WallClockExceeded extends Error {
  override readonly name = 'WallClockExceeded';
}

export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<DemoReport> {
  const wallStart = performance.now();
  const startMs = Date.parse(scenario.start);
  const endMs = startMs + scenario.runForMs;
  const oldestSecretMs = Math.max(0, ...scenario.accounts.map((account) => (account.initialActiveKeyKind ? account.secretAgeMs : 0)));
  const clock = new VirtualClock('manual', new Date(startMs - oldestSecretMs));
  const stateDir = mkdtempSync(join(tmpdir(), 'rotation-demo-'));
  const timeline: TimelineEntry[] = [];
  const leaks = new LeakScanner();
  const operatorActions: OperatorActionEntry[] = [];
  const phasesByAccount = new Map<string, PhaseEntry[]>();
  const regenerationsByAccount = new Map<string, RegenerationEntry[]>();
  const views = new Map<string, InstanceView>();
  const runsByAccount = new Map<string, InstanceView[]>();
  const accountWidth = Math.max('(operator)'.length, ...scenario.accounts.map((account) => account.name.length));
  let lastLineMs = startMs;
  let crashes = 0;
  /** Crash actions whose activity has not come yet. */
  /** Crashes announced and not yet happened: each after the next activity, or after the named one. */
  /** Crashes still to happen, in order: before or after an activity (null: the next one). */
  const crashesPending: Array<{ when: 'before' | 'after'; activity: string | null }> = [];
  /** Faults given `for` a span: when each ends, by its emulator rule id. */
  const faultsEnding: Array<{ atMs: number; id: string }> = [];
  let logLineNumber = 0;
  const longestLogLine: DemoReport['longestLogLine'] = { chars: 0, where: null };
  const measureLogLine = (text: string, where: string): void => {
    if (text.length > longestLogLine.chars) Object.assign(longestLogLine, { chars: text.length, where });
  };
  /** Per configured account: when its latest run completed rotated (removed when a new run starts). */
  const rotatedAtMs = new Map<string, number>();
  const configuredAccounts = new Set(scenario.accounts.filter((account) => account.configured).map((account) => account.name));
  const timerRuns: TimerRunEntry[] = [];

  const say = (entry: Omit<TimelineEntry, 'at' | 'offsetMs'>): void => {
    const nowMs = clock.nowMs();
    const full: TimelineEntry = { at: new Date(nowMs).toISOString(), offsetMs: nowMs - startMs, ...entry };
    timeline.push(full);
    lastLineMs = nowMs;
    options.onLine?.(formatTimelineLine(full, { accountWidth, runForMs: scenario.runForMs }));
  };

  const emulator = await startAzureEmulator({ clock });
  // The app's telemetry, kept in memory: counted in the report and searched by the leak check.
  const telemetry = installInMemoryTelemetry();
  const topicEvents: DeliveredEvent[] = [];
  let driver: DurableDriver | undefined;
  /** The driver's change mark at the last look at the instances (observeInstances). */
  let observedMark = 0;
  let fleet: ConsumerFleet | undefined;
  const restoreEnvironment = captureEnvironment();
  // Whatever the app or a library prints to the console is a log line too: it is kept for the leak check.
  const restoreConsole = captureConsole((method, text) => {
    logLineNumber += 1;
    leaks.addText('logLines', `console.${method} line ${logLineNumber}`, text);
    measureLogLine(text, `console.${method}`);
  });
  try {
    // ---- the scene before the story: accounts, data, secrets of earlier rotations ----
    const secrets = secretClientFor(emulator);
    const seeded = new Map<string, SeededAccount>();
    const seedTimeOf = (account: ScenarioAccount): number => startMs - (account.initialActiveKeyKind ? account.secretAgeMs : 0);
    const byAge = [...scenario.accounts].sort((a, b) => seedTimeOf(a) - seedTimeOf(b));
    // The scene was built over months, not in one instant: a fleet's hundreds of secrets seeded at the same
    // virtual time must not be throttled as if they were. Throttling is back on, as it was, when the story starts.
    const throttling = await controlRequest(emulator, 'GET', '/throttling');
    await controlRequest(emulator, 'PUT', '/throttling', { arm: { enabled: false }, keyVault: { enabled: false } });
    // Accounts seeded at the same virtual time are set up a few at a time: each is its own listener, client and handshake.
    for (let next = 0; next < byAge.length; ) {
      const seedAtMs = seedTimeOf(byAge[next]!);
      if (seedAtMs > clock.nowMs()) clock.set(new Date(seedAtMs));
      const batch: ScenarioAccount[] = [];
      while (next < byAge.length && batch.length < SEED_CONCURRENCY && seedTimeOf(byAge[next]!) === seedAtMs) batch.push(byAge[next++]!);
      const done = await Promise.all(
        batch.map((account) => seedAccount(emulator, account, secretNamesFor(account, scenario.settings), secrets, { readOnlySecret: readsReadOnlySecret(scenario, account) })),
      );
      const tenth = Math.ceil(byAge.length / 10);
      const before = seeded.size;
      done.forEach((account) => seeded.set(account.name, account));
      // A big fleet takes a while to set up: say how far it got, every tenth.
      if (byAge.length >= SEED_PROGRESS_FROM && Math.floor(seeded.size / tenth) > Math.floor(before / tenth)) {
        options.onLine?.(`setting the scene: ${seeded.size.toLocaleString('en')} of ${byAge.length.toLocaleString('en')} accounts created, with their data and secrets (${((performance.now() - wallStart) / 1000).toFixed(0)} s)`);
      }
      if (options.maxWallClockMs !== undefined && performance.now() - wallStart > options.maxWallClockMs && seeded.size < byAge.length) {
        throw new WallClockExceeded(`setting the scene took over ${Math.round(options.maxWallClockMs / 1000)} s of wall clock: ${seeded.size} of ${byAge.length} accounts seeded`);
      }
    }
    await controlRequest(emulator, 'PUT', '/throttling', throttling.body);
    if (clock.nowMs() < startMs) clock.set(new Date(startMs));
    emulator.resetStats();
    const accountNameById = new Map([...seeded.values()].map((account) => [account.id.toLowerCase(), account.name]));

    // Keys as issued: every value (for the leak check) and every regeneration (for the report).
    const generationTimes = new Map<string, string>();
    let keysSeen: number | undefined;
    /** Reads the keys again only when one changed: reading every account's at each step would grow with the fleet. */
    const observeKeysIfChanged = (): void => {
      const revision = emulator.keysRevision();
      if (revision === keysSeen) return;
      keysSeen = revision;
      observeKeys(emulator.keys());
    };
    /** `keysById`: each account's keys by its lower-cased resource ID. */
    const observeKeys = (keysById: Record<string, EmulatorState['accounts'][string]['keys']>): void => {
      for (const [id, keys] of Object.entries(keysById)) {
        const name = accountNameById.get(id) ?? id;
        for (const keyKind of KEY_KINDS) {
          const key = keys[keyKind];
          leaks.addKey(key.value, { account: name, keyKind });
          const slot = `${name}/${keyKind}`;
          const previous = generationTimes.get(slot);
          if (previous !== undefined && previous !== key.generationTime) {
            const entry: RegenerationEntry = { keyKind, at: key.generationTime, offsetMs: Date.parse(key.generationTime) - startMs };
            listFor(regenerationsByAccount, name).push(entry);
            // Seen at the runner's next look at the emulator (a consumer's call, the orchestrator's poll), so said with
            // the time Azure finished: the summary uses that time too.
            say({
              account: name,
              source: 'rotation',
              text: `Azure finished regenerating the ${keyKind} key at +${formatDuration(entry.offsetMs)} (it took ${formatDuration(regenerationSecondsOf(scenario, name) * 1000)})`,
            });
          }
          generationTimes.set(slot, key.generationTime);
        }
      }
    };
    observeKeysIfChanged();

    // ---- the app's settings, pointing it at the emulator ----
    // The SDKs' own retries sleep in real time while virtual time stands still: the story cannot tell
    // a 5 ms pause from a 30 s one, so they are kept short (an outage of hours then runs in seconds).
    const appRuntime = () => ({ now: () => clock.now(), sleep: (ms: number) => clock.sleep(ms), hold: <T>(send: () => Promise<T>) => clock.hold(send), retry: { retryDelayInMs: 5, maxRetryDelayInMs: 50 } });
    applySettings(scenario, emulator);
    resetRuntime(appRuntime());

    const logEntry = (entry: DriverLogEntry): void => {
      logLineNumber += 1;
      leaks.addText('logLines', `log line ${logLineNumber} (${entry.category}${entry.functionName ? ` ${entry.functionName}` : ''})`, entry.message);
      measureLogLine(entry.message, `${entry.category}${entry.functionName ? ` ${entry.functionName}` : ''}`);
      if (entry.category === 'function' && entry.functionName === timerFunctionName() && entry.level !== 'debug') {
        // The schedule's own summary of each run: what was due and what it started.
        say({ account: null, source: 'schedule', text: entry.message });
      } else if (entry.level === 'error' || (entry.level === 'warn' && entry.category === 'function')) {
        const account = accountOfInstance(entry.instanceId) ?? null;
        say({ account, source: 'host', text: `${entry.level}: ${entry.message}` });
      }
    };
    // Known once the functions are loaded; log lines of the timer function are the schedule's.
    const registered: { timerFunction?: string } = {};
    const timerFunctionName = (): string | undefined => registered.timerFunction;
    const accountOfInstance = (instanceId: string | undefined): string | undefined => (instanceId ? views.get(instanceId)?.account : undefined);

    const crashIfAimed = (when: 'before' | 'after', activity: { name: string; instanceId: string }): boolean => {
      const aimedAt = crashesPending[0];
      if (aimedAt === undefined || aimedAt.when !== when || (aimedAt.activity !== null && aimedAt.activity !== activity.name)) return false;
      crashesPending.shift();
      crashes += 1;
      say({
        account: accountOfInstance(activity.instanceId) ?? null,
        source: 'host',
        text:
          when === 'after'
            ? `the Functions host crashed right after activity ${activity.name} ran, before its result was saved`
            : `the Functions host crashed just before activity ${activity.name} ran`,
      });
      return true;
    };

    const startDriver = async (): Promise<DurableDriver> => {
      const created = await createDurableDriver({
        clock,
        stateDir,
        log: logEntry,
        faults: {
          crashAfterActivity: (activity) => crashIfAimed('after', activity),
          crashBeforeActivity: (activity) => crashIfAimed('before', activity),
        },
      });
      await created.loadFunctions(...FUNCTION_MODULES);
      return created;
    };
    driver = await startDriver();
    registered.timerFunction = driver.registrations.find((registration) => registration.triggerType.toLowerCase() === 'timertrigger')?.name;

    const restartDriver = async (): Promise<void> => {
      await driver?.close();
      // A new host process: settings are read again and SDK clients rebuilt.
      resetRuntime(appRuntime());
      driver = await startDriver();
      observedMark = 0;
      const resumed = (await driver.listInstances()).filter((status) => !['Completed', 'Failed', 'Terminated', 'Canceled'].includes(String(status.runtimeStatus)));
      say({ account: null, source: 'host', text: `the host restarted and resumed ${plural(resumed.length, 'orchestration')} from the task hub` });
    };

    // ---- what the orchestrations do, seen from outside (custom status, runtime status) ----
    // Only the instances that changed since the last look: every look at every instance grows with the fleet.
    const observeInstances = async (): Promise<void> => {
      const { mark, statuses } = await driver!.changedInstances(observedMark, { showInput: true });
      observedMark = mark;
      for (const status of statuses) {
        const input = status.input as { settings?: { accountName?: string }; force?: boolean; reason?: string; requestedBy?: string } | null;
        const custom = (status.customStatus ?? null) as RotationStatus | null;
        const accountId = custom?.accountId ?? (input?.settings as { accountId?: string } | undefined)?.accountId;
        const account = (accountId && accountNameById.get(accountId.toLowerCase())) ?? input?.settings?.accountName ?? status.instanceId;
        // A long wait continues as new (same instance, new createdTime): its input keeps when the run started.
        const continuedFrom = (input as { continued?: { run?: { startedAt?: string } } } | null)?.continued?.run?.startedAt;
        const createdAt = continuedFrom ?? new Date(status.createdTime).toISOString();
        let view = views.get(status.instanceId);
        if (!view || view.createdAt !== createdAt) {
          const runs = listFor(runsByAccount, account);
          view = {
            run: runs.length + 1,
            instanceId: status.instanceId,
            account,
            createdAt,
            runtimeStatus: '',
            phase: null,
            message: null,
            input: input ?? null,
            output: null,
            failureMessage: null,
            finishedAt: null,
          };
          runs.push(view);
          views.set(status.instanceId, view);
          rotatedAtMs.delete(account);
          const how = input?.force ? 'forced rotation' : 'rotation';
          say({ account, source: 'rotation', text: `${how} started by ${input?.requestedBy ?? 'someone'}${input?.reason ? `: ${input.reason}` : ''}` });
        }
        if (custom) {
          leaks.addText('customStatuses', `custom status of ${status.instanceId}`, JSON.stringify(custom));
          const nowMs = clock.nowMs();
          const phaseChanged = custom.phase !== view.phase;
          if (phaseChanged) {
            listFor(phasesByAccount, account).push({ phase: custom.phase, at: new Date(nowMs).toISOString(), offsetMs: nowMs - startMs, message: custom.message, run: view.run });
          }
          // A new message within a phase is an event too (a refusal, a busy account, a passed probe, a usage check
          // that found new use); the orchestrator keeps its message while nothing new happens, so this does not flood.
          // The end (done, needsAttention, failed) is said once, by the completion line.
          if ((phaseChanged || custom.message !== view.message) && !FINAL_PHASES.has(custom.phase)) {
            const next = custom.nextCheckAt ? ` Next look at ${shortTime(custom.nextCheckAt, startMs)}.` : '';
            const deadline = custom.waitDeadline && WAITING_PHASES.has(custom.phase) ? ` Gives up at ${shortTime(custom.waitDeadline, startMs)}.` : '';
            say({ account, source: 'rotation', text: `${padPhase(custom.phase)} ${custom.message}${next}${deadline}` });
          }
          view.phase = custom.phase;
          view.message = custom.message;
        }
        const runtimeStatus = String(status.runtimeStatus);
        if (runtimeStatus !== view.runtimeStatus) {
          view.runtimeStatus = runtimeStatus;
          if (['Completed', 'Failed', 'Terminated', 'Canceled'].includes(runtimeStatus)) {
            view.finishedAt = new Date(status.lastUpdatedTime).toISOString();
            if (status.output !== undefined && status.output !== null) leaks.addText('outputs', `output of ${status.instanceId}`, JSON.stringify(status.output));
            if (runtimeStatus === 'Completed') {
              view.output = status.output as RotationOutput;
              const output = view.output;
              if (output.outcome === 'rotated') rotatedAtMs.set(account, Date.parse(view.finishedAt));
              say({
                account,
                source: 'rotation',
                text:
                  output.outcome === 'rotated'
                    ? `done: rotated in ${formatDuration(Date.parse(output.finishedAt) - Date.parse(output.startedAt))}; consumers use ${output.activeKeyKind}`
                    : `stopped, needs attention: ${output.attention?.message ?? ''}`,
              });
            } else if (runtimeStatus === 'Failed') {
              view.failureMessage = typeof status.output === 'string' ? status.output : JSON.stringify(status.output);
              say({ account, source: 'rotation', text: `failed: ${view.failureMessage}` });
            } else {
              view.failureMessage = typeof status.output === 'string' ? status.output : null;
              say({ account, source: 'rotation', text: `cancelled${view.failureMessage ? `: ${view.failureMessage}` : ''}` });
            }
          }
        }
      }
    };

    const observe = async (): Promise<void> => {
      observeKeysIfChanged();
      await observeInstances();
    };

    // What one stretch of driving may take before it counts as a loop: a fleet's wave of rotations is thousands of
    // episodes in a few virtual minutes (a rotation runs about two dozen, a long regeneration about eighty).
    const episodeLimit = Math.max(10_000, EPISODES_PER_ACCOUNT * scenario.accounts.length);
    const drive = async (untilMs: number): Promise<void> => {
      for (;;) {
        const report = await driver!.runUntilIdle({
          until: new Date(untilMs),
          maxEpisodes: episodeLimit,
          stopWhen: async () => {
            await observe();
            await emulator.eventGrid.allDelivered();
            // A consumer told by an event acts at once, before the orchestrations go on.
            return (fleet?.nextDueMs() ?? Infinity) <= clock.nowMs();
          },
        });
        await observe();
        if (report.reason === 'crashed') {
          await restartDriver();
          continue;
        }
        if (report.reason === 'episode-limit') throw new Error(`the orchestrations ran ${report.episodes} episodes without settling: a loop in the workflow?`);
        if (report.reason === 'stop-condition') await fleet?.runDue();
        if (report.reason === 'stop-condition' && clock.nowMs() < untilMs) continue;
        return;
      }
    };

    // ---- consumers ----
    const environment: ConsumerEnvironment = {
      nowMs: () => clock.nowMs(),
      caCertPem: emulator.caCertPem,
      keyVaultUrl: emulator.keyVaultUrl,
      credential: emulatorCredential,
      account: (name) => seeded.get(name)!,
      currentKeyValue: (name, keyKind) => keysOf(emulator, seeded.get(name)!)[keyKind].value,
      identifyKey: (name, value) => {
        const keys = keysOf(emulator, seeded.get(name)!);
        return KEY_KINDS.find((kind) => keys[kind].value === value) ?? 'regenerated';
      },
    };
    const onConsumerEvent = (event: ConsumerEvent): void => {
      if (event.kind === 'failing' && event.cause) {
        say({ account: event.account, source: 'consumer', text: `${event.consumer}: ${event.message}` });
      } else {
        say({ account: event.account, source: 'consumer', text: `${event.consumer} ${event.message}` });
      }
    };
    fleet = new ConsumerFleet(scenario.consumers, environment, { startMs, onEvent: onConsumerEvent });
    // Consumers with refresh onEvent are subscribed to the rotator's Event Grid topic.
    emulator.eventGrid.subscribe((delivery) => {
      topicEvents.push(delivery);
      fleet?.notify(delivery.event);
    });

    // ---- faults given for a span of time: the emulator counts requests, so the runner takes them back ----
    /** Runs the app's timer trigger now, as the Functions host does at a ROTATION_SCHEDULE occurrence. */
    const fireTimer = async (when: string): Promise<void> => {
      const timerFunction = registered.timerFunction;
      if (!timerFunction) throw new Error('the app registers no timer trigger');
      say({ account: null, source: 'schedule', text: `the timer trigger ${timerFunction} runs (ROTATION_SCHEDULE${when})` });
      const before = emulator.stats();
      await driver!.invokeTimer(timerFunction);
      const after = emulator.stats();
      const nowMs = clock.nowMs();
      const keyVault = countsSince(before.keyvault, after.keyvault);
      timerRuns.push({ at: new Date(nowMs).toISOString(), offsetMs: nowMs - startMs, keyVault, arm: countsSince(before.arm, after.arm), keyValuesRead: keyVault.getSecret ?? 0 });
      operatorActions.push({ at: new Date(nowMs).toISOString(), offsetMs: nowMs - startMs, type: 'timer', account: null, request: `timer ${timerFunction}`, status: null, expectedStatus: null, message: null });
    };

    const endFaultsDue = async (nowMs: number): Promise<void> => {
      const ending = faultsEnding.filter((fault) => fault.atMs <= nowMs);
      if (!ending.length) return;
      // The control API removes all rules at once: put back the ones still running, under their new ids.
      const { body } = await controlRequest(emulator, 'GET', '/faults');
      await controlRequest(emulator, 'DELETE', '/faults');
      const renamed = new Map<string, string>();
      for (const { id, ...rule } of (body as { faults: Array<FaultInput & { id: string }> }).faults) {
        if (ending.some((fault) => fault.id === id)) continue;
        renamed.set(id, (await addFault(emulator, rule)).id);
      }
      const still = faultsEnding.filter((fault) => fault.atMs > nowMs).map((fault) => ({ ...fault, id: renamed.get(fault.id) ?? fault.id }));
      faultsEnding.splice(0, faultsEnding.length, ...still);
      say({ account: null, source: 'fault', text: `${plural(ending.length, 'fault')} given for a span of time ended` });
    };

    // ---- operator actions, faults, crashes, timer runs ----
    const httpResult = (request: string, result: HttpInvocationResult): void => {
      leaks.addText('httpResponses', `HTTP response to ${request}`, result.body);
    };
    const runAction = async (action: ScenarioAction): Promise<void> => {
      const nowMs = clock.nowMs();
      const record = (entry: Omit<OperatorActionEntry, 'at' | 'offsetMs'>): void => {
        operatorActions.push({ at: new Date(nowMs).toISOString(), offsetMs: nowMs - startMs, ...entry });
      };
      switch (action.type) {
        case 'timer':
          return fireTimer('');
        case 'crash':
          if (action.beforeActivity !== undefined) {
            crashesPending.push({ when: 'before', activity: action.beforeActivity });
            say({ account: null, source: 'host', text: `the Functions host will crash just before the next ${action.beforeActivity} activity runs` });
          } else {
            crashesPending.push({ when: 'after', activity: action.afterActivity });
            say({ account: null, source: 'host', text: `the Functions host will crash after the next ${action.afterActivity ? `${action.afterActivity} activity` : 'activity'} it runs` });
          }
          return;
        case 'changeAccount': {
          const path = `/accounts/${encodeURIComponent(action.account)}`;
          const change = { ...(action.disableLocalAuth !== undefined ? { disableLocalAuth: action.disableLocalAuth } : {}), ...(action.capabilities ? { capabilities: action.capabilities } : {}) };
          const answer = action.deleted ? await controlRequest(emulator, 'DELETE', path) : await controlRequest(emulator, 'PATCH', path, change);
          if (answer.status !== 200) throw new Error(`the emulator refused to change account ${action.account}: ${JSON.stringify(answer.body)}`);
          say({ account: action.account, source: 'fault', text: action.deleted ? 'someone deleted the account' : `someone changed the account: ${JSON.stringify(change)}` });
          return;
        }
        case 'failRegeneration': {
          const body = { accountId: seeded.get(action.account)!.id, times: action.times, ...(action.keyKind ? { keyKind: action.keyKind } : {}), ...(action.message ? { message: action.message } : {}) };
          const answer = await controlRequest(emulator, 'POST', '/operations/fail-next', body);
          if (answer.status !== 201) throw new Error(`the emulator refused to fail regenerations: ${JSON.stringify(answer.body)}`);
          const what = `${action.times === 1 ? 'the next regeneration' : `the next ${action.times} regenerations`}${action.keyKind ? ` of ${action.keyKind}` : ''}`;
          say({ account: action.account, source: 'fault', text: `${what} will run, then Azure reports ${action.times === 1 ? 'it' : 'them'} Failed` });
          return;
        }
        case 'fault': {
          const added = await addFault(emulator, action.fault);
          if (action.forMs !== null) faultsEnding.push({ atMs: nowMs + action.forMs, id: added.id });
          const fault = action.fault;
          const one = fault.times === 1 && action.forMs === null;
          const what = [
            fault.status !== undefined ? `${one ? 'answers' : 'answer'} ${fault.status}${fault.retryAfterSeconds !== undefined ? ` (Retry-After ${fault.retryAfterSeconds}s)` : ''}` : '',
            fault.delayMs ? `${one ? 'is' : 'are'} delayed ${fault.delayMs} ms` : '',
          ]
            .filter(Boolean)
            .join(' and ');
          say({
            account: null,
            source: 'fault',
            text: `${action.forMs !== null ? `for ${formatDuration(action.forMs)}, all ` : `the next ${one ? '' : `${fault.times} `}`}${serviceName(fault.service)} ${one ? 'request' : 'requests'}${fault.method ? ` ${fault.method}` : ''}${fault.pathPattern ? ` matching ${fault.pathPattern}` : ''} ${what}`,
          });
          return;
        }
        default: {
          const { method, path, body, account } = httpRequestOf(action);
          const requestText = `${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`;
          const result = await driver!.invokeHttp(path, { method, ...(body === undefined ? {} : { body }) });
          httpResult(requestText, result);
          const message = messageOf(result.jsonBody);
          const expectedStatus = 'expectStatus' in action ? action.expectStatus : null;
          record({ type: action.type === 'start' && action.force ? 'force' : action.type, account, request: requestText, status: result.status, expectedStatus, message });
          const unexpected = expectedStatus !== null && expectedStatus !== result.status ? ` (expected ${expectedStatus})` : '';
          say({ account, source: 'operator', text: `${requestText} -> ${result.status}${unexpected}${message ? `: ${message}` : ''}` });
          if (action.type === 'http' && action.print && result.status < 400) {
            for (const line of renderAnswer(path, result.jsonBody).split('\n')) options.onLine?.(`    ${line}`);
          }
        }
      }
    };

    // ---- the story ----
    if (scenario.title) options.onLine?.(`${scenario.title}`);
    let actionIndex = 0;
    // The app reads ROTATION_SCHEDULE from the settings applied above, as the host does.
    const scheduleExpression = process.env.ROTATION_SCHEDULE ?? SETTINGS.rotationSchedule.default ?? '';
    const schedule = scenario.scheduledTimer ? parseSchedule(scheduleExpression) : null;
    let nextTimerMs = schedule ? schedule.nextAfter(startMs - 1) : Infinity;
    let stoppedBy: DemoReport['progress']['stoppedBy'] = 'runFor';
    for (;;) {
      const nowMs = clock.nowMs();
      await endFaultsDue(nowMs);
      await fleet.runDue();
      if (schedule && nextTimerMs <= nowMs) {
        await fireTimer(`: ${scheduleExpression}`);
        nextTimerMs = schedule.nextAfter(nowMs);
      }
      while (actionIndex < scenario.actions.length && startMs + scenario.actions[actionIndex]!.atMs <= nowMs) {
        await runAction(scenario.actions[actionIndex]!);
        actionIndex += 1;
      }
      await drive(nowMs);
      if (nowMs - lastLineMs >= HEARTBEAT_MS) say({ account: null, source: 'runner', text: heartbeat(views, fleet) });
      if (nowMs >= endMs) break;
      if ((options.stopWhenAllRotated ?? scenario.stopWhenAllRotated) && configuredAccounts.size > 0 && [...configuredAccounts].every((name) => rotatedAtMs.has(name))) {
        say({ account: null, source: 'runner', text: `every configured account is rotated: the story ends here (stopWhenAllRotated)` });
        stoppedBy = 'allRotated';
        break;
      }
      if (options.maxWallClockMs !== undefined && performance.now() - wallStart > options.maxWallClockMs) {
        say({ account: null, source: 'runner', text: `stopped after ${Math.round(options.maxWallClockMs / 1000)} s of wall clock (maxWallClockMs)` });
        stoppedBy = 'wallClock';
        break;
      }
      const nextAction = actionIndex < scenario.actions.length ? startMs + scenario.actions[actionIndex]!.atMs : Infinity;
      const next = Math.min(fleet.nextDueMs() ?? Infinity, nextAction, endMs, nextTimerMs, ...faultsEnding.map((fault) => fault.atMs));
      await drive(next);
      if (clock.nowMs() < next) clock.set(new Date(next));
    }

    // ---- the report ----
    const finalState = emulator.state();
    observeKeys(Object.fromEntries(Object.entries(finalState.accounts).map(([id, account]) => [id, account.keys])));
    const currentValues = new Set(Object.values(finalState.accounts).flatMap((account) => KEY_KINDS.map((kind) => account.keys[kind].value)));
    const durableCounters: DurableInstanceCounters[] = [];
    for (const status of await driver.listInstances({ showInput: false })) {
      const history = driver.history(status.instanceId) ?? [];
      leaks.addText('histories', `history of ${status.instanceId}`, JSON.stringify(history));
      const counters = driver.counters(status.instanceId);
      const activityCallsByName = counters?.activityCalls ?? {};
      durableCounters.push({
        instanceId: status.instanceId,
        account: views.get(status.instanceId)?.account ?? null,
        runtimeStatus: String(status.runtimeStatus),
        episodes: counters?.episodes ?? 0,
        historyEvents: counters?.historyEvents ?? history.length,
        activityCalls: Object.values(activityCallsByName).reduce((sum, count) => sum + count, 0),
        activityCallsByName,
        timersCreated: counters?.timersCreated ?? 0,
      });
    }
    for (const file of listFiles(stateDir)) leaks.addText('taskHubFiles', `task hub file ${file.slice(stateDir.length + 1)}`, readFileSync(file, 'utf8'));
    await emulator.eventGrid.allDelivered();
    topicEvents.forEach((delivery, index) => leaks.addText('events', `event ${index + 1} (${delivery.event.type} ${delivery.event.id})`, JSON.stringify(delivery)));
    (await telemetry.texts()).forEach((text, index) => leaks.addText('telemetry', `telemetry record ${index + 1}`, text));
    const leakSummary = leaks.scan(currentValues);
    const eventsByType: Record<string, number> = {};
    for (const { event } of topicEvents) {
      const type = event.type.replace(/^CosmosKeyRotation\./, '');
      eventsByType[type] = (eventsByType[type] ?? 0) + 1;
    }

    const accounts: AccountReport[] = scenario.accounts.map((account) => {
      const runs = runsByAccount.get(account.name) ?? [];
      const last = runs[runs.length - 1];
      const lastCompleted = [...runs].reverse().find((run) => run.output !== null);
      const secretName = seeded.get(account.name)!.secretName;
      return {
        name: account.name,
        id: seeded.get(account.name)!.id,
        outcome: last ? outcomeOf(last) : 'notStarted',
        runs: runs.map((run): RotationRunEntry => ({
          run: run.run,
          instanceId: run.instanceId,
          createdAt: run.createdAt,
          runtimeStatus: run.runtimeStatus,
          outcome: outcomeOf(run),
          force: run.input?.force === true,
          reason: run.input?.reason ?? null,
          requestedBy: run.input?.requestedBy ?? null,
          finishedAt: run.finishedAt,
          message: run.output?.attention?.message ?? run.failureMessage,
        })),
        phases: phasesByAccount.get(account.name) ?? [],
        waits: (lastCompleted?.output?.waits ?? []).map((wait): WaitEntry => {
          const durationMs = Date.parse(wait.until) - Date.parse(wait.from);
          return { phase: wait.phase, reason: wait.reason, from: wait.from, until: wait.until, durationMs, hours: Math.round((durationMs / HOUR_MS) * 100) / 100 };
        }),
        regenerations: regenerationsByAccount.get(account.name) ?? [],
        activeKeyKind: latestKeyKind(finalState, secretName),
        waitEndings: runs.flatMap((run) =>
          (run.output?.waitEndings ?? []).map((ending): WaitEndingEntry => ({
            run: run.run,
            pair: ending.pair,
            wait: ending.wait,
            ended: ending.ended,
            at: ending.at,
            offsetMs: Date.parse(ending.at) - startMs,
            by: ending.by ?? null,
            note: ending.note ?? null,
          })),
        ),
        secretVersions: finalState.keyVault.secrets[secretName.toLowerCase()]?.versions.length ?? 0,
        retries: lastCompleted?.output?.retries ?? null,
      };
    });

    const consumerStats = fleet.stats();
    const failuresByCause: DemoReport['consumers']['failuresByCause'] = {};
    for (const stats of consumerStats) {
      for (const cause of FAILURE_CAUSES) {
        const count = stats.failuresByCause[cause];
        if (count) failuresByCause[cause] = (failuresByCause[cause] ?? 0) + count;
      }
    }
    const stats = emulator.stats();
    const traffic = emulator.traffic();
    const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((total, count) => total + count, 0);
    const consumers = {
      calls: consumerStats.reduce((total, item) => total + item.calls, 0),
      succeeded: consumerStats.reduce((total, item) => total + item.succeeded, 0),
      failures: consumerStats.reduce((total, item) => total + item.failures, 0),
      failuresByCause,
      keyVaultReads: consumerStats.reduce((total, item) => total + item.keyVaultReads, 0),
      keyVaultReadFailures: consumerStats.reduce((total, item) => total + item.keyVaultReadFailures, 0),
      byConsumer: consumerStats,
    };
    const report: DemoReport = {
      version: 1,
      scenario: {
        name: scenario.name,
        title: scenario.title,
        file: options.source ?? null,
        start: scenario.start,
        end: new Date(endMs).toISOString(),
        runForMs: scenario.runForMs,
      },
      passed: false,
      expectationFailures: [],
      accounts,
      consumers,
      arm: { total: sum(stats.arm), byOperation: stats.arm, byStatus: traffic.byStatus.arm },
      keyVault: { total: sum(stats.keyvault), byOperation: stats.keyvault, byStatus: traffic.byStatus.keyvault, byConsumers: consumers.keyVaultReads },
      cosmosDataPlane: { total: sum(stats.cosmos), byOperation: stats.cosmos, byStatus: traffic.byStatus.cosmos },
      targets: { in: scenario.targets, blobStorage: { total: sum(stats.storage), byOperation: stats.storage, byStatus: traffic.byStatus.storage } },
      armPacing: armPacingOf(traffic),
      timerRuns,
      progress: {
        configuredAccounts: configuredAccounts.size,
        rotatedAccounts: [...configuredAccounts].filter((name) => rotatedAtMs.has(name)).length,
        stoppedBy,
        virtualMs: clock.nowMs() - startMs,
        allRotatedOffsetMs: configuredAccounts.size > 0 && [...configuredAccounts].every((name) => rotatedAtMs.has(name)) ? Math.max(...[...rotatedAtMs.values()]) - startMs : null,
      },
      longestLogLine,
      durable: {
        instances: durableCounters.length,
        episodes: durableCounters.reduce((total, item) => total + item.episodes, 0),
        historyEvents: durableCounters.reduce((total, item) => total + item.historyEvents, 0),
        activityCalls: durableCounters.reduce((total, item) => total + item.activityCalls, 0),
        timersCreated: durableCounters.reduce((total, item) => total + item.timersCreated, 0),
        crashes,
        byInstance: durableCounters,
      },
      events: {
        byType: eventsByType,
        total: topicEvents.length,
        resends: topicEvents.length - new Set(topicEvents.map(({ event }) => event.id)).size,
        telemetryRecords: telemetry.customEvents().length,
      },
      leaks: leakSummary,
      operatorActions,
      timeline,
      wallClockMs: 0,
      emulatorStats: stats,
    };
    report.expectationFailures = checkExpectations(scenario, report);
    if (crashesPending.length > 0) {
      report.expectationFailures.push(`${plural(crashesPending.length, 'crash action')} never happened: no such activity ran after ${crashesPending.length === 1 ? 'it' : 'them'} before the end`);
    }
    report.passed = report.expectationFailures.length === 0;
    report.wallClockMs = Math.round(performance.now() - wallStart);
    return report;
  } finally {
    fleet?.close();
    await driver?.close();
    await emulator.close();
    await telemetry.shutdown();
    restoreConsole();
    restoreEnvironment();
    resetRuntime();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Every unmet expectation, one sentence each. Leaks and unexpected HTTP statuses always count. */
export function checkExpectations(scenario: Scenario, report: DemoReport): string[] {
  const failures: string[] = [];
  const expect = scenario.expect;
  if (expect.noConsumerFailures && report.consumers.failures > 0) {
    failures.push(`expected no consumer failures, got ${report.consumers.failures} (${describeCauses(report.consumers.failuresByCause)})`);
  }
  if (expect.consumerFailures) {
    failures.push(...checkFailureBounds('all consumers', expect.consumerFailures, report.consumers.failures, report.consumers.failuresByCause));
  }
  for (const [name, bounds] of Object.entries(expect.consumers)) {
    const stats = report.consumers.byConsumer.find((consumer) => consumer.name === name);
    if (stats) failures.push(...checkFailureBounds(name, bounds, stats.failures, stats.failuresByCause));
  }
  if (expect.noKeyVaultReadFailures && report.consumers.keyVaultReadFailures > 0) {
    failures.push(`expected no failed Key Vault reads by consumers, got ${report.consumers.keyVaultReadFailures}`);
  }
  if (expect.armThrottled) {
    const throttled = report.arm.byStatus['429'] ?? 0;
    const { atLeast, atMost } = expect.armThrottled;
    if (atLeast !== null && throttled < atLeast) failures.push(`expected at least ${plural(atLeast, 'ARM 429 answer')}, got ${throttled}`);
    if (atMost !== null && throttled > atMost) failures.push(`expected at most ${plural(atMost, 'ARM 429 answer')}, got ${throttled}`);
  }
  if (expect.everyAccount) {
    const everyAccount = expect.everyAccount;
    const unmet = report.accounts.flatMap((account) => accountFailures(account.name, everyAccount, account));
    failures.push(...unmet.slice(0, MAX_EVERY_ACCOUNT_FAILURES));
    if (unmet.length > MAX_EVERY_ACCOUNT_FAILURES) failures.push(`... and ${unmet.length - MAX_EVERY_ACCOUNT_FAILURES} more unmet expectations of every account`);
  }
  for (const [name, expectation] of Object.entries(expect.accounts)) {
    const account = report.accounts.find((item) => item.name === name);
    if (account) failures.push(...accountFailures(name, expectation, account));
  }
  for (const action of report.operatorActions) {
    if (action.expectedStatus !== null && action.status !== action.expectedStatus) {
      failures.push(`${action.request} at +${formatDuration(action.offsetMs)}: expected HTTP ${action.expectedStatus}, got ${action.status}`);
    }
  }
  if (report.leaks.found.length > 0) {
    const places = [...new Set(report.leaks.found.map((leak) => leak.where))];
    failures.push(`key values leaked into ${plural(places.length, 'place')}: ${places.slice(0, 5).join('; ')}${places.length > 5 ? '; ...' : ''}`);
  }
  return failures;
}

/** A fleet's everyAccount expectation unmet by hundreds says so in a few lines. */
const MAX_EVERY_ACCOUNT_FAILURES = 10;

function accountFailures(name: string, expectation: AccountExpectation, account: AccountReport): string[] {
  const failures: string[] = [];
  if (expectation.outcome && account.outcome !== expectation.outcome) {
    const message = account.runs[account.runs.length - 1]?.message;
    failures.push(`${name}: expected outcome ${expectation.outcome}, got ${account.outcome}${message ? ` (${message})` : ''}`);
  }
  if (expectation.activeKeyKind && account.activeKeyKind !== expectation.activeKeyKind) {
    failures.push(`${name}: expected Key Vault to hold the ${expectation.activeKeyKind} key at the end, it holds ${account.activeKeyKind ?? 'nothing'}`);
  }
  if (expectation.regenerated) {
    const actual = account.regenerations.map((entry) => entry.keyKind);
    if (actual.join() !== expectation.regenerated.join()) {
      failures.push(`${name}: expected regenerations [${expectation.regenerated.join(', ')}], got [${actual.join(', ')}]`);
    }
  }
  const phases = new Set(account.phases.map((entry) => entry.phase));
  for (const phase of expectation.phasesInclude ?? []) if (!phases.has(phase)) failures.push(`${name}: expected the rotation to go through ${phase}, it did not`);
  for (const phase of expectation.phasesExclude ?? []) if (phases.has(phase)) failures.push(`${name}: expected the rotation never to enter ${phase}, it did`);
  if (expectation.runs) {
    const actual = account.runs.map((run) => run.outcome);
    if (actual.join() !== expectation.runs.join()) failures.push(`${name}: expected runs [${expectation.runs.join(', ')}], got [${actual.join(', ')}]`);
  }
  if (expectation.secretVersions !== undefined && account.secretVersions !== expectation.secretVersions) {
    failures.push(`${name}: expected ${expectation.secretVersions} Key Vault version(s) of its secret, got ${account.secretVersions}`);
  }
  for (const [keyKind, offsetMs] of Object.entries(expectation.notRegeneratedBefore ?? {})) {
    const early = account.regenerations.find((entry) => entry.keyKind === keyKind && entry.offsetMs < offsetMs!);
    if (early) failures.push(`${name}: expected ${keyKind} not to be regenerated before +${formatDuration(offsetMs!)}, it was at +${formatDuration(early.offsetMs)}`);
  }
  if (expectation.waitEndings) {
    const actual = account.waitEndings.map((entry) => `${entry.wait}:${entry.ended}`);
    if (actual.join() !== expectation.waitEndings.join()) failures.push(`${name}: expected waits to end [${expectation.waitEndings.join(', ')}], got [${actual.join(', ')}]`);
  }
  return failures;
}

function checkFailureBounds(who: string, bounds: FailureBounds, count: number, byCause: Partial<Record<string, number>>): string[] {
  const failures: string[] = [];
  if (bounds.atLeast !== null && count < bounds.atLeast) failures.push(`${who}: expected at least ${plural(bounds.atLeast, 'failed call')}, got ${count}`);
  if (bounds.atMost !== null && count > bounds.atMost) {
    failures.push(`${who}: expected at most ${plural(bounds.atMost, 'failed call')}, got ${count} (${describeCauses(byCause)})`);
  }
  if (bounds.causes) {
    const allowed: readonly string[] = bounds.causes;
    const unexpected = Object.keys(byCause).filter((cause) => !allowed.includes(cause));
    if (unexpected.length) failures.push(`${who}: expected failures only of cause ${allowed.join(', ')}, also got ${unexpected.join(', ')}`);
  }
  return failures;
}

function describeCauses(byCause: Partial<Record<string, number>>): string {
  return Object.entries(byCause)
    .map(([cause, count]) => `${count} ${cause}`)
    .join(', ');
}

function outcomeOf(view: InstanceView): ExpectedOutcome {
  switch (view.runtimeStatus) {
    case 'Completed':
      return view.output?.outcome ?? 'rotated';
    case 'Failed':
      return 'failed';
    case 'Terminated':
    case 'Canceled':
      return 'cancelled';
    default:
      return 'running';
  }
}

function latestKeyKind(state: EmulatorState, secretName: string): KeyKind | null {
  const secret = state.keyVault.secrets[secretName.toLowerCase()];
  const versions = secret?.versions.filter((version) => version.enabled) ?? [];
  const latest = versions.reduce<(typeof versions)[number] | undefined>(
    (newest, version) => (!newest || Date.parse(version.created) >= Date.parse(newest.created) ? version : newest),
    undefined,
  );
  const kind = latest?.tags?.[SECRET_TAGS.keyKind];
  return KEY_KINDS.find((candidate) => candidate === kind) ?? null;
}

function keysOf(emulator: AzureEmulator, account: SeededAccount): EmulatorState['accounts'][string]['keys'] {
  return emulator.accountKeys(account.id)!;
}

function regenerationSecondsOf(scenario: Scenario, name: string): number {
  return scenario.accounts.find((account) => account.name === name)?.regenerationSeconds ?? 0;
}

function httpRequestOf(action: Exclude<ScenarioAction, { type: 'timer' | 'crash' | 'fault' | 'failRegeneration' | 'changeAccount' }>): {
  method: 'GET' | 'POST';
  path: string;
  body: unknown;
  account: string | null;
} {
  switch (action.type) {
    case 'start':
      return {
        method: 'POST',
        path: '/api/rotations',
        body: { account: action.account, ...(action.force ? { force: true } : {}), ...(action.reason ? { reason: action.reason } : {}) },
        account: action.account,
      };
    case 'consumersMoved':
      return {
        method: 'POST',
        path: `/api/rotations/${encodeURIComponent(action.account)}/consumers-moved`,
        body: { by: 'demo operator', ...(action.note ? { note: action.note } : {}) },
        account: action.account,
      };
    case 'cancel':
      return {
        method: 'POST',
        path: `/api/rotations/${encodeURIComponent(action.account)}/cancel`,
        body: { reason: action.reason ?? 'cancelled in the demo scenario' },
        account: action.account,
      };
    case 'http':
      return { method: action.method, path: action.path, body: action.method === 'POST' ? (action.body ?? {}) : undefined, account: null };
  }
}

function messageOf(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const record = body as Record<string, unknown>;
  const error = record.error as Record<string, unknown> | undefined;
  if (error && typeof error.message === 'string') return error.message;
  if (typeof record.message === 'string') return record.message;
  const status = record.status as Record<string, unknown> | undefined;
  if (status && typeof status.message === 'string') return status.message;
  if (Array.isArray(record.rotations)) return `${plural(record.rotations.length, 'rotation')} listed`;
  if (typeof record.state === 'string') return `state ${record.state}`;
  return null;
}

function serviceName(service: 'arm' | 'cosmos' | 'keyvault' | 'eventgrid' | 'storage'): string {
  return service === 'arm' ? 'ARM' : service === 'keyvault' ? 'Key Vault' : service === 'eventgrid' ? 'Event Grid' : service === 'storage' ? 'Blob storage' : 'Cosmos DB data-plane';
}

function heartbeat(views: Map<string, InstanceView>, fleet: ConsumerFleet): string {
  const byState = new Map<string, number>();
  for (const view of views.values()) {
    const state = view.runtimeStatus === 'Running' || view.runtimeStatus === 'Pending' ? (view.phase ?? 'starting') : outcomeOf(view);
    byState.set(state, (byState.get(state) ?? 0) + 1);
  }
  const stats = fleet.stats();
  const calls = stats.reduce((total, item) => total + item.calls, 0);
  const failures = stats.reduce((total, item) => total + item.failures, 0);
  const rotations = [...byState].map(([state, count]) => `${count} ${state}`).join(', ') || 'none yet';
  return `still going: rotations ${rotations}; consumers ${calls} calls, ${failures} failed`;
}

/** Requests per operation between two snapshots of the emulator's counters. */
function countsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after)) {
    const made = count - (before[operation] ?? 0);
    if (made > 0) counts[operation] = made;
  }
  return counts;
}

function armPacingOf(traffic: TrafficStats): DemoReport['armPacing'] {
  const max = { reads: { perSecond: 0, perMinute: 0 }, writes: { perSecond: 0, perMinute: 0 } };
  for (const peaks of Object.values(traffic.armPeaks)) {
    for (const kind of ['reads', 'writes'] as const) {
      max[kind].perSecond = Math.max(max[kind].perSecond, peaks[kind].perSecond);
      max[kind].perMinute = Math.max(max[kind].perMinute, peaks[kind].perMinute);
    }
  }
  return { bySubscription: traffic.armPeaks, max };
}

function listFor<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listFiles(path));
    else files.push(path);
  }
  return files;
}

/** "+1d2h30m" from the start, or the time of day when the offset is negative. */
function shortTime(iso: string, startMs: number): string {
  return `+${formatDuration(Date.parse(iso) - startMs)}`;
}

function padPhase(phase: string): string {
  return `[${phase}]`;
}

export function formatTimelineLine(entry: TimelineEntry, layout: { accountWidth: number; runForMs: number }): string {
  const at = entry.at.replace('T', ' ').slice(0, 16);
  const offset = `+${formatDuration(entry.offsetMs)}`.padEnd(offsetWidth(layout.runForMs));
  const progress = `${String(Math.min(100, Math.floor((entry.offsetMs / layout.runForMs) * 100))).padStart(3)}%`;
  const who = (entry.account ?? `(${entry.source})`).padEnd(layout.accountWidth);
  return `${at} ${offset} ${progress}  ${who}  ${entry.text}`;
}

/**
 * The widest "+1d23h59m59s" any offset up to `runForMs` prints as: the widest
 * come just before a unit rolls over, so those and the end itself are enough.
 */
export function offsetWidth(runForMs: number): number {
  const candidates = [runForMs, ...[86_400_000, 3_600_000, 60_000].map((unitMs) => Math.floor(runForMs / unitMs) * unitMs - 1000)];
  return 1 + Math.max(...candidates.filter((ms) => ms > 0).map((ms) => formatDuration(ms).length));
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Tees console output to `record` (the output still appears); returns the undo. */
function captureConsole(record: (method: string, text: string) => void): () => void {
  const originals = new Map<string, (...args: unknown[]) => void>();
  for (const method of CONSOLE_METHODS) {
    const original = console[method].bind(console) as (...args: unknown[]) => void;
    originals.set(method, original);
    console[method] = (...args: unknown[]) => {
      record(method, format(...args));
      original(...args);
    };
  }
  return () => {
    for (const method of CONSOLE_METHODS) console[method] = originals.get(method)!;
  };
}

// ---- app settings ----

const SETTING_NAMES_TOUCHED = new Set<string>();

function captureEnvironment(): () => void {
  const saved = { ...process.env };
  return () => {
    for (const name of SETTING_NAMES_TOUCHED) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    SETTING_NAMES_TOUCHED.clear();
  };
}

function setSetting(name: string, value: string): void {
  SETTING_NAMES_TOUCHED.add(name);
  process.env[name] = value;
}

/** The episodes one stretch of driving may run per account before the runner calls it a loop. */
const EPISODES_PER_ACCOUNT = 100;

/** How many accounts are set up at once (those seeded at the same virtual time). */
const SEED_CONCURRENCY = 8;

/** Fleets from this many accounts get progress lines while the scene is set. */
const SEED_PROGRESS_FROM = 200;

/** Where a scenario with `"targets": "blob"` keeps its target list (the names infra/ gives them in Azure). */
const TARGETS_BLOB = { account: 'rotationdemo', container: 'rotation-targets', blob: 'targets.json' } as const;

/** Points the app at the emulator and applies the scenario's settings (process.env, as the host would). */
function applySettings(scenario: Scenario, emulator: AzureEmulator): void {
  setSetting('KEY_VAULT_URL', emulator.keyVaultUrl);
  setSetting('ARM_ENDPOINT', emulator.armEndpoint);
  setSetting('AZURE_CREDENTIAL', 'emulator');
  setSetting('EMULATOR_CA_CERT_PATH', emulator.caCertPath);
  setSetting('ROTATION_EVENTS_TOPIC_ENDPOINT', emulator.eventGridEndpoint);
  const targets = JSON.stringify(scenario.accounts.filter((account) => account.configured).map(targetOf));
  // The other one emptied (the app reads empty as unset): a value left in the shell must not make two lists.
  if (scenario.targets === 'blob') {
    emulator.blobs.put(TARGETS_BLOB.account, TARGETS_BLOB.container, TARGETS_BLOB.blob, targets, 'application/json');
    setSetting('ROTATION_TARGETS_BLOB_URL', `${emulator.storageEndpoint}/${TARGETS_BLOB.account}/${TARGETS_BLOB.container}/${TARGETS_BLOB.blob}`);
    setSetting('ROTATION_TARGETS', '');
  } else {
    setSetting('ROTATION_TARGETS', targets);
    setSetting('ROTATION_TARGETS_BLOB_URL', '');
  }
  for (const [name, value] of Object.entries(scenario.settings)) setSetting(name, value);
}

function targetOf(account: ScenarioAccount): string | Record<string, unknown> {
  const resourceId = `/subscriptions/${account.subscriptionId}/resourceGroups/${account.resourceGroup}/providers/Microsoft.DocumentDB/databaseAccounts/${account.name}`;
  return Object.keys(account.target).length === 0 ? resourceId : { resourceId, ...account.target };
}

/** Whether anything in the story reads the account's read-only secret: a read-only consumer, or the app rotating read-only keys. */
function readsReadOnlySecret(scenario: Scenario, account: ScenarioAccount): boolean {
  if (scenario.consumers.some((consumer) => consumer.account === account.name && consumer.access === 'readOnly')) return true;
  const perAccount = account.target.rotateReadOnlyKeys;
  return perAccount === undefined ? /^true$/i.test(String(scenario.settings.ROTATE_READONLY_KEYS ?? '')) : perAccount === true;
}
