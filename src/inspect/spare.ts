/**
 * The layer workers' threads (./worker.ts), and the one started ahead of its layer. A worker
 * takes some 30 ms to start on an idle core, and three times that once the layers are being
 * read, while the layer it takes is the critical path: the CLI starts one before it loads the
 * rest of itself, and a scan (../scan.ts) whose manifest names zstd layers before it looks up
 * the cache and opens the blobs (docs/architecture.md, "Layer workers"). That spare never keeps
 * the process alive; it ends when a layer shows it is not needed (gzip) or the scan ends. This
 * module loads nothing but Node's own, so that the CLI can start it first.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Set when this module is part of the CLI's bundle (scripts/bundle.js): the worker is then found from dist/src/cli/. */
declare const OCI_SCAN_BUNDLED: boolean | undefined;

/** The worker's file: next to this module, or, from the CLI's bundle, in dist/src/inspect/. */
const WORKER_URL = new URL(typeof OCI_SCAN_BUNDLED === 'boolean' ? '../inspect/worker.js' : './worker.js', import.meta.url);

/** A worker's young generation, in MiB: the blob's buffers die young, and are freed as soon as it is collected (peak RSS). */
const WORKER_YOUNG_MB = 2;

let workerFound: boolean | undefined;
/** A worker started ahead of its layer, waiting for one. */
let spare: Worker | undefined;

/**
 * Layer workers at once: one core fewer than the machine has, the main thread being busy too
 * (it reads and digests the blobs no worker reads, and inspects the layers no worker takes);
 * at least one. `OCI_SCAN_LAYER_WORKERS=N` sets it; 0 keeps every layer on the main thread.
 */
export function maxWorkers(): number {
  const set = process.env['OCI_SCAN_LAYER_WORKERS'];
  const n = Number(set);
  return set !== undefined && set !== '' && Number.isInteger(n) && n >= 0 ? n : Math.max(1, availableParallelism() - 1);
}

/** Whether layers may go to workers at all: allowed, and the worker's file is there (a bundler may have left it out). */
export function workersAllowed(): boolean {
  if (maxWorkers() === 0) return false;
  workerFound ??= existsSync(fileURLToPath(WORKER_URL));
  return workerFound;
}

function spawn(): Worker {
  return new Worker(WORKER_URL, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
}

/** Starts a worker ahead of the layers, unless one is waiting already or workers are not allowed. */
export function prepareLayerWorker(): void {
  if (spare || !workersAllowed()) return;
  const worker = spawn();
  worker.unref();
  const gone = (): void => {
    if (spare === worker) spare = undefined;
  };
  worker.once('error', gone);
  worker.once('exit', gone);
  spare = worker;
}

/** Ends the worker prepareLayerWorker started, if no layer took it. */
export function endLayerWorkers(): void {
  void spare?.terminate();
  spare = undefined;
}

/** The waiting worker, else a new one; it keeps the process alive until it is ended. */
export function takeWorker(): Worker {
  const worker = spare ?? spawn();
  spare = undefined;
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  worker.ref();
  return worker;
}
