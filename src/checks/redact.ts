/**
 * How a report names a secret without holding it (docs/checks.md, "secret-files"): a short
 * prefix that tells the kind of token, the length, and a hash prefix that lets a reader match
 * two findings (or a known leaked value) without recovering the value.
 */
import { createHash } from 'node:crypto';

/** `ghp_…(40 chars, sha256:1a2b3c4d)`: at most 4 leading characters (fewer for a short secret), the length, 8 hex of its SHA-256. */
export function fingerprint(secret: string): string {
  const prefix = secret.slice(0, Math.min(4, Math.floor(secret.length / 8)));
  const hash = createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
  return `${prefix}…(${secret.length} chars, sha256:${hash})`;
}
