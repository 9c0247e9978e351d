/**
 * The layer inspector: one layer blob → decompress (sniffed) → tar entries (Go's reading,
 * tar/reader.ts) → per-layer facts (recorder.ts). Nothing is written to disk and only the few
 * small files the checks ask for are kept, so memory stays bounded whatever the layer's size.
 * This module is the plumbing: backpressure, the decompression-bomb guard, abort, and turning
 * low-level failures into one-line errors.
 */
import type { Readable } from 'node:stream';
import { OciScanError, isOciScanError } from '../errors.js';
import { decompressInto, describeDecompressError, type Compression } from './decompress.js';
import { FactsRecorder, RECORDER_DEFAULTS, type LayerFacts, type RecorderOptions } from './recorder.js';
import { TarFormatError, TarReader } from './tar/reader.js';

export {
  MAX_PATH_BYTES,
  type ContentScan,
  type EntryInfo,
  type EntryMatcher,
  type EntryType,
  type LayerFacts,
  type LayerOp,
  type WatchedEntry,
  type WatchedFile,
} from './recorder.js';

/** Limits and inputs of one inspection. */
export interface InspectOptions extends RecorderOptions {
  /** Decompression-bomb guard: uncompressed bytes allowed per layer. */
  readonly maxLayerBytes?: number;
  readonly signal?: AbortSignal;
}

/** Defaults for the limits (docs/security.md explains them). */
export const INSPECT_DEFAULTS = {
  ...RECORDER_DEFAULTS,
  maxLayerBytes: 64 * 1024 * 1024 * 1024,
} as const;

/** Turns a low-level decoder or tar error into a one-line LAYER_CORRUPT error; keeps OciScanErrors (and aborts). */
export function layerError(err: unknown, what: string, compression: Compression): unknown {
  if (isOciScanError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  const detail = (err instanceof TarFormatError ? err : describeDecompressError(compression, err)).message;
  const stage = err instanceof TarFormatError || compression === 'none' ? 'tar' : compression;
  return new OciScanError(
    'LAYER_CORRUPT',
    `${what} could not be read (${stage}: ${detail}): the layer is damaged, truncated or not what a container runtime accepts; pull or export the image again`,
    { cause: err },
  );
}

/** Inspects one layer blob. Rejects with LAYER_CORRUPT / LAYER_TOO_LARGE / the source's own error. */
export async function inspectLayer(blob: Readable, options: InspectOptions): Promise<LayerFacts> {
  const maxLayerBytes = options.maxLayerBytes ?? INSPECT_DEFAULTS.maxLayerBytes;
  const { signal, what } = options;

  // An abort also destroys the blob, so that a peek waiting on a stalled source ends with
  // the abort reason; an already-aborted signal is honoured before any read.
  const onAbort = (): void => {
    const reason: unknown = signal?.reason;
    blob.destroy(reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`));
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  let compression: Compression = 'none';
  try {
    const recorder = new FactsRecorder(options);
    const reader = new TarReader(recorder);
    let tarBytes = 0;
    // Counting, bomb guard and tar reading in one synchronous step per chunk (nothing is
    // kept). Bytes after the end-of-archive marker are still read (Go ignores them, but the
    // blob's digest covers them and the decompressor must reach its end cleanly).
    await decompressInto(
      blob,
      {
        compression: (kind) => {
          compression = kind;
        },
        write: (chunk) => {
          tarBytes += chunk.length;
          if (tarBytes > maxLayerBytes) {
            throw new OciScanError(
              'LAYER_TOO_LARGE',
              `${what} unpacks to more than ${maxLayerBytes} bytes: refusing a possible decompression bomb; raise the layer size limit if the layer is genuine`,
              { setting: 'maxLayerBytes' },
            );
          }
          if (!reader.done) reader.write(chunk);
        },
        end: () => reader.end(),
      },
      signal,
    );
    return recorder.facts(compression, tarBytes);
  } catch (err) {
    // The caller's abort reason is not a statement about this layer's bytes: pass it on.
    if (signal?.aborted && !isOciScanError(err)) throw signal.reason;
    throw layerError(err, what, compression);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
