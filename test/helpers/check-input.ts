/**
 * Builds a CheckInput from per-layer entry lists, for pure check tests: every case is a table
 * row, no tar, no pipeline. The layer facts are recorded by the inspector's own recorder
 * (src/layer/recorder.ts) fed one header per entry, as the tar reader feeds it; the final
 * filesystem is merged by the real mergeLayers, re-recording with the paths it asks for as
 * scan.ts does.
 */
import type { ImageConfig, RuntimeConfig } from '../../src/image/config.js';
import type { ImageName } from '../../src/image/types.js';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../../src/checks/index.js';
import type { Check, CheckInput, LayerView } from '../../src/checks/types.js';
import { mergeLayers, MAX_SYMLINK_HOPS, type FinalFs } from '../../src/layer/final-fs.js';
import type { EntryMatcher, LayerFacts } from '../../src/layer/inspect.js';
import { FactsRecorder } from '../../src/layer/recorder.js';
import type { TarHeader } from '../../src/layer/tar/reader.js';

/** One tar entry of a test layer; names as a tar holds them (`usr/bin/.wh.sudo` is a whiteout). */
export type TestEntry =
  | {
      readonly type: 'file';
      readonly path: string;
      readonly mode?: number;
      readonly content?: string | Uint8Array;
      readonly size?: number;
      readonly capability?: Buffer;
    }
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | { readonly type: 'hardlink'; readonly path: string; readonly target: string; readonly mode?: number; readonly capability?: Buffer }
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
  /** Paths watched besides the 17 checks' (an extended check's `watchPaths`). */
  readonly watch?: readonly string[];
  /** The config's `history`. */
  readonly history?: ImageConfig['history'];
  /** The checks whose matchers and watched paths the layers are recorded for (default ALL_CHECKS). */
  readonly checks?: readonly Check[];
}

/** The digest given to the `index`th test layer without one. */
export function testDigest(index: number): string {
  return `sha256:${String(index + 1)
    .repeat(64)
    .slice(0, 64)}`;
}

const TYPEFLAG: Record<TestEntry['type'], string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', fifo: '6' };

/** Records one layer's facts for `matchers` and `watchPaths`, as the inspector does. */
export function recordLayer(
  entries: readonly TestEntry[],
  matchers: readonly EntryMatcher[],
  watchPaths: ReadonlySet<string>,
  limits: RecordLimits = {},
): LayerFacts {
  const recorder = new FactsRecorder({
    matchers,
    watchPaths,
    what: 'test layer',
    maxFindingsPerMatcher: limits.maxFindings ?? 1000,
    maxExecutables: limits.maxExecutables ?? 200_000,
    maxWatchedFileBytes: limits.maxWatchedBytes ?? 1024 * 1024,
  });
  for (const e of entries) {
    const content = Buffer.from(e.type === 'file' ? (e.content ?? '') : '');
    const size = e.type === 'file' ? (e.size ?? content.length) : 0;
    const mode = e.type === 'symlink' ? 0o777 : e.type === 'fifo' ? 0o644 : (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    const header: TarHeader = {
      name: e.path,
      linkname: e.type === 'symlink' || e.type === 'hardlink' ? e.target : '',
      typeflag: TYPEFLAG[e.type],
      mode,
      uid: 0,
      gid: 0,
      size,
      dataOffset: 0,
      dataSize: size,
      sparse: false,
      capability: e.type === 'file' || e.type === 'hardlink' ? e.capability : undefined,
    };
    const sink = recorder.entry(header);
    if (sink) {
      if (content.length > 0) sink.write(content);
      sink.end();
    }
  }
  return recorder.facts('none', 0);
}

/** Records `layers` and merges them, watching more paths while the final filesystem asks for them (scan.ts's loop). */
export function recordImage(
  layers: readonly TestLayer[],
  limits: RecordLimits & { readonly rounds?: number; readonly watch?: readonly string[]; readonly checks?: readonly Check[] } = {},
): { views: LayerView[]; fs: FinalFs; watchPaths: ReadonlySet<string> } {
  const checks = limits.checks ?? ALL_CHECKS;
  const matchers = matchersOf(checks);
  let watchPaths: ReadonlySet<string> = new Set([...watchPathsOf(checks), ...(limits.watch ?? [])]);
  for (let round = 1; ; round++) {
    const views = layers.map((l, i): LayerView => ({
      digest: l.digest ?? testDigest(i),
      facts: recordLayer(l.entries, matchers, watchPaths, limits),
    }));
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
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: spec.config ?? {},
    ...(spec.history ? { history: spec.history } : {}),
  };
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
