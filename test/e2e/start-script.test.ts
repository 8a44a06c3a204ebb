import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const projectDir = resolve(import.meta.dirname, '../..');
const emptyBinDir = mkdtempSync(join(tmpdir(), 'no-func-'));

afterAll(() => rmSync(emptyBinDir, { recursive: true, force: true }));

describe('npm start', () => {
  it('when Core Tools are not installed, then it says how to install them in one line and exits non-zero without building', () => {
    const settingsExisted = existsSync(join(projectDir, 'local.settings.json'));

    const result = spawnSync(process.execPath, [join(projectDir, 'scripts/start.mjs')], {
      cwd: projectDir,
      env: { ...process.env, PATH: emptyBinDir },
      encoding: 'utf8',
      timeout: 20_000,
    });

    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('`func`');
    expect(lines[0]).toContain('npm i -g azure-functions-core-tools@4');
    // Nothing else happened: no build output, no Azurite, no settings file written.
    expect(result.stdout).toBe('');
    expect(existsSync(join(projectDir, 'local.settings.json'))).toBe(settingsExisted);
  });
});
