/**
 * `oci-scan audit` against a real registry (Debian's docker-registry): a mirror of 150
 * repositories × 3 tags sharing nine layers (test/helpers/audit-mirror.ts), listed through a
 * counting proxy with a catalog page of 20 (8 pages). One cold audit is the reference run;
 * the tests compare every other run with it: a warm re-audit (no blob requested), shards
 * (N = 1, 3, 7) and their merge, and an audit stopped by SIGTERM and killed by SIGKILL, then
 * resumed.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditSummary } from '../../src/audit/summary.js';
import { DEFAULT_SEVERITY_CODES } from '../../src/cli/exit-codes.js';
import { highestOf, type ReportResult } from '../../src/report/model.js';
import { auditedPart, readSummary, records, runAudit, startAudit, untilRecords, validateSummary } from '../helpers/audit.js';
import { pushMirror, type Mirror } from '../helpers/audit-mirror.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const REPOS = 150;

describeOrSkip('oci-scan audit of a registry mirror', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: CountingProxy;
  let mirror: Mirror;
  let dir: string;
  let cleanup: () => Promise<void>;
  let target: string;
  /** The reference run: a cold, unsharded audit. */
  let cold: {
    code: number | null;
    summary: AuditSummary;
    reports: string;
    cache: string;
    layerGets: Map<string, number>;
    catalogPages: number;
    manifestGets: { byTag: number; byDigest: number };
  };

  /** Layer blob GETs per digest among the requests the proxy saw since `from`. */
  const layerGets = (from: number): Map<string, number> => {
    const out = new Map<string, number>();
    for (const r of proxy.requests.slice(from)) {
      const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(r.path.split('?')[0] ?? '')?.[1];
      if (r.method === 'GET' && digest && mirror.layers.has(digest)) out.set(digest, (out.get(digest) ?? 0) + 1);
    }
    return out;
  };
  const blobGets = (from: number): number =>
    proxy.requests.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).length;
  /** Manifest GETs since `from`, by tag and by digest. */
  const manifestGets = (from: number): { byTag: number; byDigest: number } => {
    const manifests = proxy.requests.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/manifests/'));
    const byDigest = manifests.filter((r) => r.path.includes('/manifests/sha256:')).length;
    return { byTag: manifests.length - byDigest, byDigest };
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-audit-'));
    registry = await startRegistry({ kind: 'none' });
    mirror = await pushMirror(registry.url, REPOS);
    proxy = await startCountingProxy(registry.url);
    target = `${proxy.host}/mirror`;
    const reports = join(dir, 'cold');
    const cache = join(dir, 'cache-cold');
    const from = proxy.requests.length;
    const run = await runAudit(
      [
        target,
        '--page-size',
        '20',
        '--reports-dir',
        reports,
        '--format',
        `json=${join(dir, 'cold.json')}`,
        '--format',
        `sarif=${join(dir, 'cold.sarif')}`,
        '--format',
        `junit=${join(dir, 'cold.xml')}`,
      ],
      cache,
    );
    assert.equal(run.stderr.match(/^oci-scan: \[\d+\/450\]/gm)?.length, 450, run.stderr.slice(-2000));
    const catalogPages = proxy.requests.slice(from).filter((r) => r.method === 'GET' && r.path.startsWith('/v2/_catalog')).length;
    cold = {
      code: run.code,
      summary: readSummary(reports),
      reports,
      cache,
      layerGets: layerGets(from),
      catalogPages,
      manifestGets: manifestGets(from),
    };
  });

  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  test('a cold audit: every repository:tag of every catalog page, its digest, a report per image, the exit code of the highest severity', () => {
    const { summary } = cold;
    assert.ok(cold.catalogPages >= 8, `the catalog needed several pages (${cold.catalogPages})`);
    const expected = mirror.repositories.flatMap((repo) => mirror.tags.map((tag) => `${proxy.host}/${repo}:${tag}`)).sort();
    assert.deepEqual(
      summary.images.map((i) => i.reference),
      expected,
    );
    assert.equal(summary.complete, true);
    assert.equal(summary.totals.errors, 0);
    assert.equal(summary.totals.distinctManifests, REPOS * 2, 'latest and 1.1 are one manifest');
    assert.equal(summary.totals.distinctLayers, mirror.layers.size);
    assert.equal(summary.sharedLayers[0]?.images, REPOS, 'each base layer is under a third of the images × 3 tags');
    // Every entry agrees with the registry and with its own legacy report.
    const highest: ReportResult['Severity'][] = [];
    for (const image of summary.images) {
      const [, repo = '', tag = ''] = /^[^/]+\/(.+):([^:]+)$/.exec(image.reference) ?? [];
      assert.equal(image.digest, mirror.digest(repo, tag), image.reference);
      assert.equal(image.platform, 'linux/amd64');
      const report = JSON.parse(readFileSync(join(cold.reports, image.report ?? ''), 'utf8')) as Record<string, ReportResult[]>;
      const results = report[image.reference] ?? [];
      assert.deepEqual(
        image.failedChecks,
        results.filter((r) => !r.Pass).map((r) => r.Id),
        image.reference,
      );
      assert.equal(image.highest, highestOf(results.map((r) => r.Severity)));
      assert.equal(results.find((r) => r.Id === 'tag-latest')?.Pass, tag !== 'latest', 'the checks ran for each tag, not once per digest');
      highest.push(image.highest ?? 'Informational');
    }
    assert.ok(new Set(highest).size > 1, 'the mirror has images of several severities');
    assert.equal(cold.code, DEFAULT_SEVERITY_CODES[highestOf(highest)]);
    assert.equal(new Set(summary.images.map((i) => i.report)).size, summary.images.length, 'no two images share a report file');
  });

  test("cost: a cold audit requests each distinct layer blob once and each tag's manifest once; a warm re-audit (same cache) requests no blob at all (layers nor configs), and finds the same", async () => {
    assert.deepEqual([...cold.layerGets.keys()].sort(), [...mirror.layers].sort());
    assert.deepEqual([...new Set(cold.layerGets.values())], [1]);
    // The manifest a tag resolved to is the one its digest is scanned from: not fetched twice.
    assert.deepEqual(cold.manifestGets, { byTag: 450, byDigest: 0 });

    const from = proxy.requests.length;
    const warm = await runAudit([target, '--page-size', '20', '--reports-dir', join(dir, 'warm'), '-q', '--concurrency', '16'], cold.cache);
    assert.equal(layerGets(from).size, 0, 'no layer blob request');
    assert.equal(blobGets(from), 0, 'no config blob request either: configs are kept in the cache by digest');
    assert.deepEqual(manifestGets(from), { byTag: 450, byDigest: 0 }, 'one manifest request per tag: what a tag points at is always asked');
    assert.equal(warm.stderr, '', "nothing on stderr: no warning either (16 images in flight listen on the run's signal)");
    assert.equal(warm.code, cold.code);
    assert.deepEqual(auditedPart(readSummary(join(dir, 'warm'))), auditedPart(cold.summary));
  });

  test('a warm re-audit writes the reports of unchanged images from the verdicts kept in the cache, each checked: a damaged one is scanned again; --fresh scans them all', async () => {
    // The cold audit's cache without its layer facts and configs: only the verdicts are left.
    const cache = join(dir, 'cache-verdicts');
    cpSync(cold.cache, cache, { recursive: true });
    const entries = readdirSync(cache);
    for (const name of entries) if (!name.startsWith('v-')) rmSync(join(cache, name));
    assert.equal(readdirSync(cache).length, 450, 'one verdict per reference');
    const warm = async (name: string, extra: readonly string[] = []): Promise<number> => {
      const from = proxy.requests.length;
      const run = await runAudit([target, '--page-size', '20', '--reports-dir', join(dir, name), '-q', ...extra], cache);
      assert.equal(run.code, cold.code, run.stderr);
      const summary = readSummary(join(dir, name));
      assert.deepEqual(summary.run, { scanned: 450, resumed: 0 }, 'a verdict from the cache is a scan of this run');
      assert.deepEqual(auditedPart(summary), auditedPart(cold.summary));
      for (const image of summary.images)
        assert.deepEqual(
          readFileSync(join(dir, name, image.report ?? ''), 'utf8'),
          readFileSync(join(cold.reports, image.report ?? ''), 'utf8'),
          image.reference,
        );
      return blobGets(from);
    };
    assert.equal(await warm('verdicts'), 0, 'no config nor layer read: every verdict came from the cache');

    // A verdict moved to another reference's entry, and one whose results do not match the report schema: both images are scanned.
    const [moved, forged] = readdirSync(cache).filter((n) => n.startsWith('v-'));
    const edit = (
      name: string | undefined,
      change: (record: { reference: string; images: Array<{ results: unknown[] }> }) => void,
    ): void => {
      const path = join(cache, name ?? '');
      const entry = JSON.parse(readFileSync(path, 'utf8')) as { verdict: { reference: string; images: Array<{ results: unknown[] }> } };
      change(entry.verdict);
      writeFileSync(path, JSON.stringify(entry));
    };
    edit(moved, (record) => (record.reference = `${record.reference}-elsewhere`));
    edit(forged, (record) => (record.images[0]?.results.splice(0, 1, { Id: 'forged' }), undefined));
    assert.ok((await warm('verdicts-damaged')) > 0, 'the two images whose verdicts do not check out were read and scanned');
    assert.ok((await warm('verdicts-fresh', ['--fresh'])) > 0, '--fresh scans');
  });

  test('the summary matches its schema (ajv), and the schema refuses a summary without totals', () => {
    assert.ok(validateSummary(cold.summary));
    const { totals: _totals, ...withoutTotals } = cold.summary;
    assert.equal(validateSummary(withoutTotals), false);
    assert.equal(validateSummary({ ...cold.summary, images: [{ ...cold.summary.images[0], highest: 'Severe' }] }), false);
  });

  test('--format json|sarif|junit cover the whole audit', () => {
    const json = JSON.parse(readFileSync(join(dir, 'cold.json'), 'utf8')) as {
      images: Array<{ reference: string; digest: string }>;
      errors: unknown[];
    };
    assert.deepEqual(
      json.images.map((i) => i.reference),
      cold.summary.images.map((i) => i.reference),
    );
    assert.deepEqual(json.errors, []);
    const sarif = JSON.parse(readFileSync(join(dir, 'cold.sarif'), 'utf8')) as {
      runs: Array<{ results: Array<{ properties: { image: string } }> }>;
    };
    const failing = cold.summary.images.filter((i) => i.failedChecks.length > 0).map((i) => i.reference);
    assert.deepEqual([...new Set(sarif.runs[0]?.results.map((r) => r.properties.image))].sort(), failing.sort());
    const junit = readFileSync(join(dir, 'cold.xml'), 'utf8');
    assert.equal(junit.match(/<testsuite /g)?.length, cold.summary.images.length);
  });

  test('the same reports directory again: every image resumed, no blob requested at all', async () => {
    const from = proxy.requests.length;
    const again = await runAudit([target, '--page-size', '20', '--reports-dir', cold.reports, '-q'], join(dir, 'cache-empty'));
    assert.equal(blobGets(from), 0);
    const summary = readSummary(cold.reports);
    assert.deepEqual(summary.run, { scanned: 0, resumed: 450 });
    assert.deepEqual(auditedPart(summary), auditedPart(cold.summary));
    assert.equal(again.code, cold.code);
  });

  test('a re-run under another policy, or back without it, scans again: records are reused only under the same verdict key', async () => {
    const reports = join(dir, 'policy-rerun');
    const policy = join(dir, 'no-sudo.yaml');
    writeFileSync(policy, 'version: 1\nchecks:\n  sudo: { disabled: true }\n');
    const sudoFailures = (summary: AuditSummary): number => summary.images.filter((i) => i.failedChecks.includes('sudo')).length;
    const first = await runAudit([target, '--page-size', '20', '--reports-dir', reports, '-q'], cold.cache);
    assert.deepEqual(readSummary(reports).run, { scanned: 450, resumed: 0 });
    assert.ok(sudoFailures(readSummary(reports)) > 0, 'the mirror has images failing sudo');
    const withPolicy = await runAudit(
      [target, '--page-size', '20', '--reports-dir', reports, '-q', '--policy', policy, '--format', 'table'],
      cold.cache,
    );
    const summary = readSummary(reports);
    assert.deepEqual(summary.run, { scanned: 450, resumed: 0 }, 'another policy: nothing reused');
    assert.equal(sudoFailures(summary), 0, 'the disabled check fails no image');
    assert.match(withPolicy.stdout, /\nThis run: 450 references scanned, 0 reused /, withPolicy.stdout.slice(0, 500));
    await runAudit([target, '--page-size', '20', '--reports-dir', reports, '-q'], cold.cache);
    assert.deepEqual(
      readSummary(reports).run,
      { scanned: 450, resumed: 0 },
      "back without the policy: the policy run's records are not reused either",
    );
    assert.deepEqual(auditedPart(readSummary(reports)), auditedPart(cold.summary));
    const again = await runAudit([target, '--page-size', '20', '--reports-dir', reports, '-q'], cold.cache);
    assert.deepEqual(readSummary(reports).run, { scanned: 0, resumed: 450 }, 'the same verdict key: reused');
    assert.equal(again.code, first.code);
  });

  test('an audit that matches no image (a typo in the prefix, an --include matching nothing) exits 22 with one line; --allow-empty exits 0', async () => {
    for (const args of [[`${proxy.host}/mirorr`], [target, '--include', 'no-such-repo-*']]) {
      const reports = join(dir, `empty-${args.length}`);
      const r = await runAudit([...args, '--reports-dir', reports, '-q'], join(dir, 'cache-empty-audit'));
      assert.equal(r.code, 22, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? '', /^oci-scan: the audit of .* matched no image: check the registry prefix .*--allow-empty/);
      assert.equal(readSummary(reports).images.length, 0, 'the empty summary is still written');
      const allowed = await runAudit([...args, '--reports-dir', reports, '-q', '--allow-empty'], join(dir, 'cache-empty-audit'));
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal(allowed.stderr, '');
    }
    // One reference over two shards: at least one of them gets nothing of a listing that is not empty.
    let emptyShards = 0;
    for (const part of ['1/2', '2/2']) {
      const reports = join(dir, `empty-shard-${part.replace('/', '-')}`);
      const shard = await runAudit(
        [target, '--tags', '^latest$', '--include', 'mirror/app-000', '--shard', part, '--reports-dir', reports, '-q'],
        join(dir, 'cache-empty-audit'),
      );
      if (readSummary(reports).images.length > 0) continue;
      emptyShards += 1;
      assert.equal(shard.code, 0, `an empty shard of a non-empty listing is not an empty audit: ${shard.stderr}`);
    }
    assert.equal(emptyShards, 1);
  });

  test('shards (N = 1, 3, 7) are disjoint, their union is the unsharded audit, and merge gives its summary and exit code', async () => {
    for (const n of [1, 3, 7]) {
      const dirs: string[] = [];
      const seen = new Set<string>();
      for (let i = 1; i <= n; i++) {
        const reports = join(dir, `shard-${n}-${i}`);
        dirs.push(reports);
        await runAudit([target, '--shard', `${i}/${n}`, '--reports-dir', reports, '-q'], cold.cache);
        const summary = readSummary(reports);
        assert.deepEqual(summary.shard, { index: i, count: n });
        for (const image of summary.images) {
          assert.ok(!seen.has(image.reference), `${image.reference} is in two shards of ${n}`);
          seen.add(image.reference);
        }
        if (n > 1) assert.ok(summary.images.length < 450 && summary.images.length > 0, `shard ${i}/${n} has part of the work`);
      }
      assert.deepEqual(
        [...seen].sort(),
        cold.summary.images.map((i) => i.reference),
      );
      const json = join(dir, `merged-${n}.json`);
      const merged = await runCliMerge(dirs, join(dir, `merged-${n}`), ['--format', `json=${json}`]);
      assert.equal(merged.code, cold.code, merged.stderr);
      const summary = readSummary(join(dir, `merged-${n}`));
      assert.deepEqual(auditedPart(summary), auditedPart(cold.summary));
      assert.equal(summary.missingShards, undefined);
      // The whole-audit document of the merge, from the shards' records, is the unsharded run's.
      const { tool: _a, ...mergedDoc } = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
      const { tool: _b, ...coldDoc } = JSON.parse(readFileSync(join(dir, 'cold.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(mergedDoc, coldDoc);
    }
    // A shard that never ran: merge names it, the summary is incomplete, exit 20.
    const partial = await runCliMerge(
      [1, 2, 3, 5, 6, 7].map((i) => join(dir, `shard-7-${i}`)),
      join(dir, 'merged-partial'),
    );
    assert.equal(partial.code, 20);
    assert.match(partial.stderr, /shards 4 of 7 are missing/);
    const summary = readSummary(join(dir, 'merged-partial'));
    assert.deepEqual(summary.missingShards, [4]);
    assert.equal(summary.complete, false);
  });

  test('JOB_COMPLETION_INDEX + --shards and CI_NODE_INDEX/CI_NODE_TOTAL pick the same part as --shard', async () => {
    const k8s = join(dir, 'k8s');
    await runAudit([target, '--shards', '3', '--reports-dir', k8s, '-q'], cold.cache, { JOB_COMPLETION_INDEX: '1' });
    const gitlab = join(dir, 'gitlab');
    await runAudit([target, '--reports-dir', gitlab, '-q'], cold.cache, { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' });
    const expected = readSummary(join(dir, 'shard-3-2')).images.map((i) => i.reference);
    assert.deepEqual(
      readSummary(k8s).images.map((i) => i.reference),
      expected,
    );
    assert.deepEqual(
      readSummary(gitlab).images.map((i) => i.reference),
      expected,
    );
  });

  test('resume: SIGTERM leaves a valid summary marked incomplete, SIGKILL loses only what was in flight, and the next run scans only the rest', async () => {
    const reports = join(dir, 'resume');
    const cache = join(dir, 'cache-resume');
    // --rate and one image at a time make the run long enough to be stopped part-way.
    const args = [target, '--reports-dir', reports, '--concurrency', '1', '--rate', '200'];

    const first = startAudit(args, cache);
    await untilRecords(reports, 60, first.child);
    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    assert.equal(stopped.code, 143, stopped.stderr);
    const partial = readSummary(reports);
    assert.equal(partial.complete, false);
    assert.ok(
      partial.pending > 0 && partial.images.length + partial.pending === 450,
      `${partial.images.length} done + ${partial.pending} pending`,
    );
    assert.equal(partial.images.length, (await records(reports)).length, 'the summary lists exactly the images whose records are in place');

    // Every scan appends one record: a reference recorded twice was scanned twice.
    const afterFirst = await records(reports);
    const second = startAudit(args, cache);
    await untilRecords(reports, afterFirst.length + 60, second.child);
    second.child.kill('SIGKILL');
    await second.exited;
    const afterSecond = await records(reports);
    assert.equal(new Set(afterSecond).size, afterSecond.length, 'the second run did not scan again what the first had done');

    const last = await runAudit([target, '--reports-dir', reports, '-q'], cache);
    assert.equal(last.code, cold.code, last.stderr);
    const summary = readSummary(reports);
    const afterLast = await records(reports);
    assert.equal(new Set(afterLast).size, afterLast.length, 'the last run did not scan again what the others had done');
    assert.equal(afterLast.length, 450);
    assert.deepEqual(summary.run, { scanned: 450 - afterSecond.length, resumed: afterSecond.length });
    assert.deepEqual(auditedPart(summary), auditedPart(cold.summary));
  });
});

/** `oci-scan audit merge DIRS --reports-dir OUT`. */
function runCliMerge(dirs: readonly string[], out: string, extra: readonly string[] = []): ReturnType<typeof runCli> {
  return runCli(['audit', 'merge', ...dirs, '--reports-dir', out, ...extra]);
}
