/**
 * The facts recorder: tar entries (as Go's reader sees them, see tar/reader.ts) → what the
 * checks need from one layer, applying the runtime's reading of each entry (whiteouts, link
 * targets, header-only types). Pure: no streams, no I/O, so it is unit-testable on its own and
 * its output is a function of the layer's bytes and the matchers (cacheable by digest).
 * Memory is bounded whatever the layer holds (docs/security.md, "Limits").
 *
 * Besides the findings, it keeps the entries that shape the final filesystem as an ordered log
 * (`ops`), which final-fs.ts replays as each storage driver applies the layer: order matters
 * (a write through a symlink made earlier in the layer, a whiteout before or after a re-add,
 * the last of several entries for one path), so the log is in tar order, not sorted.
 */
import { OciScanError } from '../errors.js';
import { capabilityText } from './capability.js';
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
  /** The `security.capability` xattr the runtime sets on the file (raw bytes), when the entry has one. */
  readonly capability?: Buffer;
}

/** A predicate over entries; the recorder keeps the paths each matcher accepts. */
export interface EntryMatcher {
  readonly id: string;
  /**
   * Everything the decision depends on besides code (its names, its data table), as text: it
   * is part of the facts' cache key, so changing a table never serves stale facts.
   */
  readonly fingerprint: string;
  /** With `content`: the prefilter (which regular files to read); without: the finding itself. */
  matches(entry: EntryInfo): boolean;
  /** Judges a regular file `matches` let through on its content too (docs/checks.md, "secret-files"). */
  readonly content?: ContentScan;
}

/**
 * How a content matcher judges a file: the recorder reads at most `maxBytes` of it (a larger file
 * is judged on its header alone) in the same pass, and keeps the path with what `scan` says
 * when that is not empty. What `scan` returns goes to the facts (and the disk cache): short
 * texts that never hold the content itself.
 */
export interface ContentScan {
  readonly maxBytes: number;
  /** Findings in the file, `content` undefined when it is larger than `maxBytes`; empty: none. */
  scan(entry: EntryInfo, content: Buffer | undefined): readonly string[];
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

/**
 * One entry that shapes the final filesystem, in tar order: final-fs.ts replays these as each
 * storage driver applies the layer (docs/checks.md, "How file checks see an image"). Paths are
 * normalised as the tar names them (not resolved through symlinks: that is the replay's job).
 * `mode` is `& 07777`; `capability` is the decoded `security.capability` xattr.
 */
export type LayerOp =
  /** A directory entry (an existing directory is kept and merged, anything else replaced). */
  | { readonly op: 'dir'; readonly path: string }
  /** A regular file the facts keep something of; `content` when the path was watched. */
  | {
      readonly op: 'file';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly capability?: string;
      readonly content?: WatchedFile;
    }
  | { readonly op: 'symlink'; readonly path: string; readonly target: string }
  /** A hard link: `target` normalised; its mode, owner and capability apply to the shared inode. */
  | {
      readonly op: 'hardlink';
      readonly path: string;
      readonly target: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly capability?: string;
    }
  /** A device, FIFO or unknown type (or a file nothing is kept of) that replaces what was at `path`. */
  | { readonly op: 'other'; readonly path: string }
  /** `.wh.NAME`: `path` is the path removed. */
  | { readonly op: 'whiteout'; readonly path: string }
  /** `.wh..wh..opq`: `path` is the directory whose lower contents are hidden. */
  | { readonly op: 'opaque'; readonly path: string };

/** A watched regular file's recorded content. */
export type WatchedFile = Extract<WatchedEntry, { type: 'file' }>;

/** What a layer contributes, for the checks and for the final-filesystem view. */
export interface LayerFacts {
  /** Matcher id → sorted, unique paths of the entries it matched (at most `maxFindingsPerMatcher`). */
  readonly matches: Readonly<Record<string, readonly string[]>>;
  /** Matcher id → how many entries it matched in all (≥ the paths kept in `matches`; a kept path counts once). */
  readonly matchCounts: Readonly<Record<string, number>>;
  /** Matcher id → the sizes (tar header) of the entries counted in `matchCounts`, summed. */
  readonly matchBytes: Readonly<Record<string, number>>;
  /** Content matcher id → kept path → what its `scan` said (at most `MAX_DETAILS_PER_PATH`). */
  readonly details: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** Paths this layer deletes from the layers below (`.wh.NAME`), sorted. */
  readonly whiteouts: readonly string[];
  /** Directories whose lower-layer contents this layer hides (`.wh..wh..opq`), sorted. */
  readonly opaqueDirs: readonly string[];
  /** Watched paths (and symlinked ancestors of them) that this layer writes. */
  readonly watched: Readonly<Record<string, WatchedEntry>>;
  /** Every symlink of the layer: normalised path → target as written (the last entry for a path). */
  readonly symlinks: Readonly<Record<string, string>>;
  /**
   * The entries that shape the final filesystem, in tar order: every directory, symlink, hard
   * link, whiteout and opaque marker; regular files with an execute bit (complete unless
   * `executablesTruncated`), watched, matched by a check, named like a watched file, or
   * replacing one of those; other types where they replace one of those.
   */
  readonly ops: readonly LayerOp[];
  /** True when the layer had more executables than the recorder keeps. */
  readonly executablesTruncated: boolean;
  /** Entries with a `security.capability` xattr: path → what it grants (`file capabilities cap_setuid+ep`); at most `maxFindingsPerMatcher`. */
  readonly capabilities: Readonly<Record<string, string>>;
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
  /** Links, directories and whiteouts a layer may record: bounds memory whatever the layer holds. */
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

/** Findings of a content matcher kept per path (a file with a thousand tokens is one finding). */
export const MAX_DETAILS_PER_PATH = 20;

/** Longest entry name or link target accepted: Linux's PATH_MAX; no real layer comes near it. */
export const MAX_PATH_BYTES = 4096;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Content of watched files kept in a layer's ops, in units of `maxWatchedFileBytes`: a layer writing /etc/passwd a million times keeps 8 of them whole. */
const CONTENT_BUDGET = 8;

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

/** Gathers a file of known size (at most a content matcher's `maxBytes`) into one buffer: one copy per byte. */
class WholeFileSink implements EntrySink {
  readonly limit: number;
  readonly #buffer: Buffer;
  #kept = 0;
  readonly #done: (content: Buffer) => void;

  constructor(size: number, done: (content: Buffer) => void) {
    this.limit = size;
    this.#buffer = Buffer.allocUnsafe(size);
    this.#done = done;
  }

  write(chunk: Buffer): void {
    this.#kept += chunk.copy(this.#buffer, this.#kept);
  }

  end(): void {
    this.#done(this.#buffer.subarray(0, this.#kept));
  }
}

/** One sink feeding two (a file both watched and read by a content matcher). */
function both(a: EntrySink, b: EntrySink): EntrySink {
  return {
    limit: Math.max(a.limit ?? Infinity, b.limit ?? Infinity),
    write: (chunk) => {
      a.write(chunk);
      b.write(chunk);
    },
    end: () => {
      a.end();
      b.end();
    },
  };
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
  readonly #bytes: Map<string, number>;
  readonly #details = new Map<string, Map<string, string[]>>();
  /** The matchers that read content: when there is none, entries cost what they did before. */
  readonly #contentMatchers: readonly EntryMatcher[];
  readonly #plainMatchers: readonly EntryMatcher[];
  readonly #whiteouts = new Set<string>();
  readonly #opaqueDirs = new Set<string>();
  readonly #watched = new Map<string, WatchedEntry>();
  readonly #symlinks = new Map<string, string>();
  readonly #ops: LayerOp[] = [];
  /**
   * Paths whose replacement changes what the facts say: those of the ops and every directory
   * above them (and above the watched paths). A later entry at one of them is logged too.
   */
  readonly #shaped: Set<string>;
  /** Base names of the watched paths: a file of that name may land on one through a symlink. */
  readonly #watchBasenames: Set<string>;
  /** Ops counted against `maxRecordedPaths`. */
  #budgeted = 0;
  #executables = 0;
  /** Content bytes the ops keep, and the op that last wrote each watched path (with the count of ops then). */
  #contentKept = 0;
  readonly #lastWrite = new Map<string, { op: { content?: WatchedFile }; at: number }>();
  readonly #capabilities = new Map<string, string>();
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
    this.#watchBasenames = new Set([...options.watchPaths].map(basenameOf));
    this.#shaped = new Set([...this.#watchAncestors, ...options.watchPaths]);
    this.#matches = new Map(options.matchers.map((m) => [m.id, new Set<string>()]));
    this.#counts = new Map(options.matchers.map((m) => [m.id, 0]));
    this.#bytes = new Map(options.matchers.map((m) => [m.id, 0]));
    this.#contentMatchers = options.matchers.filter((m) => m.content !== undefined);
    this.#plainMatchers = this.#contentMatchers.length === 0 ? options.matchers : options.matchers.filter((m) => m.content === undefined);
  }

  /** Counts a recorded link, directory or whiteout against the layer's memory budget. */
  #budget(): void {
    this.#budgeted += 1;
    if (this.#budgeted > this.#maxPaths) {
      throw new OciScanError(
        'LAYER_TOO_LARGE',
        `${this.#options.what} has more than ${this.#maxPaths} links, directories and whiteouts: refusing a hostile layer`,
      );
    }
  }

  /**
   * Appends `op` to the log. The directories above a link or a directory are kept too: an entry
   * replacing one of them is logged. Not above a file (executables are many): an entry replacing
   * a directory that only held files the facts keep leaves them in the view, which then shows
   * more than the runtime does, never less.
   */
  #log(op: LayerOp, above = true): void {
    this.#ops.push(op);
    const { path } = op;
    if (this.#shaped.has(path)) return;
    this.#shaped.add(path);
    if (!above) return;
    for (let d = dirnameOf(path); d !== '/' && !this.#shaped.has(d); d = dirnameOf(d)) this.#shaped.add(d);
  }

  entry(h: TarHeader): EntrySink | undefined {
    // Runtimes ignore PAX global headers (moby, containerd, containers/storage).
    if (h.typeflag === 'g') return undefined;
    this.#entries += 1;
    if (this.#entries > this.#maxEntries) {
      throw new OciScanError(
        'LAYER_TOO_LARGE',
        `${this.#options.what} has more than ${this.#maxEntries} tar entries: refusing a hostile layer`,
      );
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only long names need counting.
    if (
      (h.name.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(h.name) > MAX_PATH_BYTES) ||
      (h.linkname.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(h.linkname) > MAX_PATH_BYTES)
    ) {
      throw new OciScanError(
        'LAYER_CORRUPT',
        `${this.#options.what} has an entry name or link target longer than ${MAX_PATH_BYTES} bytes (PATH_MAX): not a Linux filesystem layer`,
      );
    }
    const path = normalisePath(h.name);
    const base = basenameOf(path);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      // Whiteouts delete from lower layers; they are never findings themselves.
      const dir = dirnameOf(path);
      if (base === OPAQUE_MARKER) {
        this.#budget();
        this.#opaqueDirs.add(dir);
        this.#log({ op: 'opaque', path: dir });
      } else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        this.#budget();
        const gone = normalisePath(`${dir}/${base.slice(WHITEOUT_PREFIX.length)}`);
        this.#whiteouts.add(gone);
        this.#log({ op: 'whiteout', path: gone });
      }
      return undefined;
    }
    const type = entryType(h.typeflag);
    const linkTarget = type === 'hardlink' ? normalisePath(h.linkname) : type === 'symlink' ? h.linkname : undefined;
    const capability = h.capability;
    // Literals of two shapes for the common entries (the matchers see few shapes).
    let info: EntryInfo =
      linkTarget === undefined
        ? { path, basename: base, type, mode: h.mode, size: h.size, uid: h.uid, gid: h.gid }
        : { path, basename: base, type, mode: h.mode, size: h.size, uid: h.uid, gid: h.gid, linkTarget };
    if (capability) info = { ...info, capability };
    const kept = this.#match(info);
    if (type === 'hardlink' && linkTarget !== undefined) {
      // The runtime applies a hard link's mode, owner and xattrs to the inode it shares with its
      // target (containers/storage createTarFile: link, lchown, chmod, setxattr on the new name):
      // the target's name becomes what the link header says (docs/checks.md).
      const shared: EntryInfo = {
        path: linkTarget,
        basename: basenameOf(linkTarget),
        type: 'file',
        mode: h.mode,
        size: 0,
        uid: h.uid,
        gid: h.gid,
        ...(capability ? { capability } : {}),
      };
      this.#match(shared);
    }
    const watchSink = this.#watch(info);
    const op = this.#recordOp(info, kept);
    const scanSink = this.#contentMatchers.length > 0 && type === 'file' ? this.#scanContent(info) : undefined;
    const sink = scanSink && watchSink ? both(watchSink, scanSink) : (watchSink ?? scanSink);
    if (op?.op !== 'file' || !watchSink || !sink) return sink;
    // The content of this write, kept with its op (a later write of the path may land elsewhere).
    return {
      limit: sink.limit ?? this.#cap,
      write: (chunk) => sink.write(chunk),
      end: () => {
        sink.end();
        const content = this.#watched.get(path);
        if (content?.type === 'file') this.#keepContent(op, content);
      },
    };
  }

  /** Counts a finding of matcher `id` at `path` and keeps the path within the bounds; true when kept. */
  #found(id: string, path: string, size: number): boolean {
    const kept = this.#matches.get(id);
    // A path already kept is the same finding again: counting it would announce "… and 1 more".
    if (kept?.has(path)) return true;
    this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
    this.#bytes.set(id, (this.#bytes.get(id) ?? 0) + size);
    if (!kept || kept.size >= this.#maxFindings) return false;
    kept.add(path);
    return true;
  }

  /** Runs the content matchers' prefilters on a regular file; a sink that judges its content when one wants it. */
  #scanContent(info: EntryInfo): EntrySink | undefined {
    const wanted = this.#contentMatchers.filter((m) => m.matches(info));
    if (wanted.length === 0) return undefined;
    const judge = (content: Buffer | undefined): void => {
      for (const m of wanted) {
        const scan = m.content as ContentScan;
        const said = scan.scan(info, content !== undefined && info.size <= scan.maxBytes ? content : undefined);
        if (said.length === 0 || !this.#found(m.id, info.path, info.size)) continue;
        let byPath = this.#details.get(m.id);
        if (!byPath) this.#details.set(m.id, (byPath = new Map()));
        const list = byPath.get(info.path) ?? [];
        for (const s of said) if (list.length < MAX_DETAILS_PER_PATH && !list.includes(s)) list.push(s);
        byPath.set(info.path, list);
      }
    };
    if (info.size > Math.max(...wanted.map((m) => (m.content as ContentScan).maxBytes))) {
      judge(undefined);
      return undefined;
    }
    return new WholeFileSink(info.size, judge);
  }

  /** Runs the matchers on `info`; true when one of them keeps its path. */
  #match(info: EntryInfo): boolean {
    const { path } = info;
    let keptAny = false;
    for (const m of this.#plainMatchers) {
      if (m.matches(info) && this.#found(m.id, path, info.size)) keptAny = true;
    }
    if (info.capability && (this.#capabilities.has(path) || this.#capabilities.size < this.#maxFindings))
      this.#capabilities.set(path, capabilityText(info.capability));
    return keptAny;
  }

  /** Logs the entry when it shapes what the final filesystem knows (see `LayerFacts.ops`). */
  #recordOp(info: EntryInfo, kept: boolean): { op: 'file'; content?: WatchedFile } | undefined {
    const { path, type } = info;
    // Every logged path (each symlink among them) is in #shaped: one lookup for most entries.
    const shaped = this.#shaped.has(path);
    if (shaped) this.#symlinks.delete(path);
    if (path === '/') return undefined;
    switch (type) {
      case 'dir':
        this.#budget();
        this.#log({ op: 'dir', path });
        return undefined;
      case 'symlink':
        this.#budget();
        this.#symlinks.set(path, info.linkTarget ?? '');
        this.#log({ op: 'symlink', path, target: info.linkTarget ?? '' });
        return undefined;
      case 'hardlink':
        this.#budget();
        this.#log({
          op: 'hardlink',
          path,
          target: info.linkTarget ?? '/',
          mode: info.mode,
          uid: info.uid,
          gid: info.gid,
          ...(info.capability ? { capability: capabilityText(info.capability) } : {}),
        });
        return undefined;
      case 'file': {
        let exec = (info.mode & 0o111) !== 0;
        if (exec && this.#executables >= this.#maxExecutables) {
          exec = false;
          this.#executablesTruncated = true;
        }
        // Most files of a layer are none of these (watched paths are in #shaped too).
        if (!exec && !kept && !shaped && !this.#watchBasenames.has(info.basename)) return undefined;
        if (exec) this.#executables += 1;
        else this.#budget();
        const op: { op: 'file'; path: string; mode: number; uid: number; gid: number; capability?: string; content?: WatchedFile } = {
          op: 'file',
          path,
          mode: info.mode,
          uid: info.uid,
          gid: info.gid,
        };
        if (info.capability) op.capability = capabilityText(info.capability);
        this.#log(op, false);
        return op;
      }
      default:
        if (!kept && !shaped) return undefined;
        this.#budget();
        this.#log({ op: 'other', path });
        return undefined;
    }
  }

  /** Keeps a watched write's content with its op, within the layer's content budget. */
  #keepContent(op: { content?: WatchedFile }, content: WatchedFile): void {
    const path = (op as LayerOp).path;
    // Nothing between two writes of a path: the first is replaced at once, its content is moot.
    const last = this.#lastWrite.get(path);
    if (last && last.at === this.#ops.length - 1 && last.op.content) {
      this.#contentKept -= last.op.content.content.length;
      delete last.op.content;
    }
    this.#lastWrite.set(path, { op, at: this.#ops.length });
    if (this.#contentKept + content.content.length > CONTENT_BUDGET * this.#cap) {
      // Past the budget the content is unknown: readers of it fail safe as for a truncated file.
      op.content = { type: 'file', content: '', size: content.size, truncated: true };
      return;
    }
    this.#contentKept += content.content.length;
    op.content = content;
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
    const sortedRecord = (m: Map<string, string>): Record<string, string> =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      matches: Object.fromEntries([...this.#matches].map(([id, set]) => [id, sorted(set)])),
      matchCounts: Object.fromEntries(this.#counts),
      matchBytes: Object.fromEntries(this.#bytes),
      details: Object.fromEntries(
        [...this.#details].map(([id, byPath]) => [id, Object.fromEntries([...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]),
      ),
      whiteouts: sorted(this.#whiteouts),
      opaqueDirs: sorted(this.#opaqueDirs),
      watched: Object.fromEntries(this.#watched),
      symlinks: sortedRecord(this.#symlinks),
      ops: this.#ops,
      executablesTruncated: this.#executablesTruncated,
      capabilities: sortedRecord(this.#capabilities),
      compression,
      entries: this.#entries,
      tarBytes,
    };
  }
}
