/**
 * Property-based fuzzing of the stream parsers: the layer inspector (gzip / zstd / tar) and the
 * archive tar indexer, fed random truncations, bit flips and splices of real fixture layers
 * built by test/helpers/image-builder.ts, in random chunk sizes. Every case must end in facts or
 * an OciScanError with exit 20/21 — never another exception, an unhandled rejection or a hang.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { isOciScanError } from '../../src/errors.js';
import { inspectLayer, type EntryMatcher } from '../../src/layer/inspect.js';
import { indexTar } from '../../src/sources/tar-index.js';
import { buildTar, compress, ustarHeader, type EntrySpec } from '../helpers/image-builder.js';
import { tempDir } from '../helpers/scan.js';
import { endsInTimeOrTypedError, fuzzParams, reportRuns } from './fuzz-config.js';

// Provenance: a small layer with every entry kind the checks look at, a PAX long name, a GNU
// long name layer, whiteouts and a watched file; compressed by node:zlib (gzip) and as
// stored zstd blocks (zstdStored), so no external tool is needed.
const entries: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20\n' },
  { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'x'.repeat(700) },
  { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
  { type: 'hardlink', path: 'usr/bin/su', target: 'usr/bin/sudo' },
  { type: 'file', path: `opt/${'long/'.repeat(30)}name`, content: 'deep' },
  { type: 'file', path: 'var/.wh.cache', content: '' },
  { type: 'file', path: 'tmp/.wh..wh..opq', content: '' },
  { type: 'fifo', path: 'run/fifo' },
];
const tarPlain = buildTar(entries);
const tarGnu = buildTar(entries, 'gnu');
const seeds: ReadonlyArray<[string, Buffer]> = [
  ['tar', tarPlain],
  ['tar-gnu', tarGnu],
  ['gzip', compress(tarPlain, 'gzip')],
  ['zstd', compress(tarPlain, 'zstd-stored')],
];

const matchers: EntryMatcher[] = [
  { id: 'suid', fingerprint: 'suid', matches: (e) => e.type === 'file' && (e.mode & 0o4000) !== 0 },
  { id: 'sudo', fingerprint: 'sudo', matches: (e) => e.basename === 'sudo' },
];
const watchPaths = new Set(['/etc/os-release', '/usr/lib/os-release']);

/** Mutations of a seed: bit flips, truncation, splice (of random bytes or of another seed), header damage. */
function mutations(seed: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }).map((flips) => {
      const b = Buffer.from(seed);
      for (const [pos, bit] of flips) b[pos % b.length] = (b[pos % b.length] ?? 0) ^ (1 << bit);
      return b;
    }),
    fc.nat().map((n) => seed.subarray(0, n % (seed.length + 1))),
    fc
      .tuple(
        fc.nat(),
        fc.nat(),
        fc.oneof(
          fc.uint8Array({ maxLength: 1100 }).map((u) => Buffer.from(u)),
          fc.constantFrom(...seeds.map(([, b]) => b)),
        ),
      )
      .map(([a, len, insert]) => {
        const i = a % (seed.length + 1);
        const j = Math.min(seed.length, i + (len % 2048));
        return Buffer.concat([seed.subarray(0, i), insert.subarray(0, 4096), seed.subarray(j)]);
      }),
  );
}

/** Splits bytes into chunks of random sizes (1..N), so that parsers see every boundary. */
function chunked(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  let k = 0;
  while (pos < bytes.length) {
    const size = sizes.length > 0 ? (sizes[k++ % sizes.length] ?? 512) : bytes.length;
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

const layerInput = fc.oneof(
  ...seeds.map(([, b]) => mutations(b)),
  fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u)),
);

test('inspectLayer: mutated gzip / zstd / tar layers end in facts or LAYER_CORRUPT / LAYER_TOO_LARGE', async () => {
  let runs = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fc.assert(
      fc.asyncProperty(
        layerInput,
        fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 4 }),
        fc.constantFrom(undefined, 2048, 64 * 1024),
        async (bytes, sizes, maxLayerBytes) => {
          runs += 1;
          await endsInTimeOrTypedError(async () => {
            const facts = await inspectLayer(Readable.from(chunked(bytes, sizes)), {
              matchers,
              watchPaths,
              what: 'layer sha256:fuzz',
              maxEntries: 1000,
              ...(maxLayerBytes ? { maxLayerBytes } : {}),
            });
            assert.ok(facts.tarBytes <= (maxLayerBytes ?? Infinity), 'the decompression-bomb guard let more through than allowed');
            for (const paths of Object.values(facts.matches))
              for (const p of paths) assert.ok(p.startsWith('/') && !p.split('/').includes('..'), `unnormalised path ${p}`);
          }, `inspectLayer(${bytes.length} bytes)`);
        },
      ),
      fuzzParams(2000),
    );
    // let any late rejection surface before judging
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, [], 'unhandled rejections during the campaign');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  reportRuns('inspectLayer (gzip/zstd/tar)', runs);
});

test('inspectLayer: a source stream that fails mid-layer ends in that error, not a hang', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...seeds.map(([, b]) => b)), fc.nat(), async (bytes, cut) => {
      runs += 1;
      const at = cut % (bytes.length + 1);
      async function* source(): AsyncGenerator<Buffer> {
        yield bytes.subarray(0, at);
        throw new Error('connection reset by fuzz');
      }
      await assert.rejects(
        Promise.race([
          inspectLayer(Readable.from(source()), { matchers, watchPaths, what: 'layer sha256:fuzz' }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('hang')), 5000).unref()),
        ]),
        (err: unknown) => err instanceof Error && err.message !== 'hang',
      );
    }),
    fuzzParams(500),
  );
  reportRuns('inspectLayer (failing source)', runs);
});

// Archive tars (oci-archive / docker-archive) are indexed by src/sources/tar-index.ts.
const archiveSeed = buildTar([
  { type: 'file', path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
  { type: 'file', path: `blobs/sha256/${'a'.repeat(64)}`, content: 'z'.repeat(1500) },
  { type: 'file', path: `${'p/'.repeat(60)}index.json`, content: '{}' },
]);
const archiveGnu = buildTar([{ type: 'file', path: `${'q/'.repeat(60)}manifest.json`, content: '[]' }], 'gnu');

/** A PAX header whose records say `size` / `path` are something hostile, followed by a member. */
const hostilePax = fc
  .tuple(
    fc.constantFrom('size', 'path'),
    fc.oneof(fc.constantFrom('-1536', '-512', '1.5', 'NaN', '1e30', '', '0x10', '9007199254740993'), fc.string({ maxLength: 12 })),
  )
  .map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    const data = Buffer.from(`${len}${body}`);
    const padded = Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
    return Buffer.concat([
      ustarHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: data.length }),
      padded,
      ustarHeader({ name: 'member', typeflag: '0', size: 0 }),
      ustarHeader({ name: 'next', typeflag: '0', size: 0 }),
      Buffer.alloc(1024),
    ]);
  });

test('indexTar: mutated archives end in an index or SOURCE_UNREADABLE', async () => {
  const { dir, cleanup } = await tempDir('oci-scan-fuzz-');
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutations(archiveSeed),
          mutations(archiveGnu),
          hostilePax,
          fc.uint8Array({ maxLength: 3000 }).map((u) => Buffer.from(u)),
        ),
        async (bytes) => {
          runs += 1;
          const file = join(dir, `a${runs}.tar`);
          await writeFile(file, bytes);
          await endsInTimeOrTypedError(async () => {
            const members = await indexTar(file, 'oci-archive fuzz.tar');
            for (const m of members.values())
              assert.ok(m.offset >= 0 && m.size >= 0 && m.offset + m.size <= bytes.length, `member out of the file: ${JSON.stringify(m)}`);
          }, `indexTar(${bytes.length} bytes)`);
        },
      ),
      fuzzParams(2000),
    );
  } finally {
    await cleanup();
  }
  reportRuns('indexTar', runs);
});

// PAX sizes that are not whole non-negative numbers, as the property above can write them.
for (const size of ['-1536', 'NaN', '1.5', '-512']) {
  test(`indexTar: a PAX size of ${size} is SOURCE_UNREADABLE, not a hang, a RangeError or a NaN member`, async () => {
    const { dir, cleanup } = await tempDir('oci-scan-fuzz-');
    try {
      const body = ` size=${size}\n`;
      const record = Buffer.from(`${body.length + 2}${body}`);
      const file = join(dir, 'pax.tar');
      await writeFile(
        file,
        Buffer.concat([
          ustarHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: record.length }),
          record,
          Buffer.alloc(512 - record.length),
          ustarHeader({ name: 'member', typeflag: '0', size: 0 }),
          Buffer.alloc(1024),
        ]),
      );
      await assert.rejects(
        Promise.race([
          indexTar(file, 'oci-archive pax.tar'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('hang')), 5000).unref()),
        ]),
        (err: unknown) =>
          isOciScanError(err, 'SOURCE_UNREADABLE') &&
          /not a tar archive \((invalid PAX size|invalid tar header .*negative size)/.test(err.message),
      );
    } finally {
      await cleanup();
    }
  });
}
