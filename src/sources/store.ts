/**
 * A blob store over the members of an archive, whatever reads them: the plain-tar store
 * (byte ranges of the file) and the compressed-archive store (kept in memory, or streamed
 * again) answer `size`, `read` and `stream` the same way through this.
 */
import type { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';
import type { BlobStore, PassedMember } from './blob-store.js';

/** How one kind of archive finds, reads and streams its members. */
export interface MemberAccess<M extends { readonly size: number }> {
  /** The member a path names (through links), or undefined. */
  find(path: string): M | undefined;
  /** A member's bytes, whole (called only within the caller's size limit). */
  readWhole(member: M): Promise<Buffer>;
  /** A member's bytes as a stream. */
  open(member: M): Readable;
  /** What a single pass saw of a member (compressed archives). */
  passed?(path: string): PassedMember | undefined;
}

/** The error for a document larger than its cap. */
export function tooLarge(what: string, path: string, limit: number, code: 'INVALID_MANIFEST' | 'INVALID_CONFIG'): OciScanError {
  return new OciScanError(code, `${path} in ${what} is larger than ${limit} bytes: not a valid image document`);
}

/** A BlobStore over an archive's members. */
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
    ...(access.passed ? { passed: access.passed } : {}),
  };
}
