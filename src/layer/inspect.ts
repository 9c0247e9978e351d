/**
 * The layer inspector: one layer blob → decompress (sniffed) → tar entries (Go's reading,
 * tar/reader.ts) → per-layer facts (recorder.ts). Nothing is written to disk and only the few
 * small files the checks ask for are kept, so memory stays bounded whatever the layer's size.
 * This module is the plumbing: backpressure, the decompression-bomb guard, abort, and turning
 * low-level failures into one-line errors.
 */
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError, isOciScanError } from '../errors.js';
import { decompressorFor, describeDecompressError, peek, reusingZstdDecoder, SNIFF_BYTES, sniffCompression, type Compression, type ReusingDecoder } from './decompress.js';
import { FactsRecorder, RECORDER_DEFAULTS, type LayerFacts, type RecorderOptions } from './recorder.js';
import { TarFormatError, TarReader } from './tar/reader.js';

export { MAX_PATH_BYTES, type ContentScan, type EntryInfo, type EntryMatcher, type EntryType, type LayerFacts, type LayerOp, type WatchedEntry, type WatchedFile } from './recorder.js';

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

/** Turns a low-level decoder or tar error into a one-line LAYER_CORRUPT error; keeps OciScanErrors. */
function layerError(err: unknown, what: string, compression: Compression): unknown {
  if (isOciScanError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  const detail = (err instanceof TarFormatError ? err : describeDecompressError(compression, err)).message;
  const stage = err instanceof TarFormatError || compression === 'none' ? 'tar' : compression;
  return new OciScanError('LAYER_CORRUPT', `${what} could not be read (${stage}: ${detail}): the layer is damaged, truncated or not what a container runtime accepts; pull or export the image again`, { cause: err });
}

/** Output buffers a reusing decoder fills between two turns of the event loop (64 × 256 KiB). */
const OUTPUTS_PER_TURN = 64;

/** Feeds `blob` through a reusing decoder to `onTar`, yielding to the event loop between batches so an abort is seen. */
async function decodeReusing(blob: Readable, decoder: ReusingDecoder, onTar: (chunk: Buffer) => void, signal: AbortSignal | undefined): Promise<void> {
  for await (const chunk of blob as AsyncIterable<Buffer>) {
    let step = decoder.push(chunk, onTar, OUTPUTS_PER_TURN);
    while (step.unfinished) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      step = decoder.push(step.rest, onTar, OUTPUTS_PER_TURN);
    }
  }
  decoder.finish();
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
  // pipeline() reports an error thrown by its last (function) stage as a bare AbortError on
  // Node 20: keep the real one.
  let failure: unknown;
  try {
    const { head, rest } = await peek(blob, SNIFF_BYTES);
    compression = sniffCompression(head);
    const recorder = new FactsRecorder(options);
    const reader = new TarReader(recorder);
    let tarBytes = 0;
    /** Counts, guards and reads one piece of the tar stream (synchronously: nothing is kept). */
    const onTar = (chunk: Buffer): void => {
      tarBytes += chunk.length;
      if (tarBytes > maxLayerBytes) {
        throw new OciScanError('LAYER_TOO_LARGE', `${what} unpacks to more than ${maxLayerBytes} bytes: refusing a possible decompression bomb; raise the layer size limit if the layer is genuine`, { setting: 'maxLayerBytes' });
      }
      if (!reader.done) reader.write(chunk);
    };
    const reusing = compression === 'zstd' ? reusingZstdDecoder() : undefined;
    if (reusing) {
      await decodeReusing(rest, reusing, onTar, signal);
      reader.end();
      return recorder.facts(compression, tarBytes);
    }
    const decompressor = decompressorFor(compression);
    // Counting, bomb guard and tar reading in one synchronous step per chunk. Bytes after
    // the end-of-archive marker are still read (Go ignores them, but the blob's digest covers
    // them and the decompressor must reach its end cleanly).
    // A Writable, not an async iteration: no promise per chunk and no joining of buffered
    // chunks. Each chunk is read in a microtask, after the decompressor has started on the
    // next one (its output callback runs us synchronously otherwise), so the two overlap; the
    // high water mark bounds what may wait (docs/architecture.md, "Memory and speed").
    const consume = new Writable({
      highWaterMark: 4 * 1024 * 1024,
      write(chunk: Buffer, _encoding, done) {
        queueMicrotask(() => {
          if (consume.destroyed) return;
          try {
            onTar(chunk);
            done();
          } catch (err) {
            failure ??= err;
            done(err as Error);
          }
        });
      },
      final(done) {
        try {
          reader.end();
          done();
        } catch (err) {
          failure ??= err;
          done(err as Error);
        }
      },
    });
    const pipelineOptions = signal ? { signal } : {};
    if (decompressor) await pipeline(rest, decompressor, consume, pipelineOptions);
    else await pipeline(rest, consume, pipelineOptions);
    return recorder.facts(compression, tarBytes);
  } catch (caught) {
    const err = failure ?? caught;
    // The caller's abort reason is not a statement about this layer's bytes: pass it on.
    if (signal?.aborted && !isOciScanError(err)) throw signal.reason;
    throw layerError(err, what, compression);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
