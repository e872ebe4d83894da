// Lint rules that keep each folder in its own process: core/ is pure logic, contract/ is data the
// renderer may import, and only engine/ may reach Node's side effects.
import tseslint from 'typescript-eslint';

const nodeOnly = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'];
const sideEffects = ['better-sqlite3', 'onnxruntime-node', 'sharp', 'heic-decode', 'trash'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'models/train/**', 'bin/**', 'scripts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron'], message: 'electron is imported only in src-main/app/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/core/**/*.ts', 'src-main/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...nodeOnly, ...sideEffects, 'electron'],
              message: 'core/ and contract/ stay free of Node, Electron and I/O.',
            },
            {
              group: ['**/engine/**', '**/cli/**', '**/app/**'],
              message: 'core/ and contract/ import nothing above them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/app/**', 'electron'],
              message: 'The CLI never imports the Electron app.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/app/**/*.ts', 'src-main/preload.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
