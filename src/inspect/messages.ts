/** What ./host.ts and ./worker.ts tell each other besides the blob's bytes. */
import { OciScanError, type ErrorCode, type ErrorSetting } from '../errors.js';
import type { InspectOptions, LayerFacts } from '../layer/inspect.js';
import type { MatcherRecipe } from './matchers.js';

/** A worker's task: everything of the inspection's options but the matchers' code and the signal. */
export interface WorkerInput {
  readonly recipe: MatcherRecipe;
  readonly watchPaths: readonly string[];
  readonly limits: Pick<InspectOptions, 'maxLayerBytes' | 'maxEntries' | 'maxWatchedFileBytes'>;
  readonly what: string;
  /** The blob's file, which the worker reads itself; without it, the host sends the bytes. */
  readonly file?: FileToRead;
}

/** A blob's file, which the worker reads (the host checks its digest and size, reading it too). */
export interface FileToRead {
  readonly path: string;
}

/** What the host tells a worker: its task (once), then, for a blob it does not read itself, the bytes and their end. */
export type ToWorker =
  | { readonly type: 'task'; readonly input: WorkerInput }
  | { readonly type: 'bytes'; readonly bytes: ArrayBuffer }
  | { readonly type: 'end' };

/** What a worker tells its host: send bytes; bytes of the file read (progress); the facts; the error. */
export type FromWorker =
  | { readonly type: 'more' }
  | { readonly type: 'read'; readonly bytes: number }
  /** The blob's file has ended: its length and CRC-32, which the host compares with its own read's. */
  | { readonly type: 'eof'; readonly bytes: number; readonly crc: number }
  | { readonly type: 'facts'; readonly facts: LayerFacts }
  | { readonly type: 'error'; readonly error: WorkerError };

/** An error across the thread boundary: an OciScanError keeps its code and setting; anything else is a message. */
export type WorkerError =
  | {
      readonly kind: 'oci-scan';
      readonly code: ErrorCode;
      readonly message: string;
      readonly setting?: ErrorSetting;
      readonly status?: number;
    }
  | { readonly kind: 'other'; readonly name: string; readonly message: string };

/** `err` as a message. */
export function errorMessage(err: unknown): WorkerError {
  if (err instanceof OciScanError) {
    return {
      kind: 'oci-scan',
      code: err.code,
      message: err.message,
      ...(err.setting === undefined ? {} : { setting: err.setting }),
      ...(err.status === undefined ? {} : { status: err.status }),
    };
  }
  return err instanceof Error
    ? { kind: 'other', name: err.name, message: err.message }
    : { kind: 'other', name: 'Error', message: String(err) };
}

/** The error a message describes. */
export function errorOf(message: WorkerError): Error {
  if (message.kind === 'oci-scan') {
    const options = {
      ...(message.setting === undefined ? {} : { setting: message.setting }),
      ...(message.status === undefined ? {} : { status: message.status }),
    };
    return new OciScanError(message.code, message.message, options);
  }
  const error = new Error(message.message);
  error.name = message.name;
  return error;
}
