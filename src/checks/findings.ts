/**
 * Shared pieces of the file checks: the "entry named X" rule of SPEC §3, collecting a matcher's
 * findings per layer digest in image order, and the original's Python-style list rendering.
 */
import type { EntryInfo, EntryMatcher } from '../layer/inspect.js';
import { removedLater } from '../layer/final-fs.js';
import type { Check, CheckId, CheckInput, CheckOutcome, LayerFiles, Severity } from './types.js';

/**
 * "An entry named X" = a regular file with any execute bit, a symlink, or a hard link
 * (SPEC §3). Symlinks count because Debian installs `/usr/bin/nc` → `/etc/alternatives/nc`
 * and busybox images link `/bin/su` → `/bin/busybox`.
 */
export function isProgramEntry(entry: EntryInfo): boolean {
  return entry.type === 'symlink' || entry.type === 'hardlink' || (entry.type === 'file' && (entry.mode & 0o111) !== 0);
}

/** A matcher for program entries whose base name is in `names`. */
export function namedProgramMatcher(id: string, names: readonly string[]): EntryMatcher {
  const set = new Set(names);
  return { id, matches: (e) => set.has(e.basename) && isProgramEntry(e) };
}

/** Findings of matcher `id`, per layer, and the paths a later layer removes. */
export function collectFiles(input: CheckInput, id: string): { files: LayerFiles; removed: string[] } {
  const files: LayerFiles = [];
  const removed: string[] = [];
  const facts = input.layers.map((l) => l.facts);
  input.layers.forEach((layer, index) => {
    const paths = layer.facts.matches[id] ?? [];
    if (paths.length === 0) return;
    files.push({ [layer.digest]: [...paths] });
    for (const p of paths) if (removedLater(facts, index, p)) removed.push(p);
  });
  return { files, removed };
}

/** "(2 layers not scanned: …)" when some layers could not be inspected, else "". */
export function notScannedNote(input: CheckInput): string {
  if (input.notScanned.length === 0) return '';
  const reasons = [...new Set(input.notScanned.map((l) => l.reason))].join('; ');
  return ` (${input.notScanned.length} layer(s) not scanned: ${reasons})`;
}

/** The outcome of a file check from its findings. */
export function fileOutcome(input: CheckInput, id: string, passText: string): CheckOutcome {
  const { files, removed } = collectFiles(input, id);
  if (files.length === 0) return { pass: true, description: passText + notScannedNote(input) };
  const note = removed.length > 0 ? ` (removed from the final filesystem by a later layer, still present in the image's layers: ${removed.join(', ')})` : '';
  const counts = Object.fromEntries(input.layers.flatMap((l) => ((l.facts.matchCounts[id] ?? 0) > (l.facts.matches[id]?.length ?? 0) ? [[l.digest, l.facts.matchCounts[id] ?? 0]] : [])));
  return { pass: false, description: `Found file${note}${notScannedNote(input)}`, files, ...(Object.keys(counts).length > 0 ? { counts } : {}) };
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
    run: (input) => fileOutcome(input, def.id, `File(s) ${def.label} not found`),
  };
}

/** Python's repr of a list of strings, as the original printed them: `['bash', '-c']`. */
export function pythonList(items: readonly string[]): string {
  return `[${items.map((s) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)).join(', ')}]`;
}
