/**
 * `npm start` (scripts/start.mjs) end to end, without Core Tools: a fake `func`
 * on PATH records how it was called and exits with a chosen code. The script
 * works on the folder it lives in, so the normal-path tests run a copy of it in a
 * temporary project (the script and the settings sample): nothing is written
 * into the repository, and no process outlives its test.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const projectDir = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'npm-start-'));
const emptyBinDir = join(scratch, 'empty-bin');
mkdirSync(emptyBinDir);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm start', () => {
  it('when Core Tools are not installed, then it says how to install them in one line and exits non-zero without building', () => {
    const settingsExisted = existsSync(join(projectDir, 'local.settings.json'));

    const result = spawnSync(process.execPath, [join(projectDir, 'scripts/start.mjs')], {
      cwd: projectDir,
      env: { ...process.env, PATH: emptyBinDir },
      encoding: 'utf8',
      timeout: 20_000,
    });

    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('`func`');
    expect(lines[0]).toContain('npm i -g azure-functions-core-tools@4');
    // Nothing else happened: no build output, no Azurite, no settings file written.
    expect(result.stdout).toBe('');
    expect(existsSync(join(projectDir, 'local.settings.json'))).toBe(settingsExisted);
  });
});

/** A project folder holding a copy of the start script and the settings sample, and a PATH with a fake `func`. */
interface FakeProject {
  dir: string;
  binDir: string;
  /** Where the fake func writes each call: one JSON line with its arguments and working directory. */
  callLog: string;
}

function fakeProject(name: string): FakeProject {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  copyFileSync(join(projectDir, 'scripts/start.mjs'), join(dir, 'scripts/start.mjs'));
  copyFileSync(join(projectDir, 'local.settings.sample.json'), join(dir, 'local.settings.sample.json'));
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  const callLog = join(dir, 'func-calls.jsonl');
  const recorder = join(binDir, 'record-func-call.mjs');
  writeFileSync(
    recorder,
    [
      "import { appendFileSync } from 'node:fs';",
      'appendFileSync(process.env.FAKE_FUNC_CALL_LOG, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }) + "\\n");',
      'process.exit(Number(process.env.FAKE_FUNC_EXIT_CODE ?? 0));',
      '',
    ].join('\n'),
  );
  // A shell wrapper, so that PATH needs nothing but this folder.
  writeFileSync(join(binDir, 'func'), `#!/bin/sh\nexec "${process.execPath}" "${recorder}" "$@"\n`);
  chmodSync(join(binDir, 'func'), 0o755);
  return { dir, binDir, callLog };
}

function npmStart(project: FakeProject, args: string[], options: { funcExitCode: number }): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(project.dir, 'scripts/start.mjs'), ...args], {
    cwd: project.dir,
    env: { ...process.env, PATH: project.binDir, FAKE_FUNC_CALL_LOG: project.callLog, FAKE_FUNC_EXIT_CODE: String(options.funcExitCode) },
    encoding: 'utf8',
    timeout: 10_000,
  });
}

function funcCalls(project: FakeProject): Array<{ args: string[]; cwd: string }> {
  if (!existsSync(project.callLog)) return [];
  return readFileSync(project.callLog, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { args: string[]; cwd: string });
}

/** Listens on 127.0.0.1:port; undefined when the port is taken (by a real Azurite, say). */
async function listenOn(port: number): Promise<Server | undefined> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((done) => {
    server.once('error', () => done(undefined));
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

async function closeAll(servers: Array<Server | undefined>): Promise<void> {
  await Promise.all(servers.map((server) => (server ? new Promise<void>((closed) => server.close(() => closed())) : undefined)));
}

describe.skipIf(process.platform === 'win32')('npm start with Core Tools on PATH (a fake func)', () => {
  it('when it runs the first time, then local.settings.json is created from the sample and func start gets the pass-through arguments and decides the exit code', () => {
    const project = fakeProject('first-run');

    const result = npmStart(project, ['--skip-build', '--no-azurite', '--', '--port', '7072', '--cors', '*'], { funcExitCode: 3 });

    expect(result.status).toBe(3);
    expect(readFileSync(join(project.dir, 'local.settings.json'), 'utf8')).toBe(readFileSync(join(project.dir, 'local.settings.sample.json'), 'utf8'));
    expect(result.stdout).toContain('created local.settings.json from local.settings.sample.json');
    expect(funcCalls(project)).toEqual([{ args: ['start', '--port', '7072', '--cors', '*'], cwd: project.dir }]);
    expect(result.stdout).not.toMatch(/building|Azurite/);
  });

  it('when local.settings.json already exists, then it is kept as the developer edited it, and func exiting 0 makes npm start exit 0', () => {
    const project = fakeProject('second-run');
    expect(npmStart(project, ['--skip-build', '--no-azurite'], { funcExitCode: 0 }).status).toBe(0);
    const edited = readFileSync(join(project.dir, 'local.settings.json'), 'utf8').replace('"IsEncrypted": false', '"IsEncrypted": false, "Edited": true');
    writeFileSync(join(project.dir, 'local.settings.json'), edited);

    // Words the script does not know go to func too, so `npm start -- --port 7072` needs no second `--`.
    const result = npmStart(project, ['--skip-build', '--no-azurite', '--port', '7073'], { funcExitCode: 0 });

    expect(result.status).toBe(0);
    expect(readFileSync(join(project.dir, 'local.settings.json'), 'utf8')).toBe(edited);
    expect(result.stdout).not.toContain('created local.settings.json');
    expect(funcCalls(project).map((call) => call.args)).toEqual([['start'], ['start', '--port', '7073']]);
  });

  it('when something already listens on the Azurite ports, then it is used and no Azurite is started', async (context) => {
    const listeners = await Promise.all([10000, 10001, 10002].map((port) => listenOn(port)));
    try {
      // A port held by another process might be anything: only run when all three are ours.
      if (listeners.some((listener) => listener === undefined)) context.skip();
      const project = fakeProject('azurite-listening');

      const result = npmStart(project, ['--skip-build'], { funcExitCode: 0 });

      expect(result.status).toBe(0);
      expect(result.stdout).toContain('something already listens on 10000-10002');
      expect(result.stdout).not.toContain('started Azurite');
      expect(existsSync(join(project.dir, '.azurite'))).toBe(false);
      expect(funcCalls(project).map((call) => call.args)).toEqual([['start']]);
    } finally {
      await closeAll(listeners);
    }
  });
});
