/**
 * What a report may say about a secret it found (docs/checks.md, "Extended checks"): never the
 * secret, only enough to tell two findings apart and to recognise a known value — a short
 * prefix, the length and a sha256 prefix.
 */
import { createHash } from 'node:crypto';

/** At most this many leading characters are shown, and never more than a quarter of the secret. */
const MAX_PREFIX = 4;

/**
 * `"AKIA…" (20 chars, sha256:1a2b3c4d)`: the first characters (≤ 4, ≤ a quarter of the
 * length, so a short secret shows next to nothing), the length in characters and the first 8
 * hex digits of the sha256 of its UTF-8 bytes.
 */
export function fingerprint(secret: string): string {
  const chars = [...secret];
  const shown = chars.slice(0, Math.min(MAX_PREFIX, Math.floor(chars.length / 4))).join('');
  const hash = createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
  return `${JSON.stringify(`${shown}…`)} (${chars.length} chars, sha256:${hash})`;
}
