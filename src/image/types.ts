/**
 * The image model every source returns (registry, OCI layout, OCI archive, docker archive),
 * after go-containerregistry's `v1.Image`: a validated config plus ordered layers whose blobs
 * can be opened as verified byte streams. Nothing here knows where the bytes come from.
 */
import type { Readable } from 'node:stream';
import type { ImageConfig } from './config.js';
import type { Platform } from './platform.js';

/** One layer as the manifest names it. */
/** A file that holds exactly one blob's bytes (a layout's `blobs/sha256/…`). */
export interface BlobFile {
  readonly path: string;
}

export interface Layer {
  /** Blob digest from the manifest (`sha256:…`); the key of findings in the report. */
  readonly digest: string;
  /** Media type as the manifest gives it (informational: the inspector sniffs the bytes). */
  readonly mediaType: string;
  /** Blob size in bytes from the manifest, or -1 when the source does not record it. */
  readonly size: number;
  /** Download locations of a foreign / non-distributable layer, if the manifest lists any. */
  readonly urls?: readonly string[];
  /**
   * Set when the layer cannot be scanned and that is not an error: a foreign /
   * non-distributable layer that the source does not hold (docs/registry.md "Foreign
   * layers"). The reason says why; `open` must not be called.
   */
  readonly notScanned?: string;
  /**
   * Set by a source that reads its bytes in one streaming pass (a gzip/zstd-compressed
   * archive): the id under which `SourceOptions.consumeLayer` received this layer's
   * uncompressed tar during that pass, after which the bytes were checked against the digests.
   * `open` still works, by streaming the archive again (for a second inspection).
   */
  readonly consumedAs?: string;
  /**
   * Set by a source that keeps the blob as a file of its own (an OCI layout directory): the file
   * `open` streams, through the same checks. A layer worker reads it itself rather than through
   * the main thread (docs/architecture.md, "Layer workers").
   */
  readonly file?: BlobFile;
  /**
   * Opens the blob. The stream errors with an OciScanError (`DIGEST_MISMATCH`) before it ends
   * when the bytes do not hash to `digest` (or their length differs from `size`), so a
   * consumer that sees 'end' has seen exactly the blob the manifest names.
   */
  open(signal?: AbortSignal): Promise<Readable>;
  /**
   * Local sources: rejects, with the error `open` would give, unless the blob is present with
   * the size its descriptor gives (a stat, no read). A layer whose facts were cached by another
   * image's scan must still be in this image's store (docs/architecture.md, "The layer-facts
   * cache"). Registries have none: a registry refuses a manifest whose blobs it does not hold.
   */
  check?(signal?: AbortSignal): Promise<void>;
}

/** Where the image's tag came from, for the `Tag :latest` check. */
export type TagOrigin =
  /** the reference the user gave names it (or names none: implicitly latest) */
  | 'reference'
  /** a local archive / layout records it (annotation, RepoTags) */
  | 'archive'
  /** nothing names a tag */
  | 'none';

/** What the user asked for, as the report names it. */
export interface ImageName {
  /** Top-level key of the report: the image as the user named it, `:latest` made explicit. */
  readonly display: string;
  /** Last path segment of the repository (or the archive's name). */
  readonly name: string;
  /** Repository path without the registry host (`team-a/app`; Docker Hub's `library/` dropped), or the archive's name: first part of the report file name. */
  readonly repository: string;
  /** The tag, if any. */
  readonly tag?: string;
  /** The digest the user pinned, if any. */
  readonly digest?: string;
  /** Where `tag` came from. */
  readonly tagOrigin: TagOrigin;
}

/** A resolved, single-platform image ready to be scanned. */
export interface Image {
  readonly name: ImageName;
  /** Digest of the manifest this image was read from, when there is one. */
  readonly manifestDigest?: string;
  /** Digest of the image index the manifest was chosen from, when the reference named an index blob (the outermost one). */
  readonly indexDigest?: string;
  /** Digest of the config blob. */
  readonly configDigest: string;
  /** The platform scanned (from the index entry or the config). */
  readonly platform?: Platform;
  /** Set when the image was chosen from an index that lists several platforms. */
  readonly fromIndex?: boolean;
  /** The manifest's `artifactType`, when an image (image config, filesystem layers) carries one. */
  readonly artifactType?: string;
  /** The manifest's annotations, when it has some (`org.opencontainers.image.base.name`/`.base.digest` name the base image: docs/reports.md). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly config: ImageConfig;
  readonly layers: readonly Layer[];
}
