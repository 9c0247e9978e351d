/**
 * What an audit does when the mirror misbehaves: a repository that disappears between the
 * catalog and its tag list, and a tag whose manifest is gone by the time it is resolved — both
 * done to a real registry (docker-registry) behind a proxy that deletes the repository's or the
 * tag's directory from the registry's storage at that moment — are recorded in the summary with
 * their error while the audit goes on; a catalog page that is not JSON (which no real registry
 * sends on demand: a fault server) fails the listing, exit 20, with the summary saying so; and
 * a registry that keeps answering 429 (a fault server too) slows the audit down, which goes on.
 * With them, what the small mirror shows best: --latest-tags, --exclude, --platform all.
 *
 * Provenance: six repositories of test/helpers/audit-mirror.ts.
 */
import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SEVERITY_CODES } from '../../src/cli/exit-codes.js';
import { highestOf } from '../../src/report/model.js';
import { readSummary, runAudit } from '../helpers/audit.js';
import { mirrorImages, mirrorRepository, pushMirror } from '../helpers/audit-mirror.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startFaultRegistry, startServer } from '../helpers/fault-server.js';
import { buildImage, buildIndex } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();

describeOrSkip('audit faults', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: CountingProxy;
  let dir: string;
  let cleanup: () => Promise<void>;
  const gone = mirrorRepository(5);
  const tagGone = { repository: mirrorRepository(4), tag: '1.0' };

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-audit-faults-'));
    registry = await startRegistry({ kind: 'none' });
    await pushMirror(registry.url, 6);
    const repositories = join(registry.dataDir, 'docker/registry/v2/repositories');
    // The catalog is read whole before any tag list, and every tag is listed before any is resolved.
    proxy = await startCountingProxy(registry.url, (method, path) => {
      if (method === 'GET' && path.includes('/tags/list')) rmSync(join(repositories, gone), { recursive: true, force: true });
      if (method === 'GET' && path.includes('/manifests/'))
        rmSync(join(repositories, tagGone.repository, '_manifests/tags', tagGone.tag), { recursive: true, force: true });
    });
  });

  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  test('a repository deleted after the catalog and a tag deleted after its listing are recorded with their error; the rest is audited', async () => {
    const reports = join(dir, 'reports');
    const run = await runAudit([`${proxy.host}/mirror`, '--reports-dir', reports, '-q'], join(dir, 'cache'));
    const summary = readSummary(reports);
    const repoEntry = summary.images.find((i) => i.reference === `${proxy.host}/${gone}`);
    assert.equal(repoEntry?.error?.code, 'IMAGE_NOT_FOUND', JSON.stringify(repoEntry));
    assert.match(repoEntry?.error?.message ?? '', /not found/);
    const tagEntry = summary.images.find((i) => i.reference === `${proxy.host}/${tagGone.repository}:${tagGone.tag}`);
    assert.equal(tagEntry?.error?.code, 'IMAGE_NOT_FOUND', JSON.stringify(tagEntry));
    assert.equal(tagEntry?.highest, null);
    assert.equal(summary.totals.errors, 2);
    assert.equal(summary.totals.scanned, 5 * 3 - 1, 'every other tag of the five other repositories');
    assert.equal(summary.complete, true);
    // The failures do not change the exit code: the highest severity over the images scanned does.
    assert.equal(run.code, DEFAULT_SEVERITY_CODES[highestOf(summary.images.flatMap((i) => (i.highest ? [i.highest] : [])))], run.stderr);
    assert.match(run.stdout, /Not scanned:\n.*mirror\/app-00[45]/);
  });

  test('--latest-tags keeps the newest version-looking tag of each repository, --exclude leaves repositories out', async () => {
    const reports = join(dir, 'latest');
    // Straight to the registry (the proxy above deletes things): five repositories are left.
    await runAudit(
      [`${registry.host}/mirror`, '--latest-tags', '1', '--exclude', '**/app-003', '--reports-dir', reports, '-q'],
      join(dir, 'cache'),
    );
    const images = readSummary(reports).images;
    assert.deepEqual(
      images.map((i) => `${i.repository.replace(`${registry.host}/`, '')}:${i.tag}`),
      ['mirror/app-000:1.1', 'mirror/app-001:1.1', 'mirror/app-002:1.1', 'mirror/app-004:1.1'],
    );
  });

  test('--platform all: every platform of a multi-platform tag is an image of its own, with its own report', async () => {
    const amd64 = mirrorImages(0)['1.0'];
    const arm64 = buildImage({
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/sudo', content: 'sudo', mode: 0o4755 }] }],
      platform: { os: 'linux', architecture: 'arm64' },
    });
    await new Pusher(registry.url, 'multi/app').index([amd64, arm64], buildIndex([amd64, arm64]), '2.0');
    const reports = join(dir, 'platforms');
    await runAudit([`${registry.host}/multi`, '--platform', 'all', '--reports-dir', reports, '-q'], join(dir, 'cache'));
    const images = readSummary(reports).images;
    assert.deepEqual(
      images.map((i) => [i.reference, i.platform, i.report]),
      [
        [`${registry.host}/multi/app:2.0`, 'linux/amd64', 'multi_app_2.0_linux-amd64-compliance.json'],
        [`${registry.host}/multi/app:2.0`, 'linux/arm64', 'multi_app_2.0_linux-arm64-compliance.json'],
      ],
    );
    assert.ok(
      images[1]?.failedChecks.includes('sudo') && !images[0]?.failedChecks.includes('sudo'),
      'each platform is judged on its own layers',
    );
  });

  test('a catalog page that is not JSON fails the listing: exit 20, the summary records it', async () => {
    const server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (url.pathname === '/v2/_catalog' && !url.searchParams.has('last')) {
        return void res
          .writeHead(200, { 'content-type': 'application/json', link: '</v2/_catalog?last=b&n=2>; rel="next"' })
          .end('{"repositories":["a","b"]}');
      }
      if (url.pathname === '/v2/_catalog') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"repositories": [');
      res.writeHead(404).end();
    });
    try {
      const reports = join(dir, 'broken');
      const run = await runAudit([server.host, '--page-size', '2', '--reports-dir', reports], join(dir, 'cache-broken'));
      assert.equal(run.code, 20, run.stderr);
      assert.match(run.stderr, /^oci-scan: .*page 2 of listing the repositories/m);
      const summary = readSummary(reports);
      assert.equal(summary.listingError?.code, 'REGISTRY_ERROR');
      assert.equal(summary.complete, false);
      assert.deepEqual(summary.images, []);
      assert.equal(server.requests.filter((r) => r.path.includes('/tags/list')).length, 0, 'nothing is planned past a broken listing');
    } finally {
      await server.stop();
    }
  });
});

describe('audit rate', () => {
  test("a registry still answering 429 after the retries halves the audit's rate and the reference is tried again", async () => {
    const { dir, cleanup } = await tempDir('oci-scan-audit-rate-');
    const image = mirrorImages(1)['1.0'];
    let refused = 0;
    // 429 is a fault a real registry does not produce on demand: the fault server refuses the
    // tag's manifest more times than one request is retried (5 attempts), then serves it.
    const server = await startFaultRegistry({ repository: 'team/app', tag: '1.0', image }, (req, res) => {
      if (!req.url?.endsWith('/manifests/1.0') || refused >= 6) return false;
      refused += 1;
      res
        .writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' })
        .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return true;
    });
    try {
      await writeFile(join(dir, 'repos.txt'), `${server.host}/team/app:1.0\n`);
      const reports = join(dir, 'reports');
      const run = await runAudit(
        ['--repos', join(dir, 'repos.txt'), '--reports-dir', reports, '-q', '--log-level', 'warn'],
        join(dir, 'cache'),
      );
      assert.match(run.stderr, /rate-limits the audit \(429\): halving its rate/);
      const summary = readSummary(reports);
      assert.equal(summary.totals.errors, 0, JSON.stringify(summary.images));
      assert.equal(summary.images[0]?.digest, image.manifestDigest);
      assert.equal(refused, 6);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});
