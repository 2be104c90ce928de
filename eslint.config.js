// ESLint 9 flat config (npm run lint): JavaScript's and typescript-eslint's recommended rules, the
// classic rules of React hooks for the console, and eslint-config-prettier last so that layout is
// Prettier's alone (npm run format:check).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // src/api-types.ts is generated (scripts/generate-api-types.ts) and checked against spec/ instead.
    ignores: ['dist/', 'node_modules/', 'data/', '.bench/', 'bench/results/', 'src/api-types.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter a signature requires but the body does not use; `{ [key]: _, ...rest }`
      // is how an entry is dropped from an object without mutating it.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.{ts,mjs}', 'bench/**/*.ts', '*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    // The CLI is a client (docs/cli.md): a command that talks to a server must not load the server's
    // configuration and its dependencies on every run. `extrepo serve`, `migrate` and `gc` import the
    // server lazily, when they run.
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/config.js'], message: "The CLI does not load the server's configuration; see src/archive/default-limits.ts." }] },
      ],
    },
  },
  {
    // Tests read JSON answers as they come and assert their shape field by field; typing every answer
    // would repeat src/api-types.ts without making an assertion stronger.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
