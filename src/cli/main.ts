#!/usr/bin/env node
/** The `oci-scan` executable (docs/usage.md): runs the command line and exits with its code. */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { hideBin } from 'yargs/helpers';
import { prepareLayerWorker } from '../inspect/spare.js';

// undici parses HTTP with llhttp, built to WebAssembly. V8's optimizing compile of it cost a
// registry run about 40 ms and 35 MB of peak RSS, for no measurable gain on a whole image's
// download: V8's baseline compiler alone does (docs/architecture.md "Start-up"). Not when the
// WebAssembly zstd decoder may be the one in use (no zstd-napi, or OCI_SCAN_ZSTD=wasm): it
// decodes at about 0.7 × its speed without the optimizing compiler.
const nativeZstd = (): boolean => {
  try {
    createRequire(import.meta.url).resolve('zstd-napi/binding');
    return true;
  } catch {
    return false;
  }
};
if (process.env['OCI_SCAN_ZSTD'] !== 'wasm' && nativeZstd()) setFlagsFromString('--liftoff-only');

// A scan hands V8 a gigabyte of short-lived decompressed buffers over a small heap: V8 then
// starts incremental marking over and over (some 35 mark-compacts on a 750 MB image, with
// concurrent markers taking the cores the decompressors need), for a heap that never needs it.
// Without incremental marking V8 collects when the heap reaches its limit: 2 mark-compacts, and
// a cold scan about 20 % faster at the same peak RSS (docs/architecture.md "Memory and speed").
setFlagsFromString('--no-incremental-marking');

const argv = hideBin(process.argv);

/** Whether `argv` runs a scan: not another command, not help, the version or the list of checks. */
const scans = (args: readonly string[]): boolean =>
  !['audit', 'cache', 'verify', 'help', 'version'].includes(args[0] ?? '') &&
  !args.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '--list-checks');

// A layer worker starts before the rest of the CLI loads, so that it is ready when a zstd layer
// needs it; a scan whose layers do not ends it (src/inspect/spare.ts, docs/architecture.md
// "Layer workers").
if (scans(argv)) prepareLayerWorker();
const { main } = await import('./run.js');

main(argv).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
