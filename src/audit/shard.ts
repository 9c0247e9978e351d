/**
 * Sharding an audit over an existing scheduler (docs/audit.md, "Sharding"): `--shard I/N`
 * keeps the I-th of N parts (1-based), chosen by a stable hash of `repository:tag`, so a
 * shard's work depends only on the listing and N — never on how another shard fared. The
 * part is read from a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, 0-based, with
 * `--shards N`) or from GitLab's `parallel:` (`CI_NODE_INDEX`, 1-based, and `CI_NODE_TOTAL`).
 */
import { createHash } from 'node:crypto';
import { OciScanError } from '../errors.js';

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

function checkedShard(index: number, count: number, what: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) throw new OciScanError('USAGE', `${what}: the number of shards must be a whole number from 1 to ${MAX_SHARDS}`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) throw new OciScanError('USAGE', `${what}: the shard must be a whole number from 1 to ${count}`);
  return { index, count };
}

function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^\s*\d{1,6}\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** Parses `--shard I/N` (1-based: `1/3`, `2/3`, `3/3`). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m) throw new OciScanError('USAGE', `--shard ${JSON.stringify(text)} is not I/N: give the part and the number of parts, e.g. --shard 2/5`);
  return checkedShard(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

/**
 * The shard of a run: `--shard I/N`, else `JOB_COMPLETION_INDEX` (0-based) with `--shards N`,
 * else `CI_NODE_INDEX`/`CI_NODE_TOTAL` (1-based); undefined for an unsharded run. A
 * `--shards N` without an index in the environment is a usage error: the job would silently
 * audit everything N times.
 */
export function shardOfRun(flag: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv): Shard | undefined {
  if (flag !== undefined) return parseShard(flag);
  const k8s = env['JOB_COMPLETION_INDEX'];
  if (shards !== undefined) {
    if (k8s === undefined || k8s.trim() === '') throw new OciScanError('USAGE', '--shards N needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it); elsewhere use --shard I/N');
    return checkedShard(wholeNumber(k8s) + 1, shards, `JOB_COMPLETION_INDEX=${JSON.stringify(k8s)} with --shards ${shards}`);
  }
  const node = env['CI_NODE_INDEX'];
  const total = env['CI_NODE_TOTAL'];
  if (node !== undefined && node.trim() !== '' && total !== undefined && total.trim() !== '') {
    return checkedShard(wholeNumber(node), wholeNumber(total), `CI_NODE_INDEX=${JSON.stringify(node)} and CI_NODE_TOTAL=${JSON.stringify(total)}`);
  }
  return undefined;
}
