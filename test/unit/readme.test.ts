import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';

import { readmeSection as section } from '../helpers/repo-files.js';

describe('README', () => {
  it('when a setting is added to src/config.ts, then the configuration table must list it with its default', () => {
    const rows = new Map<string, string>();
    for (const match of section('Configuration').matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)) rows.set(match[1]!, match[2]!.trim());
    const specs = Object.values(SETTINGS) as Array<{ env: string; default?: string; required?: boolean }>;
    expect([...rows.keys()]).toEqual(specs.map((spec) => spec.env));
    for (const spec of specs) {
      const expected = spec.default !== undefined ? `\`${spec.default}\`` : spec.required ? '(required)' : '(empty)';
      expect(rows.get(spec.env), spec.env).toBe(expected);
    }
  });

  it('names the two commands of the quick start', () => {
    const quickStart = section('Quick start');
    expect(quickStart).toContain('npm run demo');
    expect(quickStart).toContain('npm test');
    const scripts = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts as Record<string, string>;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['demo', 'test', 'emulator', 'start', 'build', 'lint']));
  });

  it('documents the secret tags the activities write', async () => {
    const { SECRET_TAGS, KEY_CONTENT_TYPE, CONNECTION_STRING_CONTENT_TYPE } = await import('../../src/activities/index.js');
    const contract = section('The Key Vault secret contract (for consumer apps)');
    for (const tag of Object.values(SECRET_TAGS)) expect(contract).toContain(`\`${tag}\``);
    expect(contract).toContain(KEY_CONTENT_TYPE);
    expect(contract).toContain(CONNECTION_STRING_CONTENT_TYPE);
  });
});
