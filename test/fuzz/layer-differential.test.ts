/**
 * Layer application parity with containers/storage (docs/security.md, "Runtime parity"): random
 * small layer sequences — writes below symlinks made earlier in the layer or by a lower one,
 * hard links whose header mode, owner or capabilities differ from their target's, several
 * entries for one path, whiteouts and opaque markers before and after what they hide,
 * directories replaced by files and back — are applied by podman's own code
 * (test/oracle/applylayer: `archive.UnpackLayer` as the vfs driver does, `archive.Unpack` with
 * overlay whiteouts and a kernel overlayfs mount as the overlay driver does) and read by the
 * inspector (the real tar reader and recorder, every path watched) into the final filesystem.
 * For each driver that applies the layers, the two must agree on every path: its type, a
 * regular file's mode (setuid and setgid included), owner, content and capabilities, a
 * symlink's target, and which paths share an inode. And what the checks saw must cover it:
 * every setuid file or file with capabilities there is a finding of check 7, every executable
 * named `su` one of check 10, in the layer that wrote it.
 *
 * A fixed seed, 200 sequences (10-25 s); LAYER_PARITY_RUNS for a longer campaign (FUZZ_SEED
 * for another seed). Before the layers were replayed as the drivers apply them, 74 of 200
 * sequences of this generator (fc.sample, same seed) showed a path of a different type,
 * executable bit, link target or content, a path missing or one too many. Needs go, Debian's
 * golang-github-containers-storage-dev and root.
 */
import { strict as assert } from 'node:assert';
import { after, it } from 'node:test';
import fc from 'fast-check';
import type { FinalFs } from '../../src/layer/final-fs.js';
import type { LayerFacts } from '../../src/layer/inspect.js';
import { buildTar, type EntrySpec } from '../helpers/image-builder.js';
import {
  applyWithStorage,
  closeLayerOracle,
  layerOracleSkip,
  OracleHang,
  type OracleDriver,
  type OracleResult,
} from '../helpers/layer-oracle.js';
import { compareRootFs, readLayers, watchingEveryPath } from '../helpers/root-fs.js';
import { fuzzParams, reportRuns } from './fuzz-config.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = layerOracleSkip('layer application parity with containers/storage');
const RUNS = Number(process.env['LAYER_PARITY_RUNS'] ?? '200');

/** A v2 capability set: cap_setuid (7) and cap_net_raw (13), permitted, effective. */
const CAP_SETUID_EP = Buffer.from('01000002' + '80200000' + '00000000' + '00000000' + '00000000', 'hex');
/** A v3 set with a namespace root uid of 1000: cap_net_bind_service (10), permitted and inheritable. */
const CAP_V3 = Buffer.from('00000003' + '00040000' + '00040000' + '00000000' + '00000000' + 'e8030000', 'hex');

type Entry = EntrySpec;

/** A layer sequence and how it reads. */
interface Case {
  readonly layers: readonly (readonly Entry[])[];
}

const NAMES = ['a', 'b', 'su', 'x'] as const;
// Directories are mostly named a and b, files su and x: a name used for both (a file where a
// directory was, a write below a file) makes a driver refuse the layer, so it is the exception.
const dirSegment = fc.constantFrom('a', 'b');
const leafSegment = fc.constantFrom('su', 'x');
const segment = fc.constantFrom(...NAMES);
const dirPath = fc.array(dirSegment, { minLength: 1, maxLength: 2 }).map((s) => s.join('/'));
const leafPath = fc.tuple(fc.array(dirSegment, { maxLength: 2 }), leafSegment).map(([dirs, leaf]) => [...dirs, leaf].join('/'));
const relPath = fc.oneof(
  { weight: 4, arbitrary: leafPath },
  { weight: 1, arbitrary: fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')) },
);
const mode = fc.constantFrom(0o644, 0o755, 0o4755, 0o2755, 0o600, 0o6711);
const owner = fc.constantFrom(0, 1000);
/** Which earlier file (for a hard link) or directory (for a symlink) an entry refers to, when there is one. */
const ref = fc.nat(31);

/** An entry before its references are resolved against the entries before it. */
type Draft =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly content: string;
      readonly caps: Buffer | undefined;
    }
  | { readonly kind: 'dir'; readonly path: string }
  | {
      readonly kind: 'symlink';
      readonly path: string;
      readonly target: string;
      readonly ref: number | undefined;
      readonly absolute: boolean;
    }
  | {
      readonly kind: 'hardlink';
      readonly path: string;
      readonly target: string;
      readonly ref: number | undefined;
      readonly mode: number;
      readonly uid: number;
      readonly caps: Buffer | undefined;
    }
  | { readonly kind: 'whiteout'; readonly dir: string | undefined; readonly name: string }
  | { readonly kind: 'opaque'; readonly dir: string }
  | { readonly kind: 'fifo'; readonly path: string };

const draft: fc.Arbitrary<Draft> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('file' as const),
      path: relPath,
      mode,
      uid: owner,
      content: fc.constantFrom('one', 'two', 'three'),
      caps: fc.constantFrom(undefined, undefined, undefined, CAP_SETUID_EP, CAP_V3),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('dir' as const), path: dirPath }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('symlink' as const),
      path: fc.oneof(dirPath, relPath),
      target: fc.oneof(
        dirPath,
        relPath,
        dirPath.map((p) => `../${p}`),
        fc.constantFrom('/', '.', '/nowhere'),
      ),
      ref: fc.option(ref, { nil: undefined }),
      absolute: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hardlink' as const),
      path: relPath,
      target: relPath,
      ref: fc.option(ref, { nil: undefined, freq: 6 }),
      mode,
      uid: owner,
      caps: fc.constantFrom(undefined, undefined, CAP_SETUID_EP),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('whiteout' as const), dir: fc.option(dirPath, { nil: undefined }), name: segment }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('opaque' as const), dir: dirPath }) },
  // A FIFO only where files go: a whiteout below one hangs the vfs driver (os.RemoveAll opens the parent).
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fifo' as const), path: leafPath }) },
);

/** Tar entries of the drafts: a reference picks an earlier file (hard links) or directory (symlinks), so that most sequences apply. */
function resolveDrafts(layers: readonly (readonly Draft[])[]): Entry[][] {
  const files: string[] = [];
  const dirs: string[] = [];
  const caps = (c: Buffer | undefined): { xattrs?: Record<string, Buffer> } => (c ? { xattrs: { 'security.capability': c } } : {});
  return layers.map((layer) =>
    layer.map((d): Entry => {
      switch (d.kind) {
        case 'file':
          files.push(d.path);
          return { type: 'file', path: d.path, mode: d.mode, uid: d.uid, gid: d.uid, content: d.content, ...caps(d.caps) };
        case 'dir':
          dirs.push(d.path);
          return { type: 'dir', path: `${d.path}/` };
        case 'symlink': {
          const to = d.ref !== undefined && dirs.length > 0 ? dirs[d.ref % dirs.length] : undefined;
          return { type: 'symlink', path: d.path, target: to === undefined ? d.target : d.absolute ? `/${to}` : to };
        }
        case 'hardlink': {
          // Without an earlier file, mostly a file (a link to nothing only makes the drivers refuse the layer).
          if (files.length === 0 && d.ref !== undefined) {
            files.push(d.path);
            return { type: 'file', path: d.path, mode: d.mode, uid: d.uid, gid: d.uid, content: 'one', ...caps(d.caps) };
          }
          const to = d.ref !== undefined ? (files[d.ref % files.length] as string) : d.target;
          return { type: 'hardlink', path: d.path, target: to, mode: d.mode, uid: d.uid, gid: d.uid, ...caps(d.caps) };
        }
        case 'whiteout':
          return { type: 'file', path: `${d.dir === undefined ? '' : `${d.dir}/`}.wh.${d.name}`, mode: 0o644 };
        case 'opaque':
          return { type: 'file', path: `${d.dir}/.wh..wh..opq`, mode: 0o644 };
        case 'fifo':
          return { type: 'fifo', path: d.path };
      }
    }),
  );
}

const layerSeq: fc.Arbitrary<Case> = fc
  .array(fc.array(draft, { minLength: 1, maxLength: 7 }), { minLength: 1, maxLength: 4 })
  .map((layers) => ({ layers: resolveDrafts(layers) }));

/** What the checks must have seen of the driver's root filesystem. */
function coverage(driver: OracleDriver, theirs: OracleResult, fs: FinalFs, facts: readonly LayerFacts[]): string[] {
  const view = fs.views.find((v) => v.driver === driver);
  const found = (id: string, layer: number, path: string): boolean => facts[layer]?.matches[id]?.includes(path) === true;
  const diffs: string[] = [];
  for (const t of theirs.entries) {
    if (t.type !== 'file') continue;
    const r = view?.lookup(t.path, { followLast: false });
    if (r?.status !== 'found' || r.node.type !== 'file') continue;
    const { origin, layer } = r.node.inode;
    // A hard link header that made the inode what it is wrote it in its own layer: any layer counts.
    // An entry that a symlink on its way redirected (`b/b/su` through `b` → `/`) is a finding at
    // its own path, whose landing with this driver the check names.
    const landedHere = (id: string, i: number): boolean =>
      (facts[i]?.matches[id] ?? []).some((p) => fs.landings(i, p).some((l) => l.driver === driver && l.at === t.path));
    const anyLayer = (id: string): boolean => facts.some((_, i) => found(id, i, origin) || found(id, i, t.path) || landedHere(id, i));
    if (((t.mode & 0o4000) !== 0 || t.capability !== undefined) && !anyLayer('suid'))
      diffs.push(`${t.path} (from ${origin}, layer ${layer}) is setuid or has capabilities with ${driver}, check 7 did not see it`);
    if (t.path.endsWith('/su') && (t.mode & 0o111) !== 0 && !anyLayer('su'))
      diffs.push(`${t.path} (from ${origin}) is an executable su with ${driver}, check 10 did not see it`);
  }
  return diffs;
}

describeOrSkip('layer application parity with containers/storage (vfs and overlay)', { skip }, () => {
  after(() => closeLayerOracle());

  it(`agrees with the drivers on ${RUNS} generated layer sequences`, async () => {
    const tally = { applied: { vfs: 0, overlay: 0 }, refused: { vfs: 0, overlay: 0 }, hung: { vfs: 0, overlay: 0 } };
    await fc.assert(
      fc.asyncProperty(layerSeq, async (c) => {
        const tars = c.layers.map((l) => buildTar(l));
        const { facts, fs } = await readLayers(tars, watchingEveryPath(c.layers.flat(), NAMES));
        for (const driver of ['vfs', 'overlay'] as const) {
          if (process.env['LAYER_PARITY_DEBUG'] === '1') console.error('case', driver, JSON.stringify(c.layers));
          let theirs: OracleResult;
          try {
            theirs = await applyWithStorage(driver, tars);
          } catch (err) {
            // A driver that never finishes shows nothing: nothing to compare.
            if (!(err instanceof OracleHang)) throw err;
            tally.hung[driver] += 1;
            continue;
          }
          if (theirs.error !== null) {
            if (process.env['LAYER_PARITY_DEBUG'] === '1') console.error(driver, theirs.failedLayer, theirs.error.slice(0, 160));
            tally.refused[driver] += 1;
            continue;
          }
          tally.applied[driver] += 1;
          const diffs = [...compareRootFs(driver, theirs.entries, fs), ...coverage(driver, theirs, fs, facts)];
          if (diffs.length > 0)
            assert.fail(
              `${driver} and the inspector disagree:\n  ${diffs.join('\n  ')}\nlayers: ${JSON.stringify(c.layers, (k, v: unknown) => (k === 'xattrs' ? 'caps' : v))}`,
            );
        }
      }),
      { ...fuzzParams(RUNS), numRuns: RUNS },
    );
    const { applied, refused, hung } = tally;
    reportRuns(
      `layer parity (applied vfs ${applied.vfs} / overlay ${applied.overlay}, refused ${refused.vfs} / ${refused.overlay}, hung ${hung.vfs} / ${hung.overlay})`,
      RUNS,
    );
    // The generator must reach the drivers: a good share of the sequences apply. Over long
    // campaigns about 49 % apply with vfs and 40 % with overlay (2000 cases: 988 and 808), so
    // "more than half" failed them by chance; the bounds sit below what the generator gives.
    assert.ok(applied.vfs > RUNS * 0.4 && applied.overlay > RUNS * 0.3, JSON.stringify(tally));
  });
});
