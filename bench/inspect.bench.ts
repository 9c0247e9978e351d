/**
 * Layer inspector throughput, as ratios against baselines measured in the same run (machines
 * differ: no absolute timings asserted anywhere). A ~200 MB layer is built in memory by
 * test/helpers/image-builder.ts (files of mixed sizes with text-like content), compressed with
 * node:zlib gzip (level 6) and the `zstd` command (level 3; zstd stored blocks if the command is
 * missing), and fed in 256 KiB chunks, as a file read would give them.
 *
 * Baselines: raw `zlib.createGunzip()` → discard; raw `tar-stream` extract → discard entries.
 * Also: `gunzip-maybe` (a named dependency) against zlib.
 *
 * Run: npm run bench:inspect
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import gunzipMaybe from 'gunzip-maybe';
import * as tar from 'tar-stream';
import { FILE_EXTENDED_CHECKS } from '../src/checks/extended-files.js';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../src/checks/index.js';
import type { Check } from '../src/checks/types.js';
import { inspectLayer, type EntryMatcher } from '../src/layer/inspect.js';
import { buildTar, compress, type EntrySpec } from '../test/helpers/image-builder.js';

const MB = 1_000_000;
const APP_EXTENSIONS = ['.py', '.js', '.json', '.yml', '.txt', '.sh'];
const CHUNK = 256 * 1024;
const ROUNDS = 3;

/** `where`: `distro` puts the files under /usr/share (.dat), `app` under /app/src with the text extensions the secret-files rules read. */
function layerEntries(targetBytes: number, where: 'distro' | 'app' = 'distro'): EntrySpec[] {
  const words = 'usr lib bin share doc locale python3 node perl gcc include header static const return void int char struct '.split(' ');
  const entries: EntrySpec[] = [{ type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' }];
  let total = 0;
  let seed = 42;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; total < targetBytes; i++) {
    // Mostly small files, some large ones: the shape of a distro layer.
    const size = rand() < 0.9 ? Math.floor(rand() * 16_384) : Math.floor(rand() * 4 * 1024 * 1024);
    const parts: string[] = [];
    let len = 0;
    while (len < size) {
      const w = words[Math.floor(rand() * words.length)] ?? 'x';
      parts.push(w);
      len += w.length + 1;
    }
    const content = Buffer.from(parts.join(' ')).subarray(0, size);
    const path =
      where === 'distro'
        ? `usr/share/pkg${i % 97}/file-${i}.dat`
        : `app/src/mod${i % 97}/file-${i}${APP_EXTENSIONS[i % APP_EXTENSIONS.length] ?? '.py'}`;
    entries.push({ type: 'file', path, mode: i % 50 === 0 ? 0o4755 : 0o644, content });
    if (i % 20 === 0) entries.push({ type: 'symlink', path: `usr/bin/tool-${i}`, target: `../share/pkg${i % 97}/file-${i}.dat` });
    total += size + 512;
  }
  return entries;
}

function source(bytes: Buffer): Readable {
  function* gen(): Generator<Buffer> {
    for (let off = 0; off < bytes.length; off += CHUNK) yield bytes.subarray(off, off + CHUNK);
  }
  return Readable.from(gen(), { objectMode: false });
}

const discard = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

async function tarStreamBaseline(bytes: Buffer): Promise<void> {
  const extract = tar.extract();
  const pumping = pipeline(source(bytes), extract as unknown as Writable);
  for await (const entry of extract) entry.resume();
  await pumping;
}

const matchers: EntryMatcher[] = [
  { id: 'suid', fingerprint: 'suid', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 },
  { id: 'named', fingerprint: 'named', matches: (e) => e.basename === 'su' || e.basename === 'gcc' },
];
const inspect = async (bytes: Buffer): Promise<void> => {
  await inspectLayer(source(bytes), { matchers, watchPaths: new Set(['/etc/os-release']), what: 'bench layer' });
};
/** Inspects `bytes` with the matchers and watched paths of `checks`, as a scan does. */
const inspectFor =
  (checks: readonly Check[]) =>
  async (bytes: Buffer): Promise<void> => {
    await inspectLayer(source(bytes), { matchers: matchersOf(checks), watchPaths: watchPathsOf(checks), what: 'bench layer' });
  };
const EXTENDED = [...ALL_CHECKS, ...FILE_EXTENDED_CHECKS];

/** Best of ROUNDS, in MB/s of uncompressed tar. */
async function measure(tarBytes: number, fn: () => Promise<void>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return tarBytes / MB / best;
}

let hasZstd = true;
function zstdLayer(plain: Buffer): Buffer {
  try {
    return compress(plain, 'zstd');
  } catch {
    hasZstd = false;
    return compress(plain, 'zstd-stored');
  }
}

const plain = buildTar(layerEntries(200 * MB));
const gz = gzipSync(plain);
const zst = zstdLayer(plain);
const n = plain.length;
console.log(
  `layer: ${(n / MB).toFixed(0)} MB tar, ${(gz.length / MB).toFixed(0)} MB gzip, ${(zst.length / MB).toFixed(1)} MB zstd${hasZstd ? '' : ' (stored blocks: zstd command missing)'}; best of ${ROUNDS}, ${CHUNK / 1024} KiB chunks; Node ${process.version}`,
);

const gunzipBase = await measure(n, () => pipeline(source(gz), createGunzip(), discard()));
const tarBase = await measure(n, () => tarStreamBaseline(plain));
const maybe = await measure(n, () => pipeline(source(gz), gunzipMaybe(), discard()));
const inspPlain = await measure(n, () => inspect(plain));
const inspGzip = await measure(n, () => inspect(gz));
const inspZstd = await measure(n, () => inspect(zst));
// The extended filesystem checks (docs/checks.md): on the distro layer (content not read) and on
// a layer of application text files of the same sizes (the secret-files rules read them all).
const gzApp = gzipSync(buildTar(layerEntries(200 * MB, 'app')));
const checks17 = await measure(n, () => inspectFor(ALL_CHECKS)(gz));
const checksExt = await measure(n, () => inspectFor(EXTENDED)(gz));
const app17 = await measure(n, () => inspectFor(ALL_CHECKS)(gzApp));
const appExt = await measure(n, () => inspectFor(EXTENDED)(gzApp));

const rows: Array<[string, number, string]> = [
  ['baseline: zlib.createGunzip → discard', gunzipBase, '1.00 (gzip baseline)'],
  ['baseline: tar-stream extract → discard', tarBase, '1.00 (tar baseline)'],
  ['gunzip-maybe → discard', maybe, `${(maybe / gunzipBase).toFixed(2)} × zlib`],
  ['inspectLayer plain tar', inspPlain, `${(inspPlain / tarBase).toFixed(2)} × tar-stream`],
  ['inspectLayer gzip', inspGzip, `${(inspGzip / gunzipBase).toFixed(2)} × zlib gunzip`],
  ['inspectLayer zstd', inspZstd, `${(inspZstd / gunzipBase).toFixed(2)} × zlib gunzip`],
  ['gzip, the 17 checks', checks17, '1.00 (checks baseline)'],
  ['gzip, 17 + extended filesystem checks', checksExt, `${(checks17 / checksExt).toFixed(2)} × the 17's time`],
  ['gzip app text, the 17 checks', app17, '1.00 (app baseline)'],
  ['gzip app text, 17 + extended filesystem checks', appExt, `${(app17 / appExt).toFixed(2)} × the 17's time`],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`${'case'.padEnd(width)}  ${'MB/s'.padStart(7)}  ratio`);
for (const [name, rate, ratio] of rows) console.log(`${name.padEnd(width)}  ${rate.toFixed(0).padStart(7)}  ${ratio}`);
