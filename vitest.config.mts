import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    benchmark: { include: ['bench/**/*.bench.ts'] },
    // The Functions host's core module must be stood in for before @azure/functions
    // is first loaded: it caches a failed lookup.
    // Finds the Bicep CLI once per run (the infra tests read the compiled templates).
    globalSetup: ['test/setup/bicep.ts'],
    setupFiles: ['test/setup/loopback-only.ts', 'test/setup/functions-core.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
