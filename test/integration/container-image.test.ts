/**
 * The Containerfile, built and checked the way CI does it, with no internet but the Debian
 * mirror and the npm registry: ci/image/build-base.sh makes the runtime base (this machine's
 * node + its libraries) and the builder (mmdebstrap bookworm + python3, make, g++ + node/npm);
 * both are pushed to a real registry on 127.0.0.1 and removed locally, `buildah bud` builds the
 * Containerfile against them (pulled back from that registry), and the result is pushed there.
 * Then:
 * - oci-scan (this checkout's CLI) scans the pushed image: every Critical and High check passes
 *   and the failed checks are exactly EXPECTED_FINDINGS;
 * - the image's own oci-scan (its node, its /app, its user, env and working directory, run by
 *   `buildah run --isolation chroot` with the image's ENTRYPOINT) scans the demo image and an
 *   image with zstd layers (its native zstd addon) and its reports equal the checkout's; its
 *   legacy reports land in the image's /reports;
 * - a base with a second layer holding setuid and setgid files still gives a one-layer image
 *   without those bits.
 * Needs root, buildah, mmdebstrap, zstd and docker-registry: a missing one skips with one loud line,
 * unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, cp, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { fetch } from 'undici';
import { ALL_CHECKS } from '../../src/checks/index.js';
import type { CheckId } from '../../src/checks/types.js';
import type { ScanDocument } from '../../src/report/formats/json.js';
import { buildImage, writeOciLayout } from '../helpers/image-builder.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The checks the image is allowed to fail, each with the reason. Empty: the image passes all
 * 17 (one layer, numeric non-root user, labels, an entrypoint, no suid/sgid file, no shell
 * tool, no compiler). A new failure, or a listed one that starts passing, fails the test.
 */
const EXPECTED_FINDINGS: Readonly<Partial<Record<CheckId, string>>> = {};

const needed = missingTools({ buildah: 'buildah', mmdebstrap: 'mmdebstrap', zstd: 'zstd' }, true);
const skipRegistry = registrySkipReason();
const skip = needed.skip || skipRegistry || false;
if (needed.skip) console.error(`!!! container image tests SKIPPED: ${needed.skip}`);

/** The parts of an image's config (as `buildah inspect` prints it) the tests read. */
interface ImageConfig {
  readonly User?: string;
  readonly Env?: string[];
  readonly Entrypoint?: string[];
  readonly WorkingDir?: string;
  readonly Labels?: Record<string, string>;
}

describeOrSkip(
  'the Containerfile, built with buildah against bases built from this machine, scanned by oci-scan',
  { skip, timeout: 15 * 60_000 },
  () => {
    let dir = '';
    let cleanup: () => Promise<void> = async () => undefined;
    let registry: RunningRegistry | undefined;
    let env: NodeJS.ProcessEnv = {};
    let base = '';
    let builder = '';
    let image = '';

    /** buildah with this test's private storage; resolves with stdout. */
    const buildah = async (args: readonly string[]): Promise<string> =>
      (await run('buildah', args, { env, maxBuffer: 64 * 1024 * 1024 })).stdout;

    /** The config of a local image. */
    const configOf = async (ref: string): Promise<ImageConfig> =>
      (JSON.parse(await buildah(['inspect', '--type', 'image', ref])) as { OCIv1: { config: ImageConfig } }).OCIv1.config;

    /** `buildah bud` of the repository's Containerfile against `baseRef`, tagged `tag`, pushed to the registry. */
    const build = async (baseRef: string, tag: string): Promise<void> => {
      // --layers: a second build with another BASE reuses the npm ci / build step.
      await buildah([
        'bud',
        '--quiet',
        '--isolation',
        'chroot',
        '--layers',
        '--tls-verify=false',
        '--build-arg',
        `BASE=${baseRef}`,
        '--build-arg',
        `BUILDER=${builder}`,
        '--build-arg',
        `VERSION=${VERSION}`,
        '--build-arg',
        'REVISION=0123456789abcdef0123456789abcdef01234567',
        '-f',
        join(REPO, 'Containerfile'),
        '-t',
        tag,
        REPO,
      ]);
      await buildah(['push', '--quiet', '--tls-verify=false', tag]);
    };

    before(async () => {
      if (needed.missing.length > 0)
        throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${needed.missing.join(', ')} missing (apt-get install ${needed.packages.join(' ')})`);
      ({ dir, cleanup } = await tempDir('oci-scan-container-image-'));
      // Private storage. overlay when the kernel has it (vfs copies the 550 MB builder per container).
      const driver = readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n') ? 'overlay' : 'vfs';
      await writeFile(
        join(dir, 'storage.conf'),
        `[storage]\ndriver = "${driver}"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
      );
      await mkdir(join(dir, 'tmp'));
      env = { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), TMPDIR: join(dir, 'tmp') };
      registry = await startRegistry({ kind: 'none' });
      base = `${registry.host}/oci-scan-base:node20`;
      builder = `${registry.host}/oci-scan-builder:node20`;
      image = `${registry.host}/oci-scan:${VERSION}`;
      await run(join(REPO, 'ci/image/build-base.sh'), [base, builder], { env, maxBuffer: 64 * 1024 * 1024 });
      for (const ref of [base, builder]) await buildah(['push', '--quiet', '--tls-verify=false', ref]);
      // The build must pull them from the registry, as CI's and users' builds do.
      await buildah(['rmi', base, builder]);
      await build(base, image);
    });

    after(async () => {
      if (dir) {
        await buildah(['rm', '--all']).catch(() => undefined);
        await buildah(['rmi', '--all', '--force']).catch(() => undefined);
        // The overlay driver keeps its home bind-mounted; nothing may stay mounted below dir.
        const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .map((l) => l.split(' ')[4] ?? '')
          .filter((m) => m.startsWith(`${dir}/`));
        for (const m of mounts.sort((a, b) => b.length - a.length)) await run('umount', [m]).catch(() => undefined);
      }
      await registry?.stop();
      await cleanup();
    });

    it('oci-scan scans the pushed image: every Critical and High check passes, the failures are exactly the expected ones', async (t) => {
      const r = await runCli([image, '--insecure-registry', registry?.host ?? '', '--format', 'json']);
      const doc = JSON.parse(r.stdout) as ScanDocument;
      const [scanned] = doc.images;
      assert.ok(scanned, r.stderr);
      assert.deepEqual(
        scanned.results.map((x) => x.Id),
        ALL_CHECKS.map((c) => c.id),
      );
      const severity = new Map(ALL_CHECKS.map((c) => [c.id, c.severity]));
      const failed = scanned.results.filter((x) => !x.Pass);
      for (const f of failed)
        assert.ok(!['Critical', 'High'].includes(severity.get(f.Id as CheckId) ?? ''), `${f.Id} (${f.Severity}) fails: ${f.Description}`);
      assert.deepEqual(failed.map((x) => x.Id).sort(), Object.keys(EXPECTED_FINDINGS).sort(), JSON.stringify(failed, null, 1));
      // Exit 0 when every check passes; otherwise the highest severity's code (docs/errors.md, "Exit codes").
      assert.equal(
        r.code,
        failed.length === 0 ? 0 : { Critical: 12, High: 13, Medium: 14, Low: 15, Informational: 0 }[scanned.highest],
        r.stderr,
      );
      assert.equal(scanned.layers.length, 1);

      const config = await configOf(image);
      assert.equal(config.User, '65532:65532');
      assert.deepEqual(config.Entrypoint, ['node', '/app/dist/src/cli/main.js']);
      assert.ok(config.Env?.includes('COMPLIANCE_REPORTS_DIR=/reports'), JSON.stringify(config.Env));
      const labels = config.Labels ?? {};
      for (const key of ['vendor', 'version', 'title', 'source', 'licenses', 'revision'])
        assert.ok(labels[`org.opencontainers.image.${key}`], `label org.opencontainers.image.${key}`);
      assert.equal(labels['org.opencontainers.image.version'], VERSION);
      assert.equal(labels['org.opencontainers.image.revision'], '0123456789abcdef0123456789abcdef01234567');

      // What docs/security.md promises beyond the checks: only /reports, /home/nonroot and /tmp
      // are writable by the user; no shell or package manager on the PATH.
      const container = (await buildah(['from', '--quiet', image])).trim();
      const root = (await buildah(['mount', container])).trim();
      const writable: string[] = [];
      for (const entry of await readdir(root, { recursive: true })) {
        const st = await lstat(join(root, entry));
        if (st.isSymbolicLink()) continue;
        const mine =
          (st.uid === 65532 && (st.mode & 0o200) !== 0) || (st.gid === 65532 && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0;
        if (mine) writable.push(`/${entry}`);
      }
      assert.deepEqual(writable.sort(), ['/home/nonroot', '/reports', '/tmp']);
      const onPath = ['bin', 'usr/bin', 'usr/local/bin', 'sbin', 'usr/sbin', 'nodejs/bin'].flatMap((d) =>
        existsSync(join(root, d)) ? readdirSync(join(root, d)) : [],
      );
      assert.deepEqual(
        onPath.filter((p) => ['sh', 'bash', 'dash', 'busybox', 'apt', 'apt-get', 'dpkg', 'npm'].includes(p)),
        [],
      );
      await buildah(['umount', container]);

      // The figures docs/container-image.md gives: the layer as pushed (gzip) and the unpacked size.
      const res = await fetch(`${registry?.url ?? ''}/v2/oci-scan/manifests/${VERSION}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      });
      const manifest = (await res.json()) as { layers: Array<{ size: number }> };
      const pushed = manifest.layers.reduce((sum, l) => sum + l.size, 0);
      t.diagnostic(
        `image: ${manifest.layers.length} layer, ${(pushed / 1e6).toFixed(1)} MB pushed, ${(await buildah(['images', '--format', '{{.Size}}', image])).trim()} unpacked`,
      );
      t.diagnostic(`checks: ${scanned.results.map((x) => `${x.Id} ${x.Pass ? 'pass' : 'FAIL'}`).join(', ')}`);
    });

    it("the image's own oci-scan (its ENTRYPOINT, user and env) reports on the demo image and a zstd image what the checkout reports", async () => {
      // The demo fixture (gzip layers) and an image with zstd layers (the zstd command), whose
      // decoder on Node 20 is zstd-napi's native addon, built in the image's build stage.
      const images = join(dir, 'images');
      await cp(join(REPO, 'fixtures/demo'), join(images, 'demo'), { recursive: true });
      const zstdImage = buildImage({
        config: { User: 'app:app', Cmd: ['/app/server'] },
        layers: [
          {
            compression: 'zstd',
            entries: [
              { type: 'file', path: 'etc/passwd', content: 'app:x:1000:1000::/app:/sbin/nologin\n' },
              { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
            ],
          },
        ],
      });
      await writeOciLayout(join(images, 'zstd'), [{ image: zstdImage, tag: '1.0' }]);
      // The same relative references on both sides, so even the descriptions that name the image are equal.
      const refs = ['oci:images/demo:1.0', 'oci:images/zstd:1.0'];
      const reportFiles = ['demo_1.0-compliance.json', 'zstd_1.0-compliance.json'];

      const container = (await buildah(['from', '--quiet', '--tls-verify=false', image])).trim();
      const { Entrypoint = [], WorkingDir = '/' } = await configOf(image);
      let code = 0;
      try {
        await buildah([
          'run',
          '--isolation',
          'chroot',
          '-v',
          `${images}:${WorkingDir}/images:ro`,
          container,
          '--',
          ...Entrypoint,
          ...refs,
          '--format',
          'legacy',
          '--format',
          'json=/tmp/scan.json',
        ]);
      } catch (err) {
        code = (err as { code?: number }).code ?? -1;
      }
      assert.equal(code, 12, 'exit code 12: both images fail Critical checks');
      const root = (await buildah(['mount', container])).trim();
      const fromImage = {
        json: JSON.parse(await readFile(join(root, 'tmp/scan.json'), 'utf8')) as ScanDocument,
        legacy: await Promise.all(reportFiles.map(async (f) => JSON.parse(await readFile(join(root, 'reports', f), 'utf8')) as unknown)),
        owners: await Promise.all(reportFiles.map(async (f) => (await stat(join(root, 'reports', f))).uid)),
      };
      await buildah(['umount', container]);

      const reports = join(dir, 'reports');
      const local = await runCli([...refs, '--format', 'legacy', '--format', `json=${join(dir, 'scan.json')}`, '--reports-dir', reports], {
        cwd: dir,
      });
      assert.equal(local.code, 12, local.stderr);
      const checkout = JSON.parse(await readFile(join(dir, 'scan.json'), 'utf8')) as ScanDocument;
      assert.equal(checkout.images.length, 2);
      assert.equal(checkout.images[1]?.results.find((x) => x.Id === 'suid')?.Pass, false, 'the zstd layer was read');
      assert.deepEqual(fromImage.json, checkout);
      assert.deepEqual(
        fromImage.legacy,
        await Promise.all(reportFiles.map(async (f) => JSON.parse(await readFile(join(reports, f), 'utf8')) as unknown)),
      );
      assert.deepEqual(fromImage.owners, [65532, 65532], 'written by the non-root user');
    });

    it('a base with another layer holding setuid and setgid files gives a one-layer image without those bits', async () => {
      const tree = join(dir, 'setid');
      await mkdir(join(tree, 'usr/lib/helper'), { recursive: true });
      await writeFile(join(tree, 'usr/lib/helper/setuid-helper'), '#!/bin/false\n');
      await chmod(join(tree, 'usr/lib/helper/setuid-helper'), 0o4755);
      await writeFile(join(tree, 'usr/lib/helper/setgid-helper'), '#!/bin/false\n');
      await chmod(join(tree, 'usr/lib/helper/setgid-helper'), 0o2755);
      const c = (await buildah(['from', '--quiet', '--tls-verify=false', base])).trim();
      await buildah(['copy', c, tree, '/']);
      const setidBase = `${registry?.host ?? ''}/oci-scan-base:setid`;
      await buildah(['commit', '--quiet', '--rm', c, setidBase]);
      await buildah(['push', '--quiet', '--tls-verify=false', setidBase]);
      const tag = `${registry?.host ?? ''}/oci-scan:setid`;
      await build(setidBase, tag);

      const r = await runCli([tag, '--insecure-registry', registry?.host ?? '', '--format', 'json']);
      const [scanned] = (JSON.parse(r.stdout) as ScanDocument).images;
      assert.ok(scanned, r.stderr);
      assert.equal(scanned.layers.length, 1);
      for (const id of ['suid', 'sgid', 'layer-count']) assert.equal(scanned.results.find((x) => x.Id === id)?.Pass, true, id);
      const container = (await buildah(['from', '--quiet', tag])).trim();
      const root = (await buildah(['mount', container])).trim();
      for (const name of ['setuid-helper', 'setgid-helper'])
        assert.equal((await stat(join(root, 'usr/lib/helper', name))).mode & 0o7777, 0o755, name);
      await buildah(['umount', container]);
    });
  },
);
