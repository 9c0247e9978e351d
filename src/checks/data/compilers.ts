/**
 * Compiler program names (docs/checks.md). Data, not code: extend the list, not the matcher.
 * Interpreters (python3, node, perl) are deliberately absent: they are not compilers.
 */

/** Base names of compilers and assemblers. */
export const COMPILERS: readonly string[] = [
  'cc',
  'c++',
  'c89',
  'c99',
  'gcc',
  'g++',
  'cpp',
  'clang',
  'clang++',
  'clang-cl',
  'gccgo',
  'go',
  'gfortran',
  'f77',
  'f95',
  'gdc',
  'ldc2',
  'dmd',
  'gnat',
  'gnatmake',
  'rustc',
  'cargo',
  'javac',
  'kotlinc',
  'scalac',
  'ghc',
  'ocamlc',
  'ocamlopt',
  'fpc',
  'tcc',
  'pcc',
  'sdcc',
  'mcs',
  'csc',
  'swiftc',
  'zig',
  'nasm',
  'yasm',
  'nvcc',
  'emcc',
  'em++',
  'icc',
  'icx',
  'icpx',
  'ifort',
  'ifx',
];

/** Debian's POSIX wrappers, which carry a suffix rather than a version. */
export const COMPILER_WRAPPERS: readonly string[] = ['c89-gcc', 'c99-gcc'];
