#!/usr/bin/env node
/** The `oci-scan` executable (docs/usage.md): runs the command line and exits with its code. */
import { hideBin } from 'yargs/helpers';
import { main } from './run.js';

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
