/**
 * Sharding an audit over an existing scheduler (docs/audit.md, "Sharding"): `--shard I/N`
 * keeps the I-th of N parts (1-based), chosen by a stable hash of `repository:tag`, so a
 * shard's work depends only on the listing and N — never on how another shard fared. Which
 * part a run takes (the flags, a Kubernetes Indexed Job's or GitLab's variables) is read by
 * src/cli/audit-args.ts.
 */
import { createHash } from 'node:crypto';

/** One part of an audit: `index` in 1..`count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The most parts an audit may be split into (a bound on a typo, not on the scheduler). */
export const MAX_SHARDS = 10_000;

/** The part (1..count) that `key` (`repository:tag`) belongs to: the first 6 bytes of its sha256, modulo `count`. */
export function shardOf(key: string, count: number): number {
  const hash = createHash('sha256').update(key).digest();
  return (hash.readUIntBE(0, 6) % count) + 1;
}

/** True when `key` is work of `shard` (every key is, without a shard). */
export function inShard(key: string, shard: Shard | undefined): boolean {
  return shard === undefined || shard.count === 1 || shardOf(key, shard.count) === shard.index;
}
