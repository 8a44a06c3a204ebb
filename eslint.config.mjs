// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'coverage/**', '.azurite/**', '.emulator-data/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Orchestrators are replayed: they must be deterministic and free of I/O.
    // Reading the clock, randomness, the environment or an adapter here is a build error.
    files: ['src/workflow/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@azure/*', '!@azure/functions'], message: 'Orchestrators do no I/O: call an activity instead.' },
          { group: ['**/azure/*', '**/activities/*', '!**/activities/contracts.js', 'node:*', 'fs', 'http', 'https', 'crypto'], message: 'Orchestrators do no I/O: call an activity instead.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'Orchestrators take settings as input, never from process.env.' },
        { name: 'setTimeout', message: 'Use context.df.createTimer: orchestrators are replayed.' },
        { name: 'setInterval', message: 'Use context.df.createTimer: orchestrators are replayed.' },
        { name: 'fetch', message: 'Orchestrators do no I/O: call an activity instead.' },
        { name: 'crypto', message: 'Orchestrators must be deterministic: no random IDs (use context.df.newGuid).' },
        { name: 'performance', message: 'Use context.df.currentUtcDateTime: orchestrators are replayed.' },
        { name: 'globalThis', message: 'Orchestrators take nothing from the global scope.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime: orchestrators are replayed.' },
        { object: 'Math', property: 'random', message: 'Orchestrators must be deterministic.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime: orchestrators are replayed.' },
        { selector: "CallExpression[callee.name='Date']", message: 'Use context.df.currentUtcDateTime: orchestrators are replayed.' },
      ],
    },
  },
  {
    // Pure domain logic imports no SDK.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@azure/*', 'durable-functions', 'node:*'], message: 'src/domain is pure: no SDKs, no I/O.' }] }],
    },
  },
);
