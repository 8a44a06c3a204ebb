/**
 * Finding and running the Bicep CLI, for `npm run infra:check` and the tests
 * that read the compiled templates.
 *
 * The CLI is a build tool, not a dependency of the app: it is taken from PATH
 * (where azd and the Azure CLI put it) or from .tools/nuget/, where
 * `npm run infra:restore` restores the NuGet package pinned in
 * infra/bicep-cli/bicep-cli.csproj.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const INFRA_DIR = join(REPO_ROOT, 'infra');
const RESTORE_PROJECT = join(INFRA_DIR, 'bicep-cli', 'bicep-cli.csproj');
const NUGET_FOLDER = join(REPO_ROOT, '.tools', 'nuget');
const COMPILED_FOLDER = join(REPO_ROOT, '.tools', 'arm');
const PACKAGE_ID = 'Azure.Bicep.CommandLine.linux-x64';

/** What to tell someone who has no Bicep CLI. */
export const HOW_TO_GET_BICEP =
  'install it (azd and the Azure CLI bring it: az bicep install), or run `npm run infra:restore` (needs the .NET SDK) to restore it from NuGet into .tools/';

export interface BicepCli {
  path: string;
  /** Where it was found: PATH, or the NuGet restore folder. */
  source: 'PATH' | 'nuget';
}

/** The package version infra/bicep-cli/bicep-cli.csproj pins. */
export function pinnedBicepVersion(): string {
  const project = readFileSync(RESTORE_PROJECT, 'utf8');
  const version = new RegExp(`Include="${PACKAGE_ID.replaceAll('.', '\\.')}" Version="\\[([\\d.]+)\\]"`).exec(project)?.[1];
  if (!version) throw new Error(`${relative(REPO_ROOT, RESTORE_PROJECT)} pins no exact version of ${PACKAGE_ID}`);
  return version;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Bicep CLI on PATH, else the restored one; null when neither exists. Looks only, runs nothing. */
export function findBicep(env: NodeJS.ProcessEnv = process.env): BicepCli | null {
  for (const directory of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(directory, process.platform === 'win32' ? 'bicep.exe' : 'bicep');
    if (existsSync(candidate) && executable(candidate)) return { path: candidate, source: 'PATH' };
  }
  const restored = join(NUGET_FOLDER, PACKAGE_ID.toLowerCase(), pinnedBicepVersion(), 'tools', 'bicep');
  return existsSync(restored) && executable(restored) ? { path: restored, source: 'nuget' } : null;
}

/** `dotnet restore` of the pinned package into .tools/nuget/. */
export function restoreBicep(): number {
  const result = spawnSync('dotnet', ['restore', RESTORE_PROJECT, '--packages', NUGET_FOLDER], { stdio: 'inherit' });
  if (result.error) {
    console.error(`infra:restore: could not run dotnet (${result.error.message}); install the .NET SDK, or install the Bicep CLI yourself.`);
    return 1;
  }
  return result.status ?? 1;
}

export function bicepVersion(cli: BicepCli): string {
  const result = spawnSync(cli.path, ['--version'], { encoding: 'utf8' });
  const version = /Bicep CLI version (\S+)/.exec(result.stdout ?? '')?.[1];
  if (!version) throw new Error(`${cli.path} --version did not print a Bicep CLI version: ${result.stderr || result.stdout}`);
  return version;
}

/** Every .bicep file under infra/, relative to infra/ with forward slashes. */
export function bicepSources(): string[] {
  return (readdirSync(INFRA_DIR, { recursive: true, encoding: 'utf8' }) as string[])
    .map((name) => name.split('\\').join('/'))
    .filter((name) => name.endsWith('.bicep'))
    .sort();
}

export interface Diagnostic {
  file: string;
  line: number;
  level: 'Error' | 'Warning' | 'Info';
  code: string;
  message: string;
}

/** `path(line,column) : Level CODE: message` lines of the CLI's output. */
export function parseDiagnostics(output: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\) : (Error|Warning|Info) ([\w-]+): (.*)$/.exec(line.trim());
    if (match) found.push({ file: relative(REPO_ROOT, match[1]!).split('\\').join('/'), line: Number(match[2]), level: match[3] as Diagnostic['level'], code: match[4]!, message: match[5]! });
  }
  return found;
}

export interface BuildResult {
  /** Folder holding one ARM JSON file per .bicep file, in infra/'s layout. */
  outputDirectory: string;
  /** Compiler and linter diagnostics, every level (duplicates removed). */
  diagnostics: Diagnostic[];
  /** Output that is neither a diagnostic nor empty (a crash, a bad bicepconfig.json). */
  otherOutput: string;
  exitCode: number;
}

function run(cli: BicepCli, args: string[]): { output: string; exitCode: number } {
  const result = spawnSync(cli.path, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { output: `${result.stdout ?? ''}\n${result.stderr ?? ''}`, exitCode: result.status ?? 1 };
}

function unique(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((item) => {
    const key = `${item.file}:${item.line}:${item.code}:${item.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Hash of everything a build reads: the templates, the files they load, the linter config and the CLI. */
function inputsHash(cli: BicepCli): string {
  const hash = createHash('sha256').update(cli.path);
  for (const name of (readdirSync(INFRA_DIR, { recursive: true, encoding: 'utf8' }) as string[]).sort()) {
    if (!/\.(bicep|json)$/.test(name) || name.startsWith('bicep-cli')) continue;
    hash.update(name).update(readFileSync(join(INFRA_DIR, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds every template to ARM JSON and lints it with infra/bicepconfig.json.
 * A build of unchanged inputs is reused from .tools/arm/ (tests in parallel
 * workers share one); a new one is written beside it and moved in whole.
 */
export function buildTemplates(cli: BicepCli): BuildResult {
  const key = inputsHash(cli);
  const outputDirectory = join(COMPILED_FOLDER, key);
  const resultFile = join(outputDirectory, 'build-result.json');
  if (existsSync(resultFile)) return JSON.parse(readFileSync(resultFile, 'utf8')) as BuildResult;

  const staging = join(COMPILED_FOLDER, `${key}.${process.pid}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const pattern = 'infra/**/*.bicep';
  const build = run(cli, ['build', '--pattern', pattern, '--outdir', staging]);
  const lint = build.exitCode === 0 ? run(cli, ['lint', '--pattern', pattern]) : { output: '', exitCode: 0 };
  const output = `${build.output}\n${lint.output}`;
  const diagnostics = unique(parseDiagnostics(output));
  const otherOutput = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && parseDiagnostics(line).length === 0)
    .join('\n');
  const result: BuildResult = { outputDirectory, diagnostics, otherOutput, exitCode: build.exitCode || lint.exitCode };
  writeJson(join(staging, 'build-result.json'), result);
  try {
    renameSync(staging, outputDirectory);
  } catch {
    // Another worker finished the same build first: its result is the same.
    rmSync(staging, { recursive: true, force: true });
  }
  return result;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The compiled template of one .bicep file (path relative to infra/). */
export function compiledTemplate(build: BuildResult, bicepPath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(build.outputDirectory, bicepPath.replace(/\.bicep$/, '.json')), 'utf8')) as Record<string, unknown>;
}
