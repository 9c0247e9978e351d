#!/usr/bin/env node
/** The `oci-scan` executable (docs/usage.md): runs the command line and exits with its code. */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { hideBin } from 'yargs/helpers';
import { main } from './run.js';

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

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
