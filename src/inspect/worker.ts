/**
 * A layer worker: one layer's inspection (decompression, tar reading, recording) on a thread of
 * its own, so that layers whose decoder runs in JavaScript's thread (zstd, bzip2, xz) decode at
 * once on several cores (docs/architecture.md, "Layer workers"). ./host.ts starts it and sends
 * its task; it reads the blob's file itself (the host checks it), or asks the host for the
 * bytes; it answers with the layer's facts or its error.
 *
 * Messages (./messages.ts): to the host `more` (send bytes), `read` (file bytes read, for
 * progress), `eof` (the file's length and CRC-32), `facts`, `error`; from the host `task`, then
 * `bytes` (an ArrayBuffer, transferred) and `end`.
 */
import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { inspectLayer, type InspectOptions } from '../layer/inspect.js';
import { rebuildMatchers } from './matchers.js';
import { errorMessage, type FileToRead, type FromWorker, type ToWorker, type WorkerInput } from './messages.js';

if (!parentPort) throw new Error('src/inspect/worker.js runs as a worker thread of src/inspect/host.js');
const port = parentPort;
const tell = (message: FromWorker): void => port.postMessage(message);

/** Bytes per read of the blob's file (as the layout source reads it). */
const READ_CHUNK = 512 * 1024;

/**
 * The blob's file. The host checks its digest and size by reading it too, beside the decoding
 * here; the two reads are tied by their length and CRC-32, told at the end.
 */
function fromFile(file: FileToRead): Readable {
  let crc = 0;
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      bytes += chunk.length;
      tell({ type: 'read', bytes: chunk.length });
      done(null, chunk);
    },
    flush(done) {
      tell({ type: 'eof', bytes, crc });
      done();
    },
  });
  pipeline(createReadStream(file.path, { highWaterMark: READ_CHUNK }), tap).catch(() => undefined);
  return tap;
}

/** The blob as the host sends it (`bytes`, then `end`): each read asks for more, and the host sends what it has read ahead. */
const fromHost = new Readable({
  highWaterMark: 2 * 1024 * 1024,
  read() {
    tell({ type: 'more' });
  },
});

async function run(input: WorkerInput): Promise<void> {
  const matchers = rebuildMatchers(input.recipe);
  if (!matchers) throw new Error('the layer worker could not rebuild the scan matchers');
  const options: InspectOptions = { ...input.limits, matchers, watchPaths: new Set(input.watchPaths), what: input.what };
  const facts = await inspectLayer(input.file ? fromFile(input.file) : fromHost, options);
  tell({ type: 'facts', facts });
}

// A worker may be started before its layer is known (./host.ts, prepareLayerWorker): it waits for its task.
port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'task':
      run(message.input).catch((err: unknown) => tell({ type: 'error', error: errorMessage(err) }));
      return;
    case 'bytes':
      fromHost.push(Buffer.from(message.bytes));
      return;
    case 'end':
      fromHost.push(null);
  }
});
