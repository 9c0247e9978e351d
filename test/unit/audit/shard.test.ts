/** Sharding (src/audit/shard.ts): `--shard I/N`, the scheduler variables, and a stable, even split. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { isOciScanError } from '../../../src/errors.js';
import { inShard, shardOf } from '../../../src/audit/shard.js';
import { parseShard, shardOfRun } from '../../../src/cli/audit-args.js';

const KEYS = Array.from({ length: 3000 }, (_, i) => `team-${i % 37}/app-${i}:${i % 5}.0`);

test('shardOf: every key in exactly one part of N, the parts about even, the same part every time', () => {
  for (const n of [1, 3, 7]) {
    const sizes = new Array<number>(n).fill(0);
    for (const key of KEYS) {
      const part = shardOf(key, n);
      assert.ok(part >= 1 && part <= n);
      assert.equal(shardOf(key, n), part);
      assert.equal(Array.from({ length: n }, (_, i) => inShard(key, { index: i + 1, count: n })).filter(Boolean).length, 1);
      sizes[part - 1] = (sizes[part - 1] ?? 0) + 1;
    }
    for (const size of sizes) assert.ok(Math.abs(size - KEYS.length / n) < (KEYS.length / n) * 0.15, `parts of ${n}: ${sizes.join(', ')}`);
  }
});

test("a key's part depends on the key and N only, not on the other keys", () => {
  assert.equal(shardOf('team/app:1.0', 7), shardOf('team/app:1.0', 7));
  assert.notDeepEqual(
    KEYS.slice(0, 50).map((k) => shardOf(k, 7)),
    KEYS.slice(50, 100).map((k) => shardOf(k, 7)),
  );
});

test('parseShard takes I/N, 1-based; anything else is a usage error', () => {
  assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
  assert.deepEqual(parseShard(' 1 / 1 '), { index: 1, count: 1 });
  for (const bad of ['0/3', '4/3', '1/0', '1', 'a/b', '1/3/5', '-1/3']) {
    assert.throws(
      () => parseShard(bad),
      (e: unknown) => isOciScanError(e, 'USAGE'),
      bad,
    );
  }
});

test('shardOfRun: --shard first, then JOB_COMPLETION_INDEX (0-based) with --shards, then CI_NODE_INDEX/CI_NODE_TOTAL', () => {
  assert.deepEqual(shardOfRun('3/4', undefined, { JOB_COMPLETION_INDEX: '0', CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2' }), {
    index: 3,
    count: 4,
  });
  assert.deepEqual(shardOfRun(undefined, 4, { JOB_COMPLETION_INDEX: '0' }), { index: 1, count: 4 });
  assert.deepEqual(shardOfRun(undefined, 4, { JOB_COMPLETION_INDEX: '3' }), { index: 4, count: 4 });
  assert.deepEqual(shardOfRun(undefined, undefined, { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '5' }), { index: 2, count: 5 });
  assert.equal(shardOfRun(undefined, undefined, { JOB_COMPLETION_INDEX: '2' }), undefined, 'an index without --shards is not a shard');
  assert.equal(shardOfRun(undefined, undefined, {}), undefined);
  assert.throws(() => shardOfRun(undefined, 3, {}), /needs JOB_COMPLETION_INDEX/);
  assert.throws(
    () => shardOfRun(undefined, 3, { JOB_COMPLETION_INDEX: '3' }),
    (e: unknown) => isOciScanError(e, 'USAGE'),
  );
  assert.throws(
    () => shardOfRun(undefined, undefined, { CI_NODE_INDEX: '6', CI_NODE_TOTAL: '5' }),
    (e: unknown) => isOciScanError(e, 'USAGE'),
  );
});
