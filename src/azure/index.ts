/**
 * The adapters, built once from Config. They are the only modules that
 * import an Azure SDK.
 */
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config.js';
import { ArmBudget, KeyVaultBudget } from './arm-budget.js';
import { createCredential } from './credential.js';
import { CosmosDataAdapter } from './cosmos-data.js';
import { CosmosManagementAdapter } from './cosmos-management.js';
import { EventGridAdapter } from './event-grid.js';
import { KeyVaultAdapter } from './key-vault.js';
import { TargetBlobAdapter } from './target-blob.js';
import { createHttpsAgent } from './tls.js';

export interface Adapters {
  credential: TokenCredential;
  cosmosManagement: CosmosManagementAdapter;
  cosmosData: CosmosDataAdapter;
  keyVault: KeyVaultAdapter;
  /** Rotation events, or null when ROTATION_EVENTS_TOPIC_ENDPOINT is empty. */
  eventGrid: EventGridAdapter | null;
  /** The targets blob, or null when the targets are in ROTATION_TARGETS. */
  targetBlob: TargetBlobAdapter | null;
}

export interface CreateAdaptersOptions {
  /** The clock key usage is judged by (the emulator's in tests); default the system clock. */
  now?: () => Date;
  /** Waits on the same clock as `now` (the ARM budget's waits); default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Runs one ARM request on its way: a virtual clock must stay still meanwhile (tests, demo); default none. */
  hold?: <T>(send: () => Promise<T>) => Promise<T>;
  /** Replaces the credential AZURE_CREDENTIAL selects (tests). */
  credential?: TokenCredential;
  /** SDK retry settings for ARM and Key Vault (tests shorten the delays). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

export function createAdapters(config: Config, options: CreateAdaptersOptions = {}): Adapters {
  const credential = options.credential ?? createCredential(config);
  const budgetClock = {
    ...(options.now ? { nowMs: () => options.now!().getTime() } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.hold ? { hold: options.hold } : {}),
  };
  return {
    credential,
    cosmosManagement: new CosmosManagementAdapter({
      credential,
      armEndpoint: config.armEndpoint,
      apiVersion: config.cosmosArmApiVersion,
      caCertPem: config.emulatorCaCert,
      ...(options.now ? { now: options.now } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      // One budget per runtime: the runtime is built once per worker process, and every activity shares it.
      budget: new ArmBudget({ readsPerSecond: config.armReadsPerSecond, writesPerSecond: config.armWritesPerSecond, ...budgetClock }),
    }),
    cosmosData: new CosmosDataAdapter({ agent: createHttpsAgent(config.emulatorCaCert) }),
    keyVault: new KeyVaultAdapter({
      vaultUrl: config.keyVaultUrl,
      credential,
      caCertPem: config.emulatorCaCert,
      budget: new KeyVaultBudget({ readsPerSecond: config.keyVaultRequestsPerSecond, writesPerSecond: config.keyVaultSecretSetsPerSecond, ...budgetClock }),
      ...(options.retry ? { retry: options.retry } : {}),
    }),
    eventGrid: config.rotationEventsTopicEndpoint
      ? new EventGridAdapter({
          topicEndpoint: config.rotationEventsTopicEndpoint,
          credential,
          caCertPem: config.emulatorCaCert,
          ...(options.retry ? { retry: options.retry } : {}),
        })
      : null,
    targetBlob:
      config.targetsSource.kind === 'blob'
        ? new TargetBlobAdapter({
            blobUrl: config.targetsSource.blobUrl,
            credential,
            caCertPem: config.emulatorCaCert,
            ...(options.retry ? { retry: options.retry } : {}),
          })
        : null,
  };
}

export type { AccountFacts, KeyFacts, RegenerationProgress, RegenerationStarted, RegenerationStatus } from './cosmos-management.js';
export type { ProbeResult } from './cosmos-data.js';
export type { SecretVersionInfo } from './key-vault.js';
export { SecretValue } from './secret-value.js';
