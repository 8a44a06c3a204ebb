/**
 * `npm run demo -- [--scenario FILE | --all] [--json FILE] [--quiet]`
 *
 * Exit codes: 0 every expectation met; 1 an expectation failed (or the run
 * itself broke); 2 bad arguments or an invalid scenario file.
 */
import { writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DemoReport } from './report.js';
import { DEFAULT_SCENARIO, listScenarioFiles } from './run-files.js';
import { runScenario } from './runner.js';
import { loadScenarioFile, type Scenario } from './scenario.js';
import { formatSummary } from './summary.js';
import { wrapText } from './text.js';

const USAGE = `usage: npm run demo -- [--scenario FILE | --all] [--json FILE] [--quiet]
  --scenario FILE  the scenario to run (default scenarios/01-happy-path.json)
  --all            run every scenarios/*.json in order
  --json FILE      also write the report as JSON (an array with --all)
  --quiet          print the summary only, not the timeline
See docs/scenarios.md for both formats.`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Options {
  scenarioFiles: string[];
  jsonFile: string | null;
  quiet: boolean;
}

async function parseOptions(argv: string[]): Promise<Options | 'help'> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.all && values.scenario) throw new UsageError('--scenario and --all exclude each other');
  if (values.json !== undefined && !values.json.trim()) throw new UsageError('--json needs a file name');
  const scenarioFiles = values.all ? await listScenarioFiles() : [resolve(values.scenario ?? DEFAULT_SCENARIO)];
  return { scenarioFiles, jsonFile: values.json ? resolve(values.json) : null, quiet: values.quiet ?? false };
}

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = await parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  // Every file is validated before anything runs: a typo in the fifth should not wait for four runs.
  const scenarios: Array<{ file: string; scenario: Scenario }> = [];
  for (const file of options.scenarioFiles) {
    try {
      scenarios.push({ file, scenario: await loadScenarioFile(file) });
    } catch (error) {
      if ((error as Error).name !== 'ScenarioError') throw error;
      process.stderr.write(`demo: ${(error as Error).message}\n`);
      return 2;
    }
  }

  const reports: DemoReport[] = [];
  for (const { file, scenario } of scenarios) {
    const shownFile = shownPath(file);
    process.stdout.write(`\n# ${shownFile}\n`);
    if (scenario.description && !options.quiet) process.stdout.write(`${wrapText(scenario.description, 100)}\n\n`);
    const report = await runScenario(scenario, {
      source: shownFile,
      ...(options.quiet ? {} : { onLine: (line: string) => process.stdout.write(`${line}\n`) }),
    });
    reports.push(report);
    process.stdout.write(`${formatSummary(report)}\n`);
  }
  if (reports.length > 1) {
    process.stdout.write('\n');
    for (const report of reports) {
      process.stdout.write(`${report.passed ? 'PASSED' : 'FAILED'}  ${report.scenario.name}  (${(report.wallClockMs / 1000).toFixed(1)} s)\n`);
    }
  }
  if (options.jsonFile) {
    await writeFile(options.jsonFile, `${JSON.stringify(reports.length === 1 && options.scenarioFiles.length === 1 ? reports[0] : reports, null, 2)}\n`);
    process.stdout.write(`\nreport written to ${shownPath(options.jsonFile)}\n`);
  }
  return reports.every((report) => report.passed) ? 0 : 1;
}

/** Relative to the working directory when inside it, else absolute. */
function shownPath(file: string): string {
  const relativePath = relative(process.cwd(), file);
  return relativePath && !relativePath.startsWith('..') ? relativePath : file;
}

// `npm run demo | head` closes the pipe early: stop quietly rather than crash on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
