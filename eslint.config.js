import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      '.local/',
      '.bench/',
      '.tmp-*/',
      'coverage/',
      'layers/**/nodejs/',
      'console/dist/',
      'console/.dist-*/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // One zod for every schema: the tree-shakable mini build through #platform/zod (English messages installed).
      // The chained API weighs ≈ 100 KB in a bundle, `import { z }` of it ≈ 440 KB (every locale).
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'zod', message: "Use `import * as z from '#platform/zod'` (zod/mini, tree-shakable)." }],
          patterns: [
            {
              group: ['zod/*'],
              message: "Use `import * as z from '#platform/zod'` (zod/mini, tree-shakable).",
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='#platform/zod'] > :matches(ImportSpecifier, ImportDefaultSpecifier)",
          message: "Use `import * as z from '#platform/zod'`.",
        },
      ],
      // Every test runs; a skip needs a reason on its line.
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'No focused tests.' },
        { object: 'test', property: 'only', message: 'No focused tests.' },
        { object: 'describe', property: 'only', message: 'No focused tests.' },
      ],
    },
  },
  { files: ['functions/platform/zod.ts'], rules: { 'no-restricted-imports': 'off' } },
);
