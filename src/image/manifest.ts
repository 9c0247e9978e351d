/**
 * Manifests and indexes: OCI image manifest / index and Docker schema2 manifest / manifest
 * list, one schema and one type each. Docker schema 1 is recognised only to refuse it clearly.
 */
import { OciScanError } from '../errors.js';
import { compileWire, parseWire } from './wire.js';

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
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

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
  schemaVersion: 2;
  mediaType?: string;
  /** OCI 1.1: set on artifacts (Helm charts, signatures, SBOMs), never on container images. */
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
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
    schemaVersion: { const: 2 },
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
    schemaVersion: { const: 2 },
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

/**
 * Parses a manifest or index. The kind comes from `mediaType` (the HTTP Content-Type or the
 * descriptor's), else from the document's own `mediaType`, else from its shape
 * (`manifests` → index), as OCI allows documents without a mediaType field.
 */
export function parseManifestDocument(bytes: Uint8Array, mediaType: string | undefined, what: string): ManifestDocument {
  let peek: unknown;
  try {
    peek = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new OciScanError('INVALID_MANIFEST', `${what} is not valid JSON: the image is damaged or not an OCI/Docker image`);
  }
  const doc = (typeof peek === 'object' && peek !== null ? peek : {}) as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown };
  const type = (mediaType && mediaType !== 'application/json' && mediaType !== 'application/octet-stream' ? mediaType : undefined) ?? (typeof doc.mediaType === 'string' ? doc.mediaType : undefined);
  if (doc.schemaVersion === 1 || type === MediaType.dockerSchema1 || type === MediaType.dockerSchema1Signed) {
    throw new OciScanError('INVALID_MANIFEST', `${what} is a Docker schema 1 manifest, which is deprecated and not supported: push the image again with a current Docker/Buildah/skopeo (schema 2 or OCI)`);
  }
  if (isIndexMediaType(type) || (type === undefined && Array.isArray(doc.manifests))) {
    return { kind: 'index', index: parseWire(bytes, validateIndex, what, 'INVALID_MANIFEST') };
  }
  if (type === MediaType.ociArtifactManifest) {
    const artifactType = (doc as { artifactType?: unknown }).artifactType;
    throw notAnImage(what, typeof artifactType === 'string' ? artifactType : type);
  }
  if (type !== undefined && type !== MediaType.ociManifest && type !== MediaType.dockerManifest) {
    throw new OciScanError('UNSUPPORTED_MEDIA_TYPE', `${what} has media type ${type}, which is not a container image manifest`);
  }
  const manifest = parseWire(bytes, validateManifest, what, 'INVALID_MANIFEST');
  const artifactType = artifactTypeOf(manifest);
  if (artifactType !== undefined) throw notAnImage(what, artifactType);
  return { kind: 'manifest', manifest };
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
 * (docs/reports.md, "artifactType"), so refusing it would pass it unchecked. Anything else is an
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
  return new OciScanError('UNSUPPORTED_MEDIA_TYPE', `${what} is an OCI artifact of type ${artifactType}, not a container image: oci-scan scans container images; give the reference of the image itself`);
}
