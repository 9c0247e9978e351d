/**
 * The blob store of an archive file (OCI archive, docker archive): a plain tar is read in place
 * through its member index; a compressed one (gzip, zstd, xz or bzip2, sniffed as layers are:
 * `docker save | gzip`, `podman save | xz`) in one streaming pass (./stream-store.ts).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';
import { sniffFile } from '../layer/decompress.js';
import type { SourceOptions } from './options.js';
import { memberStore, READ_CHUNK, type BlobStore } from './store.js';
import { streamedTarStore } from './stream-store.js';
import { readTarIndex, type TarMember } from './tar-index.js';

/** A blob store over an archive file: plain tars in place, compressed ones in one streaming pass. */
export async function tarStore(file: string, what: string, options: SourceOptions): Promise<BlobStore> {
  const compression = await sniffFile(file);
  if (compression !== 'none') return streamedTarStore(file, what, compression, options);
  const index = await readTarIndex(file, what);
  const find = (path: string): TarMember | undefined => {
    const m = index.get(path);
    if (m?.sparse)
      throw new OciScanError(
        'SOURCE_UNREADABLE',
        `${path} in ${what} is stored as a sparse file, which no image archive writer produces: refusing it`,
      );
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
      return m.size === 0
        ? Readable.from([])
        : createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: READ_CHUNK });
    },
  });
}
