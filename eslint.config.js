import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import stylistic from '@stylistic/eslint-plugin';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/corpus/**', 'examples/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    plugins: { '@stylistic': stylistic },
    rules: {
      // prettier wraps code at 140 columns; this catches what it cannot wrap (strings, comments).
      '@stylistic/max-len': ['error', { code: 140, tabWidth: 2 }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // CommonJS config files of the tools (dependency-cruiser).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // Workflow code is replayed deterministically in Temporal's sandbox: no node builtins, and from
    // src only the pure core (src/core/) at run time (everything else as `import type`).
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'fs/*', 'path', 'child_process', 'crypto', 'os', 'stream', 'net', 'http', 'https', 'worker_threads'],
              message: 'workflow code runs in a deterministic sandbox: no node builtins.',
            },
            {
              regex: '^\\.\\./src/(?!core/)',
              allowTypeImports: true,
              message: 'workflows may import only src/core/ (pure) at run time; use `import type` for the rest.',
            },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'workflow code may use @temporalio/workflow and @temporalio/common only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The core is shared with Temporal workflow code, which runs in a sandbox without node builtins.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'child_process', 'crypto', 'os', 'stream'],
              message: 'src/core/ must stay pure: it is bundled into Temporal workflows.',
            },
          ],
        },
      ],
    },
  },
);
