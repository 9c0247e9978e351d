/**
 * The command line of the `oci-scan` executable (docs/usage.md): runs it and exits with its
 * code. src/cli/main.ts, the executable, sets the V8 flags and runs this module; scripts/bundle.js
 * bundles it, with everything it imports, into the one file the executable loads
 * (docs/architecture.md "Start-up"). No top-level await: the bundle is a CommonJS script.
 */
import { hideBin } from 'yargs/helpers';
import { prepareLayerWorker } from '../inspect/spare.js';

const argv = hideBin(process.argv);

/** Whether `argv` runs a scan: not another command, not help, the version or the list of checks. */
const scans = (args: readonly string[]): boolean =>
  !['audit', 'cache', 'verify', 'help', 'version'].includes(args[0] ?? '') &&
  !args.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '--list-checks');

// A layer worker starts before the rest of the CLI loads, so that it is ready when a zstd layer
// needs it; a scan whose layers do not ends it (src/inspect/spare.ts, docs/architecture.md
// "Layer workers").
if (scans(argv)) prepareLayerWorker();

import('./run.js').then(
  ({ main }) =>
    main(argv).then(
      (code) => process.exit(code),
      () => process.exit(1),
    ),
  (err: unknown) => {
    // Only a broken install gets here (a module missing from dist/): one line, exit code 1.
    process.stderr.write(`oci-scan: cannot load the command line: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
