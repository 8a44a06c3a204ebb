/**
 * `npm run infra:check`: builds every template in infra/ to ARM JSON and lints it
 * with infra/bicepconfig.json (Bicep's recommended rules as errors). Passes only with
 * zero errors, zero warnings and zero infos; a suppression must be inline, with its reason.
 * `npm run infra:restore` restores the pinned Bicep CLI from NuGet when none is installed.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOW_TO_GET_BICEP, bicepSources, bicepVersion, buildTemplates, findBicep, restoreBicep } from './bicep-cli.js';

function check(): number {
  const cli = findBicep();
  if (!cli) {
    console.error(`infra:check: no Bicep CLI on PATH or in .tools/nuget/; ${HOW_TO_GET_BICEP}.`);
    return 1;
  }
  const sources = bicepSources();
  const build = buildTemplates(cli);
  for (const item of build.diagnostics) console.error(`${item.file}:${item.line}: ${item.level} ${item.code}: ${item.message}`);
  if (build.otherOutput) console.error(build.otherOutput);
  const version = bicepVersion(cli);
  if (build.exitCode !== 0 || build.diagnostics.length > 0 || build.otherOutput) {
    console.error(`infra:check: failed with Bicep CLI ${version} (${cli.source}): ${build.diagnostics.length} diagnostic(s) in ${sources.length} templates.`);
    return 1;
  }
  console.log(`infra:check: ${sources.length} templates build to ARM JSON and lint clean with Bicep CLI ${version} (${cli.source}).`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = process.argv.includes('--restore') ? restoreBicep() : check();
}
