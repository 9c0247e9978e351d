/**
 * `docker-archive:FILE[:REPO:TAG]` — a tarball `docker load` accepts, read the way `docker
 * load` reads it (docs/architecture.md, "Docker archives"): through `manifest.json`, whose
 * keys are matched case-insensitively as Go's encoding/json does. Writers and their layouts:
 * `docker save` ≤ 24 and podman (`<id>/layer.tar`, `<config hex>.json`), skopeo (`<hex>.tar`),
 * Docker 25+ and `ctr export` (an OCI layout: `blobs/sha256/<hex>`), go-containerregistry's
 * `tarball.Write` — crane, ko, kaniko `--tarPath` — (`<hex>.tar.gz`, config `sha256:<hex>`),
 * and Jib (`<hex>.tar.gz`, `config.json`, lower-case keys). The manifest.json entry becomes a
 * manifest that ./resolve.ts turns into the image, as for every source. An archive without
 * manifest.json but with index.json (an OCI layout, which `docker load` with Docker's
 * containerd image store imports through index.json) is resolved through its index, its images
 * named by their `io.containerd.image.name` annotation.
 */
import { OciScanError } from '../errors.js';
import { parseConfig } from '../image/config.js';
import { decodeGoResult, Go, GoJsonError, goRefusal, parseGoJson, type GoReadMode, type GoValue, type Shape } from '../image/go-json.js';
import {
  DISTRIBUTION_DESCRIPTOR,
  layerKind,
  MediaType,
  SCHEMA2_DESCRIPTOR,
  type Descriptor,
  type ImageManifest,
} from '../image/manifest.js';
import type { Image, ImageName } from '../image/types.js';
import { sha256Digest } from '../image/verify.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from '../image/wire.js';
import { canonicalReference, parseReference } from '../reference/reference.js';
import { repositoryPath } from '../reference/repository-path.js';
import type { BlobStore } from './store.js';
import type { ContentSource } from './content.js';
import { layoutContent, layoutRoot, readLayoutIndex } from './oci-layout.js';
import type { SourceOptions } from './options.js';
import { resolveImages } from './resolve.js';
import { checkStored, consumedLayer, openStored, type StoredLayer } from './stored-blob.js';

/** A foreign layer's descriptor in `LayerSources` (keyed by diffID). */
interface LayerSource {
  mediaType: string;
  size: number;
  digest: string;
  urls?: string[];
}

/** One entry of a docker archive's manifest.json (field names as `docker load` spells them). */
export interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[];
  /** Absent when manifest.json gives none or `null`: an image without layers. */
  Layers?: string[];
  LayerSources?: Record<string, LayerSource>;
}

/** docker's `tarexport.manifestItem` (`docker load`), read with json.Decoder. */
export const DOCKER_LOAD_MANIFEST_SHAPE = Go.slice(
  Go.struct('tarexport.manifestItem', [
    ['Config', Go.string],
    ['RepoTags', Go.slice(Go.string)],
    ['Layers', Go.slice(Go.string)],
    ['-Parent', Go.string],
    ['LayerSources', Go.map(DISTRIBUTION_DESCRIPTOR)],
  ]),
);

/** containers/image's `tarfile.ManifestItem` (podman, skopeo), read with json.Unmarshal. */
export const CIMAGE_ARCHIVE_MANIFEST_SHAPE = Go.slice(
  Go.struct('tarfile.ManifestItem', [
    ['Config', Go.string],
    ['RepoTags', Go.slice(Go.string)],
    ['Layers', Go.slice(Go.string)],
    ['-Parent', Go.string],
    ['LayerSources', Go.map(SCHEMA2_DESCRIPTOR)],
  ]),
);

/** containerd's import (`ctr import`, `docker load` with the containerd store), read with json.Decoder. */
export const CONTAINERD_ARCHIVE_MANIFEST_SHAPE = Go.slice(
  Go.struct('archive.mfst', [
    ['Config', Go.string],
    ['RepoTags', Go.slice(Go.string)],
    ['Layers', Go.slice(Go.string)],
  ]),
);

/** manifest.json as one runtime reads it: its entries, null for `null` (none), undefined where it refuses. */
export type ArchiveManifestView = DockerArchiveEntry[] | null | undefined;

/** manifest.json as each runtime reads it. */
export interface ArchiveManifestViews {
  readonly docker: ArchiveManifestView;
  readonly cimage: ArchiveManifestView;
  readonly containerd: ArchiveManifestView;
}

/** The views of manifest.json's bytes. */
export function archiveManifestViews(bytes: Uint8Array): ArchiveManifestViews {
  const read = (mode: GoReadMode): GoValue | undefined => {
    try {
      return parseGoJson(bytes, mode);
    } catch (err) {
      if (err instanceof GoJsonError) return undefined;
      throw err;
    }
  };
  const first = read('decoder');
  const whole = read('unmarshal');
  const view = (doc: GoValue | undefined, shape: Shape): ArchiveManifestView => {
    if (doc === undefined) return undefined;
    const decoded = decodeGoResult<DockerArchiveEntry[] | undefined>(doc, shape);
    return decoded.ok ? (decoded.value ?? null) : undefined;
  };
  return {
    docker: view(first, DOCKER_LOAD_MANIFEST_SHAPE),
    cimage: view(whole, CIMAGE_ARCHIVE_MANIFEST_SHAPE),
    containerd: view(first, CONTAINERD_ARCHIVE_MANIFEST_SHAPE),
  };
}

/**
 * Parses manifest.json as `docker load` and podman do (docs/architecture.md "Reading JSON as
 * the runtimes do"): Go's decoding (keys matched case-insensitively, the last of several wins),
 * refused only when every runtime refuses it. The entries' Config, RepoTags and Layers read the
 * same in every runtime that accepts them; LayerSources come from docker's or containers/image's
 * reading (containerd does not read them).
 */
export function parseArchiveManifest(bytes: Uint8Array, what: string): DockerArchiveEntry[] {
  const views = archiveManifestViews(bytes);
  const entries = [views.docker, views.cimage, views.containerd].find((v) => v !== undefined);
  if (entries === null) return [];
  if (entries === undefined) {
    let reason: string | undefined;
    try {
      reason = goRefusal(parseGoJson(bytes, 'decoder'), DOCKER_LOAD_MANIFEST_SHAPE);
    } catch (err) {
      if (!(err instanceof GoJsonError)) throw err;
      throw new OciScanError(
        'INVALID_MANIFEST',
        `${what} is not valid JSON (${err.message}): the archive is damaged or not a docker archive`,
      );
    }
    throw new OciScanError('INVALID_MANIFEST', `${what} is invalid: ${reason ?? 'refused'}; no container runtime would load it`);
  }
  return entries;
}

/**
 * `sha256:<hex>` when a member's name is a digest of its bytes: `blobs/sha256/<hex>` (Docker 25+,
 * ctr), `<hex>.tar` (skopeo), `<hex>.tar.gz` (go-containerregistry, Jib), `<hex>.json` (the
 * config of `docker save` ≤ 24), `sha256:<hex>` (go-containerregistry's config). Classic
 * `<id>/layer.tar` names a layer id, not a digest.
 */
export function digestFromPath(path: string): string | undefined {
  const m = /(?:^|\/)(?:sha256[:/])?([a-f0-9]{64})(?:\.tar(?:\.gz|\.zst)?|\.json)?$/.exec(path);
  return m?.[1] ? `sha256:${m[1]}` : undefined;
}

/** `repo:tag` normalised as a reference (`app` ≡ `docker.io/library/app:latest`), or the text when it does not parse. */
function tagKey(repoTag: string): string {
  try {
    const ref = parseReference(repoTag);
    return canonicalReference({ ...ref, tag: ref.tag ?? 'latest' });
  } catch {
    return repoTag;
  }
}

/** A parsed `RepoTags` entry or wanted name: last segment, repository path (for the report file), tag. */
function nameOf(repoTag: string): { name: string; repository: string; tag?: string } | undefined {
  try {
    const ref = parseReference(repoTag);
    return {
      name: ref.name,
      repository: repositoryPath(`${ref.registry}/${ref.repository}`),
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Chooses the manifest.json entry: by `wanted` (`repo[:tag]`), else the only one. */
function chooseEntry(entries: readonly DockerArchiveEntry[], wanted: string | undefined, what: string): DockerArchiveEntry {
  const all = entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'none';
  if (wanted !== undefined) {
    const want = tagKey(wanted);
    const entry = entries.find((e) => (e.RepoTags ?? []).some((t) => tagKey(t) === want));
    if (!entry) throw new OciScanError('IMAGE_NOT_FOUND', `${what} has no image ${wanted}; images there: ${all}`);
    return entry;
  }
  if (entries.length > 1)
    throw new OciScanError('USAGE', `${what} holds ${entries.length} images: name one as docker-archive:FILE:REPO:TAG (${all})`);
  const [entry] = entries;
  if (!entry) throw new OciScanError('INVALID_MANIFEST', `manifest.json of ${what} lists no image`);
  return entry;
}

/** The annotation containerd (and Docker's containerd image store) names an index.json entry's image with. */
const IMAGE_NAME = 'io.containerd.image.name';

/** How the image asked for is named: as given, by the user's `REPO:TAG`, or after the file. */
export interface ArchiveNaming {
  /** The image as the user gave it (the report's key). */
  readonly display: string;
  /** The name when the archive names none (the file name). */
  readonly fallbackName: string;
  /** The `REPO:TAG` after the path, if any. */
  readonly wanted?: string | undefined;
}

/** The image name the user's `REPO:TAG` gives, else the name the archive records, else the file's. */
function imageName(naming: ArchiveNaming, recorded: string | undefined): ImageName {
  const { display, fallbackName, wanted } = naming;
  const fromWanted = wanted === undefined ? undefined : nameOf(wanted);
  const fromArchive = recorded === undefined ? undefined : nameOf(recorded);
  // A tag-less RepoTags entry is `:latest`, as for docker; a tag-less wanted name is the user's
  // implicit latest (the Tag check says so).
  if (fromWanted)
    return {
      display,
      name: fromWanted.name,
      repository: fromWanted.repository,
      ...(fromWanted.tag !== undefined ? { tag: fromWanted.tag } : {}),
      tagOrigin: 'reference',
    };
  if (fromArchive)
    return { display, name: fromArchive.name, repository: fromArchive.repository, tag: fromArchive.tag ?? 'latest', tagOrigin: 'archive' };
  return { display, name: fallbackName, repository: fallbackName, tagOrigin: 'none' };
}

/** Images of a docker archive; `wanted` (`repo:tag`) selects one when the archive holds several. */
export async function imagesFromDockerArchive(store: BlobStore, naming: ArchiveNaming, options: SourceOptions): Promise<Image[]> {
  const bytes = await store.read('manifest.json', MAX_MANIFEST_BYTES, 'INVALID_MANIFEST');
  if (!bytes) return imagesFromIndexOnly(store, naming, options);
  const entries = parseArchiveManifest(bytes, `manifest.json of ${store.what}`);
  const entry = chooseEntry(entries, naming.wanted, store.what);
  const name = imageName(naming, naming.wanted === undefined ? entry.RepoTags?.[0] : undefined);
  const { content, manifest } = await dockerContent(store, entry, name, options);
  return resolveImages(content, { kind: 'manifest', manifest }, name, options);
}

/** An archive with index.json and no manifest.json: the entry `wanted` names (by its containerd image name), else the only image. */
async function imagesFromIndexOnly(store: BlobStore, naming: ArchiveNaming, options: SourceOptions): Promise<Image[]> {
  const { wanted } = naming;
  const index = await readLayoutIndex(store);
  if (!index)
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${store.what} is not a docker archive (no manifest.json or index.json): check the path and the transport (docker-archive:, oci-archive:)`,
    );
  const entries = index.manifests;
  const all = [...new Set(entries.map((e) => e.annotations?.[IMAGE_NAME]).filter((n): n is string => Boolean(n)))];
  const candidates =
    wanted === undefined
      ? entries
      : entries.filter((e) => e.annotations?.[IMAGE_NAME] !== undefined && tagKey(e.annotations[IMAGE_NAME]) === tagKey(wanted));
  if (candidates.length === 0)
    throw new OciScanError('IMAGE_NOT_FOUND', `${store.what} has no image ${wanted ?? ''}; images there: ${all.join(', ') || 'none'}`);
  const recorded = [...new Set(candidates.map((e) => e.annotations?.[IMAGE_NAME]))];
  const name = imageName(naming, wanted === undefined && recorded.length === 1 ? recorded[0] : undefined);
  const root = layoutRoot(
    store,
    candidates,
    () =>
      new OciScanError(
        'USAGE',
        `${store.what} holds ${candidates.length} images: name one as docker-archive:FILE:REPO:TAG (${all.join(', ') || 'none'})`,
      ),
  );
  return resolveImages(layoutContent(store), root, name, options);
}

/** A layer of the archive, by the digest its made-up manifest gives it. */
interface ArchiveLayer extends StoredLayer {
  readonly mediaType: string;
}

/**
 * The ContentSource of one manifest.json entry, and the manifest it stands for: the config
 * under the digest of its content, each layer under the digest its member is named by (the
 * blob digest a registry knows) or else its diffID. Layers are verified as `docker load`
 * verifies them: the uncompressed tar must hash to the config's diffID; a member named by a
 * digest must also hash to that name.
 */
async function dockerContent(
  store: BlobStore,
  entry: DockerArchiveEntry,
  name: ImageName,
  options: Pick<SourceOptions, 'logger'>,
): Promise<{ content: ContentSource; manifest: ImageManifest }> {
  if (entry.Config === '')
    throw new OciScanError(
      'INVALID_MANIFEST',
      `manifest.json of ${store.what} names no Config for ${name.display}: the archive is damaged`,
    );
  const configBytes = await store.read(entry.Config, MAX_CONFIG_BYTES, 'INVALID_CONFIG');
  if (!configBytes)
    throw new OciScanError('INVALID_CONFIG', `config ${entry.Config} is missing from ${store.what}: the archive is incomplete`);
  const configDigest = sha256Digest(configBytes);
  const named = digestFromPath(entry.Config);
  if (named !== undefined && named !== configDigest) {
    // `docker load` and podman never check the config's file name against its content: the
    // image loads, under the content's digest. Say so, and report that digest.
    options.logger.warn(
      { archive: store.what, config: entry.Config, digest: configDigest },
      'docker archive config file name does not match its content; using the digest of the content',
    );
  }
  const configWhat = `config ${configDigest} of ${name.display}`;
  const diffIds = parseConfig(configBytes, configWhat).rootfs?.diff_ids ?? [];
  const layerPaths = entry.Layers ?? [];
  if (diffIds.length !== layerPaths.length) {
    throw new OciScanError(
      'INVALID_CONFIG',
      `${configWhat} lists ${diffIds.length} layers but manifest.json has ${layerPaths.length}: the archive is inconsistent`,
    );
  }
  const held = new Map<string, ArchiveLayer>();
  const descriptors: Descriptor[] = [];
  for (const [i, path] of layerPaths.entries()) {
    const diffId = diffIds[i] ?? '';
    const source = entry.LayerSources && Object.hasOwn(entry.LayerSources, diffId) ? entry.LayerSources[diffId] : undefined;
    const layerNamed = digestFromPath(path);
    const size = await store.size(path);
    if (size !== undefined) {
      const layer: ArchiveLayer = { path, size, named: layerNamed, diffId, mediaType: source?.mediaType ?? MediaType.dockerLayer };
      const digest = layerNamed ?? diffId;
      if (!held.has(digest)) held.set(digest, layer);
      descriptors.push({ mediaType: layer.mediaType, digest, size });
      continue;
    }
    // go-containerregistry records foreign (non-distributable) layers in LayerSources and may
    // leave their bytes out: such a layer cannot be scanned, and the results say so.
    if (source === undefined || layerKind(source.mediaType) !== 'foreign')
      throw new OciScanError('SOURCE_UNREADABLE', `layer ${path} is missing from ${store.what}: the archive is incomplete`);
    descriptors.push({
      mediaType: source.mediaType,
      digest: layerNamed ?? source.digest,
      size: source.size,
      ...(source.urls ? { urls: source.urls } : {}),
    });
  }
  const layerOf = (descriptor: Descriptor): ArchiveLayer => {
    const layer = held.get(descriptor.digest);
    if (!layer) throw new OciScanError('SOURCE_UNREADABLE', `layer ${descriptor.digest} is not in ${store.what}`);
    return layer;
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: configDigest, size: configBytes.length },
    layers: descriptors,
  };
  const content: ContentSource = {
    what: store.what,
    partial: false,
    fetchManifest: () =>
      Promise.reject(new OciScanError('INVALID_MANIFEST', `${store.what} holds no manifests: it is read through manifest.json`)),
    readConfig: (descriptor, what) =>
      descriptor.digest === configDigest
        ? Promise.resolve(configBytes)
        : Promise.reject(new OciScanError('INVALID_CONFIG', `${what} is not in ${store.what}`)),
    openBlob: (descriptor, what) => openStored(store, layerOf(descriptor), what),
    checkBlob: (descriptor, what) => checkStored(store, layerOf(descriptor), what),
    hasBlob: (digest) => Promise.resolve(held.has(digest)),
    consumed: (descriptor, what) => consumedLayer(store, layerOf(descriptor), what),
  };
  return { content, manifest };
}
