/**
 * `npm run emulator` as a user runs it: a child process that prints one ready
 * line, serves HTTPS with the CA it names, and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_ID, httpsRequest } from '../helpers/emulator.js';

const CLI = join(import.meta.dirname, '..', '..', 'emulator', 'azure', 'cli.ts');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const directories: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function readyLine(run: Run): Promise<Record<string, string>> {
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (run.stdout().includes('\n')) resolve();
    };
    run.child.stdout!.on('data', check);
    run.exited.then(({ code }) => reject(new Error(`the CLI exited with ${code} before it was ready: ${run.stderr()}`)));
    check();
  });
  return JSON.parse(run.stdout().split('\n')[0]!);
}

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  directories.push(directory);
  return directory;
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port N such that N and N + 1 are both free on loopback right now. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const first = await listenOn(0);
    const port = (first.address() as AddressInfo).port;
    const second = port < 65_535 ? await listenOn(port + 1).catch(() => undefined) : undefined;
    await close(first);
    if (second) {
      await close(second);
      return port;
    }
  }
  throw new Error('found no two adjacent free ports');
}

describe('the emulator CLI', () => {
  it('when started, then it prints exactly one ready line with its endpoints, serves them with its CA, and exits 0 on SIGTERM', async () => {
    const dataDir = tempDir();
    const run = runCli(['--manual-clock', '--data-dir', dataDir]);

    const ready = await readyLine(run);
    const ca = readFileSync(ready.caCertPath!, 'utf8');
    const clock = await httpsRequest(`${ready.controlUrl}/clock`, { ca });
    const created = await httpsRequest(`${ready.controlUrl}/accounts`, {
      ca,
      method: 'POST',
      body: { subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'rg-app', name: 'orders' },
    });
    run.child.kill('SIGTERM');
    const exit = await run.exited;

    expect(Object.keys(ready)).toEqual(['event', 'armEndpoint', 'keyVaultUrl', 'controlUrl', 'caCertPath', 'eventGridEndpoint', 'storageEndpoint']);
    expect(ready.storageEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.eventGridEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/events$/);
    expect(ready.event).toBe('ready');
    expect(ready.armEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.keyVaultUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.controlUrl).toBe(`${ready.armEndpoint}/_emulator`);
    expect(isAbsolute(ready.caCertPath!)).toBe(true);
    expect(ready.caCertPath).toBe(join(dataDir, 'ca.pem'));
    expect(clock.body).toMatchObject({ mode: 'manual' });
    expect(created.status).toBe(201);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(run.stdout().trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr()).toContain('SIGTERM');
    expect(Object.keys(JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).accounts)).toHaveLength(1);
  });

  it('when started without --manual-clock, then its clock follows real time', async () => {
    const run = runCli([]);

    const ready = await readyLine(run);
    const ca = readFileSync(ready.caCertPath!, 'utf8');
    const clock = (await httpsRequest(`${ready.controlUrl}/clock`, { ca })).body as { now: string; mode: string };
    run.child.kill('SIGINT');

    expect(clock.mode).toBe('real');
    expect(Math.abs(Date.parse(clock.now) - Date.now())).toBeLessThan(60_000);
    expect((await run.exited).code).toBe(0);
  });

  it('when started with --port N, then ARM and the control API listen on N and Key Vault on N + 1', async () => {
    const port = await freePortPair();
    const run = runCli(['--manual-clock', '--port', String(port)]);

    const ready = await readyLine(run);
    const ca = readFileSync(ready.caCertPath!, 'utf8');
    const clock = await httpsRequest(`https://127.0.0.1:${port}/_emulator/clock`, { ca });
    const vault = await httpsRequest(`https://127.0.0.1:${port + 1}/secrets?api-version=7.5`, { ca });
    run.child.kill('SIGTERM');

    expect(ready.armEndpoint).toBe(`https://127.0.0.1:${port}`);
    expect(ready.controlUrl).toBe(`https://127.0.0.1:${port}/_emulator`);
    expect(ready.keyVaultUrl).toBe(`https://127.0.0.1:${port + 1}`);
    expect(clock).toMatchObject({ status: 200, body: { mode: 'manual' } });
    // Only Key Vault answers an unauthenticated request with its challenge.
    expect(vault.status).toBe(401);
    expect(vault.headers['www-authenticate']).toContain('resource="https://vault.azure.net"');
    expect((await run.exited).code).toBe(0);
  });

  it('when the port given with --port is taken, then it does not move elsewhere but exits 1 saying why', async () => {
    const port = await freePortPair();
    const taken = await listenOn(port);
    try {
      const run = runCli(['--port', String(port)]);

      const exit = await run.exited;

      expect(exit.code).toBe(1);
      expect(run.stdout()).toBe('');
      expect(run.stderr()).toMatch(/emulator: cannot start: .*EADDRINUSE/);
    } finally {
      await close(taken);
    }
  });

  // Throttling is on by default with Azure's numbers (Microsoft Learn, "Understand how Azure Resource Manager
  // throttles requests"; "Azure Key Vault service limits"); the flags change or turn it off.
  it.each([
    [['--no-throttling'], { arm: { enabled: false }, keyVault: { enabled: false } }],
    [['--throttling', '{"arm":{"writes":{"bucketSize":5}}}'], { arm: { enabled: true, writes: { bucketSize: 5, refillPerSecond: 10 } }, keyVault: { enabled: true } }],
  ])('when started with %j, then GET /_emulator/throttling shows %j', async (args, expected) => {
    const run = runCli(['--manual-clock', ...args]);

    const ready = await readyLine(run);
    const throttling = await httpsRequest(`${ready.controlUrl}/throttling`, { ca: readFileSync(ready.caCertPath!, 'utf8') });
    run.child.kill('SIGTERM');
    await run.exited;

    expect(throttling.body).toMatchObject(expected);
  });

  it.each([[['--bogus']], [['--port', 'eighty']], [['--port', '70000']], [['extra']], [['--throttling', '{"arm":']], [['--no-throttling', '--throttling', '{}']]])(
    'when started with bad flags %j, then it explains on stderr and exits 2 without a ready line',
    async (args) => {
      const run = runCli(args);

      const exit = await run.exited;

      expect(exit.code).toBe(2);
      expect(run.stdout()).toBe('');
      expect(run.stderr()).toMatch(/emulator: .+\nusage: npm run emulator/);
    },
  );
});
