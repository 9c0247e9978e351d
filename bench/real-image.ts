/**
 * The bench's large image of real files (bench/README.md): two layers cut from this machine's
 * own `/usr` — binaries and libraries in the first, documentation, locales, headers and other
 * shared data in the second — written by GNU tar (what most image builders' tars look like:
 * GNU long names, hard links as link entries, directories before their contents) and compressed
 * by the real `gzip` and `zstd` tools at their default levels, as image builders do. A file is
 * taken when a hash of its path falls under the share that brings its layer to its target size,
 * so each layer is a spread of its directories, not the first few of them; files over 64 MiB
 * are left out so that no single file makes a layer. The same tars make the gzip and the zstd
 * image.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const MAX_FILE = 64 * 1024 * 1024;

/** What one layer is cut from: directories under `/`, and the tar size to aim at. */
export interface LayerPlan {
  readonly roots: readonly string[];
  readonly bytes: number;
}

/** The two layers of the image. */
export const REAL_LAYERS = (scale: number): LayerPlan[] => [
  { roots: ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/libexec'], bytes: Math.round(480e6 * scale) },
  { roots: ['usr/share', 'usr/include'], bytes: Math.round(300e6 * scale) },
];

interface Found {
  readonly path: string;
  readonly size: number;
}

/** Every regular file and symlink under `root` (relative to `/`), in path order. */
async function walk(root: string, out: Found[]): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(join('/', root))).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const path = `${root}/${name}`;
    const st = await lstat(join('/', path));
    if (st.isDirectory()) await walk(path, out);
    else if (st.isFile() && st.size <= MAX_FILE) out.push({ path, size: st.size });
    else if (st.isSymbolicLink()) out.push({ path, size: 0 });
  }
}

/** A number in [0, 1) from the path: which files a layer takes does not depend on walk order. */
function share(path: string): number {
  return createHash('sha256').update(path).digest().readUInt32BE(0) / 2 ** 32;
}

/** The paths of one layer: directories first in path order, then the files taken. */
async function layerPaths(plan: LayerPlan): Promise<string[]> {
  const found: Found[] = [];
  for (const root of plan.roots) await walk(root, found);
  const total = found.reduce((n, f) => n + f.size + 512, 0);
  const fraction = Math.min(1, plan.bytes / total);
  const taken = found.filter((f) => share(f.path) < fraction).map((f) => f.path);
  const dirs = new Set<string>();
  for (const path of taken) for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) dirs.add(path.slice(0, at));
  return [...dirs, ...taken].sort();
}

/** Runs `cmd`, its stdout to `file`; resolves when it exited 0. */
async function toFile(cmd: string, args: readonly string[], file: string): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await pipeline(child.stdout, createWriteStream(file));
  const code = await exited;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${String(code)}`);
}

/** sha256 and size of a file. */
async function digestOfFile(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** One layer: its tar file (kept for the compressors, removed by the caller) and its diff ID. */
export interface RealTar {
  readonly file: string;
  readonly diffId: string;
  readonly bytes: number;
  readonly files: number;
}

/** Writes the tar of one layer into `dir`. */
export async function writeRealTar(dir: string, name: string, plan: LayerPlan): Promise<RealTar> {
  const paths = await layerPaths(plan);
  const list = join(dir, `${name}.list`);
  await writeFile(list, paths.join('\n') + '\n');
  const file = join(dir, `${name}.tar`);
  await toFile('tar', ['-C', '/', '--no-recursion', '--numeric-owner', '-T', list, '-cf', '-'], file);
  await rm(list);
  const { digest, size } = await digestOfFile(file);
  return { file, diffId: digest, bytes: size, files: paths.length };
}

/** A blob of the layout: its digest, size and media type. */
interface Blob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** An OCI layout at `layout` with one image (tag 1.0) whose layers are `tars` compressed by `compressor`. */
export async function writeRealLayout(
  layout: string,
  tars: readonly RealTar[],
  compressor: 'gzip' | 'zstd',
): Promise<{
  layerFiles: string[];
  layerBlobBytes: number[];
  blobBytes: number;
  manifestDigest: string;
  configDigest: string;
  manifestMediaType: string;
}> {
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layers: Blob[] = [];
  const layerFiles: string[] = [];
  for (const tar of tars) {
    const tmp = join(layout, 'layer.tmp');
    // gzip -n: no name or time in the header, as image builders write it; zstd at its default level 3.
    if (compressor === 'gzip') await toFile('gzip', ['-n', '-c', tar.file], tmp);
    else await toFile('zstd', ['-q', '-c', '--no-progress', tar.file], tmp);
    const { digest, size } = await digestOfFile(tmp);
    const file = join(blobs, digest.slice('sha256:'.length));
    await rm(file, { force: true });
    await rename(tmp, file);
    layers.push({ digest, size, mediaType: `application/vnd.oci.image.layer.v1.tar+${compressor}` });
    layerFiles.push(file);
  }
  const put = async (bytes: Buffer, mediaType: string): Promise<Blob> => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(join(blobs, digest.slice('sha256:'.length)), bytes);
    return { digest, size: bytes.length, mediaType };
  };
  const config = await put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { User: '1000:1000', Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: tars.map((t) => t.diffId) },
        history: tars.map((_, i) => ({ created_by: `COPY usr-${i + 1} /usr # bench layer ${i + 1}` })),
      }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestMediaType,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
    manifestMediaType,
  );
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: manifestMediaType,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': '1.0' },
        },
      ],
    }),
  );
  return {
    layerFiles,
    layerBlobBytes: layers.map((l) => l.size),
    blobBytes: layers.reduce((n, l) => n + l.size, 0),
    manifestDigest: manifest.digest,
    configDigest: config.digest,
    manifestMediaType,
  };
}
