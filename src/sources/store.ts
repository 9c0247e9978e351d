/**
 * Where a local image's files come from, behind one interface (`BlobStore`): a directory (OCI
 * layout), or the members of an archive — a plain tar read in place through its member index
 * (./archive-store.ts), or a compressed one read in one streaming pass (./stream-store.ts).
 * Every store serves small metadata files whole (bounded) and blobs as streams; nothing is
 * extracted.
 *
 * Consuming layers during a single pass (docs/architecture.md, "Compressed archives"): a store
 * that can read its archive only once hands every member that may be a layer, as it streams
 * past, to `SourceOptions.consumeLayer`; `BlobStore.consumed` then tells what the pass saw of
 * it (`ConsumedMember`), `ContentSource.consumed` checks that against the layer's digests
 * (./stored-blob.ts), and the layer carries the id it was consumed as (`Layer.consumedAs`).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';

/** Read size of blob files: 512 KiB reads measured fastest for gzip and zstd layers (docs/architecture.md "Memory and speed"). */
export const READ_CHUNK = 512 * 1024;

/** What a single-pass store saw of a member it handed to `SourceOptions.consumeLayer`. */
export interface ConsumedMember {
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
  /** Directory stores: the path of the file `stream` reads (whether or not it exists). */
  filePath?(path: string): string;
  /** Single-pass stores: what the pass saw of a member it handed to the consumer. */
  consumed?(path: string): ConsumedMember | undefined;
}

/** How one kind of archive finds, reads and streams its members. */
export interface MemberAccess<M extends { readonly size: number }> {
  /** The member a path names (through links), or undefined. */
  find(path: string): M | undefined;
  /** A member's bytes, whole (called only within the caller's size limit). */
  readWhole(member: M): Promise<Buffer>;
  /** A member's bytes as a stream. */
  open(member: M): Readable;
  /** Single-pass stores: what the pass saw of a member it handed to the consumer. */
  consumed?(path: string): ConsumedMember | undefined;
}

/** The error for a document larger than its cap. */
function tooLarge(what: string, path: string, limit: number, code: 'INVALID_MANIFEST' | 'INVALID_CONFIG'): OciScanError {
  return new OciScanError(code, `${path} in ${what} is larger than ${limit} bytes: not a valid image document`);
}

/**
 * A BlobStore over an archive's members, whatever reads them: the plain-tar store (byte ranges
 * of the file) and the compressed-archive store (kept in memory, or streamed again) answer
 * `size`, `read` and `stream` the same way through this.
 */
export function memberStore<M extends { readonly size: number }>(what: string, access: MemberAccess<M>): BlobStore {
  return {
    what,
    async size(path) {
      return access.find(path)?.size;
    },
    async read(path, limit, code) {
      const m = access.find(path);
      if (!m) return undefined;
      if (m.size > limit) throw tooLarge(what, path, limit, code);
      return access.readWhole(m);
    },
    async stream(path) {
      const m = access.find(path);
      return m ? access.open(m) : undefined;
    },
    ...(access.consumed ? { consumed: access.consumed } : {}),
  };
}

/** A blob store over a directory; paths may not escape it. */
export function directoryStore(root: string, what: string): BlobStore {
  const base = resolve(root);
  const full = (path: string): string => {
    const p = resolve(base, path);
    if (p !== base && !p.startsWith(base + sep))
      throw new OciScanError('INVALID_MANIFEST', `${what} refers to ${JSON.stringify(path)}, outside the layout`);
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
    filePath: full,
  };
}
