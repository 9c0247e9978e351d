/**
 * Child process for test/integration/memory.test.ts: generates a layer of ≥ 1 GiB
 * uncompressed AS A STREAM (nothing stored, nothing buffered beyond one chunk), feeds it to
 * inspectLayer, and prints one JSON line: the facts, the process's peak RSS
 * (`process.resourceUsage().maxRSS`, KiB) and the time taken.
 *
 * Provenance: the tar headers come from image-builder's own ustar writer; the file contents
 * are long runs of zeros (with a marker byte per MiB), so gzip level 1 compresses them at
 * several hundred MB/s on one core — random data would make the test minutes long without
 * changing what it measures (the inspector's memory, which does not depend on the bytes).
 *
 * `zstd` wraps the tar in a zstd frame of stored (raw) blocks, written on the fly, so that the
 * zstd decoder's memory (a window of up to 8 MiB here) is measured too.
 *
 * Usage: node dist/test/helpers/big-layer.js gzip|zstd|plain [GiB=1]
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { inspectLayer } from '../../src/layer/inspect.js';
import { buildTar, ustarHeader } from './image-builder.js';

const mode = process.argv[2] === 'plain' ? 'plain' : process.argv[2] === 'zstd' ? 'zstd' : 'gzip';
const gib = Number(process.argv[3] ?? '1');
const MiB = 1024 * 1024;
const FILES = 4;
const fileSize = Math.ceil((gib * 1024 * MiB) / FILES);

/** The small entries the checks care about, then FILES big files, then end-of-archive. */
function* tarChunks(): Generator<Buffer> {
  const head = buildTar([
    { type: 'dir', path: 'etc/' },
    { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
    { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
    { type: 'symlink', path: 'usr/bin/nc', target: '/etc/alternatives/nc' },
  ]);
  yield head.subarray(0, head.length - 1024); // without its end-of-archive blocks
  const chunk = Buffer.alloc(MiB);
  for (let f = 0; f < FILES; f++) {
    yield ustarHeader({ name: `data/blob-${f}.bin`, typeflag: '0', size: fileSize, mode: 0o644 });
    for (let written = 0; written < fileSize; written += MiB) {
      const n = Math.min(MiB, fileSize - written);
      // A fresh buffer per chunk (as a socket or file would give): what the consumer keeps
      // alive, if anything, then shows in RSS.
      const out = Buffer.from(chunk.subarray(0, n));
      out[0] = (written / MiB) & 0xff;
      yield out;
    }
    const rest = fileSize % 512;
    if (rest !== 0) yield Buffer.alloc(512 - rest);
  }
  yield buildTar([{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'sudo' }]);
}

/** A zstd frame of raw blocks around `source` (RFC 8878 §3.1; as image-builder's zstdStored). */
async function* zstdStoredStream(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]);
  const MAX = 128 * 1024 - 1;
  const header = (size: number, last: boolean): Buffer => {
    const h = (size << 3) | (last ? 1 : 0);
    return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]);
  };
  // Each block's header, then its data as a view of the chunk: no copy of the layer's bytes here,
  // so that the child's peak RSS is the decoder's and the inspector's, not this generator's garbage.
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += MAX) {
      const data = chunk.subarray(off, Math.min(chunk.length, off + MAX));
      yield header(data.length, false);
      yield data;
    }
  }
  yield header(0, true);
}

const started = Date.now();
const tar = Readable.from(tarChunks(), { objectMode: false });
let blob: Readable = tar;
if (mode === 'gzip') {
  const gz = createGzip({ level: 1 });
  pipeline(tar, gz).catch(() => undefined);
  blob = gz;
} else if (mode === 'zstd') {
  blob = Readable.from(zstdStoredStream(tar), { objectMode: false });
}
const facts = await inspectLayer(blob, {
  matchers: [
    { id: 'suid', fingerprint: 'suid', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 },
    { id: 'nc', fingerprint: 'nc', matches: (e) => e.basename === 'nc' },
  ],
  watchPaths: new Set(['/etc/os-release']),
  what: `generated ${mode} layer`,
});
process.stdout.write(JSON.stringify({ mode, maxRssKiB: process.resourceUsage().maxRSS, ms: Date.now() - started, facts }) + '\n');
