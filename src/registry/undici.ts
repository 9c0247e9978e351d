/**
 * undici, loaded on first use: a scan of a local archive or layout, `--help` and `--version`
 * never talk HTTP and need not pay its load time (about 50 ms, most of a CLI start's module
 * loading; docs/architecture.md "Memory and speed").
 */
import { createRequire } from 'node:module';

let loaded: typeof import('undici') | undefined;

/** The undici module. */
export function undici(): typeof import('undici') {
  loaded ??= createRequire(import.meta.url)('undici') as typeof import('undici');
  return loaded;
}
