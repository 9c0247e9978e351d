/**
 * The floors of the image bench (bench/image.bench.ts): the least work that reading a layer
 * blob needs — sha256 over the compressed bytes and decompression into 1 MiB chunks, output
 * discarded, every blob at once — in a Node process of its own that loads nothing but Node's own
 * modules (and, for zstd, the same libzstd binding the scan decodes with). It is timed like the
 * scans, as a whole process from spawn to exit: Node's start is in the floor too.
 *   floor.js gzip FILE…         blobs from files (`zlib.createGunzip({ chunkSize: 1 MiB })`)
 *   floor.js http-gzip URL…     the same blobs, GET from the registry with `node:http`
 *   floor.js zstd FILE…         zstd blobs from files, through zstd-napi's decoder, as the scan
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const CHUNK = 1 << 20;

/** The body of a GET of `url` (200 only). */
async function httpBody(url: string): Promise<Readable> {
  const req = get(url);
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${String(res.statusCode)}`);
  return res;
}

const open = async (where: string): Promise<Readable> =>
  where.startsWith('http://') ? httpBody(where) : createReadStream(where, { highWaterMark: CHUNK });

/** gunzip (1 MiB output chunks) and sha256 over one blob, the output discarded. */
async function gzip(where: string): Promise<void> {
  const hash = createHash('sha256');
  const gunzip = createGunzip({ chunkSize: CHUNK });
  gunzip.resume();
  const ended = once(gunzip, 'end');
  for await (const chunk of await open(where)) {
    hash.update(chunk as Buffer);
    if (!gunzip.write(chunk)) await once(gunzip, 'drain');
  }
  gunzip.end();
  await ended;
  hash.digest();
}

interface DCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}

/** libzstd (zstd-napi's binding, one reused output buffer) and sha256 over one blob. */
async function zstd(where: string): Promise<void> {
  const binding = createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx };
  const dctx = new binding.DCtx();
  const dst = Buffer.allocUnsafe(CHUNK);
  const hash = createHash('sha256');
  for await (const chunk of await open(where)) {
    hash.update(chunk as Buffer);
    let src = chunk as Buffer;
    for (;;) {
      const [, produced, consumed] = dctx.decompressStream(dst, src);
      src = src.subarray(consumed);
      if (src.length === 0 && produced < dst.length) break;
    }
  }
  hash.digest();
}

const [mode, ...blobs] = process.argv.slice(2);
const work = mode === 'gzip' || mode === 'http-gzip' ? gzip : mode === 'zstd' ? zstd : undefined;
if (!work) throw new Error(`unknown floor ${String(mode)}`);
await Promise.all(blobs.map(work));
