/**
 * Images with very many findings, for test/integration/many-findings.test.ts.
 *
 * Provenance: each layer is a tar of `count` empty setuid files (`opt/s/<layer>/<7 digits>`,
 * mode 04755) written header by header by image-builder's ustar writer and gzipped (level 1)
 * as a stream, so that the 100 MB of tar behind 200,000 entries is never one buffer; the
 * compressed blob (a few MB) is then put into an OCI layout by image-builder.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { buildImage, ustarHeader, writeOciLayout, type BuiltImage } from './image-builder.js';

/** The path of the `i`th setuid file of layer `layer` (sorted order = generation order). */
export function manyPath(layer: number, i: number): string {
  return `/opt/s/${layer}/${String(i).padStart(7, '0')}`;
}

/** The tar of one layer, in chunks of about 1 MiB, end-of-archive blocks included. */
function* tarChunks(layer: number, count: number): Generator<Buffer> {
  const perChunk = 2048;
  for (let start = 0; start < count; start += perChunk) {
    const headers: Buffer[] = [];
    for (let i = start; i < Math.min(count, start + perChunk); i++)
      headers.push(ustarHeader({ name: manyPath(layer, i).slice(1), typeflag: '0', size: 0, mode: 0o4755 }));
    yield Buffer.concat(headers);
  }
  yield Buffer.alloc(1024);
}

async function gzipLayer(layer: number, count: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(tarChunks(layer, count)), createGzip({ level: 1 }), sink);
  return Buffer.concat(parts);
}

/** Writes an OCI layout at `root` tagged `tag` whose layers hold `counts[i]` setuid files each. */
export async function writeManyFindingsLayout(root: string, counts: readonly number[], tag = '1.0'): Promise<BuiltImage> {
  const blobs = await Promise.all(counts.map((n, layer) => gzipLayer(layer, n)));
  const image = buildImage({
    layers: blobs.map((blob) => ({ blob, compression: 'gzip' as const })),
    config: { User: 'app:app', Labels: { vendor: 'v' }, Cmd: ['/app'] },
  });
  await writeOciLayout(root, [{ image, tag }]);
  return image;
}
