/**
 * Builds a CheckInput from per-layer entry lists, for pure check tests: every case is a table
 * row, no tar, no pipeline. The layer facts are recorded as the inspector records them
 * (src/layer/inspect.ts, LayerFacts): matchers run on every entry,
 * at most `maxFindings` paths kept per matcher with the total in matchCounts, later entries of
 * a layer replace earlier ones in watched / symlinks / hardlinks / executables, whiteouts and
 * opaque markers (`.wh.NAME`, `.wh..wh..opq`) named as in a tar. The final filesystem is
 * merged by the real mergeLayers, re-recording with the paths it asks for as scan.ts does.
 */
import type { ImageConfig, RuntimeConfig } from '../../src/image/config.js';
import type { ImageName } from '../../src/image/types.js';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../../src/checks/index.js';
import type { CheckInput, LayerView } from '../../src/checks/types.js';
import { mergeLayers, MAX_SYMLINK_HOPS, type FinalFs } from '../../src/layer/final-fs.js';
import type { EntryInfo, EntryMatcher, EntryType, LayerFacts, WatchedEntry } from '../../src/layer/inspect.js';
import { basenameOf, dirnameOf, normalisePath } from '../../src/layer/paths.js';

/** One tar entry of a test layer; names as a tar holds them (`usr/bin/.wh.sudo` is a whiteout). */
export type TestEntry =
  | { readonly type: 'file'; readonly path: string; readonly mode?: number; readonly content?: string | Uint8Array; readonly size?: number }
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | { readonly type: 'hardlink'; readonly path: string; readonly target: string; readonly mode?: number }
  | { readonly type: 'fifo'; readonly path: string };

/** A test layer: entries plus the recorder limits to apply. */
export interface TestLayer {
  readonly digest?: string;
  readonly entries: readonly TestEntry[];
}

/** Recorder limits (the inspector's defaults unless a test lowers them). */
export interface RecordLimits {
  readonly maxFindings?: number;
  readonly maxExecutables?: number;
  readonly maxWatchedBytes?: number;
}

/** Everything a test may set; the rest is a compliant default. */
export interface InputSpec extends RecordLimits {
  readonly layers: readonly TestLayer[];
  readonly config?: RuntimeConfig;
  readonly notScanned?: CheckInput['notScanned'];
  readonly allowUnscannedLayers?: boolean;
  /** The image as named (default `test/app:1.0`). */
  readonly name?: ImageName;
  /** Inspection rounds scan.ts runs before giving up on re-watching (default 40). */
  readonly rounds?: number;
}

/** The digest given to the `index`th test layer without one. */
export function testDigest(index: number): string {
  return `sha256:${String(index + 1).repeat(64).slice(0, 64)}`;
}

/** Records one layer's facts for `matchers` and `watchPaths`, as the inspector does. */
export function recordLayer(entries: readonly TestEntry[], matchers: readonly EntryMatcher[], watchPaths: ReadonlySet<string>, limits: RecordLimits = {}): LayerFacts {
  const maxFindings = limits.maxFindings ?? 1000;
  const maxExecutables = limits.maxExecutables ?? 200_000;
  const cap = limits.maxWatchedBytes ?? 1024 * 1024;
  const ancestors = new Set<string>();
  for (const p of watchPaths) for (let d = dirnameOf(p); d !== '/'; d = dirnameOf(d)) ancestors.add(d);
  const matches = new Map<string, Set<string>>(matchers.map((m) => [m.id, new Set()]));
  const counts = new Map<string, number>(matchers.map((m) => [m.id, 0]));
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const watched: Record<string, WatchedEntry> = {};
  const symlinks = new Map<string, string>();
  const hardlinks = new Map<string, string>();
  const executables = new Set<string>();
  let executablesTruncated = false;
  for (const e of entries) {
    const path = normalisePath(e.path);
    const base = basenameOf(path);
    if (base === '.wh..wh..opq') {
      opaqueDirs.add(dirnameOf(path));
      continue;
    }
    if (base.startsWith('.wh.')) {
      whiteouts.add(normalisePath(`${dirnameOf(path)}/${base.slice(4)}`));
      continue;
    }
    const type: EntryType = e.type;
    const linkTarget = e.type === 'symlink' ? e.target : e.type === 'hardlink' ? normalisePath(e.target) : undefined;
    const mode = e.type === 'symlink' ? 0o777 : e.type === 'fifo' ? 0o644 : (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    const content = Buffer.from(e.type === 'file' ? (e.content ?? '') : '');
    const size = e.type === 'file' ? (e.size ?? content.length) : 0;
    const info: EntryInfo = { path, basename: base, type, mode, size, uid: 0, gid: 0, ...(linkTarget !== undefined ? { linkTarget } : {}) };
    for (const m of matchers) {
      const set = matches.get(m.id);
      if (!m.matches(info) || set?.has(path)) continue;
      counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      if (set && set.size < maxFindings) set.add(path);
    }
    symlinks.delete(path);
    hardlinks.delete(path);
    executables.delete(path);
    if (e.type === 'symlink') symlinks.set(path, e.target);
    if (e.type === 'hardlink') hardlinks.set(path, linkTarget ?? '');
    if (e.type === 'file' && (mode & 0o111) !== 0) {
      if (executables.size < maxExecutables) executables.add(path);
      else executablesTruncated = true;
    }
    if (watchPaths.has(path) || (ancestors.has(path) && e.type === 'symlink')) {
      watched[path] =
        e.type === 'file'
          ? { type: 'file', content: content.subarray(0, cap).toString('latin1'), size, truncated: size > cap }
          : e.type === 'symlink'
            ? { type: 'symlink', target: e.target }
            : e.type === 'hardlink'
              ? { type: 'hardlink', target: linkTarget ?? '' }
              : e.type === 'dir'
                ? { type: 'dir' }
                : { type: 'other' };
    } else if (path in watched) {
      watched[path] = { type: 'other' };
    }
  }
  const sorted = (s: Iterable<string>): string[] => [...s].sort();
  return {
    matches: Object.fromEntries([...matches].map(([id, s]) => [id, sorted(s)])),
    matchCounts: Object.fromEntries(counts),
    whiteouts: sorted(whiteouts),
    opaqueDirs: sorted(opaqueDirs),
    watched,
    symlinks: Object.fromEntries(symlinks),
    hardlinks: Object.fromEntries(hardlinks),
    executables: sorted(executables),
    executablesTruncated,
    compression: 'none',
    entries: entries.length,
    tarBytes: 0,
  };
}

/** Records `layers` and merges them, watching more paths while the final filesystem asks for them (scan.ts's loop). */
export function recordImage(
  layers: readonly TestLayer[],
  limits: RecordLimits & { readonly rounds?: number; readonly watch?: readonly string[] } = {},
): { views: LayerView[]; fs: FinalFs; watchPaths: ReadonlySet<string> } {
  const matchers = matchersOf(ALL_CHECKS);
  let watchPaths: ReadonlySet<string> = new Set([...watchPathsOf(ALL_CHECKS), ...(limits.watch ?? [])]);
  for (let round = 1; ; round++) {
    const views = layers.map((l, i): LayerView => ({ digest: l.digest ?? testDigest(i), facts: recordLayer(l.entries, matchers, watchPaths, limits) }));
    const fs = mergeLayers(
      views.map((v) => v.facts),
      watchPaths,
    );
    const pending = fs.pendingWatches(watchPaths);
    if (pending.length === 0 || round >= (limits.rounds ?? MAX_SYMLINK_HOPS)) return { views, fs, watchPaths };
    watchPaths = new Set([...watchPaths, ...pending]);
  }
}

/** A CheckInput for `spec`: image `test/app:1.0`, config `spec.config` (nothing else set). */
export function checkInput(spec: InputSpec): CheckInput {
  const { views, fs } = recordImage(spec.layers, spec);
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: spec.config ?? {} };
  const name: ImageName = spec.name ?? { display: 'test/app:1.0', name: 'app', repository: 'test/app', tag: '1.0', tagOrigin: 'reference' };
  return {
    name,
    config,
    layers: views,
    notScanned: spec.notScanned ?? [],
    fs,
    ...(spec.allowUnscannedLayers !== undefined ? { allowUnscannedLayers: spec.allowUnscannedLayers } : {}),
  };
}
