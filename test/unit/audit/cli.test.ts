/** `oci-scan audit` arguments (src/cli/commands/audit.ts): the target, filters, shards, formats and their refusals. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { isOciScanError } from '../../../src/errors.js';
import { parseAuditArgs, parseMergeArgs, type AuditConfig } from '../../../src/cli/commands/audit.js';
import { AUDIT_HELP, AUDIT_MERGE_HELP } from '../../../src/cli/help.js';

async function config(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<AuditConfig> {
  const parsed = await parseAuditArgs(argv, { HOME: '/nonexistent', ...env });
  assert.ok(parsed, argv.join(' '));
  return parsed;
}

async function usage(argv: readonly string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<void> {
  await assert.rejects(
    parseAuditArgs(argv, { HOME: '/nonexistent', ...env }),
    (e: unknown) => isOciScanError(e, 'USAGE') && pattern.test(e.message),
    argv.join(' '),
  );
}

test('defaults: the table on stdout, reports in COMPLIANCE_REPORTS_DIR, the cache on, no shard, no rate limit', async () => {
  const c = await config(['registry.lan:5000/team'], { COMPLIANCE_REPORTS_DIR: 'out' });
  assert.deepEqual(c.target, { kind: 'registry', registry: 'registry.lan:5000', prefix: 'team' });
  assert.deepEqual(c.outputs, [{ format: 'table', dest: '-' }]);
  assert.equal(c.reportsDir, 'out');
  assert.equal(c.filters.shard, undefined);
  assert.equal(c.rate, 0);
  assert.ok(c.concurrency >= 4 && c.concurrency <= 16);
  assert.ok(c.cache);
});

test('filters, shards, formats', async () => {
  const c = await config([
    'oci:./m',
    '--include',
    'team/*',
    '--include',
    'lib/**',
    '--exclude',
    '*/test',
    '--tags',
    '^v?1\\.',
    '--latest-tags',
    '3',
    '--shard',
    '2/5',
    '--format',
    'sarif=a.sarif',
    '--format',
    'json',
    '--concurrency',
    '2',
    '--rate',
    '0.5',
    '--fresh',
  ]);
  assert.deepEqual(c.filters.include, ['team/*', 'lib/**']);
  assert.deepEqual(c.filters.exclude, ['*/test']);
  assert.ok(c.filters.tags?.test('v1.2') && !c.filters.tags.test('2.1'));
  assert.equal(c.filters.latestTags, 3);
  assert.deepEqual(c.filters.shard, { index: 2, count: 5 });
  assert.deepEqual(
    c.outputs,
    [
      { format: 'sarif', dest: 'a.sarif' },
      { format: 'json', dest: '-' },
    ],
    'the json document takes stdout from the table',
  );
  assert.equal(c.concurrency, 2);
  assert.equal(c.rate, 0.5);
  assert.equal(c.fresh, true);
  assert.deepEqual((await config(['r.lan', '--shards', '4'], { JOB_COMPLETION_INDEX: '3' })).filters.shard, { index: 4, count: 4 });
});

test('refusals: no target, legacy format, a bad regex, shards without an index, a value given twice', async () => {
  await usage([], /needs what to audit.*oci-scan scan audit/);
  await usage(['r.lan', '--format', 'legacy'], /always writes the legacy report files/);
  await usage(['r.lan', '--tags', '(('], /not a regular expression/);
  await usage(['r.lan', '--shards', '3'], /needs JOB_COMPLETION_INDEX/);
  await usage(['r.lan', '--latest-tags', '0'], /--latest-tags "0" is not a whole number/);
  await usage(['r.lan', '--shard', '1/2', '--shard', '2/2'], /--shard was given more than once/);
  await usage(['r.lan', '--nope'], /unknown option --nope/);
});

test("merge takes the shards' directories and the threshold", async () => {
  const m = await parseMergeArgs(['a', 'b', '--reports-dir', 'out', '--fail-on', 'high'], {});
  assert.deepEqual(m?.dirs, ['a', 'b']);
  assert.equal(m?.reportsDir, 'out');
  assert.deepEqual(m?.threshold, { failOn: 'High' });
  await assert.rejects(parseMergeArgs([], {}), /needs the reports directories/);
});

test('the audit help is wrapped at 80 columns and names every audit option', () => {
  for (const text of [AUDIT_HELP, AUDIT_MERGE_HELP]) for (const line of text.split('\n')) assert.ok(line.length <= 80, line);
  for (const option of [
    '--include',
    '--exclude',
    '--tags',
    '--latest-tags',
    '--shard',
    '--shards',
    '--concurrency',
    '--rate',
    '--page-size',
    '--fresh',
    '--repos',
    '--reports-dir',
    '--format',
  ])
    assert.ok(AUDIT_HELP.includes(option), option);
});

test('--checks: the check set reaches the scans (and so the verdict key); a wrong or repeated value is refused', async () => {
  assert.equal((await config(['oci:./m'])).checkSet, undefined);
  assert.equal((await config(['oci:./m', '--checks', 'extended'])).checkSet, 'extended');
  await usage(['oci:./m', '--checks', 'most'], /^--checks "most": use default \(the 17 checks\), extended or all/);
  await usage(['oci:./m', '--checks', 'all', '--checks', 'default'], /--checks was given more than once/);
});
