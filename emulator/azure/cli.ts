/**
 * `npm run emulator -- [--port N] [--key-vault-port N] [--data-dir DIR] [--manual-clock]`
 *
 * Prints exactly one JSON line to stdout when ready (scripts wait for it and
 * read the endpoints from it); everything else goes to stderr. Stops cleanly
 * on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startAzureEmulator, type AzureEmulator } from './index.js';
import { azureThrottling, mergeThrottling } from './throttling.js';

const USAGE = `usage: npm run emulator -- [--port N] [--key-vault-port N] [--data-dir DIR] [--manual-clock] [--no-throttling | --throttling JSON]
  --port N            ARM and control API port (0 or absent: a free port, or the one used last time with --data-dir)
  --key-vault-port N  Key Vault port (absent: --port + 1 when --port is given, else as for --port)
  --data-dir DIR      keep state and the CA in DIR; a restart resumes where it stopped
  --manual-clock      the clock moves only through the control API (default: it follows real time)
  --no-throttling     turn off ARM and Key Vault throttling (default: on, with Azure's published limits)
  --throttling JSON   change the limits, e.g. '{"arm":{"reads":{"bucketSize":20,"refillPerSecond":2}},"keyVault":{"enabled":false}}'`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface CliOptions {
  port?: number;
  keyVaultPort?: number;
  dataDir?: string;
  manualClock: boolean;
  throttling?: false | Record<string, unknown>;
  help: boolean;
}

function parseCliArguments(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'key-vault-port': { type: 'string' },
        'data-dir': { type: 'string' },
        'manual-clock': { type: 'boolean', default: false },
        'no-throttling': { type: 'boolean', default: false },
        throttling: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const port = parsePort(values.port, '--port');
  let keyVaultPort = parsePort(values['key-vault-port'], '--key-vault-port');
  if (keyVaultPort === undefined && port) {
    if (port >= 65_535) throw new UsageError('--port 65535 leaves no port for Key Vault; give --key-vault-port');
    keyVaultPort = port + 1;
  }
  if (values['data-dir'] !== undefined && !values['data-dir'].trim()) throw new UsageError('--data-dir needs a directory');
  const throttling = parseThrottling(values['no-throttling'] ?? false, values.throttling);
  return {
    ...(port === undefined ? {} : { port }),
    ...(keyVaultPort === undefined ? {} : { keyVaultPort }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    manualClock: values['manual-clock'] ?? false,
    ...(throttling === undefined ? {} : { throttling }),
    help: values.help ?? false,
  };
}

function parseThrottling(off: boolean, json: string | undefined): false | Record<string, unknown> | undefined {
  if (off && json !== undefined) throw new UsageError('give --no-throttling or --throttling, not both');
  if (off) return false;
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new UsageError(`--throttling must be JSON: ${(error as Error).message}`);
  }
  try {
    mergeThrottling(azureThrottling(), value);
  } catch (error) {
    throw new UsageError(`--throttling: ${(error as Error).message}`);
  }
  return value as Record<string, unknown>;
}

function parsePort(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  return Number(value);
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCliArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`emulator: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  let emulator: AzureEmulator;
  try {
    emulator = await startAzureEmulator({
      manualClock: options.manualClock,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.keyVaultPort === undefined ? {} : { keyVaultPort: options.keyVaultPort }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.throttling === undefined ? {} : { throttling: options.throttling }),
      log,
    });
  } catch (error) {
    process.stderr.write(`emulator: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`emulator: ${signal} received, stopping`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`emulator: failed to stop cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(
    `${JSON.stringify({
      event: 'ready',
      armEndpoint: emulator.armEndpoint,
      keyVaultUrl: emulator.keyVaultUrl,
      controlUrl: emulator.controlUrl,
      caCertPath: emulator.caCertPath,
      eventGridEndpoint: emulator.eventGridEndpoint,
      storageEndpoint: emulator.storageEndpoint,
    })}\n`,
  );
}

await main();
