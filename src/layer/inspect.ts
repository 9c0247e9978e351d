/**
 * The layer inspector: one layer blob → decompress (sniffed) → tar entries → per-layer facts.
 * Nothing is written to disk and only the few small files the checks ask for are kept, so
 * memory stays bounded whatever the layer's size. The facts are a pure function of the
 * layer's bytes and the matchers, so they can be cached by digest.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { OciScanError, isOciScanError } from '../errors.js';
import { decompressorFor, peek, sniffCompression, type Compression } from './decompress.js';
import { basenameOf, dirnameOf, normalisePath } from './paths.js';

/** The kinds of tar entry the checks distinguish. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo' | 'other';

/** One tar entry's header, as the checks see it. */
export interface EntryInfo {
  /** Absolute, normalised path. */
  readonly path: string;
  /** Last component of `path`. */
  readonly basename: string;
  readonly type: EntryType;
  /** Permission bits including setuid (04000), setgid (02000) and sticky (01000). */
  readonly mode: number;
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  /** Symlink target as written, or the normalised absolute path a hard link points to. */
  readonly linkTarget?: string;
}

/** A predicate over entries; the inspector records the paths each matcher accepts. */
export interface EntryMatcher {
  readonly id: string;
  matches(entry: EntryInfo): boolean;
}

/** A watched path as this layer leaves it. */
export type WatchedEntry =
  | { readonly type: 'file'; readonly content: string; readonly size: number; readonly truncated: boolean }
  | { readonly type: 'symlink'; readonly target: string }
  | { readonly type: 'hardlink'; readonly target: string }
  | { readonly type: 'dir' }
  | { readonly type: 'other' };

/** What a layer contributes, for the checks and for the final-filesystem view. */
export interface LayerFacts {
  /** Matcher id → sorted unique paths it matched; at most maxFindingsPerMatcher kept. */
  readonly matches: Readonly<Record<string, readonly string[]>>;
  /** Matcher id → how many entries it matched in total (≥ matches[id].length). */
  readonly matchCounts: Readonly<Record<string, number>>;
  /** Paths this layer deletes from the layers below (`.wh.NAME`), sorted. */
  readonly whiteouts: readonly string[];
  /** Directories whose lower-layer contents this layer hides (`.wh..wh..opq`), sorted. */
  readonly opaqueDirs: readonly string[];
  /** Watched paths (and symlinked ancestors of them) that this layer writes. */
  readonly watched: Readonly<Record<string, WatchedEntry>>;
  /** Every symlink of the layer: normalised path → raw target as written. */
  readonly symlinks: Readonly<Record<string, string>>;
  /** Every hard link of the layer: normalised path → normalised absolute target. */
  readonly hardlinks: Readonly<Record<string, string>>;
  /** Regular files with any execute bit, sorted (complete unless executablesTruncated). */
  readonly executables: readonly string[];
  /** True when the layer had more executables than the recorder keeps (memory bound). */
  readonly executablesTruncated: boolean;
  /** The compression the blob's magic bytes showed. */
  readonly compression: Compression;
  /** Number of tar entries (whiteouts included). */
  readonly entries: number;
  /** Uncompressed tar bytes read. */
  readonly tarBytes: number;
}

/** Limits and inputs of one inspection. */
export interface InspectOptions {
  readonly matchers: readonly EntryMatcher[];
  /** Absolute paths whose content (small regular files) or link target the checks need. */
  readonly watchPaths: ReadonlySet<string>;
  /** Content kept of a watched file; larger ones are recorded `truncated`. */
  readonly maxWatchedFileBytes?: number;
  /** Paths kept per matcher (the count goes on). */
  readonly maxFindingsPerMatcher?: number;
  /** Executables kept per layer. */
  readonly maxExecutables?: number;
  /** Decompression-bomb guard: uncompressed bytes allowed per layer. */
  readonly maxLayerBytes?: number;
  /** Tar entries allowed per layer. */
  readonly maxEntries?: number;
  /** Bytes of paths a layer may record (findings and whiteouts): bounds memory whatever the layer holds. */
  readonly maxRecordedBytes?: number;
  /** What the layer is, for messages (`layer sha256:… of app:1.0`). */
  readonly what: string;
  readonly signal?: AbortSignal;
}

/** Defaults for the limits (docs/security.md explains them). */
export const INSPECT_DEFAULTS = {
  maxWatchedFileBytes: 1024 * 1024,
  maxLayerBytes: 64 * 1024 * 1024 * 1024,
  maxEntries: 5_000_000,
  maxRecordedBytes: 64 * 1024 * 1024,
  maxFindingsPerMatcher: 1000,
  maxExecutables: 200_000,
} as const;

/** Longest entry name or link target accepted: Linux's PATH_MAX; no real layer comes near it. */
export const MAX_PATH_BYTES = 4096;

/** A tar-stream entry (header + content stream). */
type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

function entryType(type: tar.Header['type'] | undefined): EntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char-device';
    case 'block-device':
      return 'block-device';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

/** Counts uncompressed bytes and stops a decompression bomb at `limit`. */
class ByteCounter extends Transform {
  bytes = 0;
  readonly #limit: number;
  readonly #what: string;

  constructor(limit: number, what: string) {
    super();
    this.#limit = limit;
    this.#what = what;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#limit) {
      done(new OciScanError('LAYER_TOO_LARGE', `${this.#what} unpacks to more than ${this.#limit} bytes (--max-layer-size): refusing a possible decompression bomb; raise --max-layer-size if the layer is genuine`));
      return;
    }
    done(null, chunk);
  }
}

/** Every directory above a watched path: a symlink there redirects the watched path. */
function ancestorsOf(paths: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    for (let d = dirnameOf(p); d !== '/'; d = dirnameOf(d)) out.add(d);
  }
  return out;
}

/** Turns a low-level decoder error into a one-line LAYER_CORRUPT error; keeps OciScanErrors. */
function layerError(err: unknown, what: string, compression: Compression): unknown {
  if (isOciScanError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const stage = compression === 'none' ? 'tar' : `${compression}/tar`;
  return new OciScanError('LAYER_CORRUPT', `${what} could not be read (${stage}: ${detail}): the layer is damaged or truncated; pull or export the image again`, { cause: err });
}

/** The parts of tar-stream's (3.2.x) Extract state read by `acceptMissingFinalPadding`. */
interface ExtractState {
  _final(cb: (err?: Error | null) => void): void;
  _stream: unknown;
  _missing: number;
  _longHeader: boolean;
  _buffer: { buffered: number };
}

/**
 * Fix (found by test/integration/real-tools.test.ts): umoci 0.4.7 (Debian) writes layers that
 * stop right after the last file's content — no zero padding to the 512-byte block, no
 * end-of-archive blocks — and skopeo copies them as they are. Go's archive/tar, which Docker,
 * containerd and podman apply layers with, reads that as a clean end (io.EOF while reading the
 * padding); tar-stream called it "Unexpected end of data", so such images could not be
 * scanned at all. Accept exactly that case: no entry open, no partial header buffered, only
 * padding (< 512 bytes) missing. A cut inside content or inside a header is still an error.
 */
function acceptMissingFinalPadding(extract: tar.Extract): void {
  const state = extract as unknown as ExtractState;
  const final = state._final.bind(extract);
  state._final = (cb) => {
    if (state._stream === null && !state._longHeader && state._missing > 0 && state._missing < 512 && state._buffer.buffered === 0) state._missing = 0;
    final(cb);
  };
}

/** Reads a watched file's first `cap` bytes; drains the rest. */
async function readSmall(entry: TarEntry, size: number, cap: number): Promise<WatchedEntry> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of entry as AsyncIterable<Buffer>) {
    if (kept >= cap) continue;
    const part = chunk.subarray(0, cap - kept);
    chunks.push(part);
    kept += part.length;
  }
  return { type: 'file', content: Buffer.concat(chunks).toString('utf8'), size, truncated: size > cap };
}

/** Inspects one layer blob. Rejects with LAYER_CORRUPT / LAYER_TOO_LARGE / the source's own error. */
export async function inspectLayer(blob: Readable, options: InspectOptions): Promise<LayerFacts> {
  const maxLayerBytes = options.maxLayerBytes ?? INSPECT_DEFAULTS.maxLayerBytes;
  const maxEntries = options.maxEntries ?? INSPECT_DEFAULTS.maxEntries;
  const cap = options.maxWatchedFileBytes ?? INSPECT_DEFAULTS.maxWatchedFileBytes;
  const maxRecordedBytes = options.maxRecordedBytes ?? INSPECT_DEFAULTS.maxRecordedBytes;
  const watchAncestors = ancestorsOf(options.watchPaths);

  const stop = new AbortController();
  // Fix (test/unit/inspect.test.ts "signal"): the listener used to be added after the peek,
  // so a signal aborted before the call was never seen (addEventListener does not fire for
  // an already-aborted signal) and an abort during the peek of a stalled source hung. Now an
  // abort also destroys the blob, which ends a pending peek with the abort reason.
  const onOuterAbort = (): void => {
    const reason: unknown = options.signal?.reason;
    stop.abort(reason);
    // With an error, so that a peek waiting on 'readable'/'end' rejects instead of waiting.
    blob.destroy(reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`));
  };
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let peeked: Awaited<ReturnType<typeof peek>>;
  try {
    peeked = await peek(blob, 4);
  } catch (err) {
    options.signal?.removeEventListener('abort', onOuterAbort);
    throw options.signal?.aborted ? options.signal.reason : err;
  }
  const { head, rest } = peeked;
  const compression = sniffCompression(head);
  const decompressor = decompressorFor(compression);
  const counter = new ByteCounter(maxLayerBytes, options.what);
  // allowUnknownFormat: accept pre-POSIX (v7) headers; the header checksum still guards them.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);

  acceptMissingFinalPadding(extract);

  // Resolves on the next 'drain' or 'close' of the tar parser and removes both listeners.
  // Fix: `Promise.race([once(drain), once(close)])` left the losing 'close' (and its 'error')
  // listener attached on every backpressure wait — thousands on a large layer, with a
  // MaxListenersExceededWarning on stderr after the 11th.
  const writable = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        extract.off('drain', done);
        extract.off('close', done);
        resolve();
      };
      extract.on('drain', done);
      extract.on('close', done);
    });

  // Feed the tar parser by hand: extract is a streamx stream, and a failing upstream must
  // destroy it so that the entry loop below never waits for an entry that cannot come.
  const feed = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      if (!extract.write(chunk)) await writable();
      if (extract.destroyed) return;
    }
    extract.end(undefined);
  };
  const pumping = decompressor ? pipeline(rest, decompressor, counter, feed, { signal: stop.signal }) : pipeline(rest, counter, feed, { signal: stop.signal });
  const pump = pumping.catch((err: unknown) => {
    extract.destroy(err as Error);
    throw err;
  });

  const maxFindings = options.maxFindingsPerMatcher ?? INSPECT_DEFAULTS.maxFindingsPerMatcher;
  const maxExecutables = options.maxExecutables ?? INSPECT_DEFAULTS.maxExecutables;
  const matches = new Map<string, Set<string>>(options.matchers.map((m) => [m.id, new Set<string>()]));
  const matchCounts = new Map<string, number>(options.matchers.map((m) => [m.id, 0]));
  const symlinks = new Map<string, string>();
  const hardlinks = new Map<string, string>();
  const executables = new Set<string>();
  let executablesTruncated = false;
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const watched: Record<string, WatchedEntry> = {};
  let entries = 0;

  let recordedBytes = 0;
  /** Counts a path against the memory budget of what a layer may record. */
  const record = (path: string): string => {
    recordedBytes += path.length;
    if (recordedBytes > maxRecordedBytes) {
      throw new OciScanError('LAYER_TOO_LARGE', `${options.what} records more than ${maxRecordedBytes} bytes of findings and whiteouts: refusing a hostile layer`);
    }
    return path;
  };

  const consume = (async (): Promise<void> => {
    for await (const entry of extract) {
      entries += 1;
      if (entries > maxEntries) {
        throw new OciScanError('LAYER_TOO_LARGE', `${options.what} has more than ${maxEntries} tar entries: refusing a hostile layer`);
      }
      const h = entry.header;
      // tar-stream caps long-name records at 4 MiB; a name that long is an attack on memory
      // (every recorded path is kept), not a file system.
      if (Buffer.byteLength(h.name) > MAX_PATH_BYTES || Buffer.byteLength(h.linkname ?? '') > MAX_PATH_BYTES) {
        throw new OciScanError('LAYER_CORRUPT', `${options.what} has an entry name or link target longer than ${MAX_PATH_BYTES} bytes (PATH_MAX): not a Linux filesystem layer`);
      }
      const path = normalisePath(h.name);
      const base = basenameOf(path);
      if (base.startsWith(WHITEOUT_PREFIX)) {
        // Whiteouts delete from lower layers; they are never findings themselves.
        const dir = dirnameOf(path);
        if (base === OPAQUE_MARKER) opaqueDirs.add(record(dir));
        else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) whiteouts.add(record(normalisePath(`${dir}/${base.slice(WHITEOUT_PREFIX.length)}`)));
        entry.resume();
        continue;
      }
      const type = entryType(h.type);
      const linkTarget = type === 'hardlink' ? normalisePath(h.linkname ?? '') : type === 'symlink' ? (h.linkname ?? '') : undefined;
      const info: EntryInfo = { path, basename: base, type, mode: (h.mode ?? 0) & 0o7777, size: h.size ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, ...(linkTarget !== undefined ? { linkTarget } : {}) };
      for (const m of options.matchers) {
        const set = matches.get(m.id);
        // A path already kept is the same finding again: counting it would announce "more".
        if (!m.matches(info) || set?.has(path)) continue;
        matchCounts.set(m.id, (matchCounts.get(m.id) ?? 0) + 1);
        if (set && set.size < maxFindings) set.add(record(path));
      }
      symlinks.delete(path);
      hardlinks.delete(path);
      executables.delete(path);
      if (type === 'symlink') symlinks.set(path, record(linkTarget ?? ''));
      else if (type === 'hardlink') hardlinks.set(path, record(linkTarget ?? ''));
      else if (type === 'file' && (info.mode & 0o111) !== 0) {
        if (executables.size < maxExecutables) executables.add(record(path));
        else executablesTruncated = true;
      }
      const isWatched = options.watchPaths.has(path);
      if (isWatched || (watchAncestors.has(path) && type === 'symlink')) {
        if (type === 'file' && isWatched) {
          watched[path] = await readSmall(entry, info.size, cap);
          continue;
        }
        watched[path] =
          type === 'symlink' ? { type, target: linkTarget ?? '' } : type === 'hardlink' ? { type, target: linkTarget ?? '' } : type === 'dir' ? { type } : type === 'file' ? { type: 'file', content: '', size: info.size, truncated: info.size > 0 } : { type: 'other' };
      } else if (path in watched) {
        // A later entry replaced a watched path with something we do not keep.
        watched[path] = { type: 'other' };
      }
      entry.resume();
    }
  })().catch((err: unknown) => {
    stop.abort(err);
    throw err;
  });

  const [pumped, consumed] = await Promise.allSettled([pump, consume]);
  options.signal?.removeEventListener('abort', onOuterAbort);
  if (pumped.status === 'rejected' || consumed.status === 'rejected') {
    // Prefer the error that explains the failure (ours or the source's) over the echo it
    // caused on the other side (an abort, a premature close).
    const errors = [pumped, consumed].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // Fix: an abort reason that is not an AbortError (scan.ts aborts sibling layers with the
    // first layer's error) used to be wrapped as LAYER_CORRUPT; the caller's reason is not
    // a statement about this layer's bytes, so it is passed through unchanged.
    if (options.signal?.aborted && !errors.some((e) => isOciScanError(e))) throw options.signal.reason;
    const meaningful = errors.find((e) => isOciScanError(e)) ?? (options.signal?.aborted ? options.signal.reason : undefined) ?? errors.find((e) => !(e instanceof Error && e.name === 'AbortError')) ?? errors[0];
    throw layerError(meaningful, options.what, compression);
  }
  const sorted = (s: Set<string>): string[] => [...s].sort();
  return {
    matches: Object.fromEntries([...matches].map(([id, set]) => [id, sorted(set)])),
    matchCounts: Object.fromEntries(matchCounts),
    symlinks: Object.fromEntries(symlinks),
    hardlinks: Object.fromEntries(hardlinks),
    executables: sorted(executables),
    executablesTruncated,
    whiteouts: sorted(whiteouts),
    opaqueDirs: sorted(opaqueDirs),
    watched,
    compression,
    entries,
    tarBytes: counter.bytes,
  };
}
