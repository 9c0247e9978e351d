/**
 * `--latest-tags N` (docs/audit.md, "What is audited"): the N newest tags of a repository. Tags
 * that look like versions (`1`, `1.2`, `v1.2.3`, `1.2.3-rc.1`, `1.2.3+build`) are ordered as
 * semantic versions, a pre-release before its release; when a repository has no such tag, the
 * listing's order decides (its last N tags).
 */

/** A tag read as a version: numeric parts, then the pre-release identifiers (empty for a release). */
interface Version {
  readonly numbers: readonly number[];
  readonly pre: readonly string[];
}

const VERSION = /^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** `tag` as a version, or undefined when it does not look like one. */
export function versionOf(tag: string): Version | undefined {
  const m = VERSION.exec(tag);
  if (!m) return undefined;
  return { numbers: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], pre: m[4] === undefined ? [] : m[4].split('.') };
}

function comparePre(a: readonly string[], b: readonly string[]): number {
  // SemVer 2.0.0 §11: a release sorts after its pre-releases; identifiers compare numerically when both are numbers.
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Orders two versions (negative: `a` is older). */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a.numbers[i] ?? 0) - (b.numbers[i] ?? 0);
    if (d !== 0) return d;
  }
  return comparePre(a.pre, b.pre);
}

/** The `n` newest of `tags` (listing order in, newest first out when versions decide; listing order otherwise). */
export function latestTags(tags: readonly string[], n: number): string[] {
  const versions = tags.flatMap((tag) => {
    const v = versionOf(tag);
    return v ? [{ tag, v }] : [];
  });
  if (versions.length === 0) return tags.slice(Math.max(0, tags.length - n));
  // Equal versions (`1.2` and `1.2.0`) keep the listing's order: the sort is stable.
  return versions
    .sort((a, b) => compareVersions(b.v, a.v))
    .slice(0, n)
    .map((x) => x.tag);
}
