#!/usr/bin/env node
/* global process, console */
/**
 * Bundles the CLI (docs/architecture.md "Start-up"): after tsc has built dist/, esbuild writes
 * src/cli/main.ts and everything it imports as one file over dist/src/cli/main.js, the bin
 * package.json names. One file instead of some 200 modules saves most of a start's module
 * resolution and loading. A module the CLI loads with `import()` is in the file too, but only
 * evaluated when it is first imported, so `--version` does not run the scan pipeline's
 * modules. The library's face, dist/src/index.js, stays tsc's output, unbundled.
 *
 * The bundle sits where tsc's modules do, two folders below the package root, so the paths a
 * module finds from `import.meta.url` (package.json, schemas/, docs/checks.md) stay right.
 * Modules loaded through `createRequire` (zstd-napi's native addon, undici's parts, yaml, ajv
 * when a schema is compiled at run time) are not bundled: they load from node_modules at run
 * time, as before.
 *
 *   node scripts/bundle.js   (npm run build and build:dist run it after tsc;
 *                             OCI_SCAN_BUNDLE_SIZES=1 prints what the bundle is made of)
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeMetafile, build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What both bundles share. */
const common = {
  absWorkingDir: root,
  allowOverwrite: true,
  bundle: true,
  // One file: chunks (esbuild's splitting) were measured slower, each file loaded costs more than
  // compiling the code it spares (docs/architecture.md "Start-up").
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  tsconfig: 'tsconfig.build.json',
  // Less text to compile; names are kept, for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'inline',
  // A native addon is no JavaScript; it stays optional (the WebAssembly decoder otherwise).
  external: ['zstd-napi'],
  // The CommonJS packages bundled (pino, parts of yargs) call require() for Node's own modules.
  banner: { js: "import { createRequire as __ociScanRequire } from 'node:module'; const require = __ociScanRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
};
const result = await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/src/cli/main.js',
  // src/inspect/host.ts finds the layer worker's file from the bundle's folder.
  define: { OCI_SCAN_BUNDLED: 'true' },
});
// The layer worker (src/inspect/worker.ts) starts a thread of its own, which loads its file:
// bundled too, over tsc's module, for the same reason.
await build({ ...common, entryPoints: ['src/inspect/worker.ts'], outfile: 'dist/src/inspect/worker.js' });
rmSync(join(root, 'dist/src/inspect/worker.js.map'), { force: true });
// tsc's source map was of the module the bundle replaced.
rmSync(join(root, 'dist/src/cli/main.js.map'), { force: true });
if (process.env['OCI_SCAN_BUNDLE_SIZES']) console.log(await analyzeMetafile(result.metafile));
