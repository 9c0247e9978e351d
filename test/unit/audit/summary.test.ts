/** The audit summary (src/audit/summary.ts): totals, shared layers, and the merge of shards. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { buildSummary, mergeSummaries, summaryHighest, type AuditSummary, type SummaryImage } from '../../../src/audit/summary.js';
import { summaryProblems } from '../../../src/audit/validate.js';
import { shardOf } from '../../../src/audit/shard.js';
import type { Severity } from '../../../src/checks/types.js';

const TOOL = { name: 'oci-scan', version: '0.0.0-test' };
const L = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function image(reference: string, highest: Severity | null, layers: number[], error?: string): SummaryImage {
  return {
    reference,
    repository: reference.replace(/:[^:/]+$/, ''),
    tag: reference.split(':').pop() ?? null,
    digest: highest === null ? null : L(reference.length % 10),
    platform: highest === null ? null : 'linux/amd64',
    highest,
    failedChecks: highest === 'Informational' || highest === null ? [] : ['sudo'],
    layers: layers.map(L),
    report: highest === null ? null : `${reference.replace(/[^a-z0-9.]/g, '_')}-compliance.json`,
    ...(error ? { error: { code: 'IMAGE_NOT_FOUND', message: error } } : {}),
  };
}

const IMAGES = [
  image('r/a:1.0', 'Low', [1, 2]),
  image('r/a:2.0', 'Critical', [1, 3]),
  image('r/b:1.0', 'Informational', [1, 2]),
  image('r/c:1.0', null, [], 'image r/c:1.0 not found'),
  image('r/d:1.0', 'High', [4]),
  image('r/e:1.0', 'Low', [2, 4]),
];

function whole(images: readonly SummaryImage[] = IMAGES): AuditSummary {
  return buildSummary(
    { tool: TOOL, source: 'r', shard: null, complete: true, pending: 0, run: { scanned: images.length, resumed: 0 } },
    images,
  );
}

function shards(n: number, skip: readonly number[] = []): AuditSummary[] {
  return Array.from({ length: n }, (_, i) => i + 1)
    .filter((i) => !skip.includes(i))
    .map((i) =>
      buildSummary(
        { tool: TOOL, source: 'r', shard: { index: i, count: n }, complete: true, pending: 0, run: { scanned: 1, resumed: 0 } },
        IMAGES.filter((im) => shardOf(im.reference, n) === i),
      ),
    );
}

test('totals, severities and shared layers are counted from the images; the summary matches its schema', () => {
  const s = whole();
  assert.deepEqual(s.totals, {
    images: 6,
    scanned: 5,
    errors: 1,
    bySeverity: { Critical: 1, High: 1, Medium: 0, Low: 2, Informational: 1 },
    distinctManifests: new Set(IMAGES.flatMap((i) => (i.digest ? [i.digest] : []))).size,
    distinctLayers: 4,
  });
  assert.deepEqual(s.sharedLayers, [
    { digest: L(1), images: 3 },
    { digest: L(2), images: 3 },
    { digest: L(4), images: 2 },
  ]);
  assert.equal(summaryHighest(s), 'Critical');
  assert.equal(summaryProblems(s), undefined);
  assert.deepEqual(whole([...IMAGES].reverse()), s, 'the order images come in does not matter');
});

test('merge of every shard gives the unsharded summary (but for the run statistics)', () => {
  for (const n of [1, 3, 7]) {
    const merged = mergeSummaries(shards(n).reverse(), TOOL);
    const { run: _a, missingShards: _m, ...rest } = merged;
    const { run: _b, ...expected } = whole();
    assert.deepEqual(rest, expected, `N = ${n}`);
    assert.equal(merged.missingShards, undefined);
    assert.equal(merged.run.scanned, n);
  }
});

test('merge names the missing shards and is incomplete; a shard given twice counts once', () => {
  const parts = shards(7, [2, 5]);
  const merged = mergeSummaries([...parts, ...parts], TOOL);
  assert.deepEqual(merged.missingShards, [2, 5]);
  assert.equal(merged.complete, false);
  assert.equal(merged.images.length, IMAGES.filter((i) => ![2, 5].includes(shardOf(i.reference, 7))).length);
  assert.equal(summaryProblems(merged), undefined);
});

test('merge of an incomplete shard, or of one whose listing failed, is incomplete and keeps the listing error', () => {
  const [first, ...rest] = shards(3);
  assert.ok(first);
  const stopped = mergeSummaries([{ ...first, complete: false, pending: 4 }, ...rest], TOOL);
  assert.equal(stopped.complete, false);
  assert.equal(stopped.pending, 4);
  const failed = mergeSummaries(
    [{ ...first, complete: false, listingError: { code: 'REGISTRY_ERROR', message: 'catalog broken' } }, ...rest],
    TOOL,
  );
  assert.deepEqual(failed.listingError, { code: 'REGISTRY_ERROR', message: 'catalog broken' });
});
