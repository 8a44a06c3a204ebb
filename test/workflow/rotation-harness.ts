/**
 * The rotation as it runs in Azure, on one machine: the local Azure emulator,
 * the durable driver replaying the app's own functions/rotation.ts through the
 * real durable-functions library, the real activities and SDK clients, and
 * consumers that read Key Vault and call the data plane, all on one virtual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { VirtualClock } from '../../emulator/clock.js';
import { startAzureEmulator, type AzureEmulator, type CreateAccountInput, type KeyKind } from '../../emulator/azure/index.js';
import { createDurableDriver, type DriverLogEntry, type DurableDriver } from '../../emulator/durable/index.js';
import { findTarget, loadConfig, rotationSettingsOf, settingTargets } from '../../src/config.js';
import { rotationInstanceId } from '../../src/domain/rotation-plan.js';
import { getRuntime, resetRuntime } from '../../src/runtime.js';
import { readAccountFacts } from '../../src/activities/index.js';
import { dryRun, type DryRun } from '../../src/api/dry-run.js';
import { dueState } from '../../src/schedule/decide-run.js';
import { ROTATION_ORCHESTRATOR, type RotationInput, type RotationOutput, type RotationStatus } from '../../src/workflow/rotation-types.js';
import { SUBSCRIPTION_ID, TEST_START, cosmosClient, secretClient } from '../helpers/emulator.js';

export const HOUR_MS = 3_600_000;
export const RESOURCE_GROUP = 'rg-data';
export const SAFE_CHECK = 'EnableKeyCheckBeforeRegenerationPreview';

export interface HarnessOptions {
  accounts: Array<Omit<CreateAccountInput, 'subscriptionId' | 'resourceGroup'>>;
  /** App settings on top of the harness's own (emulator endpoints, targets). */
  settings?: Record<string, string>;
  /** Keep driver state here so that a new driver can resume (a host crash). */
  stateDir?: string;
  crashAfterActivity?: (activity: { name: string; taskScheduledId: number; instanceId: string }) => boolean;
  /** Send rotation events to the emulator's Event Grid topic (ROTATION_EVENTS_TOPIC_ENDPOINT). */
  events?: boolean;
  /** Hears every line the emulator logs (one per request answered). */
  emulatorLog?: (line: string) => void;
}

interface DriverSetup {
  stateDir?: string;
  crashAfterActivity?: HarnessOptions['crashAfterActivity'];
}

export class RotationHarness {
  readonly logLines: string[] = [];
  /** Every key value the emulator ever issued, old ones included. */
  readonly issuedKeys = new Set<string>();
  driver!: DurableDriver;

  private constructor(
    readonly clock: VirtualClock,
    readonly emulator: AzureEmulator,
    readonly accountIds: Map<string, string>,
    /** The app settings the activities run with. */
    readonly env: NodeJS.ProcessEnv,
    private driverSetup: DriverSetup,
    private readonly ownedStateDir: string | undefined,
  ) {}

  static async start(options: HarnessOptions): Promise<RotationHarness> {
    const clock = new VirtualClock('manual', TEST_START);
    const emulator = await startAzureEmulator({ clock, ...(options.emulatorLog ? { log: options.emulatorLog } : {}) });
    const accountIds = new Map<string, string>();
    for (const account of options.accounts) {
      const created = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, ...account });
      accountIds.set(account.name, created.id);
    }
    const env: NodeJS.ProcessEnv = {
      KEY_VAULT_URL: emulator.keyVaultUrl,
      ROTATION_TARGETS: JSON.stringify([...accountIds.values()]),
      ARM_ENDPOINT: emulator.armEndpoint,
      AZURE_CREDENTIAL: 'emulator',
      EMULATOR_CA_CERT_PATH: emulator.caCertPath,
      ...(options.events ? { ROTATION_EVENTS_TOPIC_ENDPOINT: emulator.eventGridEndpoint } : {}),
      ...options.settings,
    };
    // Activities read their settings and their clock from here, as they read process.env and the wall clock in Azure.
    resetRuntime({ env, now: () => clock.now(), sleep: (ms) => clock.sleep(ms), hold: (send) => clock.hold(send), retry: { retryDelayInMs: 5, maxRetryDelayInMs: 20 } });
    // Crash tests need a state directory for the restarted driver to resume from.
    const ownedStateDir = options.stateDir === undefined && options.crashAfterActivity ? mkdtempSync(path.join(tmpdir(), 'rotation-driver-')) : undefined;
    const setup: DriverSetup = { stateDir: options.stateDir ?? ownedStateDir, crashAfterActivity: options.crashAfterActivity };
    const harness = new RotationHarness(clock, emulator, accountIds, env, setup, ownedStateDir);
    harness.driver = await harness.newDriver();
    harness.collectKeys();
    return harness;
  }

  /** A new driver on the same state directory: what the host does after a crash. */
  async restartDriver(options: { crashAfterActivity?: HarnessOptions['crashAfterActivity'] } = {}): Promise<void> {
    await this.driver.close();
    this.driverSetup = { ...this.driverSetup, crashAfterActivity: options.crashAfterActivity };
    this.driver = await this.newDriver();
  }

  private async newDriver(): Promise<DurableDriver> {
    const { stateDir, crashAfterActivity } = this.driverSetup;
    const driver = await createDurableDriver({
      clock: this.clock,
      ...(stateDir ? { stateDir } : {}),
      ...(crashAfterActivity ? { faults: { crashAfterActivity } } : {}),
      log: (entry: DriverLogEntry) => this.logLines.push(`${entry.level} ${entry.category} ${entry.functionName ?? ''} ${entry.message}`),
    });
    await driver.loadFunctions(() => import('../../functions/rotation.js'));
    return driver;
  }

  accountId(name: string): string {
    const id = this.accountIds.get(name);
    if (!id) throw new Error(`no account ${name} in this harness`);
    return id;
  }

  instanceId(name: string): string {
    return rotationInstanceId(this.accountId(name));
  }

  async startRotation(name: string, options: Omit<RotationInput, 'settings'> = {}): Promise<string> {
    const target = findTarget({ targets: settingTargets(loadConfig(this.env)) }, this.accountId(name));
    if (!target) throw new Error(`account ${name} is not configured`);
    return this.driver.startNew(ROTATION_ORCHESTRATOR, {
      instanceId: this.instanceId(name),
      input: { settings: rotationSettingsOf(target), ...options } satisfies RotationInput,
    });
  }

  /** What GET /rotations/{name}/plan answers for the read-write pair (the same inspection and dry run). */
  async plan(name: string): Promise<DryRun> {
    const target = findTarget({ targets: settingTargets(loadConfig(this.env)) }, this.accountId(name));
    if (!target) throw new Error(`account ${name} is not configured`);
    const secretName = target.secretName;
    const facts = await readAccountFacts(getRuntime(), { accountId: target.accountId, pair: 'readWrite', secretName });
    const now = this.clock.now();
    const due = dueState(target, [{ secretName, createdOn: facts.publishedAt }], now);
    return dryRun({ target, pairs: [{ pair: 'readWrite', secretName, facts }], due, now, runningPhase: null });
  }

  /** Runs the driver until `until` (virtual), firing every timer due by then. */
  async runUntil(until: Date): Promise<void> {
    await this.driver.runUntilIdle({ until });
    this.collectKeys();
  }

  /**
   * Runs in steps of `stepMs`, calling `eachStep` between them (consumers act
   * there), until the rotation of `name` ends or `maxMs` of virtual time passed.
   */
  async runRotation(name: string, options: { stepMs?: number; maxMs?: number; eachStep?: () => Promise<void> } = {}): Promise<RotationResult> {
    const stepMs = options.stepMs ?? HOUR_MS;
    const endBy = this.clock.nowMs() + (options.maxMs ?? 10 * 24 * HOUR_MS);
    for (;;) {
      await options.eachStep?.();
      await this.runUntil(new Date(Math.min(endBy, this.clock.nowMs() + stepMs)));
      const status = await this.driver.getStatus(this.instanceId(name));
      if (!status || this.driver.crashed) return this.result(name);
      if (['Completed', 'Failed', 'Terminated'].includes(String(status.runtimeStatus)) || this.clock.nowMs() >= endBy) return this.result(name);
    }
  }

  async result(name: string): Promise<RotationResult> {
    const status = await this.driver.getStatus(this.instanceId(name), { showHistory: true, showHistoryOutput: true, showInput: true });
    if (!status) throw new Error(`no rotation instance for ${name}`);
    return {
      runtimeStatus: String(status.runtimeStatus),
      output: status.output as RotationOutput,
      customStatus: status.customStatus as RotationStatus,
      raw: status,
    };
  }

  /** The key value of `kind` now (from the emulator's control view). */
  key(name: string, kind: KeyKind): string {
    return this.emulator.state().accounts[this.accountId(name).toLowerCase()]!.keys[kind].value;
  }

  keyGeneratedAt(name: string, kind: KeyKind): string {
    return this.emulator.state().accounts[this.accountId(name).toLowerCase()]!.keys[kind].generationTime;
  }

  /** Regenerations the emulator performed on this account, by key kind. */
  regenerations(name: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const operation of Object.values(this.emulator.state().operations)) {
      if (operation.kind !== 'regenerateKey' || operation.accountId.toLowerCase() !== this.accountId(name).toLowerCase()) continue;
      counts[operation.keyKind!] = (counts[operation.keyKind!] ?? 0) + 1;
    }
    return counts;
  }

  /** A consumer app's call: one read on the data plane with that key, through @azure/cosmos. */
  async callDataPlane(name: string, key: string): Promise<number> {
    const endpoint = `https://127.0.0.1:${this.emulator.state().accounts[this.accountId(name).toLowerCase()]!.dataPlanePort}/`;
    try {
      await cosmosClient(endpoint, key, this.emulator).databases.readAll().fetchAll();
      return 200;
    } catch (error) {
      return (error as { code?: number }).code ?? 0;
    }
  }

  /** A consumer that uses a given key kind (whatever Key Vault says). */
  async useKey(name: string, kind: KeyKind): Promise<number> {
    return this.callDataPlane(name, this.key(name, kind));
  }

  /** A well-behaved consumer: reads the latest Key Vault secret, then calls with it. */
  async useKeyFromKeyVault(name: string, secretName = `${name}-key`): Promise<number> {
    const secret = await secretClient(this.emulator).getSecret(secretName);
    return this.callDataPlane(name, secret.value!);
  }

  /**
   * A consumer that reads its key from Key Vault only every `refreshEveryMs`
   * (as Key Vault references do) and calls the data plane with what it holds.
   */
  keyVaultConsumer(name: string, refreshEveryMs: number, secretName = `${name}-key`): KeyVaultConsumer {
    let held: string | undefined;
    let readAt = -Infinity;
    const consumer: KeyVaultConsumer = {
      answers: [],
      failures: () => consumer.answers.filter((status) => status !== 200).length,
      call: async () => {
        if (this.clock.nowMs() - readAt >= refreshEveryMs) {
          held = (await secretClient(this.emulator).getSecret(secretName)).value!;
          readAt = this.clock.nowMs();
        }
        consumer.answers.push(await this.callDataPlane(name, held!));
      },
    };
    return consumer;
  }

  /** Puts a key in Key Vault the way a person did before this app existed: no tags. */
  async seedSecretByHand(name: string, kind: KeyKind, secretName = `${name}-key`): Promise<void> {
    await secretClient(this.emulator).setSecret(secretName, this.key(name, kind));
  }

  async secretVersions(secretName: string): Promise<Array<{ keyKind?: string; rotationId?: string }>> {
    const versions: Array<{ keyKind?: string; rotationId?: string }> = [];
    for await (const properties of secretClient(this.emulator).listPropertiesOfSecretVersions(secretName)) {
      versions.push({ keyKind: properties.tags?.keyKind, rotationId: properties.tags?.rotationId });
    }
    return versions;
  }

  collectKeys(): void {
    for (const account of Object.values(this.emulator.state().accounts)) {
      for (const key of Object.values(account.keys)) this.issuedKeys.add(key.value);
    }
  }

  /** Every place a key must never appear: histories, statuses, outputs, inputs, logs. */
  async leakSurfaces(): Promise<string[]> {
    const surfaces: string[] = [...this.logLines];
    for (const status of await this.driver.listInstances({ showInput: true })) {
      const full = await this.driver.getStatus(status.instanceId, { showHistory: true, showHistoryOutput: true, showInput: true });
      surfaces.push(JSON.stringify(full));
      surfaces.push(JSON.stringify(this.driver.history(status.instanceId)));
    }
    return surfaces;
  }

  /** Key values found in the surfaces, plus any extra texts (events, telemetry). */
  async findLeaks(extraTexts: string[] = []): Promise<string[]> {
    this.collectKeys();
    const surfaces = [...(await this.leakSurfaces()), ...extraTexts, ...this.emulator.eventGrid.events().map((delivery) => JSON.stringify(delivery))].join('\n');
    return [...this.issuedKeys].filter((key) => surfaces.includes(key) || surfaces.includes(encodeURIComponent(key)));
  }

  async close(): Promise<void> {
    await this.driver.close();
    await this.emulator.close();
    resetRuntime();
    if (this.ownedStateDir) rmSync(this.ownedStateDir, { recursive: true, force: true });
  }
}

export interface KeyVaultConsumer {
  /** The HTTP status of each data-plane call. */
  answers: number[];
  failures(): number;
  call(): Promise<void>;
}

export interface RotationResult {
  runtimeStatus: string;
  output: RotationOutput;
  customStatus: RotationStatus;
  raw: unknown;
}


