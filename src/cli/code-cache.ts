/**
 * The CLI's bundle run with a V8 code cache (docs/architecture.md "Start-up"). scripts/bundle.js
 * bundles src/cli/cli.ts and everything it imports into one CommonJS script, then runs a scan of
 * the demo image through `trainCodeCache` and keeps what V8 compiled for it in a file next to
 * the bundle. The executable (src/cli/main.ts) then compiles the bundle with that cache, so that
 * V8 deserializes the functions a run needs instead of parsing and compiling them again.
 *
 * The cache file is the SHA-256 of the bundle it was made from, then V8's data. It is used only
 * for those exact bytes (V8's own check compares a source's length, not its text), and V8 takes
 * it only when its version and flags are the ones it was made under: any other Node, or a V8
 * flag given in NODE_OPTIONS, compiles the bundle from its source as if there were no cache —
 * slower to start, nothing else.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The cache file's name: the bundle's, with this suffix. */
export const CODE_CACHE_SUFFIX = '.v8-cache';

const HASH_BYTES = 32;

/** The bundle compiled, with the hash of its bytes, ready to run once. */
export interface Compiled {
  readonly script: Script;
  readonly hash: Buffer;
  /** Whether V8 took the cache (false without one). */
  readonly cached: boolean;
  /** Runs the bundle as Node runs a CommonJS module. */
  run(): void;
}

/** `file`'s bytes, or undefined when there is no such file. */
function readIf(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Compiles the bundle `file` with `cache` when it was made from these bytes. */
function compile(file: string, bytes: Buffer, cache: Buffer | undefined): Compiled {
  const hash = createHash('sha256').update(bytes).digest();
  const data = cache && cache.length > HASH_BYTES && hash.equals(cache.subarray(0, HASH_BYTES)) ? cache.subarray(HASH_BYTES) : undefined;
  // The wrapper Node puts around a CommonJS module, on the source's first line: line numbers in
  // stack traces stay the bundle's.
  const source = `(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`;
  const script = new Script(source, { filename: file, ...(data ? { cachedData: data } : {}) });
  return {
    script,
    hash,
    cached: data !== undefined && !script.cachedDataRejected,
    run: () => {
      const fn = script.runInThisContext() as (
        exports: object,
        require: NodeJS.Require,
        module: object,
        filename: string,
        dir: string,
      ) => void;
      const module = { exports: {} };
      fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
    },
  };
}

/** The cache file of the bundle `file`; undefined when it cannot be read (no cache: the bundle still runs). */
function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(`${file}${CODE_CACHE_SUFFIX}`);
  } catch {
    return undefined;
  }
}

/** The bundle `file` compiled, with its code cache when it has a good one; undefined when there is no bundle. */
export function loadBundle(file: string): Compiled | undefined {
  const bytes = readIf(file);
  return bytes && compile(file, bytes, readCache(file));
}

/** Runs the bundle `file` (`loadBundle`); false, and nothing run, when there is no bundle. */
export function runBundle(file: string): boolean {
  const compiled = loadBundle(file);
  compiled?.run();
  return compiled !== undefined;
}

/**
 * Runs the bundle `file` without a cache and, as the process exits, writes the code cache of
 * what V8 compiled meanwhile: the functions a run like this one needs (scripts/code-cache.js).
 */
export function trainCodeCache(file: string): void {
  const bytes = readFileSync(file);
  const compiled = compile(file, bytes, undefined);
  process.on('exit', () =>
    writeFileSync(`${file}${CODE_CACHE_SUFFIX}`, Buffer.concat([compiled.hash, compiled.script.createCachedData()])),
  );
  compiled.run();
}
