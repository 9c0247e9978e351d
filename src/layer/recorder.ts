/**
 * The facts recorder: tar entries (as Go's reader sees them, see tar/reader.ts) → what the
 * checks need from one layer, applying the runtime's reading of each entry (whiteouts, link
 * targets, header-only types). Pure: no streams, no I/O, so it is unit-testable on its own and
 * its output is a function of the layer's bytes and the matchers (cacheable by digest).
 * Memory is bounded whatever the layer holds (docs/security.md, "Limits").
 */
import { OciScanError } from '../errors.js';
import { basenameOf, dirnameOf, normalisePath } from './paths.js';
import type { EntrySink, TarHandler, TarHeader } from './tar/reader.js';

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

/** A predicate over entries; the recorder keeps the paths each matcher accepts. */
export interface EntryMatcher {
  readonly id: string;
  /**
   * Everything the decision depends on besides code (its names, its data table), as text: it
   * is part of the facts' cache key, so changing a table never serves stale facts.
   */
  readonly fingerprint: string;
  matches(entry: EntryInfo): boolean;
}

/** A watched path as this layer leaves it. */
export type WatchedEntry =
  /**
   * `content`: the first `maxWatchedFileBytes` bytes, one character per byte (latin1), so the
   * exact bytes survive (and the JSON of the facts cache): checks compare bytes as the runtime
   * does (check 3, docs/checks.md); `truncated` when the file is larger.
   */
  | { readonly type: 'file'; readonly content: string; readonly size: number; readonly truncated: boolean }
  | { readonly type: 'symlink'; readonly target: string }
  | { readonly type: 'hardlink'; readonly target: string }
  | { readonly type: 'dir' }
  | { readonly type: 'other' };

/** What a layer contributes, for the checks and for the final-filesystem view. */
export interface LayerFacts {
  /** Matcher id → sorted, unique paths of the entries it matched (at most `maxFindingsPerMatcher`). */
  readonly matches: Readonly<Record<string, readonly string[]>>;
  /** Matcher id → how many entries it matched in all (≥ the paths kept in `matches`; a kept path counts once). */
  readonly matchCounts: Readonly<Record<string, number>>;
  /** Paths this layer deletes from the layers below (`.wh.NAME`), sorted. */
  readonly whiteouts: readonly string[];
  /** Directories whose lower-layer contents this layer hides (`.wh..wh..opq`), sorted. */
  readonly opaqueDirs: readonly string[];
  /** Watched paths (and symlinked ancestors of them) that this layer writes. */
  readonly watched: Readonly<Record<string, WatchedEntry>>;
  /** Every symlink of the layer: normalised path → target as written. */
  readonly symlinks: Readonly<Record<string, string>>;
  /** Every hard link of the layer: normalised path → normalised absolute target. */
  readonly hardlinks: Readonly<Record<string, string>>;
  /** Regular files with any execute bit, sorted (complete unless `executablesTruncated`). */
  readonly executables: readonly string[];
  /** True when the layer had more executables than the recorder keeps. */
  readonly executablesTruncated: boolean;
  /** The compression the blob's magic bytes showed. */
  readonly compression: 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';
  /** Number of tar entries (whiteouts included, metadata headers not). */
  readonly entries: number;
  /** Uncompressed tar bytes read. */
  readonly tarBytes: number;
}

/** Limits and inputs of the recorder. */
export interface RecorderOptions {
  readonly matchers: readonly EntryMatcher[];
  /** Absolute paths whose content (regular files) or link target the checks need. */
  readonly watchPaths: ReadonlySet<string>;
  /** Content kept of a watched file. */
  readonly maxWatchedFileBytes?: number;
  /** Tar entries allowed per layer. */
  readonly maxEntries?: number;
  /** Paths kept per matcher per layer (the count goes on). */
  readonly maxFindingsPerMatcher?: number;
  /** Links and whiteouts a layer may record: bounds memory whatever the layer holds. */
  readonly maxRecordedPaths?: number;
  /** Executables kept per layer; beyond, `executablesTruncated`. */
  readonly maxExecutables?: number;
  /** What the layer is, for messages (`layer sha256:… of app:1.0`). */
  readonly what: string;
}

/** Defaults for the limits (docs/security.md explains them). */
export const RECORDER_DEFAULTS = {
  maxWatchedFileBytes: 1024 * 1024,
  maxEntries: 5_000_000,
  maxFindingsPerMatcher: 1000,
  maxRecordedPaths: 500_000,
  maxExecutables: 50_000,
} as const;

/** Longest entry name or link target accepted: Linux's PATH_MAX; no real layer comes near it. */
export const MAX_PATH_BYTES = 4096;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** The entry kind a runtime creates for a Go typeflag. */
function entryType(typeflag: string): EntryType {
  switch (typeflag) {
    case '0':
    case '7': // contiguous file: extracted as a regular file where it is extracted at all
    case 'S': // old GNU sparse: a regular file with holes
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    case '3':
      return 'char-device';
    case '4':
      return 'block-device';
    case '6':
      return 'fifo';
    default:
      return 'other';
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

/** Keeps the first `cap` bytes of a watched file. */
class ContentSink implements EntrySink {
  readonly limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  readonly #cap: number;
  readonly #done: (content: Buffer) => void;

  constructor(cap: number, done: (content: Buffer) => void) {
    this.#cap = cap;
    this.limit = cap;
    this.#done = done;
  }

  write(chunk: Buffer): void {
    if (this.#kept >= this.#cap) return;
    const piece = chunk.subarray(0, this.#cap - this.#kept);
    this.#chunks.push(Buffer.from(piece));
    this.#kept += piece.length;
  }

  end(): void {
    this.#done(Buffer.concat(this.#chunks, this.#kept));
  }
}

/** Records one layer's facts from its tar entries; hand it to a `TarReader`. */
export class FactsRecorder implements TarHandler {
  readonly #options: RecorderOptions;
  readonly #cap: number;
  readonly #maxEntries: number;
  readonly #maxFindings: number;
  readonly #maxPaths: number;
  readonly #maxExecutables: number;
  readonly #watchAncestors: Set<string>;
  readonly #matches: Map<string, Set<string>>;
  readonly #counts: Map<string, number>;
  readonly #whiteouts = new Set<string>();
  readonly #opaqueDirs = new Set<string>();
  readonly #watched = new Map<string, WatchedEntry>();
  readonly #symlinks = new Map<string, string>();
  readonly #hardlinks = new Map<string, string>();
  readonly #executables = new Set<string>();
  #executablesTruncated = false;
  #entries = 0;

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#cap = options.maxWatchedFileBytes ?? RECORDER_DEFAULTS.maxWatchedFileBytes;
    this.#maxEntries = options.maxEntries ?? RECORDER_DEFAULTS.maxEntries;
    this.#maxFindings = options.maxFindingsPerMatcher ?? RECORDER_DEFAULTS.maxFindingsPerMatcher;
    this.#maxPaths = options.maxRecordedPaths ?? RECORDER_DEFAULTS.maxRecordedPaths;
    this.#maxExecutables = options.maxExecutables ?? RECORDER_DEFAULTS.maxExecutables;
    this.#watchAncestors = ancestorsOf(options.watchPaths);
    this.#matches = new Map(options.matchers.map((m) => [m.id, new Set<string>()]));
    this.#counts = new Map(options.matchers.map((m) => [m.id, 0]));
  }

  /** Counts a recorded link or whiteout against the layer's memory budget. */
  #budget(): void {
    if (this.#symlinks.size + this.#hardlinks.size + this.#whiteouts.size + this.#opaqueDirs.size >= this.#maxPaths) {
      throw new OciScanError('LAYER_TOO_LARGE', `${this.#options.what} has more than ${this.#maxPaths} links and whiteouts: refusing a hostile layer`);
    }
  }

  entry(h: TarHeader): EntrySink | undefined {
    // Runtimes ignore PAX global headers (moby, containerd, containers/storage).
    if (h.typeflag === 'g') return undefined;
    this.#entries += 1;
    if (this.#entries > this.#maxEntries) {
      throw new OciScanError('LAYER_TOO_LARGE', `${this.#options.what} has more than ${this.#maxEntries} tar entries: refusing a hostile layer`);
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only long names need counting.
    if ((h.name.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(h.name) > MAX_PATH_BYTES) || (h.linkname.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(h.linkname) > MAX_PATH_BYTES)) {
      throw new OciScanError('LAYER_CORRUPT', `${this.#options.what} has an entry name or link target longer than ${MAX_PATH_BYTES} bytes (PATH_MAX): not a Linux filesystem layer`);
    }
    const path = normalisePath(h.name);
    const base = basenameOf(path);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      // Whiteouts delete from lower layers; they are never findings themselves.
      const dir = dirnameOf(path);
      this.#budget();
      if (base === OPAQUE_MARKER) this.#opaqueDirs.add(dir);
      else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) this.#whiteouts.add(normalisePath(`${dir}/${base.slice(WHITEOUT_PREFIX.length)}`));
      return undefined;
    }
    const type = entryType(h.typeflag);
    const linkTarget = type === 'hardlink' ? normalisePath(h.linkname) : type === 'symlink' ? h.linkname : undefined;
    const info: EntryInfo = linkTarget === undefined ? { path, basename: base, type, mode: h.mode, size: h.size, uid: h.uid, gid: h.gid } : { path, basename: base, type, mode: h.mode, size: h.size, uid: h.uid, gid: h.gid, linkTarget };
    for (const m of this.#options.matchers) {
      const kept = this.#matches.get(m.id);
      // A path already kept is the same finding again: counting it would announce "… and 1 more".
      if (!m.matches(info) || kept?.has(path)) continue;
      this.#counts.set(m.id, (this.#counts.get(m.id) ?? 0) + 1);
      if (kept && kept.size < this.#maxFindings) kept.add(path);
    }
    this.#recordKind(info);
    return this.#watch(info);
  }

  /** The runtime replaces an earlier entry at the same path: so does the record. */
  #recordKind(info: EntryInfo): void {
    const { path, type } = info;
    this.#symlinks.delete(path);
    this.#hardlinks.delete(path);
    this.#executables.delete(path);
    if (type === 'symlink') {
      this.#budget();
      this.#symlinks.set(path, info.linkTarget ?? '');
    } else if (type === 'hardlink') {
      this.#budget();
      this.#hardlinks.set(path, info.linkTarget ?? '/');
    } else if (type === 'file' && (info.mode & 0o111) !== 0) {
      if (this.#executables.size < this.#maxExecutables) this.#executables.add(path);
      else this.#executablesTruncated = true;
    }
  }

  /** Records a watched path (or a symlinked ancestor of one); a sink for a watched file's content. */
  #watch(info: EntryInfo): EntrySink | undefined {
    const { path, type } = info;
    const isWatched = this.#options.watchPaths.has(path);
    if (!isWatched && !(this.#watchAncestors.has(path) && type === 'symlink')) {
      // A later entry replaced a watched path with something not kept.
      if (this.#watched.has(path)) this.#watched.set(path, { type: 'other' });
      return undefined;
    }
    switch (type) {
      case 'file': {
        if (!isWatched) return undefined;
        const size = info.size;
        // Until the content arrives the path holds a file of unknown content.
        this.#watched.set(path, { type: 'file', content: '', size, truncated: size > 0 });
        return new ContentSink(this.#cap, (content) => {
          this.#watched.set(path, { type: 'file', content: content.toString('latin1'), size, truncated: size > content.length });
        });
      }
      case 'symlink':
      case 'hardlink':
        this.#watched.set(path, { type, target: info.linkTarget ?? '' });
        return undefined;
      case 'dir':
        this.#watched.set(path, { type: 'dir' });
        return undefined;
      default:
        this.#watched.set(path, { type: 'other' });
        return undefined;
    }
  }

  /** The facts recorded so far, sorted. */
  facts(compression: LayerFacts['compression'], tarBytes: number): LayerFacts {
    const sorted = (s: Iterable<string>): string[] => [...s].sort();
    const sortedRecord = (m: Map<string, string>): Record<string, string> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      matches: Object.fromEntries([...this.#matches].map(([id, set]) => [id, sorted(set)])),
      matchCounts: Object.fromEntries(this.#counts),
      whiteouts: sorted(this.#whiteouts),
      opaqueDirs: sorted(this.#opaqueDirs),
      watched: Object.fromEntries(this.#watched),
      symlinks: sortedRecord(this.#symlinks),
      hardlinks: sortedRecord(this.#hardlinks),
      executables: sorted(this.#executables),
      executablesTruncated: this.#executablesTruncated,
      compression,
      entries: this.#entries,
      tarBytes,
    };
  }
}
