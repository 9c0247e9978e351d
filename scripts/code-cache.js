#!/usr/bin/env node
/**
 * Makes the CLI's V8 code cache (docs/architecture.md "Start-up"): runs the bundle
 * dist/src/cli/oci-scan.cjs as the executable does, under the executable's V8 flags, with the
 * command line given here, and writes dist/src/cli/oci-scan.cjs.v8-cache as it exits
 * (src/cli/code-cache.ts). scripts/bundle.js runs it on a warm re-scan of the demo image.
 *
 *   node scripts/code-cache.js [oci-scan arguments]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainCodeCache } from '../dist/src/cli/code-cache.js';
import { setCliFlags } from '../dist/src/cli/flags.js';

setCliFlags();
trainCodeCache(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'oci-scan.cjs'));
