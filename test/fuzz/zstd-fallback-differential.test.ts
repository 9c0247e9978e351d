/**
 * The fallback zstd decoder (libzstd built to WebAssembly, src/layer/zstd-wasm.ts) against the
 * native ones (zstd-napi's addon; Node's own zlib where Node has it, ≥ 22.15) on the same
 * inputs, fed in the same random-sized pieces, through both ways oci-scan decodes zstd: the
 * reusing decoder of the layer inspector and the pipeline stage of compressed archives
 * (docs/architecture.md, "Decoders").
 *
 * Asserted per input: the fallback never reads what a native decoder refuses; it reads what the
 * native decoder reads, to the same bytes, and refuses what it refuses, both ways counted when
 * the libzstd error or the bytes before it differ (Node's zlib words its errors its own way).
 * On a damaged frame, wasm32's libzstd (32-bit bit readers) may notice the damage where the
 * 64-bit native build does not: the fallback then refuses what the native decoder reads, or both
 * read it to other bytes — allowed only where the runtime's own decoder (klauspost/compress,
 * through test/oracle/compression) refuses the input too (docs/architecture.md, "Decoders").
 * Every unmutated stream decodes to its payload.
 *
 * Inputs: streams of the real `zstd` command over tars, text, random and zero payloads at levels
 * 1–19, --ultra -22, --fast, --long=27, with and without checksums and content sizes,
 * multithreaded; several frames; skippable frames before, between, after and alone; the frame's
 * window raised to 2^29 (the largest accepted) and beyond; then truncations, trailing bytes and
 * bit flips of those. ZSTD_FALLBACK_CASES inputs (default 600; every third also through the
 * pipeline stage), ZSTD_FALLBACK_SEED for another
 * campaign, ZSTD_FALLBACK_DUMP=DIR to keep the inputs they disagree on.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, it } from 'node:test';
import { decoderStage, reusingZstdDecoder, zstdBackends, type ZstdBackend } from '../../src/layer/decompress.js';
import { closeCompressionOracle, compressionOracleSkip, judgeWithRuntimes, type RuntimeVerdict } from '../helpers/compression-oracle.js';
import { buildTar, type EntrySpec } from '../helpers/image-builder.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw} is not a count`);
  return n;
}

const CASES = envInt('ZSTD_FALLBACK_CASES', 600);
const SEED = envInt('ZSTD_FALLBACK_SEED', 20261218);
/** A directory to write each input the decoders disagree on to (disagreement-N.zst), for a closer look. */
const DUMP = process.env['ZSTD_FALLBACK_DUMP'];

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): { int(n: number): number; bytes(n: number): Buffer; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    int,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
    pick: (xs) => xs[int(xs.length)] as (typeof xs)[number],
  };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Case {
  readonly how: string;
  readonly blob: Buffer;
  /** The payload an unmutated stream must decode to. */
  readonly payload?: Buffer;
}

/** The payloads: tars, text, random bytes, zeros, a mix. */
function payloads(r: ReturnType<typeof prng>): Buffer[] {
  const text = (n: number): Buffer =>
    Buffer.from(Array.from({ length: n }, (_, i) => `line ${i} ${r.int(1000)} the quick brown fox\n`).join(''));
  const tar = (n: number): Buffer => {
    const entries: EntrySpec[] = Array.from({ length: n }, (_, i) => ({
      type: 'file',
      path: `usr/lib/f${i}-${r.int(1e6)}`,
      content: r.int(2) ? text(r.int(200)) : r.bytes(r.int(4000)),
    }));
    return buildTar(entries);
  };
  return [
    Buffer.alloc(0),
    Buffer.from('x'),
    text(3000),
    r.bytes(150_000),
    Buffer.alloc(300_000),
    tar(40),
    Buffer.concat([text(4000), r.bytes(60_000), Buffer.alloc(50_000), text(2000)]),
  ];
}

/**
 * The `zstd` settings the streams are written with (stdin → stdout: no content size unless
 * --stream-size; the highest levels get it, else they size their tables for an unknown input and
 * take seconds and 670 MB each).
 */
const SETTINGS: ReadonlyArray<readonly string[]> = [
  ['-1'],
  ['-3', '--no-check'],
  ['-9'],
  ['-19', '--stream-size=PAYLOAD'],
  ['-19', '--no-check', '--stream-size=PAYLOAD'],
  ['--ultra', '-22', '--stream-size=PAYLOAD'],
  ['--fast=5'],
  ['--long=27', '-5'],
  ['-T2', '-12', '-B131072'],
  ['-6', '--stream-size=PAYLOAD'],
];

/** The window descriptor byte (after the magic and the frame header descriptor) for 2^log (+ mantissa/8). */
const windowByte = (log: number, mantissa = 0): number => ((log - 10) << 3) | mantissa;

function skippable(r: ReturnType<typeof prng>, content: Buffer): Buffer {
  const h = Buffer.from([0x50 + r.int(16), 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
  h.writeUInt32LE(content.length, 4);
  return Buffer.concat([h, content]);
}

function baseCases(r: ReturnType<typeof prng>): Case[] {
  const out: Case[] = [];
  const ps = payloads(r);
  for (const [i, p] of ps.entries()) {
    for (const s of SETTINGS) {
      const args = s.map((a) => a.replace('PAYLOAD', String(p.length)));
      out.push({
        how: `zstd ${args.join(' ')} of payload ${i}`,
        blob: execFileSync('zstd', ['-q', '-c', ...args], { input: p, maxBuffer: 1 << 28 }),
        payload: p,
      });
    }
  }
  const streams = [...out];
  // Several frames, skippable frames around and between them, a skippable frame alone.
  for (let n = 0; n < 12; n++) {
    const a = r.pick(streams);
    const b = r.pick(streams);
    const skip = skippable(r, r.bytes(r.int(40)));
    const shape = r.int(4);
    const blob = [
      Buffer.concat([a.blob, b.blob]),
      Buffer.concat([skip, a.blob, b.blob]),
      Buffer.concat([a.blob, skip, b.blob]),
      Buffer.concat([a.blob, b.blob, skip]),
    ][shape] as Buffer;
    out.push({
      how: `${['', 'skippable + ', ''][shape] ?? ''}${a.how}${shape === 2 ? ' + skippable' : ''} + ${b.how}${shape === 3 ? ' + skippable' : ''}`,
      blob,
      payload: Buffer.concat([a.payload ?? Buffer.alloc(0), b.payload ?? Buffer.alloc(0)]),
    });
  }
  out.push({ how: 'a skippable frame alone', blob: skippable(r, r.bytes(20)), payload: Buffer.alloc(0) });
  out.push({ how: 'an empty skippable frame alone', blob: skippable(r, Buffer.alloc(0)), payload: Buffer.alloc(0) });
  // The window: 2^29 is the largest accepted (ZSTD_WINDOW_LOG_MAX); 2^29 + 2^26, 2^30, 2^31 are refused.
  const framed = streams.filter((s) => s.blob.length > 5 && ((s.blob[4] as number) & 0x20) === 0 && (s.payload?.length ?? 0) > 0);
  for (const [log, mantissa] of [
    [29, 0],
    [29, 1],
    [30, 0],
    [31, 0],
    [28, 7],
    [41, 7],
  ] as const) {
    const s = r.pick(framed);
    const blob = Buffer.from(s.blob);
    blob[5] = windowByte(log, mantissa);
    out.push({
      how: `${s.how}, window 2^${log}${mantissa ? ` + ${mantissa}/8` : ''}`,
      blob,
      ...(log === 29 && mantissa === 0 ? { payload: s.payload as Buffer } : {}),
    });
  }
  return out;
}

/** Truncations, trailing bytes and bit flips of the base cases, up to `count` in all. */
function allCases(r: ReturnType<typeof prng>, count: number): Case[] {
  const base = baseCases(r);
  const out: Case[] = [...base];
  // Not the frames with a raised window: each decoding of those reserves up to 512 MiB.
  const pool = base.filter((c) => !c.how.includes(', window 2^'));
  while (out.length < count) {
    const a = r.pick(pool);
    const kind = r.int(6);
    if (kind === 0) {
      const cut = r.int(a.blob.length + 1);
      out.push({ how: `${a.how} cut at ${cut}`, blob: a.blob.subarray(0, cut) });
    } else if (kind === 1) {
      const n = r.pick([1, 3, 4, 8, 12]);
      out.push({ how: `${a.how} + ${n} zero bytes`, blob: Buffer.concat([a.blob, Buffer.alloc(n)]) });
    } else if (kind === 2) {
      const n = 1 + r.int(16);
      out.push({ how: `${a.how} + ${n} random bytes`, blob: Buffer.concat([a.blob, r.bytes(n)]) });
    } else {
      const blob = Buffer.from(a.blob);
      const at: number[] = [];
      for (let i = 0, flips = 1 + r.int(3); i < flips && blob.length > 0; i++) {
        // Mostly in the first 64 bytes (frame and block headers, tables), else anywhere.
        const p = r.int(2) ? r.int(Math.min(64, blob.length)) : r.int(blob.length);
        blob[p] = (blob[p] as number) ^ (1 << r.int(8));
        at.push(p);
      }
      out.push({ how: `${a.how} with bits flipped at ${at.join(',')}`, blob });
    }
  }
  return out;
}

/** What a decoder made of an input: the bytes' sha256 and count, and the error if it refused. */
interface Outcome {
  readonly sha256: string;
  readonly bytes: number;
  readonly error: string | null;
}

/** `blob` in random-sized pieces (the same for every decoder of one case). */
function piecesOf(blob: Buffer, r: ReturnType<typeof prng>): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    const n = 1 + r.int(r.int(4) === 0 ? 64 : 300_000);
    pieces.push(blob.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

/** The layer inspector's way: the reusing decoder, a few outputs per push. */
function viaReusing(backend: ZstdBackend, pieces: readonly Buffer[]): Outcome {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const decoder = reusingZstdDecoder(backend);
    assert.ok(decoder, `${backend} has no reusing decoder`);
    const emit = (out: Buffer): void => {
      hash.update(out);
      bytes += out.length;
    };
    for (const piece of pieces) {
      let step = decoder.push(piece, emit, 3);
      while (step.unfinished) step = decoder.push(step.rest, emit, 3);
    }
    decoder.finish();
    return { sha256: hash.digest('hex'), bytes, error: null };
  } catch (err) {
    return { sha256: hash.digest('hex'), bytes, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The archive readers' way: the pipeline stage. */
async function viaStage(backend: ZstdBackend, pieces: readonly Buffer[]): Promise<Outcome> {
  const hash = createHash('sha256');
  let bytes = 0;
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  };
  try {
    const stage = decoderStage('zstd', backend);
    // Both kinds of stage, apart: pipeline()'s overloads take each, not their union.
    if (typeof stage === 'function') await pipeline(Readable.from(pieces), stage, consume);
    else await pipeline(Readable.from(pieces), stage, consume);
    return { sha256: hash.digest('hex'), bytes, error: null };
  } catch (err) {
    return { sha256: hash.digest('hex'), bytes, error: err instanceof Error ? err.message : String(err) };
  }
}

const tools = missingTools({ zstd: 'zstd' });
const natives = zstdBackends().filter((b) => b !== 'wasm');
const noNative =
  natives.length === 0
    ? 'no native zstd decoder here (zstd-napi is not installed: npm could not compile it, and this Node has no zstd of its own)'
    : false;
if (noNative && process.env['OCI_SCAN_REQUIRE_TOOLS'] !== '1') console.error(`!!! zstd fallback differential test SKIPPED: ${noNative}`);
const skip = tools.skip || (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1' ? false : noNative);
const noOracle = compressionOracleSkip('zstd fallback differential test (damaged frames the decoders judge differently)');

describeOrSkip('the WebAssembly zstd fallback decodes as the native decoders do', { skip }, () => {
  after(() => closeCompressionOracle());

  it(`${CASES} inputs: same bytes, same refusals (native: ${natives.join(', ') || 'none'})`, { timeout: 600_000 }, async () => {
    assert.ok(natives.length > 0, `OCI_SCAN_REQUIRE_TOOLS=1 but ${noNative || ''}`);
    const r = prng(SEED);
    const all = allCases(r, CASES);
    const disagreements: string[] = [];
    /** Damaged inputs both refuse, libzstd naming another error (both: one LAYER_CORRUPT line). */
    let worded = 0;
    /**
     * Damaged inputs the fallback refuses and the native decoder reads, or both read to other
     * bytes: allowed when the runtime refuses them too.
     */
    const departures: Array<{ c: Case; what: string }> = [];
    let decoded = 0;
    let refused = 0;
    const refusals = new Map<string, number>();
    const say = (c: Case, what: string): void => {
      disagreements.push(`${c.how} (${c.blob.length} bytes): ${what}`);
      if (DUMP) writeFileSync(join(DUMP, `disagreement-${disagreements.length}.zst`), c.blob);
    };
    for (const [i, c] of all.entries()) {
      const pieces = piecesOf(c.blob, r);
      const fallback = viaReusing('wasm', pieces);
      if (i % 3 === 0) {
        const fallbackStage = await viaStage('wasm', pieces);
        if (JSON.stringify(fallbackStage) !== JSON.stringify(fallback))
          say(c, `the fallback's two ways differ: reusing ${JSON.stringify(fallback)}, stage ${JSON.stringify(fallbackStage)}`);
      }
      if (fallback.error === null) decoded++;
      else {
        refused++;
        refusals.set(fallback.error, (refusals.get(fallback.error) ?? 0) + 1);
      }
      if (c.payload !== undefined && (fallback.error !== null || fallback.sha256 !== sha(c.payload)))
        say(c, `an unmutated stream does not decode to its payload: ${fallback.error ?? 'other bytes'}`);
      for (const backend of natives) {
        const native = backend === 'node' ? await viaStage(backend, pieces) : viaReusing(backend, pieces);
        if (native.error === null && fallback.error === null) {
          if (native.sha256 !== fallback.sha256) departures.push({ c, what: `${backend} and the fallback read it to other bytes` });
        } else if (native.error !== null && fallback.error !== null) {
          // Node's zlib words its errors its own way; zstd-napi's are libzstd's, as the fallback's.
          if (
            backend !== 'node' &&
            (native.error !== fallback.error || native.bytes !== fallback.bytes || native.sha256 !== fallback.sha256)
          )
            worded++;
        } else if (native.error === null)
          departures.push({ c, what: `the fallback refuses it (${fallback.error ?? ''}), ${backend} reads it` });
        else say(c, `${backend} refuses it (${native.error}), the fallback reads it`);
      }
    }
    // A departure on a damaged frame (without a checksum: wasm32 runs libzstd's 32-bit bit
    // readers, which notice damage elsewhere than the 64-bit build) is judged by the runtime: its
    // own decoder (klauspost/compress, test/oracle/compression) must refuse the input, so that
    // no layer it would apply is read two ways.
    if (departures.length > 0) {
      if (noOracle) for (const d of departures) say(d.c, `${d.what}, and the runtime cannot be asked (${noOracle})`);
      else {
        const verdicts = await judgeWithRuntimes(departures.map((d) => d.c.blob));
        for (const [i, d] of departures.entries()) {
          const v = verdicts[i] as RuntimeVerdict;
          const runtimeError = v.image === '' && v.containerd === 'zstd' ? v.containerdError : v.error;
          if (runtimeError === null) say(d.c, `${d.what}, and the runtime reads it`);
        }
      }
    }
    console.log(
      `zstd fallback differential: ${all.length} inputs against ${natives.join(', ')}: ${decoded} decoded, ${refused} refused (${[...refusals].map(([e, n]) => `${e}: ${n}`).join('; ')}); damaged inputs both refuse with another libzstd error: ${worded}; damaged inputs the runtime refuses and the fallback refuses but the native decoder reads: ${departures.filter((d) => d.what.startsWith('the fallback refuses')).length}, both read to other bytes: ${departures.filter((d) => d.what.endsWith('other bytes')).length}; disagreements: ${disagreements.length}`,
    );
    assert.deepEqual(disagreements.slice(0, 30), []);
    // The campaign reaches both outcomes, and the window refusal.
    assert.ok(decoded >= 50 && refused >= 50, `${decoded} decoded, ${refused} refused`);
    assert.ok(
      [...refusals.keys()].some((e) => /window larger than 512 MiB/.test(e)),
      [...refusals.keys()].join('; '),
    );
  });
});
