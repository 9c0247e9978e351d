/**
 * What the CLI prints: text flushed to stdout/stderr in bounded writes, and failures as one
 * escaped line on stderr. Library errors never name a flag or variable (src/errors.ts); the
 * line printed here adds the flag of the setting that gets past the error.
 */
import type { Logger } from 'pino';
import { OciScanError, type ErrorSetting } from '../errors.js';
import { terminalText } from '../report/formats/terminal.js';
import type { ScanFailure } from '../report/model.js';
import { exitCodeOfError } from './exit-codes.js';

/** What the CLI adds to a library message, per setting that gets past the error. */
const SETTING_HINTS: Readonly<Record<ErrorSetting, string>> = {
  image: ': pass IMAGE (e.g. oci-scan ghcr.io/org/app:1.2) or set COMPLIANCE_IMAGE_FULL_REF',
  platform: ' (--platform)',
  maxLayerBytes: ' (--max-layer-size)',
  caFile: ' (--ca-file)',
  insecureRegistries: ' (--insecure-registry)',
  registryMirrors: ' (--registry-mirror)',
  reportsDir: '; set COMPLIANCE_REPORTS_DIR or --reports-dir to a writable directory',
};

let guard: (() => void) | undefined;

/** Registers what runs before any line is written to stdout or stderr (the progress display erases itself); undefined removes it. */
export function setOutputGuard(beforeOutput: (() => void) | undefined): void {
  guard = beforeOutput;
}

/** Runs the registered guard (for writers outside this module, such as the logger). */
export function beforeOutput(): void {
  guard?.();
}

/** A failure as the CLI reports it: the error code (INTERNAL for a bug) and the message with the CLI's hint, one line. */
export function describeFailure(err: unknown): ScanFailure {
  if (err instanceof OciScanError) {
    const message = err.message.replace(/\s*\n\s*/g, ' ');
    return { code: err.code, message: err.setting ? `${message}${SETTING_HINTS[err.setting]}` : message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: 'INTERNAL',
    message: `internal error: ${message.replace(/\s*\n\s*/g, ' ')} (a bug in oci-scan; run with --log-level debug and report it)`,
  };
}

/**
 * Prints a failure as one escaped, bounded line on stderr (`oci-scan: [prefix]message`) and
 * returns its exit code. Messages may quote image data (a media type, a path, a platform):
 * control characters are escaped so that they cannot drive the terminal.
 */
export function printFailure(err: unknown, logger: Logger | undefined, prefix = ''): number {
  const { code, message } = describeFailure(err);
  guard?.();
  listenForErrors(process.stderr);
  process.stderr.write(`oci-scan: ${terminalText(prefix + message, 4000)}\n`);
  logger?.debug({ code, stack: err instanceof Error ? err.stack : undefined }, 'failure');
  return exitCodeOfError(err);
}

/** The 'error' listener `listenForErrors` adds: `emit`'s write callback reports the error; a failure line that cannot reach stderr has nowhere else to go. */
function ignoreError(): void {}

/**
 * When stdout or stderr is a file (e.g. /dev/full) Node uses a SyncWriteStream, which also
 * emits a write error as an 'error' event: without a listener that would crash the process
 * with a stack trace and exit 1. Other listeners do not count: the layer worker's pipe into
 * stdout and stderr listens too, but on an error it removes itself and emits the error again,
 * to whatever listeners are left.
 */
function listenForErrors(stream: NodeJS.WriteStream): void {
  if (!stream.listeners('error').includes(ignoreError)) stream.on('error', ignoreError);
}

/** Writes to a stream and waits until it is flushed (so that exiting cannot cut it off). */
export function emit(stream: NodeJS.WriteStream, text: string): Promise<void> {
  listenForErrors(stream);
  guard?.();
  return new Promise((resolve, reject) => {
    stream.write(text, (err) =>
      err
        ? reject(
            new OciScanError(
              'REPORT_WRITE',
              `cannot write to ${stream === process.stdout ? 'stdout' : 'stderr'}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
            ),
          )
        : resolve(),
    );
  });
}

/** Writes `chunks` in writes of about 64 KiB, each flushed before the next; stops when `signal` aborts. */
export async function emitAll(stream: NodeJS.WriteStream, chunks: Iterable<string>, signal: AbortSignal): Promise<void> {
  let pending = '';
  for (const chunk of chunks) {
    pending += chunk;
    if (pending.length < 64 * 1024) continue;
    signal.throwIfAborted();
    await emit(stream, pending);
    pending = '';
  }
  signal.throwIfAborted();
  if (pending !== '') await emit(stream, pending);
}
