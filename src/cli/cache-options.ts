/**
 * Where the layer-facts cache lives and how large it may grow (docs/cache.md), read the same
 * way by `scan` and by the `cache` command: `--cache-dir`, else OCI_SCAN_CACHE_DIR, else
 * `$XDG_CACHE_HOME/oci-scan`, else `~/.cache/oci-scan`.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { OciScanError } from '../errors.js';
import { DEFAULT_CACHE_MAX_BYTES } from '../store/disk.js';
import { parseSize } from './options.js';

/** The cache of a run. */
export interface CacheConfig {
  readonly dir: string;
  readonly maxBytes: number;
}

/** The cache directory from the flag, the environment or the XDG default. */
export function cacheDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) {
    if (flag === '') throw new OciScanError('USAGE', '--cache-dir needs a directory (or use --no-cache)');
    return flag;
  }
  const fromEnv = env['OCI_SCAN_CACHE_DIR'];
  if (fromEnv) return fromEnv;
  // The XDG base directory spec ignores a relative XDG_CACHE_HOME.
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'oci-scan');
  return join(env['HOME'] || homedir(), '.cache', 'oci-scan');
}

/** The cache's configuration from `--cache-dir` and `--cache-max-size`. */
export function cacheConfig(dirFlag: string | undefined, maxSize: string | undefined, env: NodeJS.ProcessEnv): CacheConfig {
  return {
    dir: cacheDir(dirFlag, env),
    maxBytes: maxSize === undefined ? DEFAULT_CACHE_MAX_BYTES : parseSize(maxSize, '--cache-max-size'),
  };
}
