/**
 * Check 16: no compilers (docs/checks.md). Matches the names of data/compilers.ts in their plain,
 * versioned (`gcc-12`, `clang++-15`) and target-prefixed (`x86_64-linux-gnu-gcc-12`,
 * `aarch64-linux-gnu-g++`) forms, so that `gcc → gcc-12 → x86_64-linux-gnu-gcc-12` is seen at
 * every link. The original matched Debian package names instead (§6).
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
const LONG = COMPILERS.filter((n) => !SHORT_NAMES.has(n));
const SHORT = COMPILERS.filter((n) => SHORT_NAMES.has(n));

/** `[target-prefix-]name[-version]`, or one of Debian's wrappers. */
const COMPILER_NAME = new RegExp(
  [
    `^(?:[A-Za-z0-9_.]+-){0,4}(?:${alternatives(LONG)})${VERSION}$`,
    `^(?:(?:[A-Za-z0-9_.]+-){2,4})?(?:${alternatives(SHORT)})${VERSION}$`,
    `^(?:${alternatives(COMPILER_WRAPPERS)})$`,
  ].join('|'),
);

/** True when a base name is a compiler's. */
export function isCompilerName(basename: string): boolean {
  return COMPILER_NAME.test(basename);
}

const matcher: EntryMatcher = {
  id: 'compilers',
  fingerprint: JSON.stringify({ names: COMPILERS, wrappers: COMPILER_WRAPPERS, pattern: COMPILER_NAME.source }),
  matches: (e) => isProgramEntry(e) && isCompilerName(e.basename),
};

/** Fails on any program entry whose name is a compiler's (symlinks: the PATH rule of findings.ts). */
export const compilersCheck: Check = {
  id: 'compilers',
  title: 'Compilers in the image',
  severity: 'Medium',
  mitigation:
    'The image should not contain compilers in the file system, except when they are necessary for the operation of the application. Make sure that compilers are actually needed during execution',
  matcher,
  run: (input) => fileOutcome(input, 'compilers', 'Compiler(s) not found', programLinks(input.fs)),
};
