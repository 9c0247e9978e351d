/**
 * Whole-image scan speed against the floor, as ratios measured in the same run (machines
 * differ: no absolute timings asserted anywhere). Cases:
 *   registry  a 2-layer gzip image pulled from the real `docker-registry`
 *   layout    the same image as a local OCI layout
 *   extended  the layout scan with the extended check set (`--checks extended`), against the default scan
 *   zstd      the same tars as zstd layers, from a local OCI layout
 *   zstd wasm the same, decoded by the WebAssembly fallback (OCI_SCAN_ZSTD=wasm), against the same floor
 *   small     one gzip layer of 200k small files (the per-entry cost), from a local OCI layout
 * The floor of a case: Node decompressing and sha256-hashing the same blob files, all layers at
 * once (`zlib.createGunzip({ chunkSize: 1 << 20 })`; libzstd through zstd-napi for zstd). For the
 * registry case a second floor, the same work on the blobs as undici fetches them from the same
 * registry, tells what the HTTP transfer itself costs on this machine. Every
 * measurement runs in its own process (bench/case.ts), so its peak RSS is its own; each is the
 * best of ROUNDS, floors and scans interleaved so that the machine's load hits both alike. The
 * fixed cost of a scan (a one-file image) is measured too: `(scan-fixed)/floor` is the cost of
 * streaming the layers alone.
 * The images are generated once into $TMPDIR/oci-scan-bench-* and reused.
 *
 * Run: npm run bench   (OCI_SCAN_BENCH_QUICK=1 or `-- --quick`: small sizes)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, buildTar, writeOciLayout, type BuiltImage, type Compression, type EntrySpec } from '../test/helpers/image-builder.js';
import { Pusher } from '../test/helpers/push.js';
import { registrySkipReason, startRegistry } from '../test/helpers/registry-server.js';

const MB = 1_000_000;
const QUICK = process.argv.includes('--quick') || process.env.OCI_SCAN_BENCH_QUICK === '1';
const ROUNDS = Number(process.env.OCI_SCAN_BENCH_ROUNDS ?? 3);
/** Tar sizes of the two layers of the large image, and the small-file count. */
const SIZES = QUICK ? { layers: [60 * MB, 40 * MB], smallFiles: 20_000 } : { layers: [480 * MB, 300 * MB], smallFiles: 200_000 };
const ROOT = join(tmpdir(), `oci-scan-bench-${QUICK ? 'quick' : 'full'}-v2`);
const CASE = fileURLToPath(new URL('./case.js', import.meta.url));

/** A deterministic generator. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const WORDS = 'usr lib bin share doc locale python3 node perl gcc include header static const return void int char struct the of and'.split(
  ' ',
);
/** 5 MB of text-like bytes that files are cut from. */
function textPool(rand: () => number): Buffer {
  const parts: string[] = [];
  for (let len = 0; len < 5 * MB;) {
    const w = WORDS[Math.floor(rand() * WORDS.length)] ?? 'x';
    parts.push(w);
    len += w.length + 1;
  }
  return Buffer.from(parts.join(rand() < 0.1 ? '\n' : ' '));
}

/** A distro-like layer: mostly small text files, some large ones (a quarter of them incompressible). */
function layerTar(targetBytes: number, seed: number): Buffer {
  const rand = random(seed);
  const pool = textPool(rand);
  const text = (size: number): Buffer => {
    const off = Math.floor(rand() * (pool.length - size));
    return pool.subarray(off, off + size);
  };
  const entries: EntrySpec[] = [{ type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' }];
  for (let i = 0, total = 0; total < targetBytes; i++) {
    const large = rand() >= 0.9;
    const size = large ? Math.floor(rand() * 4 * 1024 * 1024) : Math.floor(rand() * 16_384);
    const content = large && rand() < 0.25 ? randomBytes(size) : size < pool.length ? text(size) : randomBytes(size);
    entries.push({ type: 'file', path: `usr/share/pkg${i % 97}/file-${seed}-${i}.dat`, mode: i % 50 === 0 ? 0o4755 : 0o644, content });
    if (i % 20 === 0)
      entries.push({ type: 'symlink', path: `usr/bin/tool-${seed}-${i}`, target: `../share/pkg${i % 97}/file-${seed}-${i}.dat` });
    total += size + 512;
  }
  return buildTar(entries);
}

/** `count` files of 0–400 bytes in 1000 directories. */
function smallFilesTar(count: number): Buffer {
  const rand = random(7);
  const pool = textPool(rand);
  const entries: EntrySpec[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(rand() * 400);
    const off = Math.floor(rand() * (pool.length - size));
    entries.push({ type: 'file', path: `usr/share/small/d${i % 1000}/file-${i}.txt`, content: pool.subarray(off, off + size) });
  }
  return buildTar(entries);
}

interface BenchImage {
  readonly layout: string;
  readonly layerFiles: string[];
  readonly manifestDigest: string;
  readonly manifestMediaType: string;
  readonly configDigest: string;
  readonly tarBytes: number;
  readonly blobBytes: number;
}

const blobFile = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

async function writeImage(name: string, tars: readonly Buffer[], compression: Compression): Promise<BenchImage> {
  const image: BuiltImage = buildImage({ layers: tars.map((tar) => ({ tar, compression })) });
  const layout = join(ROOT, name);
  await writeOciLayout(layout, [{ image, tag: '1.0' }]);
  return {
    layout,
    layerFiles: image.layers.map((l) => blobFile(layout, l.digest)),
    manifestDigest: image.manifestDigest,
    manifestMediaType: image.manifestMediaType,
    configDigest: image.configDigest,
    tarBytes: tars.reduce((n, t) => n + t.length, 0),
    blobBytes: image.layers.reduce((n, l) => n + l.size, 0),
  };
}

type Images = Record<'gzip' | 'zstd' | 'small', BenchImage>;

/** Generates the images once (marked by meta.json), else reads what an earlier run left. */
async function images(): Promise<Images> {
  const meta = join(ROOT, 'meta.json');
  if (existsSync(meta)) return JSON.parse(await readFile(meta, 'utf8')) as Images;
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });
  const t = Date.now();
  const tars = SIZES.layers.map((size, i) => layerTar(size, i + 1));
  const generated: Images = {
    gzip: await writeImage('gzip', tars, 'gzip'),
    zstd: await writeImage('zstd', tars, 'zstd'),
    small: await writeImage('small', [smallFilesTar(SIZES.smallFiles)], 'gzip'),
  };
  await writeFile(meta, JSON.stringify(generated));
  console.log(`generated into ${ROOT} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  return generated;
}

interface Measured {
  seconds: number;
  maxRss: number;
}

function run(args: readonly string[], env: Record<string, string> = {}): Measured {
  const out = execFileSync(process.execPath, [CASE, ...args], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Measured;
}

function best(a: Measured | undefined, b: Measured): Measured {
  return a === undefined ? b : { seconds: Math.min(a.seconds, b.seconds), maxRss: Math.max(a.maxRss, b.maxRss) };
}

const imgs = await images();
/** A one-file image: its scan time is the fixed cost of a scan (start, documents, schemas, report). */
if (!existsSync(join(ROOT, 'tiny', 'index.json')))
  await writeImage('tiny', [buildTar([{ type: 'file', path: 'etc/os-release', content: 'ID=debian\n' }])], 'gzip');
const tinyRef = `oci:${join(ROOT, 'tiny')}:1.0`;
const skip = registrySkipReason();
const registry = skip ? undefined : await startRegistry({ kind: 'none' });
try {
  let registryRef: string | undefined;
  let httpFloor: string[] | undefined;
  if (registry) {
    const pusher = new Pusher(registry.url, 'bench/big');
    const { layout } = imgs.gzip;
    await pusher.blob(imgs.gzip.configDigest, await readFile(blobFile(layout, imgs.gzip.configDigest)));
    for (const file of imgs.gzip.layerFiles) await pusher.blob(`sha256:${file.split('/').pop() ?? ''}`, await readFile(file));
    await pusher.manifest('1.0', await readFile(blobFile(layout, imgs.gzip.manifestDigest)), imgs.gzip.manifestMediaType);
    registryRef = `${registry.host}/bench/big:1.0`;
    httpFloor = [
      'floor-http-gzip',
      ...imgs.gzip.layerFiles.map((f) => `${registry.url}/v2/bench/big/blobs/sha256:${f.split('/').pop() ?? ''}`),
    ];
  }
  const cases: Array<{ name: string; image: BenchImage; floor: string[]; scan: string[]; env?: Record<string, string> }> = [
    ...(registry && registryRef
      ? [
          {
            name: 'registry gzip (2 layers)',
            image: imgs.gzip,
            floor: ['floor-gzip', ...imgs.gzip.layerFiles],
            scan: ['scan', registryRef, registry.host],
          },
        ]
      : []),
    {
      name: 'oci layout gzip (2 layers)',
      image: imgs.gzip,
      floor: ['floor-gzip', ...imgs.gzip.layerFiles],
      scan: ['scan', `oci:${imgs.gzip.layout}:1.0`],
    },
    // The same scan with the extended check set (docs/checks.md, "Extended checks"): its cost over the default scan.
    {
      name: 'oci layout gzip, --checks extended',
      image: imgs.gzip,
      floor: ['floor-gzip', ...imgs.gzip.layerFiles],
      scan: ['scan', `oci:${imgs.gzip.layout}:1.0`],
      env: { OCI_SCAN_BENCH_CHECKS: 'extended' },
    },
    {
      name: 'oci layout zstd (2 layers)',
      image: imgs.zstd,
      floor: ['floor-zstd', ...imgs.zstd.layerFiles],
      scan: ['scan', `oci:${imgs.zstd.layout}:1.0`],
    },
    // The install without zstd-napi (no compiler): libzstd built to WebAssembly, against the same native floor.
    {
      name: 'oci layout zstd, WebAssembly decoder',
      image: imgs.zstd,
      floor: ['floor-zstd', ...imgs.zstd.layerFiles],
      scan: ['scan', `oci:${imgs.zstd.layout}:1.0`],
      env: { OCI_SCAN_ZSTD: 'wasm' },
    },
    {
      name: `oci layout ${SIZES.smallFiles / 1000}k small files`,
      image: imgs.small,
      floor: ['floor-gzip', ...imgs.small.layerFiles],
      scan: ['scan', `oci:${imgs.small.layout}:1.0`],
    },
  ];
  const floors = new Map<string, Measured>();
  const scans = new Map<string, Measured>();
  let fixed: Measured | undefined;
  let http: Measured | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    fixed = best(fixed, run(['scan', tinyRef]));
    if (httpFloor) http = best(http, run(httpFloor));
    for (const c of cases) {
      floors.set(c.name, best(floors.get(c.name), run(c.floor)));
      scans.set(c.name, best(scans.get(c.name), run(c.scan, c.env)));
    }
  }
  console.log(
    `${QUICK ? 'quick' : 'full'} sizes; best of ${ROUNDS}; Node ${process.version}; ${registry ? '' : `registry case skipped: ${skip ?? ''}`}`,
  );
  const rows = cases.map((c) => {
    const f = floors.get(c.name) ?? { seconds: NaN, maxRss: NaN };
    const s = scans.get(c.name) ?? { seconds: NaN, maxRss: NaN };
    const size = `${(c.image.tarBytes / MB).toFixed(0)} MB tar / ${(c.image.blobBytes / MB).toFixed(0)} MB blobs`;
    const streaming = (s.seconds - (fixed?.seconds ?? 0)) / f.seconds;
    return [
      c.name,
      size,
      f.seconds.toFixed(2),
      s.seconds.toFixed(2),
      (s.seconds / f.seconds).toFixed(2),
      streaming.toFixed(2),
      (f.maxRss / 2 ** 20).toFixed(0),
      (s.maxRss / 2 ** 20).toFixed(0),
    ];
  });
  console.log(
    `fixed cost of a scan (a one-file image): ${(fixed?.seconds ?? NaN).toFixed(2)} s, peak RSS ${((fixed?.maxRss ?? NaN) / 2 ** 20).toFixed(0)} MiB`,
  );
  const registryCase = registry ? cases[0] : undefined;
  if (http && registryCase) {
    const fileFloor = floors.get(registryCase.name)?.seconds ?? NaN;
    const scanned = scans.get(registryCase.name)?.seconds ?? NaN;
    console.log(
      `HTTP floor (undici GET + sha256 + gunzip from the registry): ${http.seconds.toFixed(2)} s = ${(http.seconds / fileFloor).toFixed(2)} × the file floor; registry scan / HTTP floor ${(scanned / http.seconds).toFixed(2)}`,
    );
  }
  const defaultScan = scans.get('oci layout gzip (2 layers)')?.seconds ?? NaN;
  const extendedScan = scans.get('oci layout gzip, --checks extended')?.seconds ?? NaN;
  console.log(
    `extended checks: oci layout gzip scan with --checks extended / the default scan ${(extendedScan / defaultScan).toFixed(2)} (goal ≤ 1.2)`,
  );
  const head = ['case', 'size', 'floor s', 'scan s', 'scan/floor', '(scan-fixed)/floor', 'floor RSS MiB', 'scan RSS MiB'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...rows]) console.log(r.map((v, i) => (i < 2 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  '));

  // The persistent cache: a cold scan fills a fresh cache directory, a warm one (a new process,
  // the same directory) reads the facts instead of the layers. In-process times: the ratio of
  // the scan's own work, without Node's start-up.
  const cached = cases[0];
  if (cached) {
    const target = cached.scan.slice(1);
    let cold: Measured | undefined;
    let warm: Measured | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = await mkdtemp(join(tmpdir(), 'oci-scan-bench-cache-'));
      try {
        const [ref = '', ...host] = target;
        cold = best(cold, run(['scan-cached', ref, dir, ...host]));
        warm = best(warm, run(['scan-cached', ref, dir, ...host]));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const c = cold?.seconds ?? NaN;
    const w = warm?.seconds ?? NaN;
    console.log(`cache, ${cached.name}: cold ${c.toFixed(2)} s, warm ${w.toFixed(3)} s, cold/warm ${(c / w).toFixed(1)}`);
  }
} finally {
  await registry?.stop();
}
