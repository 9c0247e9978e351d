/**
 * Shared pieces of the file checks: the "entry named X" rule (docs/checks.md),
 * collecting a matcher's findings per layer digest in image order, and the original's
 * Python-style list rendering.
 */
import { removalIndex, type Resolution } from '../layer/final-fs.js';
import type { EntryInfo, EntryMatcher } from '../layer/inspect.js';
import { Pacer } from '../layer/pace.js';
import { dirnameOf, normalisePath } from '../layer/paths.js';
import type { ImageConfig } from '../image/config.js';
import type { Check, CheckId, CheckInput, CheckOutcome, LayerFiles, LayerView, Severity } from './types.js';

/** The directories a user's PATH runs programs from (docs/checks.md, checks 9–16). */
export const PATH_DIRS: readonly string[] = ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/**
 * The directories of the PATH the image's config sets (docs/checks.md, checks 9–16): the value
 * of the last `PATH=` entry of `Env`, since runc sets the entries in order (a later one
 * replaces an earlier one) before it looks the command up. A relative entry, and the empty
 * one (the current directory), is a directory under `WorkingDir` (`/` when unset), where a
 * shell started by the container looks.
 */
export function configPathDirs(config: ImageConfig): string[] {
  const path = (config.config?.Env ?? []).filter((e) => e.startsWith('PATH=')).pop();
  if (path === undefined) return [];
  const cwd = config.config?.WorkingDir || '/';
  return [
    ...new Set(
      path
        .slice('PATH='.length)
        .split(':')
        .map((d) => normalisePath(d.startsWith('/') ? d : `${cwd}/${d}`)),
    ),
  ];
}

/**
 * What the matchers of checks 9–16 record: a regular file with any execute bit, a hard link or
 * a symlink. A symlink is only a candidate: `programLinks` keeps it when it is a program.
 */
export function isProgramEntry(entry: EntryInfo): boolean {
  return entry.type === 'symlink' || entry.type === 'hardlink' || (entry.type === 'file' && (entry.mode & 0o111) !== 0);
}

/** A matcher for program entries whose base name is in `names`. */
export function namedProgramMatcher(id: string, names: readonly string[]): EntryMatcher {
  const set = new Set(names);
  return { id, fingerprint: JSON.stringify([...set].sort()), matches: (e) => set.has(e.basename) && isProgramEntry(e) };
}

/** Whether a finding counts: `unproven` counts too, with a note (the facts could not tell). */
export type Verdict = 'counts' | 'ignored' | 'unproven';

/** A verdict on one finding, and what the description should add about it. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly note?: string;
}

/** Judges the findings of a file check: `index` is the layer's index in image order. */
export type Judge = (layer: LayerView, index: number, path: string) => Judgement;

const RANK: Record<Verdict, number> = { ignored: 0, unproven: 1, counts: 2 };

/**
 * The rule for symlinks of checks 9–16: a symlink is a program when its directory, resolved
 * through the final filesystem's links (Debian's `/bin` → `usr/bin`), is a PATH directory
 * (one of PATH_DIRS, or of the config's own PATH: configPathDirs) and the link resolves there
 * to a regular file with an execute bit. So apt's
 * `/usr/lib/apt/methods/ssh` → `rsh` and `/etc/alternatives/nc` are not programs, while
 * `/usr/bin/nc` → `/etc/alternatives/nc` → `/bin/nc.openbsd` is. When the target is unknown
 * and some layer recorded too many executables to keep them all, it counts (fail safe). Each
 * storage driver's view is judged and the link counts when it counts in either (the note
 * names the driver when they differ).
 */
export function programLinks(input: Pick<CheckInput, 'fs' | 'config'>): Judge {
  const { fs } = input;
  const pathDirList = [...new Set([...PATH_DIRS, ...configPathDirs(input.config)])];
  const truncated = new Set(fs.executablesTruncated);
  const views = fs.views.map((view) => {
    const pathDirs = new Set<string>(pathDirList);
    for (const dir of pathDirList) {
      const r = view.lookup(dir);
      if (r.status !== 'loop') pathDirs.add(r.path);
    }
    // Many links share a directory and a target (`gcc` → `gcc-12` in every layer): each is looked up once.
    const dirs = new Map<string, Resolution>();
    const targets = new Map<string, Verdict>();
    const judge = (path: string, target: string): Verdict => {
      const dirPath = dirnameOf(path);
      let dir = dirs.get(dirPath);
      if (!dir) {
        dir = view.lookup(dirPath);
        dirs.set(dirPath, dir);
      }
      if (dir.status === 'loop' || !pathDirs.has(dir.path)) return 'ignored';
      const key = `${dir.path}\0${target}`;
      const known = targets.get(key);
      if (known) return known;
      // The link itself is the first of the 40 hops.
      const to = view.lookup(target.startsWith('/') ? target : `${dir.path}/${target}`, { hops: 1 });
      let verdict: Verdict;
      if (to.status === 'found' && to.node.type === 'file')
        verdict = (to.node.inode.mode & 0o111) !== 0 ? 'counts' : truncated.has(to.node.inode.layer) ? 'unproven' : 'ignored';
      else verdict = to.status === 'absent' && truncated.size > 0 ? 'unproven' : 'ignored';
      targets.set(key, verdict);
      return verdict;
    };
    return { driver: view.driver, judge };
  });
  return (layer, _index, path) => {
    const target = Object.hasOwn(layer.facts.symlinks, path) ? layer.facts.symlinks[path] : undefined;
    if (target === undefined) return { verdict: 'counts' };
    const verdicts = views.map((v) => ({ driver: v.driver, verdict: v.judge(path, target) }));
    const best = verdicts.reduce((a, b) => (RANK[b.verdict] > RANK[a.verdict] ? b : a));
    const alike = verdicts.every((v) => v.verdict === best.verdict);
    if (alike || best.verdict === 'ignored') return { verdict: best.verdict };
    const drivers = verdicts.filter((v) => v.verdict === best.verdict).map((v) => v.driver);
    return { verdict: best.verdict, note: `${path} is a program with the ${drivers.join(' and ')} storage driver only` };
  };
}

/** What a file check found, per layer, and what its description must add. */
interface Collected {
  readonly files: LayerFiles;
  /** Paths a later layer removes (whiteout, opaque dir). */
  readonly removed: string[];
  /** Symlinks counted without proof that they lead to an executable. */
  readonly unproven: string[];
  /** What the judge, the landings and the check said about single findings. */
  readonly notes: string[];
  /** `… and N more in layer D` for layers whose findings were not all kept. */
  readonly more: string[];
}

const removalCache = new WeakMap<readonly LayerView[], (index: number, path: string) => boolean>();

/** The removal index of `input`'s layers, built once per scan for all checks. */
function removedLater(input: CheckInput): (index: number, path: string) => boolean {
  let index = removalCache.get(input.layers);
  if (!index) {
    index = removalIndex(input.layers.map((l) => l.facts));
    removalCache.set(input.layers, index);
  }
  return index;
}

/** `/a/x lands at /b/x through the symlink /a → b (vfs driver)`, when a link on the way redirected the entry. */
function landingNote(input: CheckInput, index: number, path: string): string | undefined {
  const landings = input.fs.landings(index, path);
  if (landings.length === 0) return undefined;
  const byPlace = new Map<string, string[]>();
  for (const l of landings) {
    const key = `${l.at}\0${l.link}\0${l.target}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), l.driver]);
  }
  const every = (drivers: readonly string[]): string =>
    drivers.length === input.fs.views.length ? 'every storage driver' : `${drivers.join(' and ')} driver`;
  return [...byPlace]
    .map(([key, drivers]) => {
      const [at, link, target] = key.split('\0');
      return `${path} lands at ${at} through the symlink ${link} → ${target} (${every(drivers)})`;
    })
    .join('; ');
}

/** How the optional parts of a file check's findings are judged and described. */
export interface FileOutcomeOptions {
  /** Filters the findings (all count by default). */
  readonly judge?: Judge;
  /** A check's own note on a finding it counts (`… has file capabilities cap_setuid+ep`). */
  readonly describe?: (layer: LayerView, path: string) => string | undefined;
}

/** Notes of one kind shown in a description before `… and N more`. */
const NOTES_SHOWN = 20;

function listed(items: readonly string[], separator = ', '): string {
  return items.length <= NOTES_SHOWN
    ? items.join(separator)
    : `${items.slice(0, NOTES_SHOWN).join(separator)}${separator}… and ${items.length - NOTES_SHOWN} more`;
}

/** Findings of matcher `id`, per layer in image order; `options.judge` filters them (all count by default). */
async function collectFiles(input: CheckInput, id: string, options: FileOutcomeOptions): Promise<Collected> {
  const files: LayerFiles = [];
  const removed: string[] = [];
  const unproven: string[] = [];
  const notes: string[] = [];
  const more: string[] = [];
  const isRemoved = removedLater(input);
  const pacer = new Pacer(input.signal);
  // A manifest may name one blob several times: its findings are listed once, where it first applies.
  const seen = new Set<string>();
  for (const [index, layer] of input.layers.entries()) {
    if (seen.has(layer.digest)) continue;
    seen.add(layer.digest);
    const kept = layer.facts.matches[id] ?? [];
    const paths: string[] = [];
    for (const p of kept) {
      if (pacer.due()) await pacer.pause();
      const judged = options.judge ? options.judge(layer, index, p) : { verdict: 'counts' as const };
      if (judged.verdict === 'ignored') continue;
      paths.push(p);
      if (judged.verdict === 'unproven') unproven.push(p);
      if (isRemoved(index, p)) removed.push(p);
      for (const note of [options.describe?.(layer, p), judged.note, landingNote(input, index, p)])
        if (note !== undefined) notes.push(note);
    }
    if (paths.length > 0) files.push({ [layer.digest]: paths });
    // Entries the recorder counted but did not keep cannot be looked at: they count.
    const extra = (layer.facts.matchCounts[id] ?? kept.length) - kept.length;
    if (extra > 0) more.push(`… and ${extra} more in layer ${layer.digest}`);
  }
  return { files, removed, unproven, notes, more };
}

/** `layer sha256:… not scanned (why); …` for the layers that could not be inspected. */
export function unscannedText(input: CheckInput): string {
  return input.notScanned.map((l) => `layer ${l.digest} not scanned (${l.reason})`).join('; ');
}

/** " (the final filesystem may be incomplete: …)" for the checks that read it, when layers were not scanned. */
export function incompleteNote(input: CheckInput): string {
  return input.notScanned.length === 0 ? '' : ` (the final filesystem may be incomplete: ${unscannedText(input)})`;
}

/** "(2 layers not scanned: …)" when some layers could not be inspected, else "". */
export function notScannedNote(input: CheckInput): string {
  if (input.notScanned.length === 0) return '';
  const reasons = [...new Set(input.notScanned.map((l) => l.reason))].join('; ');
  return ` (${input.notScanned.length} layer(s) not scanned: ${reasons})`;
}

/**
 * The outcome of a file check from its findings. A layer that was not scanned can never pass:
 * the check fails "not verified" unless the caller allowed unscanned layers
 * (`allowUnscannedLayers`), when it passes with a note as the original did. Yields to the
 * event loop while it works (a scan's signal stops it).
 */
export async function fileOutcome(
  input: CheckInput,
  id: string,
  passText: string,
  options: FileOutcomeOptions = {},
): Promise<CheckOutcome> {
  const { files, removed, unproven, notes, more } = await collectFiles(input, id, options);
  const unverified = input.notScanned.length > 0 && input.allowUnscannedLayers !== true;
  if (files.length === 0 && more.length === 0) {
    if (unverified) return { pass: false, description: `${passText} in the scanned layers, but not verified: ${unscannedText(input)}` };
    return { pass: true, description: passText + notScannedNote(input) };
  }
  const parts = [
    notes.length > 0 ? listed(notes, '; ') : '',
    removed.length > 0 ? `removed from the final filesystem by a later layer, still present in the image's layers: ${listed(removed)}` : '',
    unproven.length > 0
      ? `counted as programs because a layer had more executables than the scan records, so their targets could not be checked: ${listed(unproven)}`
      : '',
    more.join('; '),
    unverified ? `not verified: ${unscannedText(input)}` : '',
  ].filter((n) => n !== '');
  const description = `Found file${parts.map((n) => ` (${n})`).join('')}${unverified ? '' : notScannedNote(input)}`;
  // The true totals per layer where the recorder kept fewer paths than it matched.
  const counts = Object.fromEntries(
    input.layers.flatMap((l) =>
      (l.facts.matchCounts[id] ?? 0) > (l.facts.matches[id]?.length ?? 0) ? [[l.digest, l.facts.matchCounts[id] ?? 0]] : [],
    ),
  );
  const withCounts = Object.keys(counts).length > 0 ? { counts } : {};
  return files.length > 0 ? { pass: false, description, files, ...withCounts } : { pass: false, description, ...withCounts };
}

/** Definition of a "Checking for a X file" check (checks 9–15). */
export interface ForbiddenProgram {
  readonly id: CheckId;
  readonly title: string;
  /** The word the original's messages use (`ssh client`). */
  readonly label: string;
  readonly names: readonly string[];
  readonly severity?: Severity;
}

/** Builds a forbidden-program check: fails when any layer has a program entry with one of `names`. */
export function forbiddenProgramCheck(def: ForbiddenProgram): Check {
  return {
    id: def.id,
    title: def.title,
    severity: def.severity ?? 'Critical',
    mitigation: `The image must not contain file(s) ${def.label} in the image`,
    matcher: namedProgramMatcher(def.id, def.names),
    run: (input) => fileOutcome(input, def.id, `File(s) ${def.label} not found`, { judge: programLinks(input) }),
  };
}

/** Python's repr of a list of strings, as the original printed them: `['bash', '-c']`. */
export function pythonList(items: readonly string[]): string {
  return `[${items.map((s) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)).join(', ')}]`;
}
