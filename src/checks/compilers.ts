/**
 * Check 16: no compilers (docs/checks.md). Matches the names of data/compilers.ts in their plain,
 * versioned (`gcc-12`, `clang++-15`) and target-prefixed (`x86_64-linux-gnu-gcc-12`,
 * `aarch64-linux-gnu-g++`) forms, so that `gcc → gcc-12 → x86_64-linux-gnu-gcc-12` is seen at
 * every link. The original tool matched Debian package names instead; docs/checks.md, check 16,
 * lists what is matched now.
 */
import type { EntryMatcher } from '../layer/inspect.js';
import { COMPILERS, COMPILER_WRAPPERS } from './data/compilers.js';
import { fileOutcome, isProgramEntry, programLinks } from './findings.js';
import type { Check } from './types.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Short names that are also common words in other programs' names (`docker-go`, `mk-cc`):
 * with a prefix they count only behind a real target triplet (two or more parts).
 */
const SHORT_NAMES = new Set(['cc', 'go', 'cpp', 'csc', 'mcs', 'pcc', 'tcc', 'dmd', 'gdc', 'zig', 'ghc', 'fpc', 'icc', 'icx']);

const alternatives = (names: readonly string[]): string => names.map(escape).join('|');
const VERSION = '(?:-\\d+(?:\\.\\d+)*)?';

/** `[target-prefix-]name[-version]` for `names`, or one of Debian's wrappers; never matches with no names. */
function compilerPattern(names: readonly string[], wrappers: readonly string[]): RegExp {
  const long = names.filter((n) => !SHORT_NAMES.has(n));
  const short = names.filter((n) => SHORT_NAMES.has(n));
  const parts = [
    long.length > 0 ? `^(?:[A-Za-z0-9_.]+-){0,4}(?:${alternatives(long)})${VERSION}$` : '',
    short.length > 0 ? `^(?:(?:[A-Za-z0-9_.]+-){2,4})?(?:${alternatives(short)})${VERSION}$` : '',
    wrappers.length > 0 ? `^(?:${alternatives(wrappers)})$` : '',
  ].filter((p) => p !== '');
  return new RegExp(parts.length > 0 ? parts.join('|') : '(?!)');
}

const COMPILER_NAME = compilerPattern(COMPILERS, COMPILER_WRAPPERS);

/** True when a base name is a compiler's (the default list). */
export function isCompilerName(basename: string): boolean {
  return COMPILER_NAME.test(basename);
}

/** Policy data of the compilers check: names added to and removed from data/compilers.ts. */
export interface CompilerNames {
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
}

/**
 * The compilers check for the default names plus `add` minus `remove` (a removed name also
 * drops its Debian wrappers, `c89` → `c89-gcc`). The matcher's fingerprint carries the names, so
 * facts recorded with other names are never reused.
 */
export function createCompilersCheck(data: CompilerNames = {}): Check {
  const removed = new Set(data.remove ?? []);
  const names = [...new Set([...COMPILERS, ...(data.add ?? [])])].filter((n) => !removed.has(n));
  const wrappers = COMPILER_WRAPPERS.filter((w) => !removed.has(w) && !removed.has(w.split('-')[0] ?? ''));
  const pattern = compilerPattern(names, wrappers);
  const matcher: EntryMatcher = {
    id: 'compilers',
    fingerprint: JSON.stringify({ names, wrappers, pattern: pattern.source }),
    matches: (e) => isProgramEntry(e) && pattern.test(e.basename),
  };
  return {
    id: 'compilers',
    title: 'Compilers in the image',
    severity: 'Medium',
    mitigation:
      'The image should not contain compilers in the file system, except when they are necessary for the operation of the application. Make sure that compilers are actually needed during execution',
    matcher,
    run: (input) => fileOutcome(input, 'compilers', 'Compiler(s) not found', { judge: programLinks(input) }),
  };
}

/** Fails on any program entry whose name is a compiler's (symlinks: the PATH rule of findings.ts). */
export const compilersCheck: Check = createCompilersCheck();
