/**
 * Builds small container images in code, for tests and for fixtures/generate.ts.
 *
 * Provenance: every byte is written here — tar headers by our own ustar writer (not the
 * scanner's tar reader, so a writer bug cannot hide a reader bug), gzip
 * by node:zlib, zstd either as stored ("raw") blocks by `zstdStored` below or by the `zstd`
 * command when a test asks for real compression. Configs and manifests follow the OCI image
 * spec v1.1 and Docker's image manifest v2 schema 2.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';

/** One tar entry to write. */
/** Owner and extended attributes (PAX `SCHILY.xattr.*` records, bytes as given) any entry may carry. */
interface EntryExtras {
  uid?: number;
  gid?: number;
  xattrs?: Readonly<Record<string, Buffer>>;
}

export type EntrySpec =
  | ({ type: 'file'; path: string; mode?: number; content?: string | Buffer } & EntryExtras)
  | ({ type: 'dir'; path: string; mode?: number } & EntryExtras)
  | ({ type: 'symlink'; path: string; target: string; mode?: number } & EntryExtras)
  | ({ type: 'hardlink'; path: string; target: string; mode?: number } & EntryExtras)
  | ({ type: 'char-device' | 'block-device' | 'fifo'; path: string; mode?: number } & EntryExtras);

/** How long names are written. */
export type LongNameStyle = 'pax' | 'gnu';

/** Layer compression. `zstd-stored` frames need no encoder; `zstd` runs the zstd command. */
export type Compression = 'gzip' | 'zstd' | 'zstd-stored' | 'none';

const TYPEFLAG: Record<EntrySpec['type'], string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  dir: '5',
  fifo: '6',
};

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** Encodes one 512-byte ustar header block. `name`/`linkname` must fit (≤ 100 bytes). */
export function ustarHeader(h: {
  name: string;
  typeflag: string;
  size?: number;
  mode?: number;
  linkname?: string;
  uid?: number | undefined;
  gid?: number | undefined;
  prefix?: string;
}): Buffer {
  const block = Buffer.alloc(512);
  block.write(h.name, 0, 100, 'utf8');
  block.write(octal(h.mode ?? 0o644, 8), 100, 'ascii');
  block.write(octal(h.uid ?? 0, 8), 108, 'ascii');
  block.write(octal(h.gid ?? 0, 8), 116, 'ascii');
  block.write(octal(h.size ?? 0, 12), 124, 'ascii');
  block.write(octal(1700000000, 12), 136, 'ascii');
  block.write(h.typeflag, 156, 'ascii');
  if (h.linkname) block.write(h.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'binary');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  if (h.prefix) block.write(h.prefix, 345, 155, 'utf8');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest === 0 ? [data] : [data, Buffer.alloc(512 - rest)];
}

function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Writes a tar archive of `entries` (with end-of-archive blocks). */
export function buildTar(entries: readonly EntrySpec[], longNames: LongNameStyle = 'pax'): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const content = e.type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const linkname = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
    const defaultMode = e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644;
    let name = e.path;
    let link = linkname;
    const tooLong = Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100;
    const xattrs = Object.entries(e.xattrs ?? {});
    if ((tooLong && longNames === 'pax') || xattrs.length > 0) {
      const records: Buffer[] = [];
      if (tooLong && longNames === 'pax') {
        if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name));
        if (Buffer.byteLength(link) > 100) records.push(paxRecord('linkpath', link));
        name = name.slice(0, 99);
        link = link.slice(0, 99);
      }
      for (const [key, value] of xattrs) records.push(paxRecord(`SCHILY.xattr.${key}`, value));
      const data = Buffer.concat(records);
      out.push(ustarHeader({ name: 'PaxHeaders/entry', typeflag: 'x', size: data.length }), ...pad(data));
    }
    if (tooLong && longNames !== 'pax') {
      if (Buffer.byteLength(link) > 100) {
        const data = Buffer.from(link + '\0');
        out.push(ustarHeader({ name: '././@LongLink', typeflag: 'K', size: data.length }), ...pad(data));
        link = link.slice(0, 99);
      }
      if (Buffer.byteLength(name) > 100) {
        const data = Buffer.from(name + '\0');
        out.push(ustarHeader({ name: '././@LongLink', typeflag: 'L', size: data.length }), ...pad(data));
        name = name.slice(0, 99);
      }
    }
    const { uid, gid } = e;
    out.push(
      ustarHeader({ name, typeflag: TYPEFLAG[e.type], size: content.length, mode: e.mode ?? defaultMode, linkname: link, uid, gid }),
    );
    if (content.length > 0) out.push(...pad(content));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/**
 * A zstd frame made of stored (raw) blocks — valid zstd that any decoder reads (RFC 8878 §3.1),
 * written without an encoder so that fixtures never depend on one.
 */
export function zstdStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];
  // Frame header descriptor: no checksum, no dictionary, single segment off → window descriptor present.
  parts.push(Buffer.from([0x00, 0x58])); // FHD = 0, window descriptor: exponent 11 → 8 MiB window
  const MAX = 128 * 1024 - 1;
  let off = 0;
  do {
    const size = Math.min(MAX, data.length - off);
    const last = off + size >= data.length ? 1 : 0;
    const header = (size << 3) | (0 << 1) | last; // block type 0 = raw
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), data.subarray(off, off + size));
    off += size;
  } while (off < data.length);
  return Buffer.concat(parts);
}

/** Compresses a layer tar. */
export function compress(tar: Buffer, how: Compression): Buffer {
  switch (how) {
    case 'gzip':
      return gzipSync(tar);
    case 'zstd-stored':
      return zstdStored(tar);
    case 'zstd':
      return execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
    case 'none':
      return tar;
  }
}

/**
 * A blob that is a valid gzip member and a valid plain tar at once: the gzip header's FEXTRA
 * field (arbitrary bytes, which gzip readers skip) holds a whole tar — its first header's name
 * starts with the gzip magic — listing `hidden`, while the member's deflate data is `content`.
 * A reader that trusts the magic bytes (every runtime) sees `content`; one that reads the bytes
 * as a tar sees `hidden`.
 */
export function gzipTarPolyglot(content: Buffer, hidden: readonly EntrySpec[]): Buffer {
  const tarView = buildTar([{ type: 'file', path: 'x', content: '' }, ...hidden]);
  // gzip header: magic, deflate, FLG = FEXTRA, MTIME 0, XFL 0, OS 255, then XLEN.
  Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]).copy(tarView, 0);
  tarView.writeUInt16LE(tarView.length - 12, 10);
  // The first tar header's checksum again, over its gzip-header name.
  tarView.fill(' ', 148, 156);
  let sum = 0;
  for (const b of tarView.subarray(0, 512)) sum += b;
  tarView.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(content), 0);
  trailer.writeUInt32LE(content.length >>> 0, 4);
  return Buffer.concat([tarView, deflateRawSync(content), trailer]);
}

/** `sha256:hex` of bytes. */
export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A layer to build: entries (or ready tar bytes) and a compression. */
export interface LayerSpec {
  entries?: readonly EntrySpec[];
  /** Raw tar bytes to use instead of `entries` (for corrupt-input tests). */
  tar?: Buffer;
  /** Bytes to use as the blob, verbatim (already "compressed"); overrides tar/entries. */
  blob?: Buffer;
  compression?: Compression;
  longNames?: LongNameStyle;
}

/** A blob with its descriptor. */
export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
  /** Digest of the uncompressed tar (diff id). */
  diffId: string;
}

/** A built single-platform image: its blobs and manifest. */
export interface BuiltImage {
  format: 'oci' | 'docker';
  config: Buffer;
  configDigest: string;
  layers: BuiltBlob[];
  manifest: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  platform: { os: string; architecture: string; variant?: string };
}

/** What to build. `config` is merged into the runtime `config` of the image config. */
export interface ImageSpec {
  layers: readonly LayerSpec[];
  config?: Record<string, unknown>;
  /** The config's `history` (default: one entry per layer, `oci-scan test image builder`). */
  history?: ReadonlyArray<{ created_by: string; empty_layer?: boolean }>;
  format?: 'oci' | 'docker';
  platform?: { os: string; architecture: string; variant?: string };
  /** The manifest's annotations. */
  annotations?: Record<string, string>;
}

const LAYER_MEDIA: Record<'oci' | 'docker', Record<Compression, string>> = {
  oci: {
    gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    'zstd-stored': 'application/vnd.oci.image.layer.v1.tar+zstd',
    none: 'application/vnd.oci.image.layer.v1.tar',
  },
  docker: {
    gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
    'zstd-stored': 'application/vnd.docker.image.rootfs.diff.tar.zstd',
    none: 'application/vnd.docker.image.rootfs.diff.tar',
  },
};

/** Builds the blobs and manifest of one image. */
export function buildImage(spec: ImageSpec): BuiltImage {
  const format = spec.format ?? 'oci';
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: BuiltBlob[] = spec.layers.map((l) => {
    const compression = l.compression ?? 'gzip';
    const tar = l.tar ?? buildTar(l.entries ?? [], l.longNames);
    const bytes = l.blob ?? compress(tar, compression);
    return { mediaType: LAYER_MEDIA[format][compression], digest: digestOf(bytes), size: bytes.length, bytes, diffId: digestOf(tar) };
  });
  const configDoc = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: spec.history ?? layers.map(() => ({ created_by: 'oci-scan test image builder' })),
  };
  const config = Buffer.from(JSON.stringify(configDoc));
  const manifestMediaType =
    format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: {
      mediaType: format === 'oci' ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
      digest: digestOf(config),
      size: config.length,
    },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const manifest = Buffer.from(JSON.stringify(manifestDoc));
  return {
    format,
    config,
    configDigest: digestOf(config),
    layers,
    manifest,
    manifestDigest: digestOf(manifest),
    manifestMediaType,
    platform,
  };
}

/** An index (OCI) or manifest list (Docker) over several images. */
export function buildIndex(
  images: readonly BuiltImage[],
  format: 'oci' | 'docker' = 'oci',
  extra: readonly object[] = [],
): { bytes: Buffer; digest: string; mediaType: string } {
  const mediaType =
    format === 'oci' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json';
  const doc = {
    schemaVersion: 2,
    mediaType,
    manifests: [
      ...images.map((i) => ({ mediaType: i.manifestMediaType, digest: i.manifestDigest, size: i.manifest.length, platform: i.platform })),
      ...extra,
    ],
  };
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, digest: digestOf(bytes), mediaType };
}

async function put(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

function blobPath(root: string, digest: string): string {
  const [alg = 'sha256', hex = ''] = digest.split(':');
  return join(root, 'blobs', alg, hex);
}

/** Writes the blobs of an image into an OCI layout at `root` (no index.json). */
async function writeBlobs(root: string, image: BuiltImage): Promise<void> {
  await put(blobPath(root, image.configDigest), image.config);
  await put(blobPath(root, image.manifestDigest), image.manifest);
  for (const l of image.layers) await put(blobPath(root, l.digest), l.bytes);
}

/** The index.json of an OCI layout: one entry per image, with its tag as `org.opencontainers.image.ref.name`. */
function layoutIndex(images: ReadonlyArray<{ image: BuiltImage; tag?: string }>): Buffer {
  const manifests = images.map(({ image, tag }) => ({
    mediaType: image.manifestMediaType,
    digest: image.manifestDigest,
    size: image.manifest.length,
    ...(tag ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {}),
  }));
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/** Writes an OCI image layout directory with one index entry per image (tag annotation when given). */
export async function writeOciLayout(root: string, images: ReadonlyArray<{ image: BuiltImage; tag?: string }>): Promise<void> {
  await put(join(root, 'oci-layout'), Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  for (const { image } of images) await writeBlobs(root, image);
  await put(join(root, 'index.json'), layoutIndex(images));
}

/** Packs files (path → bytes) into a plain tar, in the given order. */
export function tarOfFiles(files: ReadonlyArray<[string, Buffer]>): Buffer {
  return buildTar(files.map(([path, content]) => ({ type: 'file', path, content })));
}

/** Writes an OCI archive (a tar of an OCI layout). */
export async function writeOciArchive(file: string, images: ReadonlyArray<{ image: BuiltImage; tag?: string }>): Promise<void> {
  const files: Array<[string, Buffer]> = [['oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))]];
  const seen = new Set<string>();
  const add = (digest: string, bytes: Buffer): void => {
    if (seen.has(digest)) return;
    seen.add(digest);
    files.push([`blobs/sha256/${digest.slice(7)}`, bytes]);
  };
  for (const { image } of images) {
    add(image.configDigest, image.config);
    add(image.manifestDigest, image.manifest);
    for (const l of image.layers) add(l.digest, l.bytes);
  }
  files.push(['index.json', layoutIndex(images)]);
  await put(file, tarOfFiles(files));
}

/**
 * Writes a `docker save` archive. `classic`: `<id>/layer.tar` + `<id>.json` config, as Docker
 * before 25 and podman write; `oci`: the layout Docker 25+ writes (an OCI layout with
 * `manifest.json` whose paths point into `blobs/sha256/`). Layers are stored uncompressed,
 * as both writers do.
 */
export async function writeDockerArchive(
  file: string,
  image: BuiltImage,
  repoTags: readonly string[],
  layout: 'classic' | 'oci' = 'classic',
): Promise<void> {
  const tars = image.layers.map((l) => decompressForArchive(l));
  const files: Array<[string, Buffer]> = [];
  if (layout === 'classic') {
    const configName = `${image.configDigest.slice(7)}.json`;
    files.push([configName, image.config]);
    const layerNames = tars.map((t) => `${digestOf(t).slice(7)}/layer.tar`);
    tars.forEach((t, i) => files.push([layerNames[i] ?? '', t]));
    files.push(['manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layerNames }]))]);
    files.push(['repositories', Buffer.from('{}')]);
  } else {
    const layerDescs = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(t), size: t.length }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.configDigest, size: image.config.length },
        layers: layerDescs,
      }),
    );
    files.push(['blobs/sha256/' + image.configDigest.slice(7), image.config]);
    tars.forEach((t) => files.push(['blobs/sha256/' + digestOf(t).slice(7), t]));
    files.push(['blobs/sha256/' + digestOf(manifest).slice(7), manifest]);
    files.push(['oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))]);
    files.push([
      'index.json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: digestOf(manifest),
              size: manifest.length,
              annotations: repoTags[0]
                ? {
                    'io.containerd.image.name': `docker.io/library/${repoTags[0]}`,
                    'org.opencontainers.image.ref.name': repoTags[0].split(':')[1] ?? 'latest',
                  }
                : {},
            },
          ],
        }),
      ),
    ]);
    files.push([
      'manifest.json',
      Buffer.from(
        JSON.stringify([
          {
            Config: 'blobs/sha256/' + image.configDigest.slice(7),
            RepoTags: repoTags,
            Layers: tars.map((t) => 'blobs/sha256/' + digestOf(t).slice(7)),
          },
        ]),
      ),
    ]);
  }
  await put(file, tarOfFiles(files));
}

/** Docker archives hold uncompressed layers: rebuild the tar from the layer's bytes. */
function decompressForArchive(layer: BuiltBlob): Buffer {
  if (layer.bytes[0] === 0x1f && layer.bytes[1] === 0x8b) return gunzipSync(layer.bytes);
  if (layer.bytes.readUInt32LE(0) === 0xfd2fb528)
    return execFileSync('zstd', ['-q', '-d', '-c'], { input: layer.bytes, maxBuffer: 1 << 30 });
  return layer.bytes;
}

/** What `writeGgcrTarball` writes: whose layout, which tags, which layers are foreign. */
export interface GgcrTarballSpec {
  /**
   * `ggcr`: go-containerregistry's `tarball.Write` (pkg/v1/tarball/write.go), which crane
   * (`crane pull`), ko (`--tarball`) and kaniko (`--tarPath`) call: config member
   * `sha256:<hex>`, layers `<compressed hex>.tar.gz` holding the registry blob as is,
   * manifest.json last with `Config`/`RepoTags`/`Layers` and `LayerSources` (foreign layers,
   * keyed by diffID). `jib`: Jib's `ImageTarball.dockerWriteTo` (jib-core image/ImageTarball.java):
   * layers `<hex>.tar.gz`, config `config.json`, manifest.json keys `config`/`repoTags`/`layers`
   * as Jackson spells the fields.
   */
  style: 'ggcr' | 'jib';
  /** RepoTags as written (go-containerregistry writes `ubuntu` for `ubuntu:latest`). */
  repoTags: readonly string[];
  /** Indexes of layers recorded as foreign in LayerSources and left out of the tarball. */
  foreign?: readonly number[];
}

/** Writes a docker-loadable tarball as go-containerregistry or Jib write it (see GgcrTarballSpec). */
export async function writeGgcrTarball(file: string, image: BuiltImage, spec: GgcrTarballSpec): Promise<void> {
  const files: Array<[string, Buffer]> = [];
  const configName = spec.style === 'ggcr' ? image.configDigest : 'config.json';
  if (spec.style === 'ggcr') files.push([configName, image.config]);
  const layerNames = image.layers.map((l) => `${l.digest.slice(7)}.tar.gz`);
  const layerSources: Record<string, { mediaType: string; size: number; digest: string; urls: string[] }> = {};
  image.layers.forEach((l, i) => {
    if (spec.foreign?.includes(i)) {
      layerSources[l.diffId] = {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        size: l.size,
        digest: l.digest,
        urls: [`https://example.invalid/v2/base/blobs/${l.digest}`],
      };
      return;
    }
    files.push([layerNames[i] ?? '', l.bytes]);
  });
  if (spec.style === 'jib') files.push([configName, image.config]);
  const entry =
    spec.style === 'ggcr'
      ? {
          Config: configName,
          RepoTags: spec.repoTags,
          Layers: layerNames,
          ...(Object.keys(layerSources).length > 0 ? { LayerSources: layerSources } : {}),
        }
      : { config: configName, repoTags: spec.repoTags, layers: layerNames };
  files.push(['manifest.json', Buffer.from(JSON.stringify([entry]))]);
  await put(file, tarOfFiles(files));
}

/** Kinds of OCI artifacts `buildArtifact` writes. */
export type ArtifactKind = 'oras-file' | 'oras-legacy' | 'helm-chart' | 'cosign-signature' | 'sbom-attestation';

/**
 * An OCI artifact as its tool pushes it (manifest shapes from each tool's documentation):
 * - `oras-file`: `oras push REF file.txt` (ORAS ≥ 1.0, OCI 1.1 guidance): `artifactType`
 *   `application/vnd.unknown.artifact.v1`, the empty config `{}`
 *   (`application/vnd.oci.empty.v1+json`), the file as a `…layer.v1.tar` layer (not a tar).
 * - `oras-legacy`: ORAS 0.x: no artifactType, config `application/vnd.unknown.config.v1+json`.
 * - `helm-chart`: `helm push`: config `application/vnd.cncf.helm.config.v1+json`, layer
 *   `application/vnd.cncf.helm.chart.content.v1.tar+gzip`.
 * - `cosign-signature`: `cosign sign` (`sha256-<hex>.sig` tags): an image config media type,
 *   layers `application/vnd.dev.cosign.simplesigning.v1+json`.
 * - `sbom-attestation`: `cosign attest` / BuildKit attestations: an image config, layers
 *   `application/vnd.dsse.envelope.v1+json` / `application/vnd.in-toto+json`.
 * The result has the shape of a BuiltImage (config + layer blobs + manifest) so that it can be
 * written and pushed like one; `platform` is meaningless for artifacts.
 */
export function buildArtifact(kind: ArtifactKind): BuiltImage {
  const blob = (mediaType: string, bytes: Buffer): BuiltBlob => ({
    mediaType,
    digest: digestOf(bytes),
    size: bytes.length,
    bytes,
    diffId: digestOf(bytes),
  });
  const imageConfig = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const spec: { artifactType?: string; configType: string; config: Buffer; layers: BuiltBlob[] } = (() => {
    switch (kind) {
      case 'oras-file':
        return {
          artifactType: 'application/vnd.unknown.artifact.v1',
          configType: 'application/vnd.oci.empty.v1+json',
          config: Buffer.from('{}'),
          layers: [blob('application/vnd.oci.image.layer.v1.tar', Buffer.from('hello from a plain file\n'))],
        };
      case 'oras-legacy':
        return {
          configType: 'application/vnd.unknown.config.v1+json',
          config: Buffer.from('{}'),
          layers: [blob('application/vnd.oci.image.layer.v1.tar', Buffer.from('hello from a plain file\n'))],
        };
      case 'helm-chart':
        return {
          configType: 'application/vnd.cncf.helm.config.v1+json',
          config: Buffer.from(JSON.stringify({ name: 'app', version: '1.0.0', apiVersion: 'v2' })),
          layers: [
            blob(
              'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
              gzipSync(buildTar([{ type: 'file', path: 'app/Chart.yaml', content: 'name: app\nversion: 1.0.0\n' }])),
            ),
          ],
        };
      case 'cosign-signature':
        return {
          configType: 'application/vnd.oci.image.config.v1+json',
          config: imageConfig,
          layers: [
            blob(
              'application/vnd.dev.cosign.simplesigning.v1+json',
              Buffer.from(JSON.stringify({ critical: { type: 'cosign container image signature' } })),
            ),
          ],
        };
      case 'sbom-attestation':
        return {
          configType: 'application/vnd.oci.image.config.v1+json',
          config: imageConfig,
          layers: [
            blob(
              'application/vnd.dsse.envelope.v1+json',
              Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: '', signatures: [] })),
            ),
          ],
        };
    }
  })();
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    config: { mediaType: spec.configType, digest: digestOf(spec.config), size: spec.config.length },
    layers: spec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = Buffer.from(JSON.stringify(manifestDoc));
  return {
    format: 'oci',
    config: spec.config,
    configDigest: digestOf(spec.config),
    layers: spec.layers,
    manifest,
    manifestDigest: digestOf(manifest),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    platform: { os: 'unknown', architecture: 'unknown' },
  };
}

/**
 * `image` with an OCI 1.1 `artifactType` in its manifest (and the manifest digest that
 * follows): an image that tools such as `oras push --artifact-type` or BuildKit annotate,
 * which runtimes still pull and run as an image.
 */
export function withArtifactType(image: BuiltImage, artifactType: string): BuiltImage {
  const doc = JSON.parse(image.manifest.toString('utf8')) as Record<string, unknown>;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: doc['schemaVersion'],
      mediaType: doc['mediaType'],
      artifactType,
      config: doc['config'],
      layers: doc['layers'],
    }),
  );
  return { ...image, manifest: bytes, manifestDigest: digestOf(bytes) };
}
