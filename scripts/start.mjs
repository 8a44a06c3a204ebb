#!/usr/bin/env node
// @ts-check
/**
 * `npm start`: the standard Azure Functions local loop.
 *
 *   1. Core Tools (`func`) must be on PATH: checked first, so a missing install
 *      costs one line and no build.
 *   2. local.settings.json is created from local.settings.sample.json when absent.
 *   3. `npm run build` (func runs the compiled dist/).
 *   4. Azurite (the dev dependency) for the task hub's storage, data under
 *      .azurite/, unless something already listens on its ports.
 *   5. `func start`; when it ends, the Azurite started here is stopped.
 *
 * Flags: --skip-build (the build is already fresh), --no-azurite (storage is
 * elsewhere, e.g. a real storage account in local.settings.json). Anything
 * after `--` is passed to `func start` (e.g. `npm start -- --port 7072`).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const AZURITE_PORTS = [10000, 10001, 10002];
const AZURITE_READY_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'Azure Functions Core Tools (`func`) were not found on PATH: install them with `npm i -g azure-functions-core-tools@4` ' +
  '(or see https://learn.microsoft.com/azure/azure-functions/functions-run-local), then run `npm start` again.';

const isWindows = process.platform === 'win32';

async function main() {
  const { skipBuild, useAzurite, funcArgs } = parseArgs(process.argv.slice(2));

  const func = findOnPath('func');
  if (!func) {
    console.error(INSTALL_HINT);
    return 1;
  }

  ensureLocalSettings();

  if (!skipBuild) {
    say('building (npm run build)...');
    const buildCode = await run(isWindows ? 'npm.cmd' : 'npm', ['run', 'build'], { shell: isWindows });
    if (buildCode !== 0) {
      console.error(`npm start: the build failed (exit code ${buildCode}); fix the errors above and run it again.`);
      return buildCode || 1;
    }
  }

  /** @type {import('node:child_process').ChildProcess | undefined} */
  let azurite;
  if (useAzurite) azurite = await startAzuriteUnlessListening();

  const stopAzurite = () => {
    if (azurite && azurite.exitCode === null && azurite.pid !== undefined) {
      say(`stopping the Azurite started for this run (pid ${azurite.pid})`);
      azurite.kill();
    }
  };

  try {
    say(`func start ${funcArgs.join(' ')}`.trimEnd());
    return await run(func, ['start', ...funcArgs], { shell: isWindows, forwardSignals: true });
  } finally {
    stopAzurite();
  }
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const separator = argv.indexOf('--');
  const own = separator >= 0 ? argv.slice(0, separator) : argv;
  const funcArgs = separator >= 0 ? argv.slice(separator + 1) : [];
  let skipBuild = false;
  let useAzurite = true;
  for (const arg of own) {
    if (arg === '--skip-build') skipBuild = true;
    else if (arg === '--no-azurite') useAzurite = false;
    else {
      // Unknown words go to func, so `npm start -- --port 7072` works without a second `--`.
      funcArgs.push(arg);
    }
  }
  return { skipBuild, useAzurite, funcArgs };
}

/** The executable's full path when `name` is on PATH (with PATHEXT on Windows). */
function findOnPath(/** @type {string} */ name) {
  const extensions = isWindows ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const extension of extensions) {
      const candidate = join(dir, name + extension.toLowerCase());
      try {
        accessSync(candidate, isWindows ? constants.F_OK : constants.X_OK);
        return candidate;
      } catch {
        // not here: keep looking
      }
    }
  }
  return undefined;
}

function ensureLocalSettings() {
  const settings = join(projectDir, 'local.settings.json');
  if (existsSync(settings)) return;
  const sample = join(projectDir, 'local.settings.sample.json');
  if (!existsSync(sample)) {
    say('no local.settings.json and no local.settings.sample.json to create it from: func will use the environment only');
    return;
  }
  copyFileSync(sample, settings);
  say('created local.settings.json from local.settings.sample.json (git-ignored): edit it to point the app at your Key Vault and accounts');
}

/** Starts Azurite unless its ports already answer; returns the child it started, if any. */
async function startAzuriteUnlessListening() {
  const listening = await Promise.all(AZURITE_PORTS.map((port) => isListening(port)));
  if (listening.every(Boolean)) {
    say('storage: something already listens on 10000-10002 (Azurite?); using it');
    return undefined;
  }
  if (listening.some(Boolean)) {
    const busy = AZURITE_PORTS.filter((_, index) => listening[index]);
    say(`storage: port(s) ${busy.join(', ')} are taken but not all of 10000-10002; starting Azurite anyway, it may fail`);
  }
  const location = join(projectDir, '.azurite');
  mkdirSync(location, { recursive: true });
  const bin = join(projectDir, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
  const args = ['--silent', '--skipApiVersionCheck', '--disableTelemetry', '--location', location, '--debug', join(location, 'debug.log')];
  const child = existsSync(bin)
    ? spawn(process.execPath, [bin, ...args], { cwd: projectDir, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(isWindows ? 'npx.cmd' : 'npx', ['--no-install', 'azurite', ...args], {
        cwd: projectDir,
        stdio: ['ignore', 'ignore', 'inherit'],
        shell: isWindows,
      });
  say(`storage: started Azurite (pid ${child.pid}), data in .azurite/`);
  const deadline = Date.now() + AZURITE_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode} before listening`);
    const ready = await Promise.all(AZURITE_PORTS.map((port) => isListening(port)));
    if (ready.every(Boolean)) return child;
    await new Promise((done) => setTimeout(done, 200));
  }
  child.kill();
  throw new Error(`Azurite did not listen on ${AZURITE_PORTS.join(', ')} within ${AZURITE_READY_TIMEOUT_MS / 1000} s`);
}

function isListening(/** @type {number} */ port) {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * Runs a command with the terminal attached; resolves with its exit code.
 * @param {string} command
 * @param {string[]} args
 * @param {{ shell?: boolean, forwardSignals?: boolean }} options
 */
function run(command, args, options) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: projectDir, stdio: 'inherit', shell: options.shell ?? false });
    /** @type {Array<[NodeJS.Signals, () => void]>} */
    const forwarded = [];
    if (options.forwardSignals) {
      for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM'])) {
        // Ctrl+C reaches func through the terminal too; forwarding covers `kill <pid>` of this script.
        const forward = () => child.kill(signal);
        process.on(signal, forward);
        forwarded.push([signal, forward]);
      }
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      for (const [name, forward] of forwarded) process.off(name, forward);
      done(code ?? (signal ? 1 : 0));
    });
  });
}

function say(/** @type {string} */ message) {
  console.log(`[npm start] ${message}`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
