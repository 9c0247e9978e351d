/**
 * Where a layer is inspected: on the main thread (../layer/inspect.ts), or on a worker thread of
 * its own (./worker.ts) when its decoder runs in JavaScript's thread — zstd through libzstd's
 * addon or WebAssembly, bzip2 and xz — so that such layers decode at once on several cores
 * rather than one after another on one (docs/architecture.md, "Layer workers"). gzip is inflated
 * on Node's thread pool already and stays on the main thread.
 *
 * A worker reads a blob the source keeps as a file of its own (an OCI layout's) itself, with the
 * checks the source's stream makes (digest, size). Any other blob (a registry's, an archive
 * member) the main thread reads, through the source's checks, and hands the worker its bytes as
 * the worker asks for them, a bounded batch at a time. The worker answers with the facts, which
 * are plain data; its errors come back with their codes and messages; an abort or a source
 * error ends it at once.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { CheckData } from '../checks/index.js';
import { isOciScanError, OciScanError } from '../errors.js';
import type { BlobFile } from '../image/types.js';
import { BlobCheck } from '../image/verify.js';
import { peek, sniffCompression, sniffFile, SNIFF_BYTES, zstdBackend, type Compression } from '../layer/decompress.js';
import { inspectLayer, layerError, type InspectOptions, type LayerFacts } from '../layer/inspect.js';
import { recipeOf, type MatcherRecipe } from './matchers.js';
import { endLayerWorkers, maxWorkers, takeWorker, workersAllowed } from './spare.js';
import { errorOf, type FileToRead, type FromWorker, type ToWorker, type WorkerInput } from './messages.js';

/** Bytes the host reads ahead of the worker's asking, and sends at most in one message. */
const BATCH_BYTES = 1024 * 1024;

/** One layer blob as the host may read it. */
export interface LayerBlob {
  /** The blob as the source serves it, through the source's checks. */
  open(): Promise<Readable>;
  /** The file the source keeps the blob in, when it keeps one (an OCI layout's): a worker reads it itself. */
  readonly file?: BlobFile;
  /** What the file is checked against, as the source checks what `open` serves. */
  readonly digest: string;
  readonly size: number;
  /** Told the blob's bytes as they are read (a progress display). */
  readonly onBytes?: (bytes: number) => void;
}

/** Layer workers running now, and started since the process began. */
let running = 0;
let started = 0;

/** How many layers this process has inspected on workers (the tests tell the two paths apart by it). */
export function layerWorkersStarted(): number {
  return started;
}

/** Whether a layer of `kind` decodes in JavaScript's thread. */
function decodesInJs(kind: Compression): boolean {
  return kind === 'bzip2' || kind === 'xz' || (kind === 'zstd' && zstdBackend() !== 'node');
}

/**
 * Inspects one layer blob, as ../layer/inspect.ts's `inspectLayer` does (same facts, same
 * errors), on a worker when its compression decodes in JavaScript's thread, a worker is free,
 * and `data` (the policy's check data the matchers were built from) lets the worker rebuild
 * the matchers.
 */
export async function inspectLayerAnywhere(blob: LayerBlob, options: InspectOptions, data: CheckData | undefined): Promise<LayerFacts> {
  const recipe = data !== undefined && workersAllowed() ? recipeOf(options.matchers, data) : undefined;
  // A free worker is taken before anything is read, so that the layers a scan starts first (the
  // largest: the critical path) get the workers, whichever's first bytes arrive first.
  if (!recipe || running >= maxWorkers()) return inspectLayer(await blob.open(), options);
  running++;
  let held = true;
  // A layer that turns out not to need the worker gives its place back before it is inspected.
  const release = (): void => {
    if (held) running--;
    held = false;
  };
  try {
    return await reserved(blob, options, recipe, release);
  } finally {
    release();
  }
}

/** inspectLayerAnywhere with a worker's place reserved: used when the blob's compression decodes in JavaScript's thread, else `release`d. */
async function reserved(blob: LayerBlob, options: InspectOptions, recipe: MatcherRecipe, release: () => void): Promise<LayerFacts> {
  if (blob.file) {
    // A file that cannot be read here is opened the source's way, which says what is wrong.
    const kind = await sniffFile(blob.file.path).catch(() => undefined);
    if (kind !== undefined && decodesInJs(kind)) {
      return runWorker({ kind: 'file', file: { path: blob.file.path } }, blob, options, recipe, kind);
    }
  }
  const stream = await blob.open();
  const { signal, what } = options;
  // As inspectLayer does: an abort destroys the blob, so that a peek at a stalled source ends.
  const onAbort = (): void => void stream.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  let peeked: Awaited<ReturnType<typeof peek>>;
  try {
    signal?.throwIfAborted();
    signal?.addEventListener('abort', onAbort, { once: true });
    peeked = await peek(stream, SNIFF_BYTES);
  } catch (err) {
    stream.destroy();
    if (signal?.aborted && !isOciScanError(err)) throw signal.reason;
    throw layerError(err, what, 'none');
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const kind = sniffCompression(peeked.head);
  if (!decodesInJs(kind)) {
    release();
    endLayerWorkers();
    return inspectLayer(peeked.rest, options);
  }
  return runWorker({ kind: 'stream', stream: peeked.rest }, blob, options, recipe, kind);
}

/** A read of a whole file: its length and CRC-32. */
interface FileRead {
  readonly bytes: number;
  readonly crc: number;
}

/** Bytes per read of a blob file the host checks. */
const CHECK_CHUNK = 1024 * 1024;

/**
 * Reads the file at `path` through `check` (digest and size: its errors are the source's
 * stream's), into one buffer reused read after read: nothing is kept, nothing left for the
 * collector. Stops, without a verdict, once `stopped()`.
 */
async function checkFile(path: string, check: BlobCheck, stopped: () => boolean): Promise<FileRead> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(CHECK_CHUNK);
    let crc = 0;
    while (!stopped()) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, check.seen);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      check.update(piece);
      crc = process.getBuiltinModule('node:zlib').crc32(piece, crc);
    }
    if (!stopped()) check.end();
    return { bytes: check.seen, crc };
  } finally {
    await fh.close();
  }
}

/** What a worker reads: a file itself, or a stream the host feeds it. */
type WorkerSource = { readonly kind: 'file'; readonly file: FileToRead } | { readonly kind: 'stream'; readonly stream: Readable };

/** Inspects on a worker, which reads `from` (a file) itself or is fed it (a stream). */
function runWorker(
  from: WorkerSource,
  blob: LayerBlob,
  options: InspectOptions,
  recipe: MatcherRecipe,
  kind: Compression,
): Promise<LayerFacts> {
  const { signal, what } = options;
  const stream = from.kind === 'stream' ? from.stream : undefined;
  const input: WorkerInput = {
    recipe,
    watchPaths: [...options.watchPaths],
    limits: {
      ...(options.maxLayerBytes === undefined ? {} : { maxLayerBytes: options.maxLayerBytes }),
      ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
      ...(options.maxWatchedFileBytes === undefined ? {} : { maxWatchedFileBytes: options.maxWatchedFileBytes }),
    },
    what,
    ...(from.kind === 'file' ? { file: from.file } : {}),
  };
  started++;
  return new Promise<LayerFacts>((resolve, reject) => {
    const worker = takeWorker();
    worker.postMessage({ type: 'task', input } satisfies ToWorker);
    let settled = false;
    const queue: Buffer[] = [];
    let queued = 0;
    let asked = false;
    let ended = false;
    let endSent = false;
    // A file the worker reads: checked here (digest, size) by a read of its own, beside the
    // decoding, and tied to the worker's read by their lengths and CRC-32s. The facts count once
    // all three are in.
    let found: LayerFacts | undefined;
    let hostRead: FileRead | undefined;
    let workerRead: FileRead | undefined;
    const settleFile = (): void => {
      if (!found || !hostRead || !workerRead) return;
      if (hostRead.bytes === workerRead.bytes && hostRead.crc === workerRead.crc) finish(undefined, found);
      else
        finish(
          new OciScanError(
            'DIGEST_MISMATCH',
            `${what} changed while it was read (two reads of ${from.kind === 'file' ? from.file.path : 'it'} differ): the blob is being modified; scan it again once it is complete`,
          ),
        );
    };
    if (from.kind === 'file') {
      checkFile(from.file.path, new BlobCheck(blob.digest, blob.size, what), () => settled).then(
        (read) => {
          hostRead = read;
          settleFile();
        },
        (err: unknown) => finish(err),
      );
    }
    const finish = (err: unknown, facts?: LayerFacts): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      stream?.off('data', onData);
      if (err === undefined) resolve(facts as LayerFacts);
      else {
        stream?.destroy();
        // The caller's abort reason is not a statement about this layer's bytes: pass it on.
        reject(signal?.aborted && !isOciScanError(err) ? signal.reason : layerError(err, what, kind));
      }
      void worker.terminate();
    };
    const onAbort = (): void => finish(signal?.reason ?? new Error('aborted'));

    /** Sends what is queued when the worker has asked; then the end, once the stream has ended. */
    const send = (): void => {
      if (settled || !stream) return;
      if (asked && queued > 0) {
        // Copied into one buffer of the host's own that moves to the worker: a chunk itself may
        // be a view into a larger buffer, or held by the source still (an archive's kept member).
        const bytes = Buffer.allocUnsafeSlow(queued);
        let at = 0;
        for (const chunk of queue) at += chunk.copy(bytes, at);
        queue.length = 0;
        queued = 0;
        asked = false;
        worker.postMessage({ type: 'bytes', bytes: bytes.buffer } satisfies ToWorker, [bytes.buffer]);
        if (!ended) stream.resume();
      }
      if (ended && queued === 0 && !endSent) {
        endSent = true;
        worker.postMessage({ type: 'end' } satisfies ToWorker);
      }
    };
    const onData = (chunk: Buffer): void => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= BATCH_BYTES) stream?.pause();
      send();
    };

    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'more':
          asked = true;
          send();
          return;
        case 'read':
          blob.onBytes?.(message.bytes);
          return;
        case 'eof':
          workerRead = { bytes: message.bytes, crc: message.crc };
          settleFile();
          return;
        case 'facts':
          if (from.kind === 'stream') finish(undefined, message.facts);
          else {
            found = message.facts;
            settleFile();
          }
          return;
        case 'error':
          finish(errorOf(message.error));
      }
    });
    worker.on('error', (err) => finish(err));
    worker.on('exit', (code) => finish(new Error(`the layer worker stopped (exit code ${code}) before it said what the layer holds`)));
    if (stream) {
      stream.on('data', onData);
      stream.once('end', () => {
        ended = true;
        send();
      });
      stream.once('error', (err) => finish(err));
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
