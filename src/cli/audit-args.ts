/**
 * The audit command's arguments that are command-line syntax: the target (`REGISTRY[/PREFIX]`,
 * `oci:DIR`, `--repos FILE`) and the shard of a run (`--shard I/N`, else a Kubernetes Indexed
 * Job's `JOB_COMPLETION_INDEX` with `--shards N`, else GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL`;
 * docs/audit.md, "Sharding").
 */
import type { AuditTarget } from '../audit/plan.js';
import { MAX_SHARDS, type Shard } from '../audit/shard.js';
import { OciScanError } from '../errors.js';

/** Parses the audit target argument: `oci:DIR`, or `REGISTRY[/PREFIX]`. */
export function parseTarget(text: string | undefined, reposFile: string | undefined): AuditTarget {
  if (reposFile !== undefined) {
    if (text !== undefined) throw new OciScanError('USAGE', 'give either REGISTRY[/PREFIX] (or oci:DIR) or --repos FILE, not both');
    if (reposFile === '') throw new OciScanError('USAGE', '--repos needs a file naming one HOST/REPOSITORY a line');
    return { kind: 'repos', file: reposFile };
  }
  if (text === undefined || text.trim() === '')
    throw new OciScanError(
      'USAGE',
      'oci-scan audit needs what to audit: REGISTRY[/PREFIX], oci:DIR or --repos FILE (see oci-scan audit --help); to scan an image named audit, run oci-scan scan audit',
    );
  if (text.startsWith('oci:')) {
    const dir = text.slice('oci:'.length);
    if (dir === '') throw new OciScanError('USAGE', 'oci: needs the layout directory, e.g. oci:./mirror');
    return { kind: 'layout', dir };
  }
  const plain = text.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  const slash = plain.indexOf('/');
  const registry = slash < 0 ? plain : plain.slice(0, slash);
  const prefix = slash < 0 ? '' : plain.slice(slash + 1);
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(registry) || (prefix !== '' && !/^[a-z0-9._/-]+$/.test(prefix))) {
    throw new OciScanError('USAGE', `${JSON.stringify(text)} is not REGISTRY[/PREFIX] (e.g. registry.local:5000/team) nor oci:DIR`);
  }
  return { kind: 'registry', registry, prefix };
}

function checkedShard(index: number, count: number, what: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS)
    throw new OciScanError('USAGE', `${what}: the number of shards must be a whole number from 1 to ${MAX_SHARDS}`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count)
    throw new OciScanError('USAGE', `${what}: the shard must be a whole number from 1 to ${count}`);
  return { index, count };
}

function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^\s*\d{1,6}\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** Parses `--shard I/N` (1-based: `1/3`, `2/3`, `3/3`). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m)
    throw new OciScanError('USAGE', `--shard ${JSON.stringify(text)} is not I/N: give the part and the number of parts, e.g. --shard 2/5`);
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
    if (k8s === undefined || k8s.trim() === '')
      throw new OciScanError(
        'USAGE',
        '--shards N needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it); elsewhere use --shard I/N',
      );
    return checkedShard(wholeNumber(k8s) + 1, shards, `JOB_COMPLETION_INDEX=${JSON.stringify(k8s)} with --shards ${shards}`);
  }
  const node = env['CI_NODE_INDEX'];
  const total = env['CI_NODE_TOTAL'];
  if (node !== undefined && node.trim() !== '' && total !== undefined && total.trim() !== '') {
    return checkedShard(
      wholeNumber(node),
      wholeNumber(total),
      `CI_NODE_INDEX=${JSON.stringify(node)} and CI_NODE_TOTAL=${JSON.stringify(total)}`,
    );
  }
  return undefined;
}
