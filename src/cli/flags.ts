/**
 * The V8 flags of an `oci-scan` process (docs/architecture.md "Start-up" and "Memory and
 * speed"), set by the executable before anything else is compiled: the CLI's code cache is only
 * taken by a V8 whose flags are the ones it was made under (src/cli/code-cache.ts).
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';

/** Whether zstd-napi's native addon resolves (else the WebAssembly zstd decoder is the one used). */
function nativeZstd(): boolean {
  try {
    createRequire(import.meta.url).resolve('zstd-napi/binding');
    return true;
  } catch {
    return false;
  }
}

/** Sets the CLI's V8 flags on this process. The library sets none. */
export function setCliFlags(env: NodeJS.ProcessEnv = process.env): void {
  // undici parses HTTP with llhttp, built to WebAssembly. V8's optimizing compile of it cost a
  // registry run about 40 ms and 35 MB of peak RSS, for no measurable gain on a whole image's
  // download: V8's baseline compiler alone does. Not when the WebAssembly zstd decoder may be the
  // one in use (no zstd-napi, or OCI_SCAN_ZSTD=wasm): it decodes at about 0.7 × its speed
  // without the optimizing compiler.
  if (env['OCI_SCAN_ZSTD'] !== 'wasm' && nativeZstd()) setFlagsFromString('--liftoff-only');
  // A scan hands V8 a gigabyte of short-lived decompressed buffers over a small heap: V8 then
  // starts incremental marking over and over (some 35 mark-compacts on a 750 MB image, with
  // concurrent markers taking the cores the decompressors need), for a heap that never needs it.
  // Without incremental marking V8 collects when the heap reaches its limit: 2 mark-compacts, and
  // a cold scan about 20 % faster at the same peak RSS.
  setFlagsFromString('--no-incremental-marking');
}
