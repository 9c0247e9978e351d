#!/usr/bin/env node
/**
 * The `oci-scan` executable (docs/usage.md): sets the V8 flags, then runs the command line
 * (src/cli/cli.ts). Built by scripts/bundle.js (docs/architecture.md "Start-up"), it runs the
 * bundle of the command line with its code cache; as tsc's module, unbundled, it imports
 * src/cli/cli.ts.
 */
import { fileURLToPath } from 'node:url';
import { runBundle } from './code-cache.js';
import { setCliFlags } from './flags.js';

/** Defined (true) by scripts/bundle.js. */
declare const OCI_SCAN_BUNDLED: boolean | undefined;

// First: V8 takes a code cache only under the flags it was made under.
setCliFlags();
if (typeof OCI_SCAN_BUNDLED !== 'boolean' || !runBundle(fileURLToPath(new URL('./oci-scan.cjs', import.meta.url))))
  await import('./cli.js');
