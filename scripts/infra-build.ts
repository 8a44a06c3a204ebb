/**
 * `npm run infra:build`: writes the custom roles' action lists from the code, then
 * compiles the Bicep templates when a Bicep CLI is installed (scripts/bicep-cli.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROLE_ACTIONS_FILE, type RoleActionsFile } from '../src/azure/permissions.js';
import { HOW_TO_GET_BICEP, buildTemplates, findBicep } from './bicep-cli.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ROLE_ACTIONS_PATH = join(REPO_ROOT, 'infra', 'app', 'rotator-role-actions.json');

/** The file infra/app/rotator-role.bicep loads: the code's lists, one action a line. */
export function renderRoleActions(file: RoleActionsFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
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

  const cli = findBicep();
  if (!cli) {
    console.log(`infra:build: no Bicep CLI, so the templates were not compiled; ${HOW_TO_GET_BICEP}.`);
    return 0;
  }
  const build = buildTemplates(cli);
  for (const item of build.diagnostics) console.error(`${item.file}:${item.line}: ${item.level} ${item.code}: ${item.message}`);
  if (build.exitCode !== 0) {
    console.error(`infra:build: the templates do not compile (${cli.path})`);
    return build.exitCode;
  }
  console.log(`infra:build: the templates compile to ${build.outputDirectory}; npm run infra:check also holds them to the linter`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
