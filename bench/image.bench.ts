/**
 * Whole-image scan speed against its floor, as ratios measured in the same run (machines
 * differ: no absolute timing is asserted anywhere). The images are described in bench/README.md:
 * the large one is two layers of real files from this machine's `/usr` (bench/real-image.ts).
 *
 * Every figure is a process of its own, timed from spawn to exit, as a user runs it: the scans
 * are `oci-scan` CLI processes (`--no-cache`, a fresh reports directory), the floors small Node
 * processes doing only the unavoidable work (bench/floor.ts). Each is the best of ROUNDS, all
 * cases interleaved round by round so that the machine's load hits them alike; peak RSS is the
 * highest seen (GNU time's %M). Cases and goals:
 *   registry scan / HTTP floor      the large gzip image from the real `docker-registry`   ≤ 1.10
 *   layout scan / file floor        the same image as a local OCI layout                  ≤ 1.15
 *   --checks extended / default     the layout scan with the extended checks              ≤ 1.2
 *   zstd scan / zstd floor          the same tars as zstd layers, same libzstd binding    ≤ 1.15
 *   zstd wasm / zstd floor          the WebAssembly decoder (OCI_SCAN_ZSTD=wasm)          (told)
 *   small files / floor             one synthetic layer of many small files               (told)
 *   --version / node -e 0                                                                 ≤ 2
 *   warm / cold (disk cache)        a re-scan of the large image with the same cache dir  ≤ 0.05
 *   peak RSS                        every case                                            ≤ 150 MB
 * The waterfall (bench/stages.ts) splits the layout scan into its stages.
 *
 * Run: npm run bench   (`-- --quick` or OCI_SCAN_BENCH_QUICK=1: an eighth of the sizes)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, buildTar, writeOciLayout, type EntrySpec } from '../test/helpers/image-builder.js';
import { Pusher } from '../test/helpers/push.js';
import { registrySkipReason, startRegistry } from '../test/helpers/registry-server.js';
import { REAL_LAYERS, writeRealLayout, writeRealTar, type RealTar } from './real-image.js';

const MB = 1_000_000;
const QUICK = process.argv.includes('--quick') || process.env.OCI_SCAN_BENCH_QUICK === '1';
const ROUNDS = Number(process.env.OCI_SCAN_BENCH_ROUNDS ?? 3);
const SCALE = QUICK ? 1 / 8 : 1;
const SMALL_FILES = QUICK ? 25_000 : 200_000;
const ROOT = join(tmpdir(), `oci-scan-bench-${QUICK ? 'quick' : 'full'}-v4`);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const CLI = here('../src/cli/main.js');
const FLOOR = here('./floor.js');
const STAGES = here('./stages.js');
const TIMER = here('./timer.js');
const TIME = '/usr/bin/time';

interface LayoutInfo {
  readonly layout: string;
  readonly layerFiles: string[];
  /** Each layer's tar and blob bytes. */
  readonly layers: ReadonlyArray<{ readonly tar: number; readonly blob: number }>;
  readonly blobBytes: number;
  readonly tarBytes: number;
  readonly files: number;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly manifestMediaType: string;
}

type Images = Record<'gzip' | 'zstd' | 'small' | 'tiny', LayoutInfo>;

const blobFile = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

/** A deterministic generator. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

/** `count` text files of 0–400 bytes in 1000 directories: the per-entry cost. */
function smallFilesTar(count: number): Buffer {
  const rand = random(7);
  const words = 'usr lib bin share doc locale python3 node perl gcc include header static const return void int char'.split(' ');
  const pool = Buffer.from(Array.from({ length: 200_000 }, () => words[Math.floor(rand() * words.length)]).join(' '));
  const entries: EntrySpec[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(rand() * 400);
    const off = Math.floor(rand() * (pool.length - size));
    entries.push({ type: 'file', path: `usr/share/small/d${i % 1000}/file-${i}.txt`, content: pool.subarray(off, off + size) });
  }
  return buildTar(entries);
}

/** A synthetic one-layer gzip layout. */
async function syntheticLayout(name: string, tar: Buffer, files: number): Promise<LayoutInfo> {
  const image = buildImage({ layers: [{ tar, compression: 'gzip' }] });
  const layout = join(ROOT, name);
  await writeOciLayout(layout, [{ image, tag: '1.0' }]);
  return {
    layout,
    layerFiles: image.layers.map((l) => blobFile(layout, l.digest)),
    layers: image.layers.map((l) => ({ tar: tar.length, blob: l.size })),
    blobBytes: image.layers.reduce((n, l) => n + l.size, 0),
    tarBytes: tar.length,
    files,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    manifestMediaType: image.manifestMediaType,
  };
}

/** Generates the images once (marked by meta.json), else reads what an earlier run left. */
async function images(): Promise<Images> {
  const meta = join(ROOT, 'meta.json');
  if (existsSync(meta)) return JSON.parse(await readFile(meta, 'utf8')) as Images;
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });
  const t = Date.now();
  const tars: RealTar[] = [];
  for (const [i, plan] of REAL_LAYERS(SCALE).entries()) tars.push(await writeRealTar(ROOT, `layer-${i + 1}`, plan));
  const real = async (compressor: 'gzip' | 'zstd'): Promise<LayoutInfo> => {
    const layout = join(ROOT, `real-${compressor}`);
    const { layerBlobBytes, ...written } = await writeRealLayout(layout, tars, compressor);
    const layers = tars.map((t, i) => ({ tar: t.bytes, blob: layerBlobBytes[i] ?? NaN }));
    return { layout, ...written, layers, tarBytes: tars.reduce((n, l) => n + l.bytes, 0), files: tars.reduce((n, l) => n + l.files, 0) };
  };
  const generated: Images = {
    gzip: await real('gzip'),
    zstd: await real('zstd'),
    small: await syntheticLayout('small', smallFilesTar(SMALL_FILES), SMALL_FILES),
    tiny: await syntheticLayout('tiny', buildTar([{ type: 'file', path: 'etc/os-release', content: 'ID=debian\n' }]), 1),
  };
  for (const tar of tars) await rm(tar.file);
  await writeFile(meta, JSON.stringify(generated));
  console.log(`generated into ${ROOT} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  return generated;
}

interface Measured {
  seconds: number;
  /** Peak RSS in bytes (NaN without GNU time). */
  maxRss: number;
  stdout: string;
}

const HAVE_TIME = existsSync(TIME);

/** Runs `node ARGS` as a process of its own (timed by bench/timer.ts): wall time from spawn to exit and its peak RSS. Exit codes 0 and 10–15 (a scan's verdicts) are results. */
function run(args: readonly string[], env: Record<string, string> = {}): Measured {
  const argv = HAVE_TIME ? [TIME, '-f', '%M', process.execPath, ...args] : [process.execPath, ...args];
  const r = spawnSync(process.execPath, [TIMER, ...argv], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, OCI_SCAN_PROGRESS: 'none', ...env },
  });
  if (r.status !== 0) throw new Error(`the timer failed: ${r.stderr || String(r.error ?? '')}`);
  const t = JSON.parse(r.stdout) as { seconds: number; status: number | null; stdout: string; stderr: string; error?: string };
  const stderr = t.stderr.trimEnd().split('\n');
  const rssLine = HAVE_TIME ? stderr.pop() : undefined;
  const code = t.status ?? -1;
  if (code !== 0 && !(code >= 10 && code <= 15))
    throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.join('\n') || (t.error ?? '')}`);
  return { seconds: t.seconds, maxRss: rssLine ? Number(rssLine) * 1024 : NaN, stdout: t.stdout };
}

/** An `oci-scan` CLI scan of `ref` into a fresh reports directory. */
async function cliScan(cli: string, ref: string, extra: readonly string[] = [], env: Record<string, string> = {}): Promise<Measured> {
  const reports = await mkdtemp(join(tmpdir(), 'oci-scan-bench-reports-'));
  try {
    return run([cli, ref, '--reports-dir', reports, ...(extra.includes('--cache-dir') ? [] : ['--no-cache']), ...extra], env);
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
}

/** Best time and highest RSS of the rounds of one figure. */
class Figures {
  readonly #best = new Map<string, Measured>();
  add(name: string, m: Measured): Measured {
    const was = this.#best.get(name);
    this.#best.set(name, was ? { seconds: Math.min(was.seconds, m.seconds), maxRss: Math.max(was.maxRss, m.maxRss), stdout: m.stdout } : m);
    return m;
  }
  s(name: string): number {
    return this.#best.get(name)?.seconds ?? NaN;
  }
  rss(name: string): number {
    return (this.#best.get(name)?.maxRss ?? NaN) / MB;
  }
  names(): string[] {
    return [...this.#best.keys()];
  }
}

/** Another build's CLI (OCI_SCAN_BENCH_BASELINE_CLI, e.g. a worktree of an older commit), measured in the same rounds: before and after in one run. */
const BASELINE = process.env.OCI_SCAN_BENCH_BASELINE_CLI;
const BASE_TAG = ' [baseline]';

/** Measures a CLI figure with this build, and with the baseline's when there is one. */
async function both(name: string, measure: (cli: string) => Promise<Measured>): Promise<void> {
  f.add(name, await measure(CLI));
  if (BASELINE) f.add(`${name}${BASE_TAG}`, await measure(BASELINE));
}

const imgs = await images();
const skip = registrySkipReason();
const registry = skip ? undefined : await startRegistry({ kind: 'none' });
const f = new Figures();
/** The in-process times of the stages after the layers, summed over the rounds' best. */
const after = { finalFs: Infinity, checks: Infinity, report: Infinity };
try {
  let registryRef: string | undefined;
  let httpBlobs: string[] = [];
  if (registry) {
    const pusher = new Pusher(registry.url, 'bench/big');
    const { layout } = imgs.gzip;
    await pusher.blob(imgs.gzip.configDigest, await readFile(blobFile(layout, imgs.gzip.configDigest)));
    for (const file of imgs.gzip.layerFiles) await pusher.blob(`sha256:${file.split('/').pop() ?? ''}`, await readFile(file));
    await pusher.manifest('1.0', await readFile(blobFile(layout, imgs.gzip.manifestDigest)), imgs.gzip.manifestMediaType);
    registryRef = `${registry.host}/bench/big:1.0`;
    httpBlobs = imgs.gzip.layerFiles.map((file) => `${registry.url}/v2/bench/big/blobs/sha256:${file.split('/').pop() ?? ''}`);
  }
  const layoutRef = (i: LayoutInfo): string => `oci:${i.layout}:1.0`;
  for (let round = 0; round < ROUNDS; round++) {
    f.add('node -e 0', run(['-e', '0']));
    await both('--version', (cli) => Promise.resolve(run([cli, '--version'])));
    await both('tiny scan', (cli) => cliScan(cli, layoutRef(imgs.tiny)));
    f.add('file floor', run([FLOOR, 'gzip', ...imgs.gzip.layerFiles]));
    if (registryRef) {
      const ref = registryRef;
      f.add('HTTP floor', run([FLOOR, 'http-gzip', ...httpBlobs]));
      await both('registry scan', (cli) => cliScan(cli, ref));
    }
    await both('layout scan', (cli) => cliScan(cli, layoutRef(imgs.gzip)));
    await both('layout scan, extended', (cli) => cliScan(cli, layoutRef(imgs.gzip), ['--checks', 'extended']));
    f.add('zstd floor', run([FLOOR, 'zstd', ...imgs.zstd.layerFiles]));
    await both('zstd scan', (cli) => cliScan(cli, layoutRef(imgs.zstd)));
    await both('zstd scan, wasm', (cli) => cliScan(cli, layoutRef(imgs.zstd), [], { OCI_SCAN_ZSTD: 'wasm' }));
    f.add('small floor', run([FLOOR, 'gzip', ...imgs.small.layerFiles]));
    await both('small scan', (cli) => cliScan(cli, layoutRef(imgs.small)));
    for (const depth of ['open', 'read', 'inflate', 'tar', 'record']) {
      const m = f.add(`stage ${depth}`, run([STAGES, depth, layoutRef(imgs.gzip)]));
      if (depth === 'record') {
        const t = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as typeof after;
        after.finalFs = Math.min(after.finalFs, t.finalFs);
        after.checks = Math.min(after.checks, t.checks);
        after.report = Math.min(after.report, t.report);
      }
    }
    for (const [name, ref] of [
      ['registry', registryRef],
      ['layout', layoutRef(imgs.gzip)],
    ] as const) {
      if (!ref) continue;
      for (const [cli, tag] of [[CLI, ''], ...(BASELINE ? [[BASELINE, BASE_TAG]] : [])] as const) {
        const cache = await mkdtemp(join(tmpdir(), 'oci-scan-bench-cache-'));
        try {
          f.add(`${name} cold (cache)${tag}`, await cliScan(cli, ref, ['--cache-dir', cache]));
          f.add(`${name} warm (cache)${tag}`, await cliScan(cli, ref, ['--cache-dir', cache]));
        } finally {
          await rm(cache, { recursive: true, force: true });
        }
      }
    }
  }
} finally {
  await registry?.stop();
}

const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
/** `a / b`; with `baseline`, the baseline build's figures (a CLI figure's, and b's when it is one too). */
const ratio = (a: string, b: string, baseline = false): number =>
  f.s(baseline ? `${a}${BASE_TAG}` : a) / f.s(baseline && f.names().includes(`${b}${BASE_TAG}`) ? `${b}${BASE_TAG}` : b);
const then = (a: string, b: string): string => (BASELINE ? `; baseline ${fmt(ratio(a, b, true))}` : '');
const goal = (a: string, b: string, limit: number): string => {
  const value = ratio(a, b);
  return `${fmt(value)} (goal ≤ ${limit}: ${value <= limit ? 'met' : 'NOT met'}${then(a, b)})`;
};
const size = (i: LayoutInfo): string =>
  `${i.files} entries, ${fmt(i.tarBytes / MB, 0)} MB of tar in ${fmt(i.blobBytes / MB, 0)} MB of blobs (ratio ${fmt(i.tarBytes / i.blobBytes)}; ` +
  `${i.layers.map((l, n) => `layer ${n + 1}: ${fmt(l.tar / MB, 0)} → ${fmt(l.blob / MB, 0)} MB, ${fmt(l.tar / l.blob)}`).join('; ')})`;

const out: string[] = [];
out.push(`oci-scan image bench — ${QUICK ? 'quick' : 'full'} sizes, best of ${ROUNDS}, Node ${process.version}, ${ROOT}`);
out.push(`  large gzip image: ${size(imgs.gzip)}`);
out.push(`  large zstd image: ${size(imgs.zstd)}`);
out.push(`  small-files image: ${size(imgs.small)}`);
if (!registry) out.push(`  registry cases skipped: ${skip ?? ''}`);
if (BASELINE) out.push(`  baseline: ${BASELINE} (its figures are marked${BASE_TAG})`);
if (!HAVE_TIME) out.push(`  peak RSS not measured: ${TIME} is missing (Debian package "time")`);
out.push('');
out.push('ratio                                   value');
if (registry) {
  out.push(`  HTTP floor / file floor               ${fmt(ratio('HTTP floor', 'file floor'))}   (the registry's serving, told)`);
  out.push(`  registry scan / HTTP floor            ${goal('registry scan', 'HTTP floor', 1.1)}`);
}
out.push(`  layout scan / file floor              ${goal('layout scan', 'file floor', 1.15)}`);
out.push(`  --checks extended / default scan      ${goal('layout scan, extended', 'layout scan', 1.2)}`);
out.push(`  zstd scan / zstd floor                ${goal('zstd scan', 'zstd floor', 1.15)}`);
out.push(
  `  zstd scan, wasm / zstd floor          ${fmt(ratio('zstd scan, wasm', 'zstd floor'))}   (the decoder without zstd-napi, told${then('zstd scan, wasm', 'zstd floor')})`,
);
out.push(
  `  small files scan / its floor          ${fmt(ratio('small scan', 'small floor'))}   (per-entry cost, told${then('small scan', 'small floor')})`,
);
out.push(`  --version / node -e 0                 ${goal('--version', 'node -e 0', 2)}`);
for (const name of ['registry', 'layout'])
  if (f.names().includes(`${name} warm (cache)`))
    out.push(`  ${`${name} warm / cold (disk cache)`.padEnd(38)}${goal(`${name} warm (cache)`, `${name} cold (cache)`, 0.05)}`);
const peak = Math.max(
  ...f
    .names()
    .filter((n) => !n.endsWith(BASE_TAG))
    .map((n) => f.rss(n)),
);
const basePeak = Math.max(
  ...f
    .names()
    .filter((n) => n.endsWith(BASE_TAG))
    .map((n) => f.rss(n)),
);
out.push(
  `  peak RSS, every case                  ${fmt(peak, 0)} MB (goal ≤ 150: ${peak <= 150 ? 'met' : 'NOT met'}${BASELINE ? `; baseline ${fmt(basePeak, 0)} MB` : ''})`,
);
out.push('');
out.push('figure                          seconds   peak RSS MB');
for (const name of f.names()) out.push(`  ${name.padEnd(30)}${fmt(f.s(name)).padStart(7)}   ${fmt(f.rss(name), 0).padStart(6)}`);
out.push('');
// The waterfall: each stage's cost is what it adds to the one before. The stage processes load
// tsc's modules one by one where the CLI loads one bundled file, and each figure has its own
// noise: the stages' sum is told beside the CLI's own scan, not subtracted from it.
const stages: Array<[string, number]> = [
  ['node start (node -e 0)', f.s('node -e 0')],
  ['modules, index, manifest, config', f.s('stage open') - f.s('node -e 0')],
  ['read + digest (source streams)', f.s('stage read') - f.s('stage open')],
  ['inflate', f.s('stage inflate') - f.s('stage read')],
  ['tar reading', f.s('stage tar') - f.s('stage inflate')],
  ['recorder', f.s('stage record') - f.s('stage tar') - after.finalFs - after.checks - after.report],
  ['final filesystem', after.finalFs],
  ['checks', after.checks],
  ['report', after.report],
];
out.push('waterfall of the layout scan (bench/stages.ts; each stage: what it adds to the one before)');
for (const [name, s] of stages) out.push(`  ${name.padEnd(44)}${fmt(s, 3).padStart(7)} s`);
out.push(`  ${'sum of the stages'.padEnd(44)}${fmt(f.s('stage record'), 3).padStart(7)} s`);
out.push(
  `  ${'the CLI layout scan (one bundled file)'.padEnd(44)}${fmt(f.s('layout scan'), 3).padStart(7)} s   (file floor ${fmt(f.s('file floor'), 3)} s)`,
);
console.log(out.join('\n'));
