#!/usr/bin/env node
/* global process, console */
/**
 * Bundles the CLI (docs/architecture.md "Start-up"). After tsc has built dist/, esbuild writes
 * src/cli/cli.ts and everything it imports as one CommonJS script, dist/src/cli/oci-scan.cjs,
 * and the executable, src/cli/main.ts, over tsc's dist/src/cli/main.js, the bin package.json
 * names. The executable compiles the script with a V8 code cache made here from a warm re-scan
 * of the demo image (dist/src/cli/oci-scan.cjs.v8-cache, scripts/code-cache.js). One file
 * instead of some 200 modules saves most of a start's module resolution and loading; the code
 * cache saves most of compiling it. A module the CLI loads with `import()` is in the file too,
 * but only evaluated when it is first imported, so `--version` does not run the scan
 * pipeline's modules. The library's face, dist/src/index.js, stays tsc's output, unbundled.
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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// The command line: one CommonJS script, which the executable compiles with its code cache
// (src/cli/code-cache.ts). Node takes a code cache for a script, not for an ES module. The
// paths a module finds from `import.meta.url` are the bundle's, set by the banner.
const result = await build({
  ...common,
  format: 'cjs',
  entryPoints: ['src/cli/cli.ts'],
  outfile: 'dist/src/cli/oci-scan.cjs',
  define: { OCI_SCAN_BUNDLED: 'true', 'import.meta.url': '__ociScanUrl' },
  banner: { js: "var __ociScanUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// A script run by node:vm has no loader for import(): every module must be in the bundle.
const bundle = readFileSync(join(root, 'dist/src/cli/oci-scan.cjs'), 'latin1');
if (/\bimport\(/.test(bundle)) throw new Error('dist/src/cli/oci-scan.cjs holds an import(), which the executable cannot run');
// The executable, over tsc's main.js: sets the V8 flags, runs the bundle (not tsc's cli.js).
await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/src/cli/main.js',
  external: ['zstd-napi', './cli.js'],
  banner: {},
  define: { OCI_SCAN_BUNDLED: 'true' },
});
// The layer worker (src/inspect/worker.ts) starts a thread of its own, which loads its file:
// bundled too, over tsc's module, for the same reason.
await build({ ...common, entryPoints: ['src/inspect/worker.ts'], outfile: 'dist/src/inspect/worker.js' });
rmSync(join(root, 'dist/src/inspect/worker.js.map'), { force: true });
// tsc's source maps were of the modules the bundles replaced.
rmSync(join(root, 'dist/src/cli/main.js.map'), { force: true });
trainCodeCache();
if (process.env['OCI_SCAN_BUNDLE_SIZES']) console.log(await analyzeMetafile(result.metafile));

/**
 * The code cache (scripts/code-cache.js): a scan of the demo image fills a cache directory, then
 * the same scan again, warm, is what the code cache is made from — the run whose start-up is
 * most of its time. Without the demo image (a tree without fixtures/) there is no code cache:
 * the executable then compiles the bundle from its source.
 */
function trainCodeCache() {
  const cache = join(root, 'dist/src/cli/oci-scan.cjs.v8-cache');
  rmSync(cache, { force: true });
  if (!existsSync(join(root, 'fixtures/demo/index.json'))) {
    console.warn('scripts/bundle.js: no fixtures/demo: the CLI is built without its code cache');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'oci-scan-code-cache-'));
  try {
    const args = ['oci:fixtures/demo:1.0', '--cache-dir', join(dir, 'cache'), '--reports-dir', join(dir, 'reports'), '--progress', 'plain'];
    // The executable's V8 flags depend on OCI_SCAN_ZSTD: the cache is made under the default ones.
    const env = { ...process.env };
    delete env['OCI_SCAN_ZSTD'];
    const run = (entry) => spawnSync(process.execPath, [join(root, entry), ...args], { cwd: root, env, encoding: 'utf8' });
    for (const entry of ['dist/src/cli/main.js', 'scripts/code-cache.js']) {
      const { status, stderr } = run(entry);
      // The demo image fails checks (exit codes 12–15); anything else is a broken build.
      if (status === null || (status !== 0 && (status < 12 || status > 15)))
        throw new Error(`scripts/bundle.js: ${entry} on the demo image exited with ${status}: ${stderr.trim()}`);
    }
    if (!existsSync(cache)) throw new Error('scripts/bundle.js: scripts/code-cache.js wrote no code cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
