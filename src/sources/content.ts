/**
 * The one content interface every image source implements (after go-containerregistry's
 * `pkg/v1/partial`: an image built once from a minimal core, whatever the source): fetch a
 * manifest or index, read a config, open a blob, say whether a blob is there. The registry, the
 * OCI layout (directory or archive) and the docker archive implement it; ./resolve.ts turns
 * what it serves into `Image`s, the same way for all of them.
 */
import type { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';
import type { Descriptor } from '../image/manifest.js';
import type { BlobFile } from '../image/types.js';
import { MAX_CONFIG_BYTES } from '../image/wire.js';

/** A manifest or index as a source serves it. */
export interface FetchedDocument {
  /** Its bytes (checked against the digest when fetched by digest). */
  readonly bytes: Buffer;
  /** The digest of the bytes. */
  readonly digest: string;
  /** The media type the source gives it (a registry's Content-Type), if any. */
  readonly mediaType?: string;
}

/** What an image source serves. */
export interface ContentSource {
  /** What the source is, for messages: `registry 127.0.0.1:5000`, `OCI layout ./img`, `docker archive app.tar`. */
  readonly what: string;
  /**
   * True when an index may list manifests the source does not hold: `ctr export --platform`,
   * `docker save --platform` and partial skopeo/podman copies keep the whole index but the
   * blobs of some platforms. The resolver then chooses among the manifests present (`hasBlob`).
   * A registry refuses an index whose manifests it does not hold, so it is never partial.
   */
  readonly partial: boolean;
  /** A manifest or index by tag or digest; by digest, the bytes are checked against it. Throws when it is not there. */
  fetchManifest(reference: string, signal?: AbortSignal): Promise<FetchedDocument>;
  /** A config blob read whole (at most MAX_CONFIG_BYTES) and checked against its descriptor; `what` names it in messages. */
  readConfig(descriptor: Descriptor, what: string, signal?: AbortSignal): Promise<Buffer>;
  /**
   * A layer blob as a stream that errors (DIGEST_MISMATCH) before its end unless the bytes are
   * the descriptor's. A source may serve the tar the blob holds rather than the blob itself
   * (a docker archive checks the uncompressed tar against the config's diffID).
   */
  openBlob(descriptor: Descriptor, what: string, signal?: AbortSignal): Promise<Readable>;
  /** Local sources: rejects, as `openBlob` would, unless the layer blob is present with its descriptor's size (a stat, no read). */
  checkBlob?(descriptor: Descriptor, what: string): Promise<void>;
  /** Sources that keep each blob as a file of its own: the file `openBlob` reads, checked against the descriptor alone. */
  blobFile?(descriptor: Descriptor): BlobFile | undefined;
  /** Whether the source holds a blob (for a local source, any file of its store: manifests too). */
  hasBlob(digest: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Sources read in one streaming pass: the id under which `SourceOptions.consumeLayer`
   * received this layer during the pass, once the digests the pass recorded are checked
   * (DIGEST_MISMATCH otherwise); undefined when it was not consumed.
   */
  consumed?(descriptor: Descriptor, what: string): string | undefined;
}

/** The one refusal of a config larger than MAX_CONFIG_BYTES, whatever the source. */
export function configTooLarge(what: string): OciScanError {
  return new OciScanError(
    'INVALID_CONFIG',
    `${what} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB: refusing it (not a real image config)`,
  );
}
