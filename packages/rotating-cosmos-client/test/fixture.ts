/**
 * The library against the project's Azure emulator with the real SDKs: an
 * account with a database and container, its key published in Key Vault the
 * way the rotator publishes it, manual timers, and every log line and
 * telemetry event the library produced.
 */
import { Agent } from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import type { KeyKind } from '../../../emulator/azure/index.js';
import { armClient, secretClient, startTestEmulator, staticTokenCredential, SUBSCRIPTION_ID } from '../../../test/helpers/emulator.js';
import { createRotatingCosmosClient, KEY_CONTENT_TYPE, type CreateRotatingCosmosClientOptions, type RotatingClientEvent, type RotatingCosmosClient, type Timers } from '../src/index.js';

export const RESOURCE_GROUP = 'apps';
export const ACCOUNT = 'orders';
export const SECRET_NAME = 'orders-key';
export const DATABASE_ID = 'app';
export const CONTAINER_ID = 'items';

/** Timers that fire only when told, on the emulator's virtual clock. */
export class ManualTimers implements Timers {
  private nextId = 1;
  readonly pending = new Map<number, { dueMs: number; delayInMs: number; callback: () => unknown }>();

  constructor(private readonly clock: { nowMs(): number; set(time: Date): void }) {}

  setTimeout(callback: () => unknown, delayInMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { dueMs: this.clock.nowMs() + delayInMs, delayInMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** The delay of the one pending timer (the library keeps at most one). */
  onlyDelayInMs(): number {
    if (this.pending.size !== 1) throw new Error(`expected one pending timer, found ${this.pending.size}`);
    return [...this.pending.values()][0]!.delayInMs;
  }

  /** Moves the clock to the next timer, fires it and waits for the refresh it started. */
  async fireNext(): Promise<void> {
    const [id, timer] = [...this.pending.entries()].sort((a, b) => a[1].dueMs - b[1].dueMs)[0] ?? [];
    if (id === undefined || !timer) throw new Error('no timer pending');
    this.pending.delete(id);
    if (timer.dueMs > this.clock.nowMs()) this.clock.set(new Date(timer.dueMs));
    await timer.callback();
  }
}

export async function startLibraryFixture() {
  const emulator = await startTestEmulator();
  const account = await emulator.createAccount({ subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, name: ACCOUNT, regenerationSeconds: 1 });
  const secrets = secretClient(emulator);
  const agent = new Agent({ ca: emulator.caCertPem, keepAlive: true, maxSockets: 64 });
  const timers = new ManualTimers(emulator.clock);
  const telemetry: RotatingClientEvent[] = [];
  const logLines: string[] = [];
  const handles: RotatingCosmosClient[] = [];

  const keyValue = (kind: KeyKind): string => emulator.state().accounts[account.id.toLowerCase()]!.keys[kind].value;
  /** Every key value the account has had, old and current. */
  const issuedKeys = new Set<string>();
  const noteKeys = (): void => {
    for (const key of Object.values(emulator.state().accounts[account.id.toLowerCase()]!.keys)) issuedKeys.add(key.value);
  };
  noteKeys();

  const setup = new CosmosClient({ endpoint: account.documentEndpoint, key: keyValue('primary'), agent, connectionPolicy: { enableEndpointDiscovery: false } });
  const { database } = await setup.databases.createIfNotExists({ id: DATABASE_ID });
  const { container } = await database.containers.createIfNotExists({ id: CONTAINER_ID, partitionKey: { paths: ['/tenant'] } });
  await container.items.upsert({ id: 'seed', tenant: ACCOUNT });
  setup.dispose();

  return {
    emulator,
    account,
    agent,
    timers,
    telemetry,
    logLines,
    issuedKeys,
    keyValue,

    /** Publishes a key as the rotator does (content type and tags), or any value with the given content type and tags. */
    async publish(value: string, options: { contentType?: string | null; tags?: Record<string, string>; name?: string } = {}): Promise<string> {
      const contentType = options.contentType === undefined ? KEY_CONTENT_TYPE : options.contentType;
      const secret = await secrets.setSecret(options.name ?? SECRET_NAME, value, {
        ...(contentType === null ? {} : { contentType }),
        tags: options.tags ?? { cosmosAccount: account.id, keyKind: 'primary', rotationId: 'seed' },
      });
      return secret.properties.version!;
    },

    async publishKey(kind: 'primary' | 'secondary'): Promise<string> {
      return this.publish(keyValue(kind), { tags: { cosmosAccount: account.id, keyKind: kind, rotationId: `rotation-to-${kind}` } });
    },

    /** Regenerates a key through ARM, as the rotator's last step does. */
    async regenerate(kind: KeyKind): Promise<void> {
      const poller = await armClient(emulator).databaseAccounts.beginRegenerateKey(RESOURCE_GROUP, ACCOUNT, { keyKind: kind }, { updateIntervalInMs: 1 });
      emulator.clock.advance(1_500);
      await poller.pollUntilDone();
      noteKeys();
    },

    async open(overrides: Partial<CreateRotatingCosmosClientOptions> = {}): Promise<RotatingCosmosClient> {
      const handle = await createRotatingCosmosClient({
        keyVaultUrl: emulator.keyVaultUrl,
        secretName: SECRET_NAME,
        credential: staticTokenCredential,
        endpoint: account.documentEndpoint,
        cosmosOptions: {
          agent,
          connectionPolicy: { enableEndpointDiscovery: false, retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 } },
        },
        // The SDK's own retries wait in real time: the library's backoff is what is under test.
        secretClientOptions: { disableChallengeResourceVerification: true, tlsOptions: { ca: emulator.caCertPem }, retryOptions: { maxRetries: 0 } },
        timers,
        now: () => emulator.clock.nowMs(),
        random: () => 0.5,
        onTelemetry: (event) => telemetry.push(event),
        logger: { info: (line) => logLines.push(line), warning: (line) => logLines.push(line) },
        ...overrides,
      });
      handles.push(handle);
      return handle;
    },

    keyVaultReads(): number {
      return emulator.stats().keyvault.getSecret ?? 0;
    },

    async close(): Promise<void> {
      for (const handle of handles) handle.close();
      agent.destroy();
      await emulator.close();
    },
  };
}

export type LibraryFixture = Awaited<ReturnType<typeof startLibraryFixture>>;

export function readSeed(handle: RotatingCosmosClient, client: CosmosClient = handle.client) {
  return client.database(DATABASE_ID).container(CONTAINER_ID).item('seed', ACCOUNT).read();
}
