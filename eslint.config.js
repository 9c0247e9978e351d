// Lint: the recommended rules of ESLint and typescript-eslint, plus the house habits: imports point
// down only (docs/architecture.md), no unhandled promises, no .pipe(), no `any`, only src/cli exits.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Imports point down only (docs/architecture.md): cli → audit → scan → inspect | report | policy → checks → layer | store;
 * scan → sources → registry → auth → reference; everything → image → the ground floor (schema,
 * concurrency, errors). For each room, the top-level folders (and files) of src/ it must not
 * import. `sources` may use the byte-level half of `layer` (tar reading, decompression, path
 * normalisation) to read archives.
 */
const TOP = [
  'cli',
  'audit',
  'attest',
  'scan',
  'index',
  'report',
  'policy',
  'inspect',
  'checks',
  'layer',
  'store',
  'sources',
  'registry',
  'auth',
  'reference',
  'image',
  'schema',
  'concurrency',
];
/** The ground floor: every other room may import these, and they import no room. */
const GROUND = ['schema', 'concurrency'];
/** The rooms that are one file of src/, not a folder. */
const FILE_ROOMS = ['scan', 'concurrency'];
const MAY_IMPORT = {
  schema: [],
  concurrency: [],
  image: [],
  reference: ['image'],
  auth: ['reference', 'image'],
  registry: ['auth', 'reference', 'image'],
  sources: ['registry', 'auth', 'reference', 'image', 'layer-bytes'],
  layer: ['image'],
  store: ['layer', 'image'],
  checks: ['layer', 'image', 'reference'],
  report: ['checks', 'layer', 'image', 'reference'],
  policy: ['checks', 'layer', 'image', 'reference'],
  inspect: ['checks', 'layer', 'image', 'reference'],
  scan: ['inspect', 'report', 'policy', 'checks', 'layer', 'store', 'sources', 'registry', 'auth', 'reference', 'image'],
  attest: ['report', 'policy', 'checks', 'layer', 'registry', 'auth', 'reference', 'image'],
  audit: ['attest', 'scan', 'inspect', 'report', 'policy', 'checks', 'layer', 'store', 'sources', 'registry', 'auth', 'reference', 'image'],
};
const LAYER_BYTES = '(tar/|decompress\\.js$|paths\\.js$)';
const boundaries = Object.entries(MAY_IMPORT).map(([folder, allowed]) => {
  const ground = (t) => GROUND.includes(t) && !GROUND.includes(folder);
  const forbidden = TOP.filter((t) => t !== folder && !allowed.includes(t) && !ground(t));
  const patterns = forbidden.map((t) => ({
    // `../x/…` or `../../x.js` from anywhere below src/<folder>/ (or `./x…` from src/<file room>.ts).
    regex:
      t === 'layer' && allowed.includes('layer-bytes')
        ? `^(\\.\\./)+layer/(?!${LAYER_BYTES})`
        : `^(\\.\\./)+${t}(/|\\.js$)|^\\./${FILE_ROOMS.includes(folder) ? t : '(?!)'}(/|\\.js$)`,
    message: `src/${folder} must not import src/${t}: imports point down only (docs/architecture.md).`,
  }));
  return {
    files: FILE_ROOMS.includes(folder) ? [`src/${folder}.ts`] : [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
});

export default tseslint.config(
  // Generated code: ajv's standalone validators (scripts/validators.ts), the zstd WebAssembly module (scripts/zstd-wasm/).
  { ignores: ['dist/', 'node_modules/', 'reports/', 'fixtures/demo/', 'src/schema/*.generated.ts', 'src/layer/zstd-wasm.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    // Type-aware rules: a promise nobody awaits loses its error (and can outlive the scan).
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it/test return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='pipe']", message: 'Use pipeline() from node:stream/promises, never .pipe().' },
      ],
    },
  },
  ...boundaries,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only src/cli may exit the process.' }],
      'no-console': 'error',
    },
  },
);
