/**
 * Manifests and indexes: OCI image manifest / index and Docker schema2 manifest / manifest
 * list, one schema and one type each. Docker schema 1 is recognised only to refuse it clearly.
 */
import { OciScanError } from '../errors.js';
import { fieldFor, Go, GoJsonError, GoObject, goRefusal, parseGoJson, tryDecodeGo, type GoValue, type Shape } from './go-json.js';
import { compileWire, type WireValidator } from '../schema/wire.js';

/** Media types oci-scan understands. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** An uncompressed Docker layer (what `docker save` stores). */
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  /** The artifact manifest of OCI 1.1 release candidates (withdrawn; ORAS 0.x pushed it). */
  ociArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
} as const;

/** The `Accept` header for manifest requests: every manifest and index type oci-scan reads. */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(
  ', ',
);

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] };
}

/** An image manifest (OCI or Docker schema2). */
export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  /** OCI 1.1: set on artifacts (Helm charts, signatures, SBOMs), never on container images. */
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  /**
   * The entries as other runtimes read them, when their platforms differ from `manifests`
   * (a `platform` that ends `null`: a pointer in image-spec, a struct in docker's and
   * containers/image's lists). Same length and order as `manifests`.
   */
  readings?: Descriptor[][];
}

const stringSlice = Go.slice(Go.string);
const stringMap = Go.map(Go.string);

/** image-spec v1 `Platform`. */
const OCI_PLATFORM = Go.struct('v1.Platform', [
  ['architecture', Go.string],
  ['os', Go.string],
  ['os.version', Go.string],
  ['os.features', stringSlice],
  ['variant', Go.string],
]);

/** image-spec v1 `Descriptor` (Debian's 1.1.0~rc2). */
const OCI_DESCRIPTOR = Go.struct('v1.Descriptor', [
  ['mediaType', Go.string],
  ['digest', Go.string],
  ['size', Go.int64],
  ['urls', stringSlice],
  ['annotations', stringMap],
  ['-data', Go.bytes],
  ['platform', Go.pointer(OCI_PLATFORM)],
  ['-artifactType', Go.string],
]);

/** docker/distribution's `Descriptor` (what the docker daemon decodes registry manifests into). */
export const DISTRIBUTION_DESCRIPTOR = Go.struct('distribution.Descriptor', [
  ['mediaType', Go.string],
  ['size', Go.int64],
  ['digest', Go.string],
  ['urls', stringSlice],
  ['annotations', stringMap],
  ['platform', Go.pointer(OCI_PLATFORM)],
]);

/** containers/image's `Schema2Descriptor`. */
export const SCHEMA2_DESCRIPTOR = Go.struct('manifest.Schema2Descriptor', [
  ['mediaType', Go.string],
  ['size', Go.int64],
  ['digest', Go.string],
  ['urls', stringSlice],
]);

/** image-spec v1 `Manifest`: containerd (for OCI and Docker manifests alike), containers/image's OCI1. */
export const OCI_MANIFEST_SHAPE = Go.struct('v1.Manifest', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['config', OCI_DESCRIPTOR],
  ['layers', Go.slice(OCI_DESCRIPTOR)],
  ['-subject', Go.pointer(OCI_DESCRIPTOR)],
  ['annotations', stringMap],
]);

/** docker/distribution's `ocischema.Manifest` (docker pulling an OCI manifest). */
export const DISTRIBUTION_OCI_MANIFEST_SHAPE = Go.struct('ocischema.Manifest', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['config', DISTRIBUTION_DESCRIPTOR],
  ['layers', Go.slice(DISTRIBUTION_DESCRIPTOR)],
  ['annotations', stringMap],
]);

/** docker/distribution's `schema2.Manifest` (docker pulling a Docker manifest). */
export const DISTRIBUTION_SCHEMA2_MANIFEST_SHAPE = Go.struct('schema2.Manifest', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['config', DISTRIBUTION_DESCRIPTOR],
  ['layers', Go.slice(DISTRIBUTION_DESCRIPTOR)],
]);

/** containers/image's `Schema2` (podman pulling a Docker manifest). */
export const CIMAGE_SCHEMA2_SHAPE = Go.struct('manifest.Schema2', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['config', SCHEMA2_DESCRIPTOR],
  ['layers', Go.slice(SCHEMA2_DESCRIPTOR)],
]);

/** image-spec v1 `Index`: containerd, containers/image's OCI1Index, every OCI layout's index.json. */
export const OCI_INDEX_SHAPE = Go.struct('v1.Index', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['manifests', Go.slice(OCI_DESCRIPTOR)],
  ['annotations', stringMap],
]);

const LIST_PLATFORM = Go.struct('manifestlist.PlatformSpec', [
  ['architecture', Go.string],
  ['os', Go.string],
  ['os.version', Go.string],
  ['os.features', stringSlice],
  ['variant', Go.string],
  ['-features', stringSlice],
]);

/** docker/distribution's `manifestlist.ManifestList` (docker, for Docker lists and OCI indexes): `platform` is a struct. */
export const DISTRIBUTION_LIST_SHAPE = Go.struct('manifestlist.ManifestList', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  [
    'manifests',
    Go.slice(
      Go.struct('manifestlist.ManifestDescriptor', [
        ['mediaType', Go.string],
        ['size', Go.int64],
        ['digest', Go.string],
        ['urls', stringSlice],
        ['annotations', stringMap],
        // distribution.Descriptor's own `platform` is hidden by this shallower one.
        ['platform', LIST_PLATFORM],
      ]),
    ),
  ],
]);

/** containers/image's `Schema2List` (podman, for Docker lists): `platform` is a struct. */
export const CIMAGE_SCHEMA2_LIST_SHAPE = Go.struct('manifest.Schema2List', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  [
    'manifests',
    Go.slice(
      Go.struct('manifest.Schema2ManifestDescriptor', [
        ['mediaType', Go.string],
        ['size', Go.int64],
        ['digest', Go.string],
        ['urls', stringSlice],
        ['platform', LIST_PLATFORM],
      ]),
    ),
  ],
]);

/** The media types containers/image's Schema2FromManifest accepts for a manifest and its layers. */
const SCHEMA2_SUPPORTED: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

/** containers/image's validateUnambiguousManifestFormat reads these keys as interface{}. */
const CIMAGE_DETECTED_FIELDS = Go.struct('detectedFields', [
  ['config', Go.any],
  ['fsLayers', Go.any],
  ['history', Go.any],
  ['layers', Go.any],
  ['manifests', Go.any],
]);
/** docker/distribution's ocischema validateManifest. */
const DISTRIBUTION_MANIFEST_UNKNOWN = Go.struct('ocischema.unknownDocument', [['manifests', Go.any]]);
/** docker/distribution's manifestlist validateIndex. */
const DISTRIBUTION_INDEX_UNKNOWN = Go.struct('manifestlist.unknownDocument', [
  ['config', Go.any],
  ['layers', Go.any],
]);

/** Whether a document sets (non-null) a key of `shape` outside `allowed`, as those checks read it; undefined when it does not decode. */
function setsOther(doc: GoValue, shape: Shape, allowed: readonly string[]): boolean | undefined {
  const fields = tryDecodeGo<Record<string, unknown>>(doc, shape);
  return fields === undefined ? undefined : Object.keys(fields).some((k) => !allowed.includes(k));
}

/** A manifest as one runtime reads it (`layers` absent when `null` or missing: no layers). */
export type ManifestView = Omit<ImageManifest, 'layers' | 'schemaVersion'> & { schemaVersion: number; layers?: Descriptor[] };
/** An index as one runtime reads it. */
export type IndexView = Omit<ImageIndex, 'manifests'> & { manifests?: Descriptor[] };

/** What each runtime's reading of a manifest gives: its view, or undefined where it refuses. */
export interface ManifestViews {
  /** image-spec v1.Manifest: containerd, containers/image's OCI1 (its own checks in `cimage` for OCI). */
  readonly oci: ManifestView | undefined;
  /** docker/distribution: ocischema (mediaType empty or OCI) or schema2 (mediaType Docker's). */
  readonly docker: ManifestView | undefined;
  /** containers/image's OCI1FromManifest / Schema2FromManifest, their checks included. */
  readonly cimage: ManifestView | undefined;
}

/** The views of a manifest of `type` (OCI, or Docker schema2). */
export function manifestViews(doc: GoValue, type: 'oci' | 'docker'): ManifestViews {
  const oci = tryDecodeGo<ManifestView>(doc, OCI_MANIFEST_SHAPE);
  const unambiguous = setsOther(doc, CIMAGE_DETECTED_FIELDS, ['config', 'layers']) === false;
  if (type === 'oci') {
    const dist =
      setsOther(doc, DISTRIBUTION_MANIFEST_UNKNOWN, []) === false
        ? tryDecodeGo<ManifestView>(doc, DISTRIBUTION_OCI_MANIFEST_SHAPE)
        : undefined;
    const docker = dist && (dist.mediaType === '' || dist.mediaType === MediaType.ociManifest) ? dist : undefined;
    return { oci, docker, cimage: oci && unambiguous ? oci : undefined };
  }
  const dist = tryDecodeGo<ManifestView>(doc, DISTRIBUTION_SCHEMA2_MANIFEST_SHAPE);
  const docker = dist && dist.mediaType === MediaType.dockerManifest ? dist : undefined;
  const s2 = tryDecodeGo<ManifestView>(doc, CIMAGE_SCHEMA2_SHAPE);
  const supported =
    s2 !== undefined && SCHEMA2_SUPPORTED.has(s2.mediaType ?? '') && (s2.layers ?? []).every((l) => SCHEMA2_SUPPORTED.has(l.mediaType));
  return { oci, docker, cimage: supported && unambiguous ? s2 : undefined };
}

/** What each runtime's reading of an index gives. */
export interface IndexViews {
  /** image-spec v1.Index: containerd, containers/image's OCI1Index (with its checks, for OCI). */
  readonly oci: IndexView | undefined;
  /** docker/distribution's manifestlist (both kinds). */
  readonly docker: IndexView | undefined;
  /** containers/image: OCI1IndexFromManifest / Schema2ListFromManifest, their checks included. */
  readonly cimage: IndexView | undefined;
}

/** The views of an index of `type` (OCI index, or Docker manifest list). */
export function indexViews(doc: GoValue, type: 'oci' | 'docker'): IndexViews {
  const oci = tryDecodeGo<IndexView>(doc, OCI_INDEX_SHAPE);
  const unambiguous = setsOther(doc, CIMAGE_DETECTED_FIELDS, ['manifests']) === false;
  if (type === 'oci') {
    const dist =
      setsOther(doc, DISTRIBUTION_INDEX_UNKNOWN, []) === false ? tryDecodeGo<IndexView>(doc, DISTRIBUTION_LIST_SHAPE) : undefined;
    const docker = dist && (dist.mediaType === '' || dist.mediaType === MediaType.ociIndex) ? dist : undefined;
    // OCI1IndexFromManifest decodes into an index it filled first.
    const cimage = unambiguous
      ? tryDecodeGo<IndexView>(doc, OCI_INDEX_SHAPE, {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: 'empty slice',
          annotations: 'empty map',
        })
      : undefined;
    return { oci, docker, cimage };
  }
  const dist = tryDecodeGo<IndexView>(doc, DISTRIBUTION_LIST_SHAPE);
  const docker = dist && dist.mediaType === MediaType.dockerManifestList ? dist : undefined;
  // Schema2ListFromManifest decodes into a list whose Manifests is an empty slice.
  const list = tryDecodeGo<IndexView>(doc, CIMAGE_SCHEMA2_LIST_SHAPE, { manifests: 'empty slice' });
  return { oci, docker, cimage: list && unambiguous ? list : undefined };
}

const digestPattern = '^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$';

const descriptorSchema = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: { type: 'string' },
    digest: { type: 'string', pattern: digestPattern },
    size: { type: 'integer', minimum: 0 },
    urls: { type: 'array', items: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    platform: {
      type: 'object',
      required: ['os', 'architecture'],
      properties: {
        os: { type: 'string' },
        architecture: { type: 'string' },
        variant: { type: 'string' },
        'os.version': { type: 'string' },
        'os.features': { type: 'array', items: { type: 'string' } },
      },
    },
  },
};

const validateManifest = compileWire<ImageManifest>('manifest', {
  type: 'object',
  required: ['schemaVersion', 'config', 'layers'],
  properties: {
    schemaVersion: { type: 'integer' },
    mediaType: { type: 'string' },
    artifactType: { type: 'string' },
    config: descriptorSchema,
    layers: { type: 'array', items: descriptorSchema },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
});

const validateIndex = compileWire<ImageIndex>('index', {
  type: 'object',
  required: ['schemaVersion', 'manifests'],
  properties: {
    schemaVersion: { type: 'integer' },
    mediaType: { type: 'string' },
    manifests: { type: 'array', items: descriptorSchema },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
});

/** A manifest document: an image manifest or an index. */
export type ManifestDocument = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };

/** True for index / manifest-list media types. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** What decides a document's kind, read as containers/image's GuessMIMEType reads it. */
const PEEK_SHAPE = Go.struct('peek', [
  ['schemaVersion', Go.int64],
  ['mediaType', Go.string],
  ['-manifests', Go.any],
  ['artifactType', Go.string],
]);

/**
 * Parses a manifest or index as the runtimes do (docs/architecture.md "Reading JSON as the
 * runtimes do"). The kind comes from `mediaType` (the HTTP Content-Type or the descriptor's),
 * else from the document's own `mediaType`, else from its shape (`manifests` → index), as OCI
 * allows documents without a mediaType field. The document is refused only when every
 * runtime's struct refuses it (see manifestViews / indexViews).
 */
export function parseManifestDocument(bytes: Uint8Array, mediaType: string | undefined, what: string): ManifestDocument {
  let doc: GoValue;
  try {
    doc = parseGoJson(bytes);
  } catch (err) {
    if (!(err instanceof GoJsonError)) throw err;
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is not valid JSON (${err.message}): the image is damaged or not an OCI/Docker image`,
    );
  }
  const peek = peekDocument(doc);
  const type =
    (mediaType && mediaType !== 'application/json' && mediaType !== 'application/octet-stream' ? mediaType : undefined) ??
    (peek.mediaType || undefined);
  if (peek.schemaVersion === 1 || type === MediaType.dockerSchema1 || type === MediaType.dockerSchema1Signed) {
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is a Docker schema 1 manifest, which is deprecated and not supported: push the image again with a current Docker/Buildah/skopeo (schema 2 or OCI)`,
    );
  }
  if (isIndexMediaType(type) || (type === undefined && peek.manifests)) {
    return { kind: 'index', index: readIndex(doc, type === MediaType.dockerManifestList ? 'docker' : 'oci', what) };
  }
  if (type === MediaType.ociArtifactManifest) {
    throw notAnImage(what, peek.artifactType || type);
  }
  if (type !== undefined && type !== MediaType.ociManifest && type !== MediaType.dockerManifest) {
    throw new OciScanError('UNSUPPORTED_MEDIA_TYPE', `${what} has media type ${type}, which is not a container image manifest`);
  }
  const manifest = readManifest(doc, type === MediaType.dockerManifest ? 'docker' : 'oci', what);
  const artifactType = artifactTypeOf(manifest);
  if (artifactType !== undefined) throw notAnImage(what, artifactType);
  return { kind: 'manifest', manifest };
}

/**
 * Parses an OCI layout's index.json as the runtimes that read layouts do: image-spec's
 * v1.Index, through json.Unmarshal (containers/image: podman, skopeo) or json.Decoder
 * (containerd's import: `ctr import`, `docker load` with the containerd store), which reads the
 * first value and never looks at what follows it — so trailing bytes are accepted, as there.
 */
export function parseLayoutIndex(bytes: Uint8Array, what: string): ImageIndex {
  let doc: GoValue;
  try {
    doc = parseGoJson(bytes, 'decoder');
  } catch (err) {
    if (!(err instanceof GoJsonError)) throw err;
    throw new OciScanError('INVALID_MANIFEST', `${what} is not valid JSON (${err.message}): the layout is damaged`);
  }
  const view = tryDecodeGo<IndexView>(doc, OCI_INDEX_SHAPE);
  if (view === undefined)
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is invalid: ${goRefusal(doc, OCI_INDEX_SHAPE) ?? 'refused'}; no container runtime would read it`,
    );
  return checked({ ...view, manifests: view.manifests ?? [] }, validateIndex, what);
}

/** The fields that decide a document's kind; a field whose value does not decode is left empty. */
function peekDocument(doc: GoValue): { schemaVersion: number; mediaType: string; manifests: boolean; artifactType: string } {
  const out = { schemaVersion: 0, mediaType: '', manifests: false, artifactType: '' };
  if (!(doc instanceof GoObject)) return out;
  // Field by field: a bad artifactType must not hide a good mediaType.
  doc.keys.forEach((key, i) => {
    const field = fieldFor(PEEK_SHAPE, key);
    if (field === undefined) return;
    const value = doc.values[i] as GoValue;
    // null leaves a string or a number as it was (and sets an interface to nil).
    if (value === null && field.name !== 'manifests') return;
    if (field.name === 'manifests') out.manifests = value !== null;
    else if (field.name === 'schemaVersion') out.schemaVersion = tryDecodeGo<number>(value, Go.int64) ?? out.schemaVersion;
    else if (field.name === 'mediaType') out.mediaType = tryDecodeGo<string>(value, Go.string) ?? out.mediaType;
    else out.artifactType = tryDecodeGo<string>(value, Go.string) ?? out.artifactType;
  });
  return out;
}

/** The manifest the runtimes read, checked against the constraints oci-scan relies on (digests that name blobs). */
function readManifest(doc: GoValue, type: 'oci' | 'docker', what: string): ImageManifest {
  const views = manifestViews(doc, type);
  const view = views.oci ?? views.docker ?? views.cimage;
  if (view === undefined)
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is invalid: ${goRefusal(doc, type === 'docker' ? CIMAGE_SCHEMA2_SHAPE : OCI_MANIFEST_SHAPE) ?? 'refused'}; no container runtime would read it`,
    );
  // OCI 1.1's artifactType is not in the structs Debian ships; read it as a newer image-spec would.
  const artifactType = doc instanceof GoObject ? peekDocument(doc).artifactType : '';
  const manifest = { ...view, layers: view.layers ?? [], ...(artifactType ? { artifactType } : {}) };
  return checked(manifest, validateManifest, what);
}

/** The index the runtimes read. */
function readIndex(doc: GoValue, type: 'oci' | 'docker', what: string): ImageIndex {
  const views = indexViews(doc, type);
  const readings = [views.oci, views.docker, views.cimage].filter((v): v is ImageIndex => v !== undefined);
  const [view, ...others] = readings;
  if (view === undefined)
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is invalid: ${goRefusal(doc, type === 'docker' ? CIMAGE_SCHEMA2_LIST_SHAPE : OCI_INDEX_SHAPE) ?? 'refused'}; no container runtime would read it`,
    );
  const index: ImageIndex = { ...view, manifests: view.manifests ?? [] };
  const differ = others
    .map((o) => o.manifests ?? [])
    .filter((m) => m.some((d, i) => !samePlatform(d.platform, index.manifests[i]?.platform)));
  return checked(differ.length > 0 ? { ...index, readings: differ } : index, validateIndex, what);
}

function samePlatform(a: Descriptor['platform'], b: Descriptor['platform']): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function checked<T>(doc: T, validate: WireValidator<T>, what: string): T {
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    throw new OciScanError(
      'INVALID_MANIFEST',
      `${what} is invalid: ${first ? `${first.instancePath || '/'} ${first.message ?? 'is invalid'}` : 'does not match the schema'}`,
    );
  }
  return doc;
}

const LAYER_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  // BuildKit writes this name for zstd layers in Docker manifests
  'application/vnd.docker.image.rootfs.diff.tar.zstd',
]);

const FOREIGN_LAYER_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
]);

/** What a layer descriptor's media type says: a layer, a foreign (non-distributable) layer, or not a layer. */
export function layerKind(mediaType: string): 'layer' | 'foreign' | 'unknown' {
  if (LAYER_MEDIA_TYPES.has(mediaType)) return 'layer';
  if (FOREIGN_LAYER_MEDIA_TYPES.has(mediaType)) return 'foreign';
  return 'unknown';
}

/** Config media types of container images; any other config makes the manifest an artifact. */
const IMAGE_CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.ociConfig, MediaType.dockerConfig]);

/** Filesystem layers, and encrypted ones (`…+encrypted`: image layers oci-scan cannot read, left to the layer media type check). */
const isImageLayer = (mediaType: string): boolean => layerKind(mediaType) !== 'unknown' || mediaType.endsWith('+encrypted');

/**
 * The type of the OCI artifact a manifest describes, or undefined for a container image. A
 * manifest whose config is an image config and whose layers are all filesystem layers is an
 * image, even with an `artifactType`: containerd, podman and Docker pull and run it as one
 * (docs/reports.md, "Scan document"), so refusing it would pass it unchecked. Anything else is an
 * artifact (OCI image spec v1.1 "Guidelines for artifact usage": ORAS files, Helm charts, cosign
 * signatures, in-toto/SBOM attestations), told by its `artifactType`, a config that is not an
 * image config (`application/vnd.oci.empty.v1+json`, Helm's `…helm.config.v1+json`), or layers
 * that are not filesystem layers (cosign's `…simplesigning.v1+json`).
 */
export function artifactTypeOf(manifest: ImageManifest): string | undefined {
  const imageConfig = IMAGE_CONFIG_MEDIA_TYPES.has(manifest.config.mediaType);
  if (imageConfig && manifest.layers.every((l) => isImageLayer(l.mediaType))) return undefined;
  if (manifest.artifactType) return manifest.artifactType;
  if (!imageConfig) return manifest.config.mediaType;
  return manifest.layers.find((l) => !isImageLayer(l.mediaType))?.mediaType;
}

/** The one-line refusal of an artifact. */
function notAnImage(what: string, artifactType: string): OciScanError {
  return new OciScanError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${what} is an OCI artifact of type ${artifactType}, not a container image: oci-scan scans container images; give the reference of the image itself`,
  );
}
