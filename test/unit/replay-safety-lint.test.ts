import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The orchestrator's replay rules are enforced by ESLint, not by review.
async function ruleIdsFor(code: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint();
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

describe('replay-safety lint rules', () => {
  it('when an orchestrator reads the clock, randomness, the environment or the file system, then lint fails', async () => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      'export const a = Date.now() + Math.random() + new Date().getTime() + Number(process.env.X) + readFileSync("x").length;',
    ].join('\n');
    const rules = await ruleIdsFor(code, 'src/workflow/example.ts');
    expect(rules).toEqual(
      expect.arrayContaining(['no-restricted-imports', 'no-restricted-properties', 'no-restricted-syntax', 'no-restricted-globals']),
    );
    expect(rules).toHaveLength(5);
  });

  it('when an orchestrator reaches the clock or randomness another way, then lint fails too', async () => {
    const code = 'export const a = [crypto.randomUUID(), performance.now(), Date(), globalThis.Date.now()];';
    const rules = await ruleIdsFor(code, 'src/workflow/example.ts');
    expect(rules.filter((rule) => rule === 'no-restricted-globals')).toHaveLength(3);
    expect(rules).toContain('no-restricted-syntax');
  });

  it('when the same code is in an activity, then lint accepts it', async () => {
    const code = 'export const a = Date.now() + Number(process.env.X);';
    expect(await ruleIdsFor(code, 'src/activities/example.ts')).toEqual([]);
  });

  it('when domain code imports an Azure SDK, then lint fails', async () => {
    const code = "import { SecretClient } from '@azure/keyvault-secrets';\nexport const c = SecretClient;";
    expect(await ruleIdsFor(code, 'src/domain/example.ts')).toEqual(['no-restricted-imports']);
  });
});
