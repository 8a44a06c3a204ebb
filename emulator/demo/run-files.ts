/** Where the shipped scenarios live (separate from run.ts, which runs on import). */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SCENARIO_DIR = join(projectDir, 'scenarios');
export const DEFAULT_SCENARIO = join(SCENARIO_DIR, '01-happy-path.json');

/** Every scenarios/*.json, in name order (01 first). */
export async function listScenarioFiles(): Promise<string[]> {
  const names = (await readdir(SCENARIO_DIR)).filter((name) => name.endsWith('.json')).sort();
  return names.map((name) => join(SCENARIO_DIR, name));
}
