/**
 * `npm run infra:check` as a test: every template in infra/ builds to ARM JSON and
 * lints clean with infra/bicepconfig.json, and that config really turns Bicep's
 * recommended rules into errors (rule names from Microsoft Learn, "Bicep linter").
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { INFRA_DIR, bicepSources, parseDiagnostics } from '../../scripts/bicep-cli.js';
import { bicepAvailable, compiledInfra } from '../helpers/arm.js';

describe.runIf(bicepAvailable)('npm run infra:check', () => {
  it('when every template is built and linted, then there is no error, no warning and no other output', () => {
    const build = compiledInfra();

    expect(build.diagnostics).toEqual([]);
    expect(build.otherOutput).toBe('');
    expect(build.exitCode).toBe(0);
    expect(bicepSources()).toContain('main.bicep');
  });

  describe('infra/bicepconfig.json', () => {
    const directory = mkdtempSync(join(tmpdir(), 'bicep-lint-'));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));

    it('when a template breaks recommended rules, then the linter reports each one as an error, not a warning', () => {
      copyFileSync(join(INFRA_DIR, 'bicepconfig.json'), join(directory, 'bicepconfig.json'));
      writeFileSync(
        join(directory, 'probe.bicep'),
        [
          'param unusedName string',
          "param adminPassword string = 'hunter2'",
          "var unusedVariable = 'x'",
          "var joined = concat('a', adminPassword)",
          "var endpoint = 'https://management.azure.com/'",
          "output everything object = { 'quoted': joined, simple: '${endpoint}' }",
          '',
        ].join('\n'),
      );
      const result = spawnSync(inject('bicep').path!, ['lint', join(directory, 'probe.bicep')], { encoding: 'utf8' });
      const found = parseDiagnostics(`${result.stdout}\n${result.stderr}`);
      const levels = Object.fromEntries(found.map((item) => [item.code, item.level]));

      expect(levels).toMatchObject({
        'no-unused-params': 'Error',
        'no-unused-vars': 'Error',
        'prefer-interpolation': 'Error',
        'no-hardcoded-env-urls': 'Error',
        'prefer-unquoted-property-names': 'Error',
        'simplify-interpolation': 'Error',
        'secure-secrets-in-params': 'Error',
      });
      expect(found.filter((item) => item.level !== 'Error')).toEqual([]);
      expect(result.status).not.toBe(0);
    });
  });
});
