/**
 * Writing report files: into the reports directory (created if missing, never emptied — the
 * original deleted it) or to a file the user names, atomically (temp file in the same
 * directory + rename), streamed in pieces (never one string, however many findings), one
 * legacy file per image (names.ts).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError } from '../errors.js';
import { jsonChunks } from './json-stream.js';
import type { Report } from './model.js';
import { assertValidReport } from './validate.js';

/** Characters of a document written in one call rather than streamed. */
const SMALL_DOCUMENT = 256 * 1024;

/** At most this many directory levels are checked or created: a bound on the steps, whatever the path. */
export const MAX_DIR_DEPTH = 1024;

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function cannotCreate(dir: string, code: string, at: string | undefined, cause?: unknown): OciScanError {
  const where = at === undefined ? '' : ` (at ${at})`;
  return new OciScanError('REPORT_WRITE', `cannot create the reports directory ${dir}: ${code}${where}`, {
    setting: 'reportsDir',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** 'dir', 'other' (exists, not a directory) or 'missing'; throws for anything that stops the walk (EACCES, ELOOP, …). */
async function kindOf(path: string, dir: string, at: string | undefined): Promise<'dir' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 'missing';
    throw cannotCreate(dir, codeOf(err), at, err);
  }
}

/**
 * Creates the reports directory if needed, one level at a time from the root (or the current
 * directory), as written — `..` after a symlink means what the kernel says it means: one stat
 * (and at most one mkdir) per level, so it always ends. Node's `mkdir({ recursive: true })` is
 * not used: where a file system answers ENOENT to mkdir under an existing directory (/proc), it
 * retries the parent and the child forever. Throws REPORT_WRITE naming the cause and the level.
 */
export async function ensureReportsDir(dir: string): Promise<void> {
  if (
    await stat(dir).then(
      (st) => st.isDirectory(),
      () => false,
    )
  )
    return;
  const parts = dir.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length > MAX_DIR_DEPTH) throw cannotCreate(dir, `deeper than ${MAX_DIR_DEPTH} levels`, undefined);
  let current = dir.startsWith('/') ? '' : '.';
  for (const [i, part] of parts.entries()) {
    current = `${current}/${part}`;
    const at = i === parts.length - 1 ? undefined : current;
    const kind = await kindOf(current, dir, at);
    if (kind === 'dir') continue;
    if (kind === 'other') throw cannotCreate(dir, 'ENOTDIR', at);
    try {
      await mkdir(current);
    } catch (err) {
      // Created meanwhile by a concurrent run: fine. Anything else (EROFS, ENOENT under /proc, EACCES) ends the walk.
      if (codeOf(err) === 'EEXIST' && (await kindOf(current, dir, at)) === 'dir') continue;
      throw cannotCreate(dir, codeOf(err), at, err);
    }
  }
}

/** A document as a file holds it: JSON with 4-space indentation and a final newline, in pieces. */
export function* documentText(doc: unknown): Generator<string> {
  yield* jsonChunks(doc, 4);
  yield '\n';
}

/**
 * The report files of one run. `write` validates a legacy report and streams it to a
 * temporary file beside its final name in the reports directory, `writeFile` does the same
 * for any document at any path; `commit` renames them all into place; until then nothing is
 * visible, and `discard` (also safe from a process 'exit' handler) removes the temporary
 * files. So a run that fails or is interrupted before `commit` leaves neither a report nor a
 * temp file.
 */
export class ReportBatch {
  readonly #dir: string;
  readonly #pending: Array<{ readonly temp: string; readonly target: string; readonly where: string }> = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Validates `report` (an invalid one is a bug: INTERNAL) and writes it to a temporary file for `file` in the reports directory. */
  async write(file: string, report: Report, signal?: AbortSignal): Promise<void> {
    assertValidReport(report);
    await this.#stream(join(this.#dir, file), documentText(report), 'the reports directory', signal);
  }

  /** Streams `text` to a temporary file beside `target` (whose directory must exist), renamed to `target` by `commit`. */
  writeFile(target: string, text: Iterable<string>, signal?: AbortSignal): Promise<void> {
    return this.#stream(target, text, `the directory ${dirname(target)}`, signal);
  }

  async #stream(target: string, text: Iterable<string>, where: string, signal: AbortSignal | undefined): Promise<void> {
    const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const entry = { temp, target, where };
    this.#pending.push(entry);
    try {
      // A small document (a report, a record: most are) is written in one synchronous call: a
      // stream's set-up costs more than the write, and an audit writes two files per image.
      const chunks: string[] = [];
      let length = 0;
      const rest = text[Symbol.iterator]();
      let next = rest.next();
      for (; !next.done && length < SMALL_DOCUMENT; next = rest.next()) {
        chunks.push(next.value);
        length += next.value.length;
      }
      if (next.done) {
        signal?.throwIfAborted();
        writeFileSync(temp, chunks.join(''), { flag: 'wx', mode: 0o644 });
      } else {
        const first = next.value;
        const source = Readable.from(
          (function* () {
            yield* chunks;
            yield first;
            for (let n = rest.next(); !n.done; n = rest.next()) yield n.value;
          })(),
        );
        const sink = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
        await (signal ? pipeline(source, sink, { signal }) : pipeline(source, sink));
      }
    } catch (err) {
      rmSync(temp, { force: true });
      this.#pending.splice(this.#pending.indexOf(entry), 1);
      if (signal?.aborted) throw signal.reason;
      throw new OciScanError(
        'REPORT_WRITE',
        `cannot write the report ${target}: ${codeOf(err)}; check that ${where} is writable and the disk is not full`,
        { cause: err },
      );
    }
  }

  /** Renames every written report into place and returns their paths; throws `signal.reason` instead when the run was stopped first. */
  commit(signal?: AbortSignal): string[] {
    if (signal?.aborted) {
      this.discard();
      throw signal.reason;
    }
    // Synchronous on purpose: no signal handler can run between the check above and the
    // renames, so a run never says "no report written" after it wrote one.
    const written: string[] = [];
    for (const { temp, target, where } of this.#pending) {
      try {
        renameSync(temp, target);
      } catch (err) {
        this.#pending.splice(0, written.length);
        this.discard();
        throw new OciScanError('REPORT_WRITE', `cannot write the report ${target}: ${codeOf(err)}; check that ${where} is writable`, {
          cause: err,
        });
      }
      written.push(target);
    }
    this.#pending.length = 0;
    return written;
  }

  /** Removes the temporary files not committed yet. Synchronous, so a process 'exit' handler can call it. */
  discard(): void {
    for (const { temp } of this.#pending) rmSync(temp, { force: true });
    this.#pending.length = 0;
  }
}
