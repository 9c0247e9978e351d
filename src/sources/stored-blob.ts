/**
 * Blobs of a local store (OCI layout, OCI archive, docker archive) read and checked: small
 * documents whole against their digest, layers as streams verified while they flow, and the
 * layers a single-pass store already streamed past checked against what the pass recorded.
 */
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError } from '../errors.js';
import { matchesDigest, parseDigest, sizeMismatch, VerifyingStream } from '../image/verify.js';
import { decompress } from '../layer/decompress.js';
import type { BlobStore } from './store.js';

/** The OCI layout path of a blob (`blobs/sha256/<hex>`). */
export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** A small file of the store, read whole and checked against `digest` (when given); `what` names it in messages. */
export async function readVerified(
  store: BlobStore,
  file: { readonly path: string; readonly digest?: string | undefined },
  read: { readonly limit: number; readonly code: 'INVALID_MANIFEST' | 'INVALID_CONFIG'; readonly what: string },
): Promise<Buffer> {
  const bytes = await store.read(file.path, read.limit, read.code);
  if (!bytes) throw new OciScanError(read.code, `${read.what} is missing from ${store.what} (${file.path}): the image is incomplete`);
  if (file.digest && !matchesDigest(bytes, file.digest)) {
    throw new OciScanError(
      'DIGEST_MISMATCH',
      `${read.what} in ${store.what} does not match its digest ${file.digest}: the file is corrupt or was modified`,
    );
  }
  return bytes;
}

/** A layer file of the store and how its bytes are checked. */
export interface StoredLayer {
  /** Its path in the store. */
  readonly path: string;
  /** Bytes stored (the member or file size). */
  readonly size: number;
  /** The digest the stored bytes must hash to, when their name or descriptor gives one. */
  readonly named?: string | undefined;
  /**
   * Docker archives: the diffID the uncompressed tar must hash to (what `docker load` checks).
   * The layer is then decompressed here and served as a plain tar.
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
 * The id under which a single-pass store handed `layer` to the consumer, once the digests the
 * pass recorded are checked (a mismatch fails here, before any report); undefined when the
 * consumer's result cannot stand for the layer (not consumed, or a digest left unchecked).
 */
export function consumedLayer(store: BlobStore, layer: StoredLayer, what: string): string | undefined {
  const consumed = store.consumed?.(layer.path);
  if (!consumed) return undefined;
  const { named, diffId, path } = layer;
  if (named !== undefined && consumed.digest !== named)
    throw new OciScanError(
      'DIGEST_MISMATCH',
      `${what} (${path}) does not match its digest (got ${consumed.digest}): the archive is corrupt or was tampered with`,
    );
  if (diffId !== undefined && consumed.tarDigest !== undefined && consumed.tarDigest !== diffId) {
    throw new OciScanError(
      'DIGEST_MISMATCH',
      `${what} (${path}) does not match its diffID ${diffId} once uncompressed (got ${consumed.tarDigest}): the archive is corrupt or was tampered with`,
    );
  }
  return diffId === undefined || consumed.tarDigest !== undefined ? consumed.consumedAs : undefined;
}

/**
 * Rejects with the error `openStored` would give when `layer` is missing or (when its size is
 * known from a descriptor) not of that size: a stat, no read (docs/architecture.md, "The
 * layer-facts cache").
 */
export async function checkStored(store: BlobStore, layer: StoredLayer, what: string): Promise<void> {
  const size = await store.size(layer.path);
  if (size === undefined) throw missingLayer(store, layer, what);
  if (layer.named !== undefined && size !== layer.size) throw sizeMismatch(what, size, layer.size);
}

function missingLayer(store: BlobStore, layer: StoredLayer, what: string): OciScanError {
  return new OciScanError('SOURCE_UNREADABLE', `${what} is missing from ${store.what} (${layer.path}): the image is incomplete`);
}

/**
 * A layer file as a stream checked against `layer.named` (and `layer.size`) and, for docker
 * archives, decompressed and checked against `layer.diffId`.
 */
export async function openStored(store: BlobStore, layer: StoredLayer, what: string): Promise<Readable> {
  const { named, diffId, path } = layer;
  const raw = await store.stream(path);
  if (!raw) throw missingLayer(store, layer, what);
  const verified = chain(raw, named !== undefined ? [new VerifyingStream(named, layer.size, what)] : []);
  if (diffId === undefined) return verified;
  const { output: tar } = await decompress(verified, { what, code: 'LAYER_CORRUPT' });
  return diffId === named && tar === verified
    ? tar
    : chain(tar, [new VerifyingStream(diffId, -1, `uncompressed ${what} (diffID ${diffId})`)]);
}
