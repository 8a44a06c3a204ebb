/**
 * vitest globalSetup: decides once per run whether the Bicep tests can run.
 * Without a Bicep CLI they are skipped, and this says so in one line with how to
 * get one; on CI (CI=true) a missing Bicep CLI fails the run instead.
 */
import type { TestProject } from 'vitest/node';
import { HOW_TO_GET_BICEP, findBicep } from '../../scripts/bicep-cli.js';

export default function setup(project: TestProject): void {
  const cli = findBicep();
  if (!cli && process.env.CI === 'true') {
    throw new Error(`CI=true and no Bicep CLI on PATH or in .tools/nuget/: the Bicep tests cannot be skipped on CI; ${HOW_TO_GET_BICEP}.`);
  }
  if (!cli) console.warn(`Bicep tests skipped: no Bicep CLI on PATH or in .tools/nuget/; ${HOW_TO_GET_BICEP}.`);
  project.provide('bicep', { path: cli?.path ?? null, source: cli?.source ?? null });
}
