/**
 * Child process for test/integration/archive-memory.test.ts, in two runs so that the scan's
 * peak RSS is measured alone:
 * - `write FILE [GiB=1]` writes `docker save | gzip` of an image whose one layer is ≥ 1 GiB
 *   uncompressed (as `docker save` ≤ 24 lays it out: `<id>/layer.tar` stored plain,
 *   `<config hex>.json`, manifest.json last) AS A STREAM, and prints the layer's diffID;
 * - `scan FILE` scans it with scan() and prints one JSON line: the process's peak RSS
 *   (`process.resourceUsage().maxRSS`, KiB), the layer digests and the failed checks' files.
 *
 * Provenance: tar headers by image-builder's own ustar writer; file contents are runs of zeros
 * with a marker byte per MiB (gzip level 1 keeps the file small and the test short; the
 * scanner's memory does not depend on the bytes).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pino } from 'pino';
import { scan } from '../../src/scan.js';
import { buildTar, ustarHeader } from './image-builder.js';

const gib = Number(process.argv[4] ?? '1');
const MiB = 1024 * 1024;
const FILES = 4;
const fileSize = Math.ceil((gib * 1024 * MiB) / FILES);

/** The layer's tar: a few small entries the checks see, FILES big files, a setuid sudo last. */
function* layerChunks(): Generator<Buffer> {
  const head = buildTar([
    { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
    { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
  ]);
  yield head.subarray(0, head.length - 1024);
  const zeros = Buffer.alloc(MiB);
  for (let f = 0; f < FILES; f++) {
    yield ustarHeader({ name: `data/blob-${f}.bin`, typeflag: '0', size: fileSize });
    for (let written = 0; written < fileSize; written += MiB) {
      const out = Buffer.from(zeros.subarray(0, Math.min(MiB, fileSize - written)));
      out[0] = (written / MiB) & 0xff;
      yield out;
    }
    if (fileSize % 512 !== 0) yield Buffer.alloc(512 - (fileSize % 512));
  }
  yield buildTar([{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'sudo' }]);
}

/** The archive's chunks: the layer member, the config, manifest.json, the end-of-archive blocks. */
function* archiveChunks(layerSize: number, diffId: string): Generator<Buffer> {
  const layerName = `${'a'.repeat(64)}/layer.tar`;
  yield ustarHeader({ name: layerName, typeflag: '0', size: layerSize });
  yield* layerChunks();
  if (layerSize % 512 !== 0) yield Buffer.alloc(512 - (layerSize % 512));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { User: 'app:app', Cmd: ['/app'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const tail = buildTar([
    { type: 'file', path: configName, content: config },
    { type: 'file', path: 'manifest.json', content: JSON.stringify([{ Config: configName, RepoTags: ['big:1.0'], Layers: [layerName] }]) },
  ]);
  yield tail;
}

const [mode = 'write', file = ''] = process.argv.slice(2);
if (mode === 'write') {
  // First walk: the layer's size and diffID (nothing kept); second: the archive itself.
  const hash = createHash('sha256');
  let layerSize = 0;
  for (const chunk of layerChunks()) {
    hash.update(chunk);
    layerSize += chunk.length;
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  await pipeline(Readable.from(archiveChunks(layerSize, diffId)), createGzip({ level: 1 }), createWriteStream(file));
  process.stdout.write(JSON.stringify({ layerSize, diffId }) + '\n');
} else {
  const started = Date.now();
  const [result] = await scan(`docker-archive:${file}`, {
    platform: { os: 'linux', architecture: 'amd64' },
    registry: { insecureRegistries: [], mirrors: {}, env: {} },
    logger: pino({ level: 'silent' }),
  });
  const suid = result?.results.find((r) => r.Id === 'suid');
  const os = result?.results.find((r) => r.Id === 'os-type')?.Description;
  process.stdout.write(
    JSON.stringify({
      maxRssKiB: process.resourceUsage().maxRSS,
      ms: Date.now() - started,
      layers: result?.image.layers.map((l) => l.digest),
      suid: suid?.Files,
      os,
    }) + '\n',
  );
}
