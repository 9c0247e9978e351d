/**
 * Runs the oci-scan CLI inside this process and, when the process exits, writes its peak RSS
 * (`process.resourceUsage().maxRSS`, KiB) to the file named by OCI_SCAN_PEAK_RSS_FILE: the CLI's
 * own memory, measured without an external tool.
 *
 * Usage: node dist/test/helpers/cli-peak-rss.js [oci-scan arguments]
 */
import { writeFileSync } from 'node:fs';

const out = process.env['OCI_SCAN_PEAK_RSS_FILE'];
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
await import('../../src/cli/main.js');
