/**
 * Layer decompression by sniffing the magic bytes rather than trusting the media type
 * (SPEC §4): gzip (1f 8b), zstd (28 b5 2f fd), else the bytes are taken as a plain tar and the
 * tar parser judges them. zstd uses Node's own decoder where Node has one (≥ 22.15), else the
 * pure-JS `fzstd` streaming decoder (Node 20 has no zstd).
 */
import { once } from 'node:events';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';

/** What the first bytes of a blob say it is. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Classifies a blob by its first bytes. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * The part of fzstd's (0.1.1) decoder state that the workaround below touches: `c`, the
 * pending input views, and `l`, their total length.
 */
interface FzstdPending {
  c?: Uint8Array[];
  l?: number;
}

/** fzstd's synchronous streaming decoder as a Transform. */
class FzstdTransform extends Transform {
  readonly #decoder: FzstdDecompress;

  constructor() {
    super();
    // fzstd may hand out views of its window buffer: copy before pushing downstream.
    this.#decoder = new FzstdDecompress((data) => {
      if (data.length > 0) this.push(Buffer.from(data));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#decoder.push(chunk);
      // Fix (found by test/integration/memory.test.ts, zstd case: 1 GiB in → 1.1 GB RSS):
      // when a chunk ends exactly on a block boundary, fzstd keeps an empty subarray of it in
      // its pending list `c`, which it clears only when some input is pending (`l > 0`), so
      // block-aligned input (stored frames, crafted files read in 256 KiB pieces) was retained
      // whole. With `l === 0` every view in `c` is empty: dropping them changes nothing else.
      const pending = this.#decoder as unknown as FzstdPending;
      if (pending.l === 0 && pending.c !== undefined && pending.c.length > 0) pending.c = [];
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#decoder.push(new Uint8Array(0), true);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform };

/** A decompressing Transform for `kind`, or undefined for plain bytes. */
export function decompressorFor(kind: Compression): Transform | undefined {
  switch (kind) {
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd': {
      const native = (zlib as ZlibWithZstd).createZstdDecompress;
      return native ? native() : new FzstdTransform();
    }
    case 'none':
      return undefined;
  }
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
