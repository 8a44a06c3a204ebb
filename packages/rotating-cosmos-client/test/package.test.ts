/**
 * The package as an app installs it: built to ESM with type declarations,
 * imported by its name, and reading the secret contract the rotator writes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CONNECTION_STRING_CONTENT_TYPE as APP_CONNECTION_STRING_CONTENT_TYPE, KEY_CONTENT_TYPE as APP_KEY_CONTENT_TYPE, SECRET_TAGS } from '../../../src/activities/secret-format.js';
import { CONNECTION_STRING_CONTENT_TYPE, KEY_CONTENT_TYPE, KEY_KIND_TAG } from '../src/index.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the rotating-cosmos-client package', () => {
  it('when it is built, then an app imports it by name as ESM with type declarations', async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json')]);

    expect(existsSync(join(packageDir, 'dist', 'index.d.ts'))).toBe(true);
    // By name, through the workspace link and the package's exports map (a variable: dist/ exists only after the build).
    const packageName = 'rotating-cosmos-client';
    const built = (await import(packageName)) as Record<string, unknown>;
    expect(typeof built.createRotatingCosmosClient).toBe('function');
    expect(built.KEY_CONTENT_TYPE).toBe(KEY_CONTENT_TYPE);
  });

  it('when the rotator publishes a secret, then the library reads the same content types and keyKind tag', () => {
    expect({ KEY_CONTENT_TYPE, CONNECTION_STRING_CONTENT_TYPE, KEY_KIND_TAG }).toEqual({
      KEY_CONTENT_TYPE: APP_KEY_CONTENT_TYPE,
      CONNECTION_STRING_CONTENT_TYPE: APP_CONNECTION_STRING_CONTENT_TYPE,
      KEY_KIND_TAG: SECRET_TAGS.keyKind,
    });
  });
});
