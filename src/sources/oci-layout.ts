/**
 * The OCI image layout (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`): its store as a
 * ContentSource, and the choice of the index.json entry a reference names. The image itself is
 * resolved by ./resolve.ts, as for every source.
 */
import { createHash } from 'node:crypto';
import { OciScanError } from '../errors.js';
import { parseLayoutIndex, type Descriptor, type ImageIndex } from '../image/manifest.js';
import type { Image, ImageName } from '../image/types.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from '../image/wire.js';
import { tagOfImageName } from '../reference/ref-name.js';
import type { BlobStore } from './store.js';
import type { ContentSource } from './content.js';
import type { SourceOptions } from './options.js';
import { resolveImages, type Root } from './resolve.js';
import { blobPath, checkStored, consumedLayer, openStored, readVerified } from './stored-blob.js';

/** The annotation of an index.json entry that names its tag. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** The annotation containerd writes with an entry's full image name (`ctr export`, BuildKit). */
export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';

/** The ContentSource of a local store laid out as an OCI layout (`blobs/<alg>/<hex>`). */
export function layoutContent(store: BlobStore): ContentSource {
  const { filePath } = store;
  return {
    what: store.what,
    partial: true,
    async fetchManifest(reference) {
      if (!reference.includes(':'))
        throw new OciScanError(
          'IMAGE_NOT_FOUND',
          `${store.what} names manifests by digest only, not ${JSON.stringify(reference.slice(0, 80))}`,
        );
      const bytes = await readVerified(
        store,
        { path: blobPath(reference), digest: reference },
        { limit: MAX_MANIFEST_BYTES, code: 'INVALID_MANIFEST', what: `manifest ${reference}` },
      );
      return { bytes, digest: reference };
    },
    readConfig(descriptor, what) {
      return readVerified(
        store,
        { path: blobPath(descriptor.digest), digest: descriptor.digest },
        { limit: MAX_CONFIG_BYTES, code: 'INVALID_CONFIG', what },
      );
    },
    openBlob(descriptor, what) {
      return openStored(store, { path: blobPath(descriptor.digest), size: descriptor.size, named: descriptor.digest }, what);
    },
    checkBlob(descriptor, what) {
      return checkStored(store, { path: blobPath(descriptor.digest), size: descriptor.size, named: descriptor.digest }, what);
    },
    // openBlob checks a layout's blob against its descriptor alone: a reader of the file needs nothing else.
    ...(filePath ? { blobFile: (descriptor: Descriptor) => ({ path: filePath(blobPath(descriptor.digest)) }) } : {}),
    async hasBlob(digest) {
      return (await store.size(blobPath(digest))) !== undefined;
    },
    consumed(descriptor, what) {
      return consumedLayer(store, { path: blobPath(descriptor.digest), size: descriptor.size, named: descriptor.digest }, what);
    },
  };
}

/** The layout's index.json, or undefined when the store has none. */
export async function readLayoutIndex(store: BlobStore): Promise<ImageIndex | undefined> {
  const bytes = await store.read('index.json', MAX_MANIFEST_BYTES, 'INVALID_MANIFEST');
  if (!bytes) return undefined;
  return parseLayoutIndex(bytes, `index.json of ${store.what}`);
}

/**
 * Where to start among index.json entries: one entry, or several that are the platforms of one
 * image (each names its platform, and they share one tag or none); else the caller must name one.
 */
export function layoutRoot(store: BlobStore, candidates: readonly Descriptor[], ask: () => OciScanError): Root {
  const [only] = candidates;
  if (candidates.length === 1 && only) return { kind: 'descriptor', descriptor: only };
  if (candidates.every((e) => e.platform) && new Set(candidates.map((e) => e.annotations?.[REF_NAME])).size <= 1) {
    return { kind: 'index', manifests: candidates, what: `index.json of ${store.what}` };
  }
  throw ask();
}

/** `base` named by `name` (an image name or a tag) read as the runtimes read it (../reference/ref-name.ts). */
function named(base: Omit<ImageName, 'tag' | 'tagOrigin'>, name: string, tagOrigin: ImageName['tagOrigin']): ImageName {
  const t = tagOfImageName(name);
  return t.digest !== undefined ? { ...base, digest: t.digest, tagOrigin } : { ...base, tag: t.tag, tagOrigin };
}

/**
 * The name the runtimes give the chosen entries when they import them (docs/checks.md,
 * check 1): containerd's `io.containerd.image.name` first (containerd's import and podman's
 * load of an archive prefer it), else the NAME of `oci:DIR:NAME`, else the entries' ref.name.
 * Among several names, one that reads as `latest` is the one reported: a check never passes on
 * the kinder reading.
 */
function layoutImageName(
  base: Omit<ImageName, 'tag' | 'tagOrigin'>,
  tag: string | undefined,
  candidates: readonly Descriptor[],
): ImageName {
  const pick = (names: ReadonlyArray<string | undefined>): string | undefined => {
    const set = [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))];
    return set.find((n) => tagOfImageName(n).tag === 'latest') ?? (set.length === 1 ? set[0] : undefined);
  };
  const imported = pick(candidates.map((e) => e.annotations?.[CONTAINERD_IMAGE_NAME]));
  if (imported !== undefined) return named(base, imported, 'archive');
  if (tag !== undefined) return named(base, tag, 'reference');
  const recorded = pick(candidates.map((e) => e.annotations?.[REF_NAME]));
  return recorded !== undefined ? named(base, recorded, 'archive') : { ...base, tagOrigin: 'none' };
}

/**
 * Images of an OCI layout. `tag` selects the index.json entries whose
 * `org.opencontainers.image.ref.name` is it; without one the layout must hold one image (or
 * one image per platform).
 */
export async function imagesFromOciLayout(
  store: BlobStore,
  base: Omit<ImageName, 'tag' | 'tagOrigin'>,
  tag: string | undefined,
  options: SourceOptions,
): Promise<Image[]> {
  const index = await readLayoutIndex(store);
  if (!index) {
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${store.what} is not an OCI image layout (no index.json): check the path and the transport (oci:, oci-archive:, docker-archive:)`,
    );
  }
  const entries = index.manifests;
  const tags = [...new Set(entries.map((e) => e.annotations?.[REF_NAME]).filter((t): t is string => Boolean(t)))];
  const candidates = tag === undefined ? entries : entries.filter((e) => e.annotations?.[REF_NAME] === tag);
  if (candidates.length === 0) {
    throw new OciScanError(
      'IMAGE_NOT_FOUND',
      `${store.what} has no image tagged ${JSON.stringify(tag)}; tags there: ${tags.join(', ') || 'none'}`,
    );
  }
  const name = layoutImageName(base, tag, candidates);
  const root = layoutRoot(
    store,
    candidates,
    () =>
      new OciScanError(
        'USAGE',
        `${store.what} holds ${candidates.length} images: name one with :TAG after the path (tags: ${tags.join(', ') || 'none'})`,
      ),
  );
  return resolveImages(layoutContent(store), root, name, options);
}

/**
 * The digest of each tag of a layout (what an audit of `oci:DIR` resolves a tag to): the
 * entry's, or for the platforms of one image (several entries of one tag) a digest of theirs.
 */
export async function layoutTagDigests(store: BlobStore): Promise<Map<string, string>> {
  const index = await readLayoutIndex(store);
  const byTag = new Map<string, string[]>();
  for (const entry of index?.manifests ?? []) {
    const tag = entry.annotations?.[REF_NAME];
    if (tag) byTag.set(tag, [...(byTag.get(tag) ?? []), entry.digest]);
  }
  return new Map(
    [...byTag].map(([tag, digests]) => [
      tag,
      digests.length === 1 ? (digests[0] ?? '') : `sha256:${createHash('sha256').update(digests.join('\n')).digest('hex')}`,
    ]),
  );
}
