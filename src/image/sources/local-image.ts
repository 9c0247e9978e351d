/**
 * Images from local files: the OCI image layout (directory or archive) and the pieces shared
 * with the docker archive (verified blob reads, layers that stream from the store).
 */
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError } from '../../errors.js';
import { parseConfig, platformOfConfig, type ImageConfig } from '../config.js';
import { layerKind, parseManifestDocument, type Descriptor, type ImageManifest } from '../manifest.js';
import { choosePlatforms, formatPlatform, indexCandidates, isUnknownPlatform, type IndexCandidate, type Platform } from '../platform.js';
import type { Image, ImageName, Layer } from '../types.js';
import { matchesDigest, parseDigest, VerifyingStream } from '../verify.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from '../wire.js';
import type { BlobStore } from './blob-store.js';
import type { SourceOptions } from './options.js';
import { decompressed } from './stream-store.js';

/** The OCI layout path of a blob. */
export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** Reads a small file of the store whole and checks it against `digest` (when given). */
export async function readVerified(store: BlobStore, path: string, digest: string | undefined, limit: number, code: 'INVALID_MANIFEST' | 'INVALID_CONFIG', what: string): Promise<Buffer> {
  const bytes = await store.read(path, limit, code);
  if (!bytes) throw new OciScanError(code, `${what} is missing from ${store.what} (${path}): the image is incomplete`);
  if (digest && !matchesDigest(bytes, digest)) {
    throw new OciScanError('DIGEST_MISMATCH', `${what} in ${store.what} does not match its digest ${digest}: the file is corrupt or was modified`);
  }
  return bytes;
}

/** What a stored layer is and how its bytes are checked. */
export interface StoredLayer {
  /** The digest reported for the layer (the key of its findings). */
  readonly digest: string;
  readonly mediaType: string;
  /** Bytes stored (the member or file size). */
  readonly size: number;
  /** The digest the stored bytes must hash to, when their name or descriptor gives one. */
  readonly named?: string | undefined;
  /**
   * Docker archives: the diffID the uncompressed tar must hash to (what `docker load` checks).
   * The layer is then decompressed here and served to the inspector as a plain tar.
   */
  readonly diffId?: string | undefined;
}

/** Runs `stages` after `source`; returns the last stream (errors travel to it through pipeline). */
function chain(source: Readable, stages: readonly Transform[]): Readable {
  const last = stages[stages.length - 1];
  if (!last) return source;
  // The consumer reads `last`; pipeline forwards errors and teardown both ways, so the
  // promise's own rejection is already visible to the consumer as a stream error.
  pipeline([source, ...stages]).catch(() => undefined);
  return last;
}

/**
 * A layer whose blob streams from the store at `path`, checked against `layer.named` (and
 * `layer.size`) and, for docker archives, decompressed and checked against `layer.diffId`. A
 * layer the store already streamed past (a compressed archive read in one pass) was checked
 * then: a mismatch fails here, before any report, and the layer names the consumer's result.
 */
export function storeLayer(store: BlobStore, path: string, layer: StoredLayer): Layer {
  const { digest, named, diffId } = layer;
  const what = `layer ${digest} in ${store.what}`;
  const passed = store.passed?.(path);
  // The consumer's result stands for the layer only if every digest could be checked.
  const consumed = passed !== undefined && (diffId === undefined || passed.tarDigest !== undefined);
  if (passed) {
    if (named !== undefined && passed.digest !== named) throw new OciScanError('DIGEST_MISMATCH', `${what} (${path}) does not match its digest (got ${passed.digest}): the archive is corrupt or was tampered with`);
    if (diffId !== undefined && passed.tarDigest !== undefined && passed.tarDigest !== diffId) {
      throw new OciScanError('DIGEST_MISMATCH', `${what} (${path}) does not match its diffID ${diffId} once uncompressed (got ${passed.tarDigest}): the archive is corrupt or was tampered with`);
    }
  }
  return {
    digest,
    mediaType: layer.mediaType,
    size: layer.size,
    ...(consumed ? { consumedAs: passed.consumedAs } : {}),
    async open() {
      const raw = await store.stream(path);
      if (!raw) throw new OciScanError('SOURCE_UNREADABLE', `${what} is missing (${path}): the image is incomplete`);
      const verified = chain(raw, named !== undefined ? [new VerifyingStream(named, layer.size, what)] : []);
      if (diffId === undefined) return verified;
      const tar = await decompressed(verified, what);
      return diffId === named && tar === verified ? tar : chain(tar, [new VerifyingStream(diffId, -1, `uncompressed ${what} (diffID ${diffId})`)]);
    },
  };
}

/** Builds an Image from a manifest whose blobs live in the store. */
async function imageFromManifest(store: BlobStore, manifest: ImageManifest, manifestDigest: string, name: ImageName, platform: Platform | undefined, fromIndex: boolean): Promise<Image> {
  const configBytes = await readVerified(store, blobPath(manifest.config.digest), manifest.config.digest, MAX_CONFIG_BYTES, 'INVALID_CONFIG', `config ${manifest.config.digest}`);
  const config: ImageConfig = parseConfig(configBytes, `config of ${name.display}`);
  const layers = manifest.layers.map((d: Descriptor): Layer => {
    const kind = layerKind(d.mediaType);
    if (kind === 'unknown') throw new OciScanError('UNSUPPORTED_MEDIA_TYPE', `layer ${d.digest} of ${name.display} has media type ${d.mediaType}, which is not an image layer`);
    return storeLayer(store, blobPath(d.digest), { digest: d.digest, mediaType: d.mediaType, size: d.size, named: d.digest });
  });
  // Foreign layers whose blob is absent cannot be scanned; say so instead of failing.
  const checked = await Promise.all(
    layers.map(async (l) => (layerKind(l.mediaType) === 'foreign' && (await store.size(blobPath(l.digest))) === undefined ? { ...l, notScanned: 'foreign layer not present in the archive' } : l)),
  );
  const scanned = platform ?? platformOfConfig(config);
  return { name, manifestDigest, configDigest: manifest.config.digest, config, layers: checked, ...(scanned ? { platform: scanned } : {}), ...(fromIndex ? { fromIndex } : {}) };
}

/**
 * The index entries to scan, among those whose manifest the store holds. `ctr export
 * --platform`, `docker save --platform` and partial skopeo/podman copies keep the whole index
 * but the blobs of one platform only: asking for another is answered with the platforms
 * present (and `--platform all` scans those, with a warning naming the absent ones).
 */
async function choosePresentPlatforms(store: BlobStore, manifests: readonly Descriptor[], options: SourceOptions, what: string): Promise<Array<Descriptor & { platform: Platform }>> {
  const listed = manifests.filter((d): d is Descriptor & { platform: Platform } => d.platform !== undefined && !isUnknownPlatform(d));
  const held: Array<Descriptor & { platform: Platform }> = [];
  for (const entry of listed) if ((await store.size(blobPath(entry.digest))) !== undefined) held.push(entry);
  if (held.length === 0 || held.length === listed.length) return choosePlatforms(manifests, options.platform, what);
  const present = held.map((e) => formatPlatform(e.platform)).join(', ');
  const absent = listed.filter((e) => !held.includes(e)).map((e) => formatPlatform(e.platform));
  if (options.platform === 'all') {
    options.logger.warn({ source: store.what, present, absent }, 'the archive lists more platforms than it holds: scanning the platforms present');
    return choosePlatforms(held, 'all', what);
  }
  const wanted = options.platform;
  // The best match among the platforms held, as containerd's matcher ranks them.
  const match = indexCandidates(held, wanted).find((c): c is IndexCandidate & { platform: Platform } => c.platform !== undefined);
  if (match) return [{ ...match.descriptor, platform: match.platform }];
  const listedWanted = indexCandidates(listed, wanted).some((c) => c.platform !== undefined);
  const suggestion = held.map((e) => `--platform ${formatPlatform(e.platform)}`).join(' or ');
  throw new OciScanError(
    'NO_MATCHING_PLATFORM',
    `${what} lists ${listed.length} platforms but ${store.what} holds the blobs of ${present} only${listedWanted ? ` (not ${formatPlatform(wanted)}: it was exported for fewer platforms)` : ''}: scan it with ${suggestion}`,
  );
}

/** Resolves a descriptor (manifest or nested index) to images for the wanted platform(s). */
export async function resolveDescriptor(store: BlobStore, desc: Descriptor, name: ImageName, options: SourceOptions, fromIndex = false): Promise<Image[]> {
  const what = `manifest ${desc.digest} of ${name.display}`;
  const bytes = await readVerified(store, blobPath(desc.digest), desc.digest, MAX_MANIFEST_BYTES, 'INVALID_MANIFEST', what);
  const doc = parseManifestDocument(bytes, desc.mediaType, what);
  if (doc.kind === 'manifest') return [await imageFromManifest(store, doc.manifest, desc.digest, name, desc.platform, fromIndex)];
  const chosen = await choosePresentPlatforms(store, doc.index.manifests, options, `image index of ${name.display}`);
  const images: Image[] = [];
  for (const entry of chosen) images.push(...(await resolveDescriptor(store, entry, name, options, true)).map((image) => ({ ...image, indexDigest: desc.digest })));
  return images;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Images of an OCI layout (SPEC §2 `oci:` / `oci-archive:`). `tag` selects the index.json entry
 * whose `org.opencontainers.image.ref.name` is it; without one the layout must hold one image
 * (or one image per platform).
 */
export async function imagesFromOciLayout(store: BlobStore, base: Omit<ImageName, 'tag' | 'tagOrigin'>, tag: string | undefined, options: SourceOptions): Promise<Image[]> {
  const indexBytes = await store.read('index.json', MAX_MANIFEST_BYTES, 'INVALID_MANIFEST');
  if (!indexBytes) {
    throw new OciScanError('SOURCE_UNREADABLE', `${store.what} is not an OCI image layout (no index.json): check the path and the transport (oci:, oci-archive:, docker-archive:)`);
  }
  const doc = parseManifestDocument(indexBytes, 'application/vnd.oci.image.index.v1+json', `index.json of ${store.what}`);
  if (doc.kind !== 'index') throw new OciScanError('INVALID_MANIFEST', `index.json of ${store.what} is not an image index`);
  const entries = doc.index.manifests;
  const tags = [...new Set(entries.map((e) => e.annotations?.[REF_NAME]).filter((t): t is string => Boolean(t)))];
  let candidates = tag === undefined ? entries : entries.filter((e) => e.annotations?.[REF_NAME] === tag);
  if (candidates.length === 0) {
    throw new OciScanError('IMAGE_NOT_FOUND', `${store.what} has no image tagged ${JSON.stringify(tag)}; tags there: ${tags.join(', ') || 'none'}`);
  }
  const name: ImageName =
    tag !== undefined ? { ...base, tag, tagOrigin: 'reference' } : tags.length === 1 && tags[0] ? { ...base, tag: tags[0], tagOrigin: 'archive' } : { ...base, tagOrigin: 'none' };
  if (candidates.length > 1) {
    // Several entries: the platforms of one image, or several images (then a tag must choose).
    if (candidates.every((e) => e.platform) && new Set(candidates.map((e) => e.annotations?.[REF_NAME])).size <= 1) {
      candidates = await choosePresentPlatforms(store, candidates, options, `index.json of ${store.what}`);
      const images: Image[] = [];
      for (const c of candidates) images.push(...(await resolveDescriptor(store, c, name, options, true)));
      return images;
    }
    throw new OciScanError('USAGE', `${store.what} holds ${candidates.length} images: name one with :TAG after the path (tags: ${tags.join(', ') || 'none'})`);
  }
  return resolveDescriptor(store, candidates[0] as Descriptor, name, options);
}
