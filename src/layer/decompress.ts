/**
 * Layer decompression by sniffing the magic bytes rather than trusting the media type, as
 * containers/image's DetectCompressionFormat does (docs/architecture.md, "Decoders"): gzip
 * (1f 8b 08), bzip2 ("BZh"), xz (fd 37 7a 58 5a 00), zstd (28 b5 2f fd, or a skippable frame
 * 5? 2a 4d 18 first, which containerd also accepts); anything else is taken as a plain tar and
 * the tar reader judges it. A tar whose first bytes happen to be a magic is decompressed, as
 * the runtime decompresses it.
 *
 * Every decoder here honours backpressure: it produces at most one output buffer before
 * waiting for the consumer, so memory stays bounded whatever the compression ratio. zstd uses
 * Node's own decoder where Node has one (≥ 22.15), else libzstd through `zstd-napi` where npm
 * could build it, else the same libzstd built to WebAssembly (./zstd-wasm.ts); all refuse
 * frames whose window is larger than `ZSTD_WINDOW_LOG_MAX` allows (docs/architecture.md).
 * bzip2 and xz are decoded by ./bzip2.ts and ./xz.ts, ports of the readers podman uses.
 *
 * Callers get decoded bytes without choosing a decoder: `decompress()` as a stream (sources:
 * compressed archives, docker-archive layers checked against their diffID), `decompressInto()`
 * pushed chunk by chunk into a synchronous sink (the layer inspector's hot path).
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// node:zlib is loaded on first use: a re-scan from the cache inflates nothing (docs/architecture.md "Start-up").
import type * as zlib from 'node:zlib';
import { OciScanError, isOciScanError } from '../errors.js';
import { bzip2Decode } from './bzip2.js';
import { xzDecode } from './xz.js';
import { WasmZstdDCtx } from './zstd-wasm.js';

/** What the first bytes of a blob say it is. */
export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';

/** The compressions a blob or an archive may have (every value but 'none'). */
export type Compressed = Exclude<Compression, 'none'>;

/** Bytes to peek at before sniffing: the longest magic (xz's six) and containerd's eight for a skippable zstd frame. */
export const SNIFF_BYTES = 8;

/**
 * Largest zstd window accepted: 2^29 = 512 MiB, the largest the runtimes' decoder
 * (klauspost/compress, `zstd.MaxWindowSize`, in containers/image, containerd and moby alike)
 * accepts. The decoder keeps a whole window in memory once that much output has passed, so
 * such a layer costs up to 512 MiB (three layers are read at once); real layers use ≤ 8 MiB:
 * BuildKit and containers/image write 8 MiB windows at most, the `zstd` command up to 8 MiB at
 * levels 1–19, 128 MiB with `--ultra -22`, and `--long=N` 2^N bytes (docs/architecture.md, "Decoders").
 */
export const ZSTD_WINDOW_LOG_MAX = 29;

/** Output buffer size of the zstd decoders: large buffers mean fewer hops per byte. */
const OUTPUT_CHUNK = 256 * 1024;

/**
 * Output buffer size of gunzip: each buffer is one hop to the thread pool and back, so 1 MiB
 * beats 256 KiB by 10–20 % here (docs/architecture.md "Memory and speed"); zstd gains nothing.
 */
const GZIP_OUTPUT_CHUNK = 1024 * 1024;

/** Classifies a blob by its first bytes, as containers/image does (plus containerd's skippable zstd frame). */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (magic: readonly number[]): boolean => head.length >= magic.length && magic.every((b, i) => head[i] === b);
  if (starts([0x1f, 0x8b, 0x08])) return 'gzip';
  if (starts([0x42, 0x5a, 0x68])) return 'bzip2';
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  // A zstd skippable frame (magic 0x184D2A50–0x184D2A5F, little-endian) before the data;
  // containerd looks for it only in a blob of at least 8 bytes.
  if (head.length >= 8 && ((head[0] ?? 0) & 0xf0) === 0x50 && starts([head[0] ?? 0, 0x2a, 0x4d, 0x18])) return 'zstd';
  return 'none';
}

/** A libzstd streaming decoder context: zstd-napi's DCtx and ./zstd-wasm.ts's have this call. */
interface ZstdDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}

/** The part of zstd-napi's native binding used here (see its binding.d.ts). */
interface ZstdBinding {
  DCtx: new () => ZstdDCtx & { setParameter(param: number, value: number): void };
  DParameter: { windowLogMax: number };
}

/**
 * Where zstd is decoded: `node`, Node's own zlib (≥ 22.15); `zstd-napi`, libzstd's native addon
 * (an optional dependency: npm leaves it out where it cannot be compiled); `wasm`, the same
 * libzstd built to WebAssembly and shipped in the package (./zstd-wasm.ts). All three are libzstd
 * with the same window limit: the same bytes and refusals, but for some damaged frames that the
 * 32-bit WebAssembly build judges otherwise (docs/architecture.md, "Decoders").
 */
export type ZstdBackend = 'node' | 'zstd-napi' | 'wasm';

/** zstd-napi's binding, null when it is not installed or its native module does not load. */
let zstdBinding: ZstdBinding | null | undefined;
function loadZstdNapi(): ZstdBinding | null {
  if (zstdBinding === undefined) {
    try {
      zstdBinding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
    } catch {
      zstdBinding = null;
    }
  }
  return zstdBinding;
}

/**
 * The backends usable here, best first: Node's own decoder, then the native addon, then the
 * WebAssembly build, which is always there. `OCI_SCAN_ZSTD=wasm` leaves only the WebAssembly
 * build (docs/api.md "Install": how to check the fallback on a machine that has the others).
 */
export function zstdBackends(): ZstdBackend[] {
  if (process.env['OCI_SCAN_ZSTD'] === 'wasm') return ['wasm'];
  const found: ZstdBackend[] = [];
  if (nativeZstd()) found.push('node');
  if (loadZstdNapi()) found.push('zstd-napi');
  found.push('wasm');
  return found;
}

/** The backend that decodes zstd layers and archives here: the first of zstdBackends(). */
export function zstdBackend(): ZstdBackend {
  return zstdBackends()[0] ?? 'wasm';
}

type ZlibWithZstd = typeof zlib & {
  createZstdDecompress?: (options?: { chunkSize?: number; params?: Record<number, number> }) => Transform;
  constants: typeof zlib.constants & { ZSTD_d_windowLogMax?: number };
};

/** A zstd error message a user can act on. */
function zstdError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/too much memory|window/i.test(message)) {
    return new Error(
      `the zstd frame needs a window larger than ${2 ** (ZSTD_WINDOW_LOG_MAX - 20)} MiB, more than container runtimes decode and oci-scan accepts; recompress the layer without --long above 29`,
    );
  }
  return err instanceof Error ? err : new Error(message);
}

/** libzstd's streaming decoder context with oci-scan's window limit. */
class ZstdContext {
  readonly #dctx: ZstdDCtx;
  /** ZSTD_decompressStream returns 0 once a frame is complete, else a hint of what is missing. */
  #inFrame = false;

  constructor(backend: 'zstd-napi' | 'wasm') {
    const binding = backend === 'zstd-napi' ? loadZstdNapi() : null;
    if (binding) {
      const dctx = new binding.DCtx();
      dctx.setParameter(binding.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
      this.#dctx = dctx;
    } else if (backend === 'wasm') {
      this.#dctx = new WasmZstdDCtx(ZSTD_WINDOW_LOG_MAX);
    } else {
      throw new Error('zstd-napi is not installed or its native module does not load');
    }
  }

  /** Decodes from `src` into `dst`: the bytes produced, the input left, and whether to call again for this input. */
  step(src: Buffer, dst: Buffer): { out: Buffer; rest: Buffer; again: boolean } {
    let result: [number, number, number];
    try {
      result = this.#dctx.decompressStream(dst, src);
    } catch (err) {
      throw zstdError(err);
    }
    const [hint, produced, consumed] = result;
    // A call that neither read nor wrote (asked again after a full output buffer that ended the
    // frame) says what a next frame would need: it is no statement about this one.
    if (produced > 0 || consumed > 0) this.#inFrame = hint !== 0;
    const rest = src.subarray(consumed);
    // Done with this input when it is used up and the output buffer was not filled.
    return { out: dst.subarray(0, produced), rest, again: rest.length > 0 || produced === dst.length };
  }

  finish(): void {
    if (this.#inFrame) throw new Error('unexpected end of the zstd data: the layer is truncated');
  }
}

/** libzstd's streaming decoder as a pipeline stage, one fresh output buffer at a time (the generator waits for the consumer). */
async function* zstdStreamDecode(backend: 'zstd-napi' | 'wasm', source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const ctx = new ZstdContext(backend);
  for await (const chunk of source) {
    for (let src = chunk, again = true; again;) {
      const step = ctx.step(src, Buffer.allocUnsafe(OUTPUT_CHUNK));
      ({ rest: src, again } = step);
      if (step.out.length > 0) yield step.out;
    }
  }
  ctx.finish();
}

/**
 * A zstd decoder for a consumer that is done with each output before asking for the next
 * (the tar reader copies whatever it keeps): every output lands in one reused buffer, so a
 * layer's decompression allocates nothing per chunk. `push` decodes at most `maxOutputs`
 * buffers' worth and returns the input it has not used yet, so that the caller can yield to
 * the event loop between batches. Undefined where Node's own zstd decoder is used instead.
 */
export interface ReusingDecoder {
  /** Decodes `input`; `unfinished` when it stopped after `maxOutputs` buffers: call again with `rest` (possibly empty). */
  push(input: Buffer, emit: (out: Buffer) => void, maxOutputs: number): { rest: Buffer; unfinished: boolean };
  finish(): void;
}

/** The reusing zstd decoder of `backend` (default: the one in use), or undefined for Node's own, which is a Transform. */
export function reusingZstdDecoder(backend: ZstdBackend = zstdBackend()): ReusingDecoder | undefined {
  if (backend === 'node') return undefined;
  const ctx = new ZstdContext(backend);
  const dst = Buffer.allocUnsafe(OUTPUT_CHUNK);
  return {
    push(input, emit, maxOutputs) {
      let src = input;
      for (let n = 0; n < maxOutputs; n++) {
        const { out, rest, again } = ctx.step(src, dst);
        src = rest;
        if (out.length > 0) emit(out);
        if (!again) return { rest: src, unfinished: false };
      }
      return { rest: src, unfinished: true };
    },
    finish: () => ctx.finish(),
  };
}

/** Node's own zstd decoder factory and its window parameter, where Node has them (≥ 22.15). */
function nativeZstd(): { create: NonNullable<ZlibWithZstd['createZstdDecompress']>; windowLogMax: number } | undefined {
  const z = process.getBuiltinModule('node:zlib') as ZlibWithZstd;
  const param = z.constants.ZSTD_d_windowLogMax;
  return z.createZstdDecompress && param !== undefined ? { create: z.createZstdDecompress, windowLogMax: param } : undefined;
}

/** A decoder as a pipeline() stage: a Transform (Node's zlib) or an async generator function (libzstd, bzip2, xz). */
export type DecoderStage = Transform | ((source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>);

/** The decoder of `kind` as a pipeline stage (zstd: decoded by `backend`, default the one in use). */
export function decoderStage(kind: Compressed, backend: ZstdBackend = zstdBackend()): DecoderStage {
  switch (kind) {
    case 'gzip':
      return process.getBuiltinModule('node:zlib').createGunzip({ chunkSize: GZIP_OUTPUT_CHUNK });
    case 'zstd': {
      if (backend !== 'node') return (source: AsyncIterable<Buffer>) => zstdStreamDecode(backend, source);
      const native = nativeZstd();
      if (!native) throw new Error('this Node has no zstd decoder of its own (Node ≥ 22.15 has)');
      return native.create({ chunkSize: OUTPUT_CHUNK, params: { [native.windowLogMax]: ZSTD_WINDOW_LOG_MAX } });
    }
    case 'bzip2':
      return bzip2Decode;
    case 'xz':
      return xzDecode;
  }
}

/** Rewrites a native zstd decoder's window error into the same message as the napi path. */
export function describeDecompressError(kind: Compression, err: unknown): Error {
  return kind === 'zstd' ? zstdError(err) : err instanceof Error ? err : new Error(String(err));
}

/**
 * Reads at least `n` bytes from the start of a paused stream (fewer if it ends first) and
 * returns them with a stream that yields the whole content from its first byte.
 */
export async function peek(stream: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n && !stream.readableEnded && !stream.destroyed) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    // 'readable' fires on new data and at EOF, 'end' after EOF; once() rejects on 'error'.
    await Promise.race([once(stream, 'readable'), once(stream, 'end')]);
  }
  const head = Buffer.concat(chunks, length);
  if (!stream.readableEnded) {
    if (length > 0) stream.unshift(head);
    return { head, rest: stream };
  }
  // The stream ended while peeking: unshift is no longer allowed, serve the bytes anew.
  return { head, rest: Readable.from(length > 0 ? [head] : []) };
}

/** The compression of a file, sniffed from its first bytes (an archive: plain tars are read in place). */
export async function sniffFile(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(SNIFF_BYTES);
  let length: number;
  try {
    ({ bytesRead: length } = await fh.read(head, 0, head.length, 0));
  } finally {
    await fh.close();
  }
  return sniffCompression(head.subarray(0, length));
}

/** Wraps a decoder failure as one line naming `what`: LAYER_CORRUPT for a layer, SOURCE_UNREADABLE for an archive. */
function decompressError(err: unknown, kind: Compressed, what: string, code: 'LAYER_CORRUPT' | 'SOURCE_UNREADABLE'): unknown {
  if (isOciScanError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  return new OciScanError(
    code,
    `${what} could not be decompressed (${kind}: ${describeDecompressError(kind, err).message}): it is damaged or truncated; copy or export it again`,
    { cause: err },
  );
}

/** A stream decoded by `decompress()`. */
export interface Decompressed {
  /** What its first bytes said it is ('none': plain bytes, passed through). */
  readonly compression: Compression;
  /** The decoded bytes (for 'none', the source itself from its first byte). */
  readonly output: Readable;
}

/** How `decompress()` names what it reads in errors, and what it already knows. */
export interface DecompressOptions {
  /** What the stream is, for messages (`layer sha256:… of app.tar`). */
  readonly what: string;
  /** The error code of a decoder failure: LAYER_CORRUPT for a layer, SOURCE_UNREADABLE for an archive. */
  readonly code: 'LAYER_CORRUPT' | 'SOURCE_UNREADABLE';
  /** The compression, when the caller has sniffed it already (an archive file's head): not sniffed again. */
  readonly compression?: Compression;
}

/**
 * `source` decoded as its first bytes say (or as `options.compression` says). The output pulls
 * on demand (one decoder buffer at a time); destroying it tears the decoder and the source
 * down. A decoder failure reaches the reader as one OciScanError line (`options.code`).
 */
export async function decompress(source: Readable, options: DecompressOptions): Promise<Decompressed> {
  let compression = options.compression;
  let rest = source;
  if (compression === undefined) {
    const peeked = await peek(source, SNIFF_BYTES);
    compression = sniffCompression(peeked.head);
    rest = peeked.rest;
  }
  if (compression === 'none') return { compression, output: rest };
  const kind = compression;
  const stage = decoderStage(kind);
  let output: AsyncIterable<Buffer>;
  if (typeof stage === 'function') output = stage(rest);
  else {
    pipeline(rest, stage).catch(() => undefined);
    output = stage;
  }
  const { what, code } = options;
  // Readable.from pulls on demand (backpressure); destroying it ends the generator, which
  // destroys the stages above it.
  const decoded = Readable.from(
    (async function* mapErrors(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of output) yield chunk;
      } catch (err) {
        throw decompressError(err, kind, what, code);
      }
    })(),
    { objectMode: false },
  );
  return { compression, output: decoded };
}

/** Where `decompressInto()` delivers: each decoded chunk synchronously (the chunk is reused afterwards: copy what is kept). */
export interface ChunkSink {
  /** Told the compression as soon as it is sniffed. */
  compression(kind: Compression): void;
  /** One decoded chunk; a throw stops decoding and is what `decompressInto()` rejects with. */
  write(chunk: Buffer): void;
  /** After the last chunk; a throw is what `decompressInto()` rejects with. */
  end(): void;
}

/** Output buffers a reusing decoder fills between two turns of the event loop (64 × 256 KiB). */
const OUTPUTS_PER_TURN = 64;

/** Feeds `blob` through a reusing decoder to `sink`, yielding to the event loop between batches so an abort is seen. */
async function decodeReusing(blob: Readable, decoder: ReusingDecoder, sink: ChunkSink, signal: AbortSignal | undefined): Promise<void> {
  const write = (chunk: Buffer): void => sink.write(chunk);
  for await (const chunk of blob as AsyncIterable<Buffer>) {
    let step = decoder.push(chunk, write, OUTPUTS_PER_TURN);
    while (step.unfinished) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      step = decoder.push(step.rest, write, OUTPUTS_PER_TURN);
    }
  }
  decoder.finish();
  sink.end();
}

/**
 * `blob` decoded as its first bytes say, pushed chunk by chunk into `sink`: the inspector's
 * path, with no promise and no allocation per chunk where the decoder allows (libzstd decodes
 * into one reused buffer). Rejects with the decoder's, the sink's or the abort's own error
 * (raw, for the caller to word).
 */
export async function decompressInto(blob: Readable, sink: ChunkSink, signal?: AbortSignal): Promise<void> {
  const { head, rest } = await peek(blob, SNIFF_BYTES);
  const compression = sniffCompression(head);
  sink.compression(compression);
  const reusing = compression === 'zstd' ? reusingZstdDecoder() : undefined;
  if (reusing) return decodeReusing(rest, reusing, sink, signal);
  // pipeline() reports an error thrown by its last (function) stage as a bare AbortError on
  // Node 20: keep the real one.
  let failure: unknown;
  // A Writable, not an async iteration: no promise per chunk and no joining of buffered
  // chunks. Each chunk is handed over in a microtask, after the decompressor has started on
  // the next one (its output callback runs us synchronously otherwise), so the two overlap;
  // the high water mark bounds what may wait (docs/architecture.md, "Memory and speed").
  const consume = new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      queueMicrotask(() => {
        if (consume.destroyed) return;
        try {
          sink.write(chunk);
          done();
        } catch (err) {
          failure ??= err;
          done(err as Error);
        }
      });
    },
    final(done) {
      try {
        sink.end();
        done();
      } catch (err) {
        failure ??= err;
        done(err as Error);
      }
    },
  });
  const pipelineOptions = signal ? { signal } : {};
  try {
    if (compression === 'none') await pipeline(rest, consume, pipelineOptions);
    else await pipeline(rest, decoderStage(compression), consume, pipelineOptions);
  } catch (caught) {
    throw failure ?? caught;
  }
}
