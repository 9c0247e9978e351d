/**
 * The bzip2 and xz decoders (src/layer/bzip2.ts, src/layer/xz.ts) against the reference tools:
 * many random payloads compressed by `bzip2` and `xz` at several settings decode to the exact
 * payload, whatever the input chunking (down to one byte at a time); layers in either
 * compression give the facts of the plain tar; a bomb stops at the layer size limit with the
 * output never piled up; a damaged stream is one LAYER_CORRUPT error.
 *
 * Provenance: payloads from a seeded PRNG (text runs, random bytes, long repeats, tars from
 * test/helpers/image-builder.ts), compressed by the installed bzip2 and xz.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isOciScanError } from '../../../src/errors.js';
import { bzip2Decode } from '../../../src/layer/bzip2.js';
import { inspectLayer, type EntryMatcher } from '../../../src/layer/inspect.js';
import { xzDecode } from '../../../src/layer/xz.js';
import { buildTar, gzipTarPolyglot } from '../../helpers/image-builder.js';
import { listTar } from '../../../src/layer/tar/reader.js';
import { missingTools } from '../../helpers/tools.js';
import { describeOrSkip } from '../../helpers/skip.js';

const tools = missingTools({ bzip2: 'bzip2', xz: 'xz-utils' });
const RUNS = Number(process.env['DECODER_RUNS'] ?? 30);
const ALL: EntryMatcher = { id: 'all', fingerprint: 'all', matches: () => true };

function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A payload mixing the shapes compressors treat differently: text, noise, runs (bzip2's run-length stages), repeats at long distances (LZMA matches). */
function payload(int: (n: number) => number): Buffer {
  const parts: Buffer[] = [];
  const pieces = 1 + int(6);
  for (let i = 0; i < pieces; i++) {
    const kind = int(5);
    const n = int(kind === 1 ? 40_000 : 120_000);
    if (kind === 0) parts.push(Buffer.from(Array.from({ length: n >> 5 }, (_, j) => `row ${j} value ${int(100)}\n`).join('')));
    else if (kind === 1) parts.push(Buffer.from(Array.from({ length: n }, () => int(256))));
    else if (kind === 2) parts.push(Buffer.alloc(n, int(256)));
    else if (kind === 3 && parts.length > 0) parts.push(parts[int(parts.length)] as Buffer);
    else parts.push(Buffer.from(Array.from({ length: n }, () => 97 + int(3))));
  }
  return Buffer.concat(parts);
}

function chunked(bytes: Buffer, size: (n: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.max(1, size(65536));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function decodeAll(decode: (s: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>, pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of decode(Readable.from(pieces))) out.push(chunk);
  return Buffer.concat(out);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const SETTINGS: Record<'bzip2' | 'xz', ReadonlyArray<readonly string[]>> = {
  bzip2: [['-1'], ['-9'], ['-3']],
  xz: [
    ['-0'],
    ['-6'],
    ['-1', '--check=crc32'],
    ['-2', '--check=sha256'],
    ['-3', '--block-size=50000'],
    ['--lzma2=preset=1,lc=0,lp=2,pb=0'],
    ['--lzma2=preset=1,dict=4KiB'],
  ],
};

describeOrSkip('bzip2 and xz decoders against the reference tools', { skip: tools.skip }, () => {
  for (const format of ['bzip2', 'xz'] as const) {
    it(`${format}: ${RUNS} random payloads decode to their exact bytes, in any chunking`, () => {
      const int = prng(format === 'bzip2' ? 17 : 29);
      const decode = format === 'bzip2' ? bzip2Decode : xzDecode;
      return (async () => {
        for (let i = 0; i < RUNS; i++) {
          const data = payload(int);
          const args = SETTINGS[format][i % SETTINGS[format].length] as readonly string[];
          const compressed = execFileSync(format, [...args, '-c'], { input: data, maxBuffer: 1 << 28 });
          // Every fifth run feeds tiny pieces (1–16 bytes): each step of the decoder must wait and resume.
          const pieces = chunked(compressed, i % 5 === 0 ? (n) => 1 + int(Math.min(n, 16)) : int);
          const out = await decodeAll(decode, pieces);
          assert.equal(sha(out), sha(data), `run ${i} (${format} ${args.join(' ')}, ${data.length} bytes)`);
        }
      })();
    });
  }

  it('concatenated streams are read on, as the runtimes read them', async () => {
    const a = Buffer.from('first stream\n');
    const b = Buffer.from('second stream\n');
    for (const format of ['bzip2', 'xz'] as const) {
      const joined = Buffer.concat([execFileSync(format, ['-c'], { input: a }), execFileSync(format, ['-c'], { input: b })]);
      const out = await decodeAll(format === 'bzip2' ? bzip2Decode : xzDecode, [joined]);
      assert.equal(out.toString(), 'first stream\nsecond stream\n', format);
    }
  });
});

describeOrSkip('bzip2 and xz layers through the inspector', { skip: tools.skip }, () => {
  const tar = buildTar([
    { type: 'file', path: 'etc/os-release', content: 'ID=alpine\n' },
    { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'sudo' },
  ]);
  const inspect = (blob: Buffer, maxLayerBytes?: number): ReturnType<typeof inspectLayer> =>
    inspectLayer(Readable.from([blob]), {
      matchers: [ALL],
      watchPaths: new Set(['/etc/os-release']),
      what: 'layer sha256:test',
      ...(maxLayerBytes ? { maxLayerBytes } : {}),
    });

  it('give the facts of the plain tar, with their compression named', async () => {
    const plain = await inspect(tar);
    for (const format of ['bzip2', 'xz'] as const) {
      const facts = await inspect(execFileSync(format, ['-c'], { input: tar }));
      assert.equal(facts.compression, format);
      assert.deepEqual({ ...facts, compression: 'none' }, plain);
    }
  });

  it('a damaged or truncated stream is one LAYER_CORRUPT error naming the compression', async () => {
    for (const format of ['bzip2', 'xz'] as const) {
      const good = execFileSync(format, ['-c'], { input: tar });
      const damaged = Buffer.from(good);
      damaged[damaged.length - 9] = (damaged[damaged.length - 9] as number) ^ 0x40;
      for (const blob of [damaged, good.subarray(0, good.length - 3)]) {
        await assert.rejects(
          inspect(blob),
          (err: unknown) => isOciScanError(err, 'LAYER_CORRUPT') && err.message.includes(`(${format}: `) && !err.message.includes('\n'),
        );
      }
    }
  });

  it('a bomb (a few KB → 256 MiB) stops at the layer size limit without holding the output', async () => {
    // 256 MiB of zeros (an empty tar, to the tar reader): the limit is reached long before the end.
    for (const format of ['bzip2', 'xz'] as const) {
      const bomb = execFileSync('sh', ['-c', `head -c 268435456 /dev/zero | ${format} -1 -c`], { maxBuffer: 1 << 26 });
      assert.ok(bomb.length < 100_000, `${format} bomb is ${bomb.length} bytes`);
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      try {
        await assert.rejects(inspect(bomb, 48 * 1024 * 1024), (err: unknown) => isOciScanError(err, 'LAYER_TOO_LARGE'));
      } finally {
        clearInterval(timer);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.ok(peak - before < 100 * 1024 * 1024, `${format}: RSS grew by ${Math.round((peak - before) / 2 ** 20)} MiB`);
    }
  });
});

describe('a blob that is both a compressed stream and a plain tar', () => {
  it('is read as the runtime reads it: by its magic bytes, decompressed', async () => {
    const content = buildTar([{ type: 'file', path: 'etc/os-release', content: 'ID=debian\n' }]);
    const blob = gzipTarPolyglot(content, [{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: '' }]);
    // Read as a plain tar, the blob lists a setuid sudo: it really is both.
    const asTar = listTar(blob);
    assert.equal(asTar.error, undefined);
    assert.ok(asTar.entries.some((e) => e.name === 'usr/bin/sudo'));
    const facts = await inspectLayer(Readable.from([blob]), {
      matchers: [ALL],
      watchPaths: new Set(['/etc/os-release']),
      what: 'layer sha256:test',
    });
    assert.equal(facts.compression, 'gzip');
    assert.deepEqual(facts.matches['all'], ['/etc/os-release']);
  });
});
