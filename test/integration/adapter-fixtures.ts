/**
 * The rotator's own adapters and runtime pointed at an in-process emulator on
 * a manual clock, configured exactly as an operator would (app settings), with
 * the emulator's CA trusted explicitly.
 */
import { InvocationContext } from '@azure/functions';
import type { AzureEmulator, AzureEmulatorOptions, CreateAccountInput } from '../../emulator/azure/index.js';
import { createAdapters, type Adapters } from '../../src/azure/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import { resetRuntime } from '../../src/runtime.js';
import { SUBSCRIPTION_ID, accountPath, startTestEmulator } from '../helpers/emulator.js';

export const SAFE_CHECK = 'EnableKeyCheckBeforeRegenerationPreview';
export const HOUR_IN_MS = 3_600_000;
export const MINUTE_IN_MS = 60_000;
/** The SDKs' back-off, shortened: the emulator's faults say Retry-After 0 and nothing should wait seconds. */
export const FAST_RETRY = { retryDelayInMs: 5, maxRetryDelayInMs: 20 };

export interface RotatorFixture {
  emulator: AzureEmulator;
  env: NodeJS.ProcessEnv;
  config: Config;
  adapters: Adapters;
  /** Creates an account in subscription SUBSCRIPTION_ID, resource group rg-app; returns its resource ID. */
  createAccount(name: string, options?: Omit<CreateAccountInput, 'subscriptionId' | 'resourceGroup' | 'name'>): Promise<string>;
  hoursAgo(hours: number): string;
  /** The key value as the emulator holds it (what must never leak). */
  keyValue(accountId: string, keyKind: 'primary' | 'secondary' | 'primaryReadonly' | 'secondaryReadonly'): string;
  close(): Promise<void>;
}

export async function startRotatorFixture(settings: Record<string, string> = {}, emulatorOptions: AzureEmulatorOptions = {}): Promise<RotatorFixture> {
  const emulator = await startTestEmulator(emulatorOptions);
  const env: NodeJS.ProcessEnv = {
    KEY_VAULT_URL: emulator.keyVaultUrl,
    ARM_ENDPOINT: emulator.armEndpoint,
    AZURE_CREDENTIAL: 'emulator',
    EMULATOR_CA_CERT_PATH: emulator.caCertPath,
    ROTATION_TARGETS: JSON.stringify([accountPath('rg-app', 'orders-db')]),
    ...settings,
  };
  const config = loadConfig(env);
  const now = (): Date => emulator.clock.now();
  const timing = { now, sleep: (ms: number) => emulator.clock.sleep(ms), hold: <T>(send: () => Promise<T>) => emulator.clock.hold(send) };
  const adapters = createAdapters(config, { ...timing, retry: FAST_RETRY });
  resetRuntime({ env, ...timing, retry: FAST_RETRY });
  return {
    emulator,
    env,
    config,
    adapters,
    async createAccount(name, options = {}) {
      const created = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name, ...options });
      return created.id;
    },
    hoursAgo: (hours) => new Date(emulator.clock.nowMs() - hours * HOUR_IN_MS).toISOString(),
    keyValue: (accountId, keyKind) => emulator.state().accounts[accountId.toLowerCase()]!.keys[keyKind].value,
    async close() {
      resetRuntime();
      await emulator.close();
    },
  };
}

export interface CapturedContext {
  context: InvocationContext;
  /** Every log line the activity wrote, as text. */
  lines: string[];
}

/** An InvocationContext whose log lines are kept for assertions. */
export function capturingContext(functionName = 'activity'): CapturedContext {
  const lines: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: 'test',
    logHandler: (level, ...args) => lines.push(`${level}: ${args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')}`),
  });
  return { context, lines };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function caught(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}
