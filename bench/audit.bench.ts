/**
 * What an audit costs, as ratios measured in the same run (machines differ: no absolute
 * timings asserted anywhere), on a mirror pushed to the real `docker-registry`: REPOS repositories × 3
 * tags (test/helpers/audit-mirror.ts) on BASES large base layers (distro-like text files), each
 * image with an app layer of its own (`latest` is `1.1`): BASES + 2 × REPOS distinct layers — 48
 * repositories on 4 bases, 144 tags. The
 * sizes are those of real images — a base with a language runtime (~240 MB of tar; `node` and
 * `python` bases are ~1 GB), an application with its dependencies (~60 MB) — because the warm
 * re-audit's cost is per image and the cold audit's per byte of layer: with tiny layers the
 * ratio says more about Node's start than about the cache (docs/audit.md, "Cost, measured").
 * OCI_SCAN_BENCH_BASE_MB and OCI_SCAN_BENCH_APP_MB change them.
 *   audit / layers once   a cold `oci-scan audit` of the whole mirror, against one
 *                         `oci-scan --no-cache` run over the 1.0 and 1.1 images, which together
 *                         hold every distinct layer (each inspected once in the run): the price
 *                         of auditing every tag of the mirror. Goal ≤ 1.3.
 *   warm / cold           `oci-scan audit` of the unchanged mirror again with the same cache
 *                         (a new reports directory, so nothing is resumed), against the cold
 *                         audit: what a nightly re-audit costs. Goal ≤ 0.1.
 *   warm re-audit / floor the same warm re-audit against its floor (bench/audit-floor.ts): one
 *                         plain Node process that lists the catalog and the tags, GETs every
 *                         tag's manifest 8 at a time and writes one small file per tag — the
 *                         work no re-audit can skip. Goal ≤ 1.5.
 * Every measurement is a process of its own, best of ROUNDS, the four interleaved.
 * OCI_SCAN_BENCH_BASELINE_CLI=…/dist/src/cli/main.js of another build adds its warm re-audit
 * (same cache, same rounds) and its ratio to the floor: a before/after in one run.
 *
 * Run: node dist/bench/audit.bench.js   (`--quick` or OCI_SCAN_BENCH_QUICK=1: small layers, the same 144 tags)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mirrorRepository, pushMirror } from '../test/helpers/audit-mirror.js';
import type { EntrySpec } from '../test/helpers/image-builder.js';
import { registrySkipReason, startRegistry } from '../test/helpers/registry-server.js';

const MB = 1_000_000;
const QUICK = process.argv.includes('--quick') || process.env.OCI_SCAN_BENCH_QUICK === '1';
const ROUNDS = Number(process.env.OCI_SCAN_BENCH_ROUNDS ?? 3);
const BASES = 4;
const SIZES = QUICK
  ? { repos: 48, baseBytes: 20 * MB, appBytes: 2 * MB }
  : {
      repos: 48,
      baseBytes: Number(process.env.OCI_SCAN_BENCH_BASE_MB ?? 240) * MB,
      appBytes: Number(process.env.OCI_SCAN_BENCH_APP_MB ?? 60) * MB,
    };
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./audit-floor.js', import.meta.url));
const BASELINE = process.env.OCI_SCAN_BENCH_BASELINE_CLI;

/** A deterministic generator. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const WORDS = 'usr lib bin share doc locale python3 node perl gcc include header static const return void int char struct the of and'.split(
  ' ',
);

/** A distro-like base layer of about `bytes`: text files of up to 64 KiB, an os-release. */
function baseEntries(bytes: number, seed: number): EntrySpec[] {
  const rand = random(seed);
  const entries: EntrySpec[] = [{ type: 'file', path: 'etc/os-release', content: `ID=bench${seed}\nVERSION_ID=1\n` }];
  for (let i = 0, total = 0; total < bytes; i++) {
    const words: string[] = [];
    const size = Math.floor(rand() * 65_536);
    for (let len = 0; len < size;) {
      const w = WORDS[Math.floor(rand() * WORDS.length)] ?? 'x';
      words.push(w);
      len += w.length + 1;
    }
    entries.push({ type: 'file', path: `usr/share/pkg${i % 97}/file-${seed}-${i}.txt`, content: words.join(rand() < 0.1 ? '\n' : ' ') });
    total += size + 512;
  }
  return entries;
}

/** Runs `script` with `args`; returns its wall time in seconds. Exit codes 0 and 12–15 are results, anything else a failure. */
function timed(script: string, args: readonly string[]): number {
  const started = performance.now();
  try {
    execFileSync(process.execPath, [script, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OCI_SCAN_PROGRESS: 'none' },
    });
  } catch (err) {
    const status = (err as { status?: number }).status ?? -1;
    if (![12, 13, 14, 15].includes(status))
      throw new Error(`${script} ${args.join(' ')} failed (${status}): ${String((err as { stderr?: Buffer }).stderr ?? '')}`);
  }
  return (performance.now() - started) / 1000;
}

/** Builds the mirror, measures, prints the ratios. */
export async function main(): Promise<void> {
  if (registrySkipReason()) return;
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-audit-bench-'));
  const registry = await startRegistry({ kind: 'none' });
  try {
    const bases = Array.from({ length: BASES }, (_, seed) => baseEntries(SIZES.baseBytes, seed + 1));
    await pushMirror(registry.url, SIZES.repos, 4, { bases, appBytes: SIZES.appBytes });
    const target = `${registry.host}/mirror`;
    // The 1.0 and 1.1 of every repository hold every distinct layer (latest is 1.1).
    const distinct = Array.from({ length: SIZES.repos }, (_, n) => n).flatMap((n) =>
      ['1.0', '1.1'].map((tag) => `${registry.host}/${mirrorRepository(n)}:${tag}`),
    );
    const best = { once: Infinity, cold: Infinity, warm: Infinity, floor: Infinity, baseline: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      const at = (name: string): string => join(dir, `${name}-${round}`);
      best.once = Math.min(best.once, timed(CLI, [...distinct, '--no-cache', '--reports-dir', at('once')]));
      best.cold = Math.min(best.cold, timed(CLI, ['audit', target, '--cache-dir', at('cache'), '--reports-dir', at('cold'), '--quiet']));
      best.warm = Math.min(best.warm, timed(CLI, ['audit', target, '--cache-dir', at('cache'), '--reports-dir', at('warm'), '--quiet']));
      best.floor = Math.min(best.floor, timed(FLOOR, [registry.url, 'mirror/', at('floor')]));
      if (BASELINE)
        best.baseline = Math.min(
          best.baseline,
          timed(BASELINE, ['audit', target, '--cache-dir', at('cache'), '--reports-dir', at('baseline'), '--quiet']),
        );
    }
    const images = SIZES.repos * 3;
    process.stdout.write(
      [
        `audit bench: ${SIZES.repos} repositories × 3 tags = ${images} images, ${BASES + 2 * SIZES.repos} distinct layers (${BASES} bases of ~${SIZES.baseBytes / MB} MB and app layers of ~${SIZES.appBytes / MB} MB of tar), best of ${ROUNDS}`,
        `  layers once (${distinct.length} images, --no-cache) ${best.once.toFixed(2)} s`,
        `  cold audit                         ${best.cold.toFixed(2)} s`,
        `  warm re-audit (same cache)         ${best.warm.toFixed(2)} s`,
        `  floor of the re-audit              ${best.floor.toFixed(2)} s`,
        `  audit / layers once   ${(best.cold / best.once).toFixed(2)}   (goal ≤ 1.3)`,
        `  warm / cold           ${(best.warm / best.cold).toFixed(2)}   (goal ≤ 0.1; the warm re-audit costs ${((best.warm / images) * 1000).toFixed(1)} ms per image)`,
        `  warm re-audit / floor ${(best.warm / best.floor).toFixed(2)}   (goal ≤ 1.5)`,
        ...(BASELINE
          ? [
              `  baseline build: warm re-audit ${best.baseline.toFixed(2)} s, / floor ${(best.baseline / best.floor).toFixed(2)} (${BASELINE})`,
            ]
          : []),
        '',
      ].join('\n'),
    );
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
