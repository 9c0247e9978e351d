/**
 * The CLI's start-up (docs/architecture.md "Start-up"): `oci-scan --version` as a whole process
 * against `node -e 0`, the floor of any Node program on the same machine, taken in the same run.
 * The two are interleaved, round by round, so a change of load hits both; the best round of
 * each is kept. For bench/image.bench.ts to print as a ratio (`version / nodeE0`).
 *
 * Alone: node dist/bench/startup.js [rounds]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (the bundle npm's bin names). */
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Seconds one run of node with `args` takes, start to exit; throws when it fails. */
function timed(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${run.status}: ${run.stderr.toString().trim()}`);
  return seconds;
}

/** Best of `rounds` (interleaved), in seconds: `node -e 0`, and `oci-scan --version`. */
export function startup(rounds = 10): { nodeE0: number; version: number } {
  let nodeE0 = Infinity;
  let version = Infinity;
  for (let i = 0; i < rounds; i++) {
    nodeE0 = Math.min(nodeE0, timed(['-e', '0']));
    version = Math.min(version, timed([CLI, '--version']));
  }
  return { nodeE0, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { nodeE0, version } = startup(Number(process.argv[2] ?? 10));
  console.log(`node -e 0 ${nodeE0.toFixed(3)} s, oci-scan --version ${version.toFixed(3)} s: ${(version / nodeE0).toFixed(2)} × node -e 0`);
}
