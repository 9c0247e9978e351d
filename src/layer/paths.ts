/**
 * Tar entry names → absolute, normalised paths (docs/checks.md): `./usr/bin/su`, `usr/bin/su`,
 * `/usr//bin/./su` all become `/usr/bin/su`; `..` never climbs above the root.
 */

/** A `.` or `..` segment anywhere in a relative path. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Normalises a tar entry name (or an absolute link target) to an absolute path. */
export function normalisePath(name: string): string {
  // Fast path for what tar writers produce (`usr/bin/x`, `./usr/bin/x`, `/usr/bin/x`, `etc/`):
  // no empty, `.` or `..` segment left after the usual prefix and trailing slash.
  let s = name.startsWith('./') ? name.slice(2) : name.startsWith('/') ? name.slice(1) : name;
  if (s.endsWith('/')) s = s.slice(0, -1);
  if (s !== '' && s[0] !== '/' && !s.includes('//') && !DOT_SEGMENT.test(s)) return '/' + s;
  const parts: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return '/' + parts.join('/');
}

/** The directory part of a normalised path (`/` for top-level entries). */
export function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The last component of a normalised path. */
export function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Resolves a symlink target relative to the directory holding the link. */
export function resolveLinkTarget(linkPath: string, target: string): string {
  return target.startsWith('/') ? normalisePath(target) : normalisePath(`${dirnameOf(linkPath)}/${target}`);
}

/** True when `path` is `dir` or lies below it. */
export function isUnder(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(dir + '/');
}
