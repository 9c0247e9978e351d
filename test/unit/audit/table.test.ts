/** The audit table (src/audit/table.ts): images by severity, frequent failures, worst repositories, what was not scanned; names escaped. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { buildSummary, type SummaryImage } from '../../../src/audit/summary.js';
import { auditTable } from '../../../src/audit/table.js';
import type { Severity } from '../../../src/checks/types.js';

function image(reference: string, highest: Severity | null, failedChecks: string[], error?: string): SummaryImage {
  return {
    reference,
    repository: reference.replace(/:[^:/]+$/, ''),
    tag: 'x',
    digest: null,
    platform: null,
    highest,
    failedChecks,
    layers: [],
    report: null,
    ...(error ? { error: { code: 'IMAGE_NOT_FOUND', message: error } } : {}),
  };
}

const HEADER = {
  tool: { name: 'oci-scan', version: '0' },
  source: 'reg/team',
  shard: null,
  complete: true,
  pending: 0,
  run: { scanned: 0, resumed: 0 },
};

test('the table counts images per highest severity and ranks failures and repositories', () => {
  const text = auditTable(
    buildSummary(HEADER, [
      image('reg/a:1', 'Low', ['layer-count']),
      image('reg/a:2', 'Low', ['layer-count']),
      image('reg/b:1', 'Critical', ['sudo', 'layer-count']),
      image('reg/c:1', 'Critical', ['sudo']),
      image('reg/c:2', 'Critical', ['suid']),
      image('reg/d:1', 'Informational', []),
      image('reg/e:1', null, [], 'image reg/e:1 not found'),
    ]),
  );
  assert.match(
    text,
    /^Audit of reg\/team: 7 images, 6 with results, 1 not scanned, .* — complete\nThis run: 0 references scanned, 0 reused /,
  );
  const rerun = auditTable(buildSummary({ ...HEADER, run: { scanned: 2, resumed: 5 } }, [image('reg/a:1', 'Low', ['layer-count'])]));
  assert.match(
    rerun,
    /\nThis run: 2 references scanned, 5 reused from an earlier run's records/,
    'what was scanned and what reused, each counted apart',
  );
  assert.match(text, /\n {2}Critical +3\n {2}High +0\n {2}Medium +0\n {2}Low +2\n {2}Informational +1\n {2}not scanned +1\n/);
  assert.match(text, /Most frequent failures:\n +3 {2}layer-count +The number of layers in the image\n +2 {2}sudo /);
  // c has two Critical images, b one: c first; a (Low) after them; d (all passed) not listed.
  assert.match(text, /Worst repositories:\n {2}Critical +2\/2 +reg\/c\n {2}Critical +1\/1 +reg\/b\n {2}Low +2\/2 +reg\/a\n/);
  assert.doesNotMatch(text, /reg\/d\n/);
  assert.match(text, /Not scanned:\n {2}reg\/e:1: image reg\/e:1 not found\n/);
});

test('an incomplete, failed or sharded audit says so; names from the registry are escaped', () => {
  const stopped = auditTable(
    buildSummary({ ...HEADER, complete: false, pending: 12, shard: { index: 2, count: 3 } }, [
      image('reg/\u001b[31mred:1', 'High', ['sudo']),
    ]),
  );
  assert.match(stopped, /\(shard 2\/3\): .* — INCOMPLETE, 12 pending\n/);
  assert.ok(!stopped.includes('\u001b'), 'no raw ESC');
  assert.match(stopped, /\\x1b\[31mred/);
  const failed = auditTable(
    buildSummary({ ...HEADER, complete: false, listingError: { code: 'REGISTRY_ERROR', message: 'catalog page 2 broken' } }, []),
  );
  assert.match(failed, /— listing failed\nListing failed: catalog page 2 broken\n/);
});
