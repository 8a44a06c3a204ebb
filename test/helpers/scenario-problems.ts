import { expect } from 'vitest';
import { parseScenario, type ScenarioError } from '../../emulator/demo/scenario.js';

/** The problems a scenario file is refused with; fails the test when it is accepted. */
export function problemsOf(json: unknown): string[] {
  try {
    parseScenario(json, { source: 'scenario.json' });
  } catch (error) {
    expect((error as Error).name).toBe('ScenarioError');
    return (error as ScenarioError).problems;
  }
  throw new Error('the scenario was accepted');
}
