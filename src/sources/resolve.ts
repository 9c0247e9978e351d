/**
 * The one resolver: whatever the source, its root document becomes the image(s) to scan the
 * same way (docs/architecture.md "Resolving an image").
 *
 * - A manifest is parsed by ../image/manifest.ts (Docker schema 1, artifacts and unknown media
 *   types refused there, one message each) and becomes an `Image`: its config read and
 *   checked, its layers described, a foreign layer the source does not hold marked not scanned.
 * - An index chooses as containerd does (../image/platform.ts): the entries whose platform
 *   runs on the one asked for, best first, then the entries without a platform, whose config
 *   decides; `all` takes every entry but the `unknown/unknown` ones (attestations).
 * - A nested index (an index entry that is an index) is followed the same way, up to
 *   MAX_INDEX_DEPTH levels.
 * - A source that may hold some platforms only (`ContentSource.partial`) is chosen from among
 *   the manifests it holds, and a miss names the platforms present.
 */
import type { Logger } from 'pino';
import { OciScanError } from '../errors.js';
import { parseConfig, platformOfConfig } from '../image/config.js';
import { layerKind, parseManifestDocument, type Descriptor, type ImageManifest } from '../image/manifest.js';
import {
  candidatesAcrossReadings,
  formatPlatform,
  indexCandidates,
  isUnknownPlatform,
  platformRank,
  type Platform,
} from '../image/platform.js';
import type { Image, ImageName, Layer } from '../image/types.js';
import { MAX_CONFIG_BYTES } from '../image/wire.js';
import { configTooLarge, type ContentSource } from './content.js';

/** Indexes nested deeper than this are refused: real images nest one level (an OCI layout's index.json → the image index). */
export const MAX_INDEX_DEPTH = 4;

/** Where resolution starts: what the source found for the image asked for. */
export type Root =
  /** A manifest or index by tag or digest (a registry reference). */
  | { readonly kind: 'reference'; readonly reference: string }
  /** A manifest or index by descriptor (an entry of an OCI layout's index.json). */
  | { readonly kind: 'descriptor'; readonly descriptor: Descriptor }
  /** Index entries that are the platforms of one image (several entries of index.json); `what` names them in messages. */
  | { readonly kind: 'index'; readonly manifests: readonly Descriptor[]; readonly what: string }
  /** A manifest the source made up from its own metadata (a docker archive's manifest.json), with no digest of its own. */
  | { readonly kind: 'manifest'; readonly manifest: ImageManifest };

/** What resolution needs besides the source. */
export interface ResolveOptions {
  /** One platform, or every platform of an index. */
  readonly platform: Platform | 'all';
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

/** One resolution under way. */
interface Resolution {
  readonly source: ContentSource;
  readonly name: ImageName;
  readonly options: ResolveOptions;
}

/** What an index level chose, and every platform it saw (for the message when nothing fits). */
interface Chosen {
  readonly images: Image[];
  readonly available: string[];
}

/** Resolves `root` of `source` to the image(s) to scan: one, or one per platform with `all`. */
export async function resolveImages(source: ContentSource, root: Root, name: ImageName, options: ResolveOptions): Promise<Image[]> {
  const r: Resolution = { source, name, options };
  switch (root.kind) {
    case 'manifest':
      return [await imageOf(r, { manifest: root.manifest, fromIndex: false })];
    case 'index':
      return chosenOrError(await fromIndex(r, root.manifests, 1), root.manifests, options.platform, root.what);
    case 'descriptor':
      return chosenOrError(
        await fromDescriptor(r, root.descriptor, 0, false),
        [],
        options.platform,
        `image index ${root.descriptor.digest} of ${name.display}`,
      ).map((image) => (image.fromIndex ? { ...image, indexDigest: root.descriptor.digest } : image));
    case 'reference': {
      const fetched = await source.fetchManifest(root.reference, options.signal);
      const doc = parseManifestDocument(fetched.bytes, fetched.mediaType, `manifest ${fetched.digest} of ${name.display}`);
      if (doc.kind === 'manifest') return [await imageOf(r, { manifest: doc.manifest, digest: fetched.digest, fromIndex: false })];
      return chosenOrError(
        await fromIndex(r, doc.index.manifests, 1, doc.index.readings, `image index ${fetched.digest} of ${name.display}`),
        doc.index.manifests,
        options.platform,
        `image index ${fetched.digest} of ${name.display}`,
      ).map((image) => ({ ...image, indexDigest: fetched.digest }));
    }
  }
}

/** The images chosen, or NO_MATCHING_PLATFORM listing the platforms there are. */
function chosenOrError(chosen: Chosen, manifests: readonly Descriptor[], wanted: Platform | 'all', what: string): Image[] {
  if (chosen.images.length > 0) return chosen.images;
  const available = [...new Set([...listedPlatforms(manifests), ...chosen.available])].join(', ') || 'none';
  const asked = wanted === 'all' ? 'any image platform' : formatPlatform(wanted);
  throw new OciScanError('NO_MATCHING_PLATFORM', `${what} has no image for ${asked}; available platforms: ${available}: choose one`, {
    setting: 'platform',
  });
}

/** The platforms an index names, attestations (`unknown/unknown`) left out. */
function listedPlatforms(manifests: readonly Descriptor[]): string[] {
  return manifests.flatMap((d) => (d.platform && !isUnknownPlatform(d) ? [formatPlatform(d.platform)] : []));
}

/** A manifest or index by descriptor: its image, or what its index chose. */
async function fromDescriptor(r: Resolution, descriptor: Descriptor, depth: number, fromAnIndex: boolean): Promise<Chosen> {
  const fetched = await r.source.fetchManifest(descriptor.digest, r.options.signal);
  // The descriptor's media type is the one the (verified) index vouches for; a server's
  // Content-Type only fills in for a descriptor that gives none.
  const doc = parseManifestDocument(
    fetched.bytes,
    descriptor.mediaType || fetched.mediaType,
    `manifest ${descriptor.digest} of ${r.name.display}`,
  );
  if (doc.kind === 'manifest') {
    const image = await imageOf(r, {
      manifest: doc.manifest,
      digest: descriptor.digest,
      indexPlatform: platformOf(descriptor),
      fromIndex: fromAnIndex,
    });
    return { images: [image], available: image.platform && !descriptor.platform ? [formatPlatform(image.platform)] : [] };
  }
  if (depth + 1 > MAX_INDEX_DEPTH) {
    throw new OciScanError(
      'INVALID_MANIFEST',
      `image index ${descriptor.digest} of ${r.name.display} nests indexes more than ${MAX_INDEX_DEPTH} deep: not an image oci-scan can resolve`,
    );
  }
  const chosen = await fromIndex(
    r,
    doc.index.manifests,
    depth + 1,
    doc.index.readings,
    `image index ${descriptor.digest} of ${r.name.display}`,
  );
  return { images: chosen.images, available: [...listedPlatforms(doc.index.manifests), ...chosen.available] };
}

/**
 * The entries of an index to scan, resolved (see the file comment); no images when none fits.
 * `readings` are the entries as other runtimes read them, when they differ (ImageIndex.readings).
 */
async function fromIndex(
  r: Resolution,
  manifests: readonly Descriptor[],
  depth: number,
  readings: ReadonlyArray<readonly Descriptor[]> = [],
  what = `the image index of ${r.name.display}`,
): Promise<Chosen> {
  const wanted = r.options.platform;
  const { pool, partial } = await present(r, manifests);
  const aligned = readings.map((reading) => pool.map((d) => reading[manifests.indexOf(d)] ?? d));
  const available: string[] = [];
  const images: Image[] = [];
  for (const candidate of candidatesAcrossReadings([pool, ...aligned], wanted, what)) {
    const chosen = await fromDescriptor(r, candidate.descriptor, depth, true);
    available.push(...chosen.available);
    if (wanted === 'all') {
      images.push(...chosen.images);
      continue;
    }
    // An entry that names a matching platform is taken; one without is judged by its config, as containerd does.
    const fit = chosen.images.find(
      (image) => candidate.platform !== undefined || (image.platform !== undefined && platformRank(wanted, image.platform) !== undefined),
    );
    if (fit) return { images: [fit], available };
  }
  if (images.length === 0 && partial && wanted !== 'all') throw partialExport(r, partial, wanted);
  return { images, available };
}

/** What a partial source holds of an index. */
interface PartialHolding {
  readonly listed: number;
  readonly present: string[];
  readonly absent: string[];
  /** Whether the index lists an entry for the platform asked for (which the source does not hold). */
  readonly listedWanted: (wanted: Platform) => boolean;
}

/**
 * The entries worth choosing from: all of them, unless the source is partial and holds some
 * of the index's platforms only — then those it holds (with `all`, a warning names the others).
 */
async function present(
  r: Resolution,
  manifests: readonly Descriptor[],
): Promise<{ pool: readonly Descriptor[]; partial?: PartialHolding }> {
  if (!r.source.partial) return { pool: manifests };
  const held = new Set<Descriptor>();
  for (const d of manifests) if (!isUnknownPlatform(d) && (await r.source.hasBlob(d.digest, r.options.signal))) held.add(d);
  const listed = manifests.filter((d) => d.platform !== undefined && !isUnknownPlatform(d));
  const listedHeld = listed.filter((d) => held.has(d));
  if (listedHeld.length === 0 || listedHeld.length === listed.length) return { pool: manifests };
  const name = (d: Descriptor): string => formatPlatform(platformOf(d) ?? { os: '', architecture: '' });
  const partial: PartialHolding = {
    listed: listed.length,
    present: listedHeld.map(name),
    absent: listed.filter((d) => !held.has(d)).map(name),
    listedWanted: (wanted) => indexCandidates(listed, wanted).some((c) => c.platform !== undefined),
  };
  if (r.options.platform === 'all') {
    r.options.logger.warn(
      { source: r.source.what, present: partial.present.join(', '), absent: partial.absent },
      'the archive lists more platforms than it holds: scanning the platforms present',
    );
  }
  return { pool: manifests.filter((d) => held.has(d)), partial };
}

/** The NO_MATCHING_PLATFORM of a partial export: the platforms present, and how to scan them. */
function partialExport(r: Resolution, partial: PartialHolding, wanted: Platform): OciScanError {
  const why = partial.listedWanted(wanted) ? ` (not ${formatPlatform(wanted)}: it was exported for fewer platforms)` : '';
  const suggestion = partial.present.join(' or ');
  return new OciScanError(
    'NO_MATCHING_PLATFORM',
    `the image index of ${r.name.display} lists ${partial.listed} platforms but ${r.source.what} holds the blobs of ${partial.present.join(', ')} only${why}: scan it for ${suggestion}`,
    { setting: 'platform' },
  );
}

/** An index entry's platform, as the index writes it. */
function platformOf(d: Descriptor): Platform | undefined {
  const p = d.platform;
  if (!p) return undefined;
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

/** A manifest and where it was found. */
interface Found {
  readonly manifest: ImageManifest;
  /** Its digest (none for a manifest the source made up). */
  readonly digest?: string;
  /** The platform its index entry names. */
  readonly indexPlatform?: Platform | undefined;
  readonly fromIndex: boolean;
}

/** The Image of a manifest: config read and checked, layers described. */
async function imageOf(r: Resolution, found: Found): Promise<Image> {
  const { manifest } = found;
  const configWhat = `config ${manifest.config.digest} of ${r.name.display}`;
  if (manifest.config.size > MAX_CONFIG_BYTES) throw configTooLarge(configWhat);
  const config = parseConfig(await r.source.readConfig(manifest.config, configWhat, r.options.signal), configWhat);
  const layers: Layer[] = [];
  for (const d of manifest.layers) layers.push(await layerOf(r, d));
  const platform = found.indexPlatform ?? platformOfConfig(config);
  return {
    name: r.name,
    ...(found.digest !== undefined ? { manifestDigest: found.digest } : {}),
    configDigest: manifest.config.digest,
    ...(platform ? { platform } : {}),
    ...(found.fromIndex ? { fromIndex: true } : {}),
    ...(manifest.artifactType ? { artifactType: manifest.artifactType } : {}),
    ...(manifest.annotations && Object.keys(manifest.annotations).length > 0 ? { annotations: manifest.annotations } : {}),
    config,
    layers,
  };
}

/**
 * A layer of the image. A foreign (non-distributable) layer the source does not hold is not
 * scanned, and says why; it is never fetched from its `urls`: those point outside the source,
 * to hosts the user never named and credentials were never meant for (docs/registry.md
 * "Foreign layers").
 */
async function layerOf(r: Resolution, d: Descriptor): Promise<Layer> {
  const kind = layerKind(d.mediaType);
  if (kind === 'unknown') {
    throw new OciScanError(
      'UNSUPPORTED_MEDIA_TYPE',
      `layer ${d.digest} of ${r.name.display} has media type ${d.mediaType}, which is not a container filesystem layer (tar, tar+gzip, tar+zstd): this is not a container image oci-scan can scan`,
    );
  }
  const what = `layer ${d.digest} of ${r.name.display}`;
  const base = { digest: d.digest, mediaType: d.mediaType, size: d.size, ...(d.urls ? { urls: d.urls } : {}) };
  const { source } = r;
  if (kind === 'foreign' && !(await source.hasBlob(d.digest, r.options.signal))) {
    const reason = `foreign (non-distributable) layer not held by ${source.what}; oci-scan never downloads layers from their external URLs`;
    return { ...base, notScanned: reason, open: () => Promise.reject(new OciScanError('IMAGE_NOT_FOUND', `${what}: ${reason}`)) };
  }
  const consumedAs = source.consumed?.(d, what);
  const { checkBlob } = source;
  const file = source.blobFile?.(d);
  return {
    ...base,
    ...(consumedAs !== undefined ? { consumedAs } : {}),
    ...(file ? { file } : {}),
    open: (signal?: AbortSignal) => source.openBlob(d, what, signal),
    ...(checkBlob ? { check: () => checkBlob.call(source, d, what) } : {}),
  };
}
