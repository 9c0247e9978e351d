/**
 * Digest verification while streaming (go-containerregistry's internal/verify): the stream
 * fails before its end when the bytes do not hash to the expected digest or the size differs,
 * so nobody reports on a blob that is not the one the manifest names.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciScanError } from '../errors.js';

/** The algorithms oci-scan can verify. */
const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

/** Splits `sha256:hex` into its parts; throws INVALID_MANIFEST for an unsupported or malformed digest. */
export function parseDigest(digest: string): { algorithm: string; hex: string } {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  const algorithm = m?.[1];
  const hex = m?.[2];
  if (!algorithm || !hex || !ALGORITHMS[algorithm] || hex.length !== (algorithm === 'sha256' ? 64 : 128)) {
    throw new OciScanError('INVALID_MANIFEST', `digest ${JSON.stringify(digest.slice(0, 80))} is not a sha256/sha512 digest`);
  }
  return { algorithm, hex };
}

/** True when `bytes` hash to `digest` (sha256 or sha512, as the digest names). */
export function matchesDigest(bytes: Uint8Array, digest: string): boolean {
  const { algorithm, hex } = parseDigest(digest);
  return (
    createHash(ALGORITHMS[algorithm] ?? 'sha256')
      .update(bytes)
      .digest('hex') === hex
  );
}

/** The sha256 digest of `bytes` as `sha256:hex`. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The DIGEST_MISMATCH error of a blob of `actual` bytes whose manifest declares `declared`. */
export function sizeMismatch(what: string, actual: number, declared: number): OciScanError {
  return new OciScanError(
    'DIGEST_MISMATCH',
    `${what} has ${actual} bytes, its manifest declares ${declared}: the blob is truncated or corrupt`,
  );
}

/**
 * The check of one blob's bytes as they come: `update` throws DIGEST_MISMATCH as soon as there
 * are more bytes than `size` (when ≥ 0), `end` unless they were `size` bytes hashing to `digest`.
 */
export class BlobCheck {
  readonly #hash;
  readonly #expected: string;
  readonly #size: number;
  readonly #what: string;
  #seen = 0;

  constructor(digest: string, size: number, what: string) {
    const { algorithm } = parseDigest(digest);
    this.#hash = createHash(ALGORITHMS[algorithm] ?? 'sha256');
    this.#expected = digest;
    this.#size = size;
    this.#what = what;
  }

  /** Bytes seen so far. */
  get seen(): number {
    return this.#seen;
  }

  update(chunk: Uint8Array): void {
    this.#seen += chunk.length;
    if (this.#size >= 0 && this.#seen > this.#size) {
      throw new OciScanError(
        'DIGEST_MISMATCH',
        `${this.#what} is larger than the ${this.#size} bytes its manifest declares: the blob is corrupt or was tampered with`,
      );
    }
    this.#hash.update(chunk);
  }

  end(): void {
    if (this.#size >= 0 && this.#seen !== this.#size) throw sizeMismatch(this.#what, this.#seen, this.#size);
    const actual = `${this.#expected.split(':')[0]}:${this.#hash.digest('hex')}`;
    if (actual !== this.#expected) {
      throw new OciScanError(
        'DIGEST_MISMATCH',
        `${this.#what} does not match its digest (got ${actual}): the blob is corrupt or was tampered with`,
      );
    }
  }
}

/** A pass-through that errors with DIGEST_MISMATCH at the end if the bytes are not `digest` (and `size`, when ≥ 0). */
export class VerifyingStream extends Transform {
  readonly #check: BlobCheck;

  constructor(digest: string, size: number, what: string) {
    super();
    this.#check = new BlobCheck(digest, size, what);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#check.update(chunk);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#check.end();
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }
}

/** Reads a whole stream into memory, refusing more than `limit` bytes. */
export async function readBounded(stream: AsyncIterable<Uint8Array>, limit: number, onTooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > limit) throw onTooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, total);
}
