// oci-scan as a library (docs/api.md): scan one image with a policy, print each failed check
// with its files, the findings the policy accepted, and the highest severity; exit with the
// CLI's exit code for that severity, or for the error when the image could not be scanned.
//
//   node examples/api-example.mjs oci:fixtures/demo:1.0
//   node examples/api-example.mjs registry.local:5000/team/app:1.2
import console from 'node:console';
import process from 'node:process';
import { scan, isOciScanError, exitCodeFor } from 'oci-scan';

const image = process.argv[2];
if (!image) {
  console.error('usage: node api-example.mjs IMAGE (e.g. oci:fixtures/demo:1.0)');
  process.exit(2);
}

/** The object form of .oci-scan.yaml (docs/ci.md, "Policy"). */
const policy = {
  version: 1,
  checks: { 'layer-count': { disabled: true } },
  accept: [{ check: 'suid', paths: ['/usr/bin/passwd'], reason: 'passwd must be setuid for password changes' }],
};

/** The CLI's default exit code per highest severity (docs/errors.md, "Exit codes"). */
const EXIT = { Informational: 0, Low: 15, Medium: 14, High: 13, Critical: 12 };

try {
  // One result per image: several only with `platform: 'all'` on a multi-platform index.
  const results = await scan(image, { policy });
  for (const { image: scanned, results: checks, highest } of results) {
    console.log(`${scanned.name.display} (${scanned.configDigest})`);
    for (const r of checks.filter((c) => !c.Pass)) {
      // Files: one object per layer, layer digest → the paths found there.
      const paths = (r.Files ?? []).flatMap((layer) => Object.values(layer).flat());
      console.log(`  FAIL ${r.Severity} ${r.Id}: ${r.Description}${paths.length > 0 ? ` [${paths.join(', ')}]` : ''}`);
    }
    for (const r of checks) {
      for (const a of r.Accepted ?? []) console.log(`  ACCEPTED ${r.Id}: ${a.Path} (${a.Reason})`);
    }
    console.log(`  highest: ${highest}`);
  }
  process.exitCode = Math.max(...results.map((r) => EXIT[r.highest]));
} catch (err) {
  if (!isOciScanError(err)) throw err;
  // err.code is stable (docs/errors.md); the message is one line, without credentials.
  console.error(`${err.code}: ${err.message}`);
  process.exitCode = exitCodeFor(err.code);
}
