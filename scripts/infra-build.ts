/**
 * `npm run infra:build`: writes the custom roles' action lists from the code, then
 * compiles the Bicep templates when a Bicep compiler is installed.
 *
 * The compiler is optional: no npm package ships it, and this workplace cannot
 * download it, so CI relies on test/unit/infra-*.test.ts instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROLE_ACTIONS_FILE, type RoleActionsFile } from '../src/azure/permissions.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ROLE_ACTIONS_PATH = join(REPO_ROOT, 'infra', 'app', 'rotator-role-actions.json');
const MAIN_TEMPLATE_PATH = join(REPO_ROOT, 'infra', 'main.bicep');

/** The file infra/app/rotator-role.bicep loads: the code's lists, one action a line. */
export function renderRoleActions(file: RoleActionsFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

type Compiler = { command: string; args: (templatePath: string, outputDirectory: string) => string[] };

function succeeds(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', shell: process.platform === 'win32' });
  return result.status === 0;
}

function findCompiler(): Compiler | null {
  if (succeeds('bicep', ['--version'])) {
    return { command: 'bicep', args: (template, out) => ['build', template, '--outdir', out] };
  }
  // `az bicep version` fails when az has not installed Bicep yet; `az bicep build` would
  // then try to download it, which only works online.
  if (succeeds('az', ['bicep', 'version'])) {
    return { command: 'az', args: (template, out) => ['bicep', 'build', '--file', template, '--outdir', out] };
  }
  return null;
}

function main(): number {
  const rendered = renderRoleActions(ROLE_ACTIONS_FILE);
  let current = '';
  try {
    current = readFileSync(ROLE_ACTIONS_PATH, 'utf8');
  } catch {
    // First run: the file does not exist yet.
  }
  if (current !== rendered) {
    writeFileSync(ROLE_ACTIONS_PATH, rendered);
    console.log(`infra:build: wrote ${ROLE_ACTIONS_PATH} from src/azure/permissions.ts`);
  }

  const compiler = findCompiler();
  if (!compiler) {
    console.log('infra:build: no Bicep compiler on PATH (bicep or az bicep); templates not compiled. The unit tests in test/unit/infra-*.test.ts still check them.');
    return 0;
  }
  // Compile into a temporary folder: the ARM JSON is a build product, not source.
  const outputDirectory = mkdtempSync(join(tmpdir(), 'infra-build-'));
  try {
    const result = spawnSync(compiler.command, compiler.args(MAIN_TEMPLATE_PATH, outputDirectory), {
      stdio: 'inherit',
      shell: process.platform === 'win32',
    });
    if (result.status !== 0) {
      console.error(`infra:build: ${compiler.command} failed to compile infra/main.bicep`);
      return result.status ?? 1;
    }
    console.log(`infra:build: infra/main.bicep compiles (${compiler.command})`);
    return 0;
  } finally {
    rmSync(outputDirectory, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
