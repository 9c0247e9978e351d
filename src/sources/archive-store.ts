/**
 * Where a local image's files come from: a directory (OCI layout) or a plain tar (OCI archive,
 * docker archive) read in place. Both serve small metadata files whole (bounded) and blobs as
 * streams; nothing is extracted.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';
import { SNIFF_BYTES, sniffCompression } from '../layer/decompress.js';
import type { SourceOptions } from './options.js';
import { memberStore, tooLarge } from './member-store.js';
import { streamedTarStore } from './stream-store.js';
import { readTarIndex, type TarMember } from './tar-index.js';

/** Read size of blob files: 512 KiB reads measured fastest for gzip and zstd layers (docs/architecture.md "Memory and speed"). */
const READ_CHUNK = 512 * 1024;

/** What a store read in one streaming pass saw of a member it handed to `consumeLayer`. */
export interface PassedMember {
  /** sha256 of the member's bytes as stored. */
  readonly digest: string;
  /** sha256 of its uncompressed content, when the consumer read it to the end. */
  readonly tarDigest?: string;
  /** The id `consumeLayer` received it under. */
  readonly consumedAs: string;
}

/** Files of a local image, by path relative to its root (`index.json`, `blobs/sha256/…`). */
export interface BlobStore {
  /** What the store is, for messages (`OCI layout ./img`). */
  readonly what: string;
  /** The size of a file, or undefined when it is missing. */
  size(path: string): Promise<number | undefined>;
  /** A whole small file; throws `code` when it is larger than `limit`; undefined when missing. */
  read(path: string, limit: number, code: 'INVALID_MANIFEST' | 'INVALID_CONFIG'): Promise<Buffer | undefined>;
  /** A file as a stream (undefined when missing). */
  stream(path: string): Promise<Readable | undefined>;
  /** Stores read in one streaming pass: what the pass saw of a member it handed to the consumer. */
  passed?(path: string): PassedMember | undefined;
}

/** A blob store over a directory; paths may not escape it. */
export function directoryStore(root: string, what: string): BlobStore {
  const base = resolve(root);
  const full = (path: string): string => {
    const p = resolve(base, path);
    if (p !== base && !p.startsWith(base + sep)) throw new OciScanError('INVALID_MANIFEST', `${what} refers to ${JSON.stringify(path)}, outside the layout`);
    return p;
  };
  const size = async (path: string): Promise<number | undefined> => {
    try {
      const s = await stat(full(path));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    what,
    size,
    async read(path, limit, code) {
      const n = await size(path);
      if (n === undefined) return undefined;
      if (n > limit) throw tooLarge(what, path, limit, code);
      const fh = await open(full(path), 'r');
      try {
        const buf = Buffer.alloc(n);
        const { bytesRead } = await fh.read(buf, 0, n, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    async stream(path) {
      return (await size(path)) === undefined ? undefined : createReadStream(full(path), { highWaterMark: READ_CHUNK });
    },
  };
}

/**
 * A blob store over an archive file: a plain tar is read in place through its member index;
 * a compressed one (gzip, zstd, xz or bzip2, sniffed as layers are: `docker save | gzip`,
 * `podman save | xz`) in one streaming pass (stream-store.ts).
 */
export async function tarStore(file: string, what: string, options: SourceOptions): Promise<BlobStore> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const compression = sniffCompression(head);
  if (compression !== 'none') return streamedTarStore(file, what, compression, options);
  const index = await readTarIndex(file, what);
  const find = (path: string): TarMember | undefined => {
    const m = index.get(path);
    if (m?.sparse) throw new OciScanError('SOURCE_UNREADABLE', `${path} in ${what} is stored as a sparse file, which no image archive writer produces: refusing it`);
    return m;
  };
  return memberStore(what, {
    find,
    async readWhole(m) {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(m.size);
        await fh.read(buf, 0, m.size, m.offset);
        return buf;
      } finally {
        await fh.close();
      }
    },
    open(m) {
      // createReadStream's `end` is inclusive: an empty member is served as an empty stream.
      return m.size === 0 ? Readable.from([]) : createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: READ_CHUNK });
    },
  });
}
