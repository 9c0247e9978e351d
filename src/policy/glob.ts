/**
 * The globs of a policy (docs/ci.md, "Policy"): `*` is any run of characters but `/`, `?` one
 * such character, `**` any run including `/`, and the slash beside a `**` is optional (so
 * `/usr/` + `**` also matches `/usr`). Everything else is literal. Used for paths and for image
 * references alike.
 */

const cache = new Map<string, RegExp>();

/** The anchored regular expression of `glob`. */
export function globRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      // The slash beside `**` is optional: `a/`+`**`+`/b` matches `a/b`, `a/`+`**` matches `a`.
      if (glob[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else if (out.endsWith('/')) {
        out = `${out.slice(0, -1)}(?:/.*)?`;
      } else {
        out += '.*';
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${out}$`, 's');
  if (cache.size < 10_000) cache.set(glob, re);
  return re;
}

/** True when `text` matches one of `globs`. */
export function matchesAny(globs: readonly string[], text: string): boolean {
  return globs.some((g) => globRegExp(g).test(text));
}
