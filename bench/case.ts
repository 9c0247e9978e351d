/**
 * One measurement of the image bench (bench/image.bench.ts), run in its own process so that its
 * peak RSS is its own: `floor-gzip FILE…` / `floor-zstd FILE…` (decompress + sha256 every file at
 * once, the best Node can do), `floor-http-gzip URL…` (the same over HTTP: undici GETs of the
 * blobs from the registry, each body decompressed and hashed as it arrives), `scan REF [INSECURE_HOST]` (the real scan(); with OCI_SCAN_BENCH_CHECKS=extended, the
 * extended check set too) or `scan-cached REF
 * CACHE_DIR [INSECURE_HOST]` (scan() with the disk facts cache). Prints one JSON
 * line: seconds and peak RSS in bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createGunzip } from 'node:zlib';
import { pino } from 'pino';
import { request } from 'undici';
import { scan } from '../src/scan.js';
import { diskFactsStore } from '../src/store/disk.js';

const FLOOR_CHUNK = 1 << 20;

/** gunzip (1 MiB output chunks) and sha256 over one file (or HTTP body), the output discarded. */
async function floorGzip(file: string): Promise<void> {
  const hash = createHash('sha256');
  const gunzip = createGunzip({ chunkSize: FLOOR_CHUNK });
  gunzip.resume();
  const ended = once(gunzip, 'end');
  const body = file.startsWith('http://') ? (await request(file)).body : createReadStream(file, { highWaterMark: FLOOR_CHUNK });
  for await (const chunk of body) {
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

/** libzstd (zstd-napi, one reused output buffer) and sha256 over one file. */
async function floorZstd(file: string): Promise<void> {
  const binding = createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx };
  const dctx = new binding.DCtx();
  const dst = Buffer.allocUnsafe(FLOOR_CHUNK);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: FLOOR_CHUNK })) {
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

const [mode, ...args] = process.argv.slice(2);
const start = process.hrtime.bigint();
if (mode === 'floor-gzip' || mode === 'floor-http-gzip') await Promise.all(args.map(floorGzip));
else if (mode === 'floor-zstd') await Promise.all(args.map(floorZstd));
else if (mode === 'scan' || mode === 'scan-cached') {
  // scan-cached REF CACHE_DIR [HOST]: the same scan with the disk facts cache the CLI uses.
  const [ref = '', ...rest] = args;
  const cacheDir = mode === 'scan-cached' ? rest.shift() : undefined;
  const host = rest[0];
  const logger = pino({ level: 'silent' });
  const images = await scan(ref, {
    platform: { os: 'linux', architecture: 'amd64' },
    registry: { insecureRegistries: host ? [host] : [], mirrors: {}, env: {} },
    logger,
    ...(process.env.OCI_SCAN_BENCH_CHECKS === 'extended' ? { checkSet: 'extended' as const } : {}),
    ...(cacheDir ? { store: diskFactsStore(cacheDir, { logger }) } : {}),
  });
  if (images.length !== 1) throw new Error(`scan of ${ref} gave ${images.length} images`);
} else throw new Error(`unknown mode ${String(mode)}`);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
// VmHWM is this process's own peak (getrusage's maxRSS starts from the parent's at fork).
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
console.log(JSON.stringify({ seconds, maxRss: hwm !== undefined ? Number(hwm) * 1024 : process.resourceUsage().maxRSS * 1024 }));
