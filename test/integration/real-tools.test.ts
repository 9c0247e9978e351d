/**
 * Images written by real tools, scanned through scan() (Debian packages in brackets):
 * - an OCI layout that umoci builds from a directory tree (two `insert` layers and a `config`
 *   with --config.user / --config.label), copied by skopeo to docker-archive:FILE:app:1.0 and
 *   to oci-archive:FILE:1.0, and those archives gzip- and zstd-compressed [umoci, skopeo, zstd];
 * - an image built by buildah (`from scratch`, `copy`, `config`, `commit`) and written by
 *   `podman save` as docker-archive (layer.tar symlinks), oci-archive and a multi-image archive
 *   [buildah, podman];
 * - a multi-platform image exported for one platform by `ctr export --platform`: the whole
 *   index, one platform's blobs, and a manifest.json naming compressed blobs [containerd];
 * - `docker load` / `docker save` of Debian's dockerd 20.10: the go-containerregistry and Jib
 *   tarball writers of test/helpers are loadable, `docker save` archives scan, and a
 *   duplicated manifest.json is loaded differently by docker and podman [docker.io, containerd].
 * A missing tool skips with one loud line naming its apt package, unless
 * OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure. Daemons need root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import type { Logger } from 'pino';
import type { ReportResult } from '../../src/report/model.js';
import { scan, type ImageScan } from '../../src/scan.js';
import { isOciScanError } from '../../src/errors.js';
import { openImages } from '../../src/sources/index.js';
import type { Image } from '../../src/image/types.js';
import { buildImage, buildIndex, buildTar, digestOf, tarOfFiles, writeGgcrTarball, type EntrySpec } from '../helpers/image-builder.js';
import { capturedLogger } from '../helpers/registry-server.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { missingTools, startContainerd, startDocker, type Daemon } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);
const open = (input: string, extra: Parameters<typeof testScanOptions>[0] = {}): Promise<Image[]> =>
  openImages(input, testScanOptions(extra));

/** The tools a describe() needs; logs the loud skip line; throws in before() when CI requires them. */
function tools(label: string, needed: Readonly<Record<string, string>>, needsRoot = false): { skip: string | false; require: () => void } {
  const { skip, missing, packages } = missingTools(needed, needsRoot);
  if (skip) console.error(`!!! real-tools tests SKIPPED (${label}): ${skip}`);
  return {
    skip: skip ? `${label}: ${skip}` : false,
    require: () => {
      if (missing.length > 0)
        throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing.join(', ')} missing (apt-get install ${packages.join(' ')})`);
    },
  };
}

const umociSkopeo = tools('umoci, skopeo', { umoci: 'umoci', skopeo: 'skopeo', zstd: 'zstd' });

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n';

/** Layer 1: a small Debian-like root (setuid su, nc → busybox). Layer 2: a compiler chain. */
async function writeTrees(dir: string): Promise<{ base: string; app: string }> {
  const base = join(dir, 'base');
  await mkdir(join(base, 'etc'), { recursive: true });
  await mkdir(join(base, 'usr/lib'), { recursive: true });
  await mkdir(join(base, 'usr/bin'), { recursive: true });
  await writeFile(join(base, 'usr/lib/os-release'), OS_RELEASE);
  await symlink('../usr/lib/os-release', join(base, 'etc/os-release'));
  await writeFile(join(base, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(join(base, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  await writeFile(join(base, 'usr/bin/su'), '#!/bin/sh\n');
  await chmod(join(base, 'usr/bin/su'), 0o4755);
  // nc is a program only when its link leads to an executable (docs/checks.md).
  await mkdir(join(base, 'bin'), { recursive: true });
  await writeFile(join(base, 'bin/busybox'), '#!/bin/sh\n');
  await chmod(join(base, 'bin/busybox'), 0o755);
  await symlink('/bin/busybox', join(base, 'usr/bin/nc'));
  const app = join(dir, 'app');
  await mkdir(join(app, 'usr/bin'), { recursive: true });
  await writeFile(join(app, 'usr/bin/x86_64-linux-gnu-gcc-12'), '#!/bin/sh\n');
  await chmod(join(app, 'usr/bin/x86_64-linux-gnu-gcc-12'), 0o755);
  await symlink('x86_64-linux-gnu-gcc-12', join(app, 'usr/bin/gcc-12'));
  return { base, app };
}

/** Scans `input` (one image); `byId` finds a result. */
async function scanOne(input: string, logger?: Logger): Promise<{ result: ImageScan; byId: (id: string) => ReportResult }> {
  const [result, ...rest] = await scan(input, testScanOptions(logger ? { logger } : {}));
  assert.ok(result);
  assert.equal(rest.length, 0);
  return {
    result,
    byId: (id) => {
      const r = result.results.find((x) => x.Id === id);
      assert.ok(r, `no result ${id}`);
      return r;
    },
  };
}

/** Findings of the two-layer image built from writeTrees(), whatever its layer digests. */
function assertFindings(result: ImageScan, byId: (id: string) => ReportResult): void {
  const digests = result.image.layers.map((l) => l.digest);
  assert.equal(digests.length, 2);
  assert.deepEqual(byId('suid').Files, [{ [digests[0] ?? '']: ['/usr/bin/su'] }]);
  assert.equal(byId('suid').Pass, false);
  assert.deepEqual(byId('nc').Files, [{ [digests[0] ?? '']: ['/usr/bin/nc'] }]);
  assert.deepEqual(byId('compilers').Files, [{ [digests[1] ?? '']: ['/usr/bin/gcc-12', '/usr/bin/x86_64-linux-gnu-gcc-12'] }]);
  assert.equal(byId('sudo').Pass, true);
  assert.equal(byId('sgid').Pass, true);
  assert.equal(byId('default-user').Pass, true, byId('default-user').Description);
  assert.equal(byId('labels').Pass, true, byId('labels').Description);
  assert.equal(byId('layer-count').Pass, false);
  assert.equal(byId('startup-command').Pass, true);
  assert.equal(byId('tag-latest').Pass, true);
  assert.match(byId('os-type').Description, /based on the OS \['Debian GNU\/Linux', '12'\]/);
  assert.equal(result.highest, 'Critical');
}

describeOrSkip('images written by umoci and skopeo', { skip: umociSkopeo.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let layout = '';

  before(async () => {
    umociSkopeo.require();
    ({ dir, cleanup } = await tempDir('oci-scan-real-tools-'));
    const { base, app } = await writeTrees(dir);
    layout = join(dir, 'layout');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:1.0`]);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:1.0`, base, '/']);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:1.0`, app, '/']);
    await run('umoci', [
      'config',
      '--image',
      `${layout}:1.0`,
      '--config.user',
      'app:app',
      '--config.label',
      'org.opencontainers.image.vendor=Acme',
      '--config.label',
      'version=1.0',
      '--config.cmd',
      '/app/server',
      '--architecture',
      'amd64',
      '--os',
      'linux',
    ]);
    // No /etc/containers/policy.json here: local copies need no signature policy.
    await run('skopeo', [
      'copy',
      '--insecure-policy',
      '--quiet',
      `oci:${layout}:1.0`,
      `docker-archive:${join(dir, 'app-docker.tar')}:app:1.0`,
    ]);
    await run('skopeo', ['copy', '--insecure-policy', '--quiet', `oci:${layout}:1.0`, `oci-archive:${join(dir, 'app-oci.tar')}:1.0`]);
  });
  after(() => cleanup());

  it('scans the OCI layout umoci wrote (oci:DIR:1.0)', async () => {
    const { result, byId } = await scanOne(`oci:${layout}:1.0`);
    assert.ok(result.image.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'));
    assertFindings(result, byId);
    assert.deepEqual(Object.keys(result.report), [`oci:${layout}:1.0`]);
  });

  it('scans the docker archive skopeo wrote (docker-archive:FILE and :app:1.0), layer digests = diff_ids', async () => {
    const file = join(dir, 'app-docker.tar');
    for (const input of [`docker-archive:${file}`, `docker-archive:${file}:app:1.0`, `docker-archive:${file}:docker.io/library/app:1.0`]) {
      const { result, byId } = await scanOne(input);
      assert.deepEqual(
        result.image.layers.map((l) => l.digest),
        result.image.config.rootfs?.diff_ids,
      );
      assert.equal(result.image.name.tag, '1.0');
      assert.equal(result.image.name.name, 'app');
      assertFindings(result, byId);
    }
  });

  it('scans the OCI archive skopeo wrote (oci-archive:FILE:1.0) with the layout’s digests', async () => {
    const { result, byId } = await scanOne(`oci-archive:${join(dir, 'app-oci.tar')}:1.0`);
    const [fromLayout] = await scan(`oci:${layout}:1.0`, testScanOptions());
    assert.deepEqual(
      result.image.layers.map((l) => l.digest),
      fromLayout?.image.layers.map((l) => l.digest),
    );
    assert.equal(result.image.configDigest, fromLayout?.image.configDigest);
    assertFindings(result, byId);
  });

  it('scans those archives gzip- and zstd-compressed (gzip, zstd commands) in one pass, with the same findings', async () => {
    for (const [name, transport] of [
      ['app-docker.tar', 'docker-archive'],
      ['app-oci.tar', 'oci-archive'],
    ] as const) {
      const plain = join(dir, name);
      await writeFile(`${plain}.gz`, (await run('gzip', ['-c', plain], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout);
      await run('zstd', ['-q', '-f', plain, '-o', `${plain}.zst`]);
      for (const file of [`${plain}.gz`, `${plain}.zst`]) {
        const { logger, text } = capturedLogger();
        const { result, byId } = await scanOne(`${transport}:${file}${transport === 'oci-archive' ? ':1.0' : ''}`, logger);
        assertFindings(result, byId);
        // Inspected during the single pass: the scan did not open any layer itself.
        assert.doesNotMatch(text(), /layer inspected/);
      }
    }
  });
});

const buildahPodman = tools('buildah, podman', { buildah: 'buildah', podman: 'podman', gzip: 'gzip' });

describeOrSkip('an image built by buildah and written by podman save', { skip: buildahPodman.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  /** Private storage for buildah and podman (vfs needs no kernel overlay support). */
  let storage: string[] = [];

  before(async () => {
    buildahPodman.require();
    ({ dir, cleanup } = await tempDir('oci-scan-buildah-'));
    storage = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
    const { base, app } = await writeTrees(dir);
    const first = (await run('buildah', [...storage, 'from', 'scratch'])).stdout.trim();
    await run('buildah', [...storage, 'copy', first, base, '/']);
    await run('buildah', [...storage, 'commit', '--quiet', first, 'localhost/base:1.0']);
    // A commit holds the container's whole change from its base: a second layer needs a new container.
    const container = (await run('buildah', [...storage, 'from', 'localhost/base:1.0'])).stdout.trim();
    await run('buildah', [...storage, 'copy', container, app, '/']);
    await run('buildah', [
      ...storage,
      'config',
      '--user',
      'app:app',
      '--cmd',
      '/app/server',
      '--label',
      'org.opencontainers.image.vendor=Acme',
      '--label',
      'version=1.0',
      '--arch',
      'amd64',
      '--os',
      'linux',
      container,
    ]);
    await run('buildah', [...storage, 'commit', '--quiet', container, 'localhost/app:1.0']);
    await run('podman', [
      ...storage,
      'save',
      '--quiet',
      '--format',
      'docker-archive',
      '-o',
      join(dir, 'app-docker.tar'),
      'localhost/app:1.0',
    ]);
    await run('podman', [...storage, 'save', '--quiet', '--format', 'oci-archive', '-o', join(dir, 'app-oci.tar'), 'localhost/app:1.0']);
    await run('podman', [
      ...storage,
      'save',
      '--quiet',
      '--multi-image-archive',
      '-o',
      join(dir, 'both.tar'),
      'localhost/base:1.0',
      'localhost/app:1.0',
    ]);
  });
  after(() => cleanup());

  it('docker-archive (layers behind <id>/layer.tar symlinks) and oci-archive give the same findings', async () => {
    const docker = await scanOne(`docker-archive:${join(dir, 'app-docker.tar')}`);
    assertFindings(docker.result, docker.byId);
    assert.deepEqual(docker.result.image.name, {
      display: `docker-archive:${join(dir, 'app-docker.tar')}`,
      name: 'app',
      repository: 'app',
      tag: '1.0',
      tagOrigin: 'archive',
    });
    assert.deepEqual(
      docker.result.image.layers.map((l) => l.digest),
      docker.result.image.config.rootfs?.diff_ids,
    );
    const oci = await scanOne(`oci-archive:${join(dir, 'app-oci.tar')}`);
    assertFindings(oci.result, oci.byId);
    assert.equal(oci.result.image.configDigest, docker.result.image.configDigest);
  });

  it('a multi-image archive (podman save -m): each image by its tag, and a clear error without one', async () => {
    const file = join(dir, 'both.tar');
    const app = await scanOne(`docker-archive:${file}:localhost/app:1.0`);
    assertFindings(app.result, app.byId);
    const base = await scanOne(`docker-archive:${file}:localhost/base:1.0`);
    assert.equal(base.result.image.layers.length, 1);
    assert.deepEqual(base.byId('suid').Files, app.byId('suid').Files);
    await assert.rejects(
      scan(`docker-archive:${file}`, testScanOptions()),
      /holds 2 images: name one as docker-archive:FILE:REPO:TAG \(localhost\/base:1\.0, localhost\/app:1\.0\)/,
    );
  });

  it('podman save | gzip scans like the plain archive', async () => {
    const plain = join(dir, 'app-docker.tar');
    await writeFile(`${plain}.gz`, (await run('gzip', ['-c', plain], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout);
    const { result, byId } = await scanOne(`docker-archive:${plain}.gz`);
    assertFindings(result, byId);
  });

  it('podman load reads the tarball writers of test/helpers (go-containerregistry and Jib layouts) as images', async () => {
    const image = buildImage({
      format: 'docker',
      config: { User: 'app:app' },
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' }] }],
    });
    for (const style of ['ggcr', 'jib'] as const) {
      const file = join(dir, `${style}.tar`);
      await writeGgcrTarball(file, image, { style, repoTags: [`localhost/${style}:1.0`] });
      const loaded = (await run('podman', [...storage, 'load', '--quiet', '-i', file])).stdout;
      assert.match(loaded, new RegExp(`localhost/${style}:1\\.0`));
      const [scanned] = await open(`docker-archive:${file}`);
      assert.deepEqual(
        scanned?.layers.map((l) => l.digest),
        image.layers.map((l) => l.digest),
      );
    }
  });
});

const containerd = tools('containerd', { containerd: 'containerd', ctr: 'containerd' }, true);

describeOrSkip('ctr export --platform: the whole index, one platform’s blobs', { skip: containerd.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let daemon: Daemon | undefined;
  const amd = buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'amd64' }] }],
  });
  const arm = buildImage({
    platform: { os: 'linux', architecture: 'arm64' },
    layers: [{ entries: [{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'arm64' }] }],
  });

  before(async () => {
    containerd.require();
    ({ dir, cleanup } = await tempDir('oci-scan-ctr-'));
    daemon = await startContainerd(join(dir, 'containerd'));
    // An OCI archive whose index.json names the image index (as `docker buildx` writes one).
    const index = buildIndex([amd, arm]);
    const files: Array<[string, Buffer]> = [['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];
    for (const i of [amd, arm]) {
      files.push([`blobs/sha256/${i.manifestDigest.slice(7)}`, i.manifest], [`blobs/sha256/${i.configDigest.slice(7)}`, i.config]);
      for (const l of i.layers) files.push([`blobs/sha256/${l.digest.slice(7)}`, l.bytes]);
    }
    files.push([`blobs/sha256/${index.digest.slice(7)}`, index.bytes]);
    files.push([
      'index.json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: index.mediaType,
              digest: index.digest,
              size: index.bytes.length,
              annotations: { 'org.opencontainers.image.ref.name': 'example.com/multi:1.0' },
            },
          ],
        }),
      ),
    ]);
    await writeFile(join(dir, 'multi.tar'), tarOfFiles(files));
    await daemon.client(['images', 'import', '--all-platforms', '--no-unpack', join(dir, 'multi.tar')]);
    await daemon.client(['images', 'export', '--platform', 'linux/arm64', join(dir, 'arm64.tar'), 'example.com/multi:1.0']);
  });
  after(async () => {
    await daemon?.stop();
    await cleanup();
  });

  it('as oci-archive: names the platform present and suggests --platform; that platform scans', async () => {
    const file = join(dir, 'arm64.tar');
    await assert.rejects(
      open(`oci-archive:${file}`),
      (err: unknown) =>
        isOciScanError(err, 'NO_MATCHING_PLATFORM') &&
        /holds the blobs of linux\/arm64 only .*: scan it for linux\/arm64$/.test(err.message),
    );
    const [image] = await open(`oci-archive:${file}`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(image?.configDigest, arm.configDigest);
    const [result] = await scan(`oci-archive:${file}`, testScanOptions({ platform: { os: 'linux', architecture: 'arm64' } }));
    assert.deepEqual(result?.results.find((r) => r.Id === 'sudo')?.Files, [{ [arm.layers[0]?.digest ?? '']: ['/usr/bin/sudo'] }]);
  });

  it('as docker-archive: manifest.json names the compressed blobs, reported under the registry’s digests', async () => {
    const file = join(dir, 'arm64.tar');
    const [image] = await open(`docker-archive:${file}`);
    assert.equal(image?.configDigest, arm.configDigest);
    assert.deepEqual(
      image?.layers.map((l) => l.digest),
      arm.layers.map((l) => l.digest),
    );
    assert.equal(image?.name.tag, '1.0');
    const [result] = await scan(`docker-archive:${file}`, testScanOptions());
    assert.deepEqual(result?.results.find((r) => r.Id === 'sudo')?.Files, [{ [arm.layers[0]?.digest ?? '']: ['/usr/bin/sudo'] }]);
  });
});

const docker = tools('docker', { dockerd: 'docker.io', docker: 'docker.io', containerd: 'containerd', podman: 'podman' }, true);

describeOrSkip('docker load / docker save (dockerd 20.10)', { skip: docker.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let daemon: Daemon | undefined;
  const image = buildImage({
    format: 'docker',
    config: { User: 'app:app', Cmd: ['/app'] },
    layers: [
      { entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' }] },
      { entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'app' }] },
    ],
  });

  before(async () => {
    docker.require();
    ({ dir, cleanup } = await tempDir('oci-scan-docker-'));
    daemon = await startDocker(join(dir, 'docker'));
  });
  after(async () => {
    await daemon?.stop();
    await cleanup();
  });

  it('loads the go-containerregistry and Jib tarball writers of test/helpers; docker save of them scans the same', async () => {
    assert.ok(daemon);
    for (const style of ['ggcr', 'jib'] as const) {
      const file = join(dir, `${style}.tar`);
      await writeGgcrTarball(file, image, { style, repoTags: [`${style}:1.0`] });
      assert.match(await daemon.client(['load', '-i', file]), new RegExp(`Loaded image: ${style}:1\\.0`));
      const [fromTarball] = await scan(`docker-archive:${file}`, testScanOptions());
      const saved = join(dir, `${style}-saved.tar`);
      await daemon.client(['save', '-o', saved, `${style}:1.0`]);
      const [fromSave] = await scan(`docker-archive:${saved}`, testScanOptions());
      assert.ok(fromTarball && fromSave);
      // docker save stores the layers uncompressed under <id>/layer.tar: reported by diffID.
      assert.deepEqual(
        fromSave.image.layers.map((l) => l.digest),
        image.layers.map((l) => l.diffId),
      );
      assert.deepEqual(
        fromTarball.image.layers.map((l) => l.digest),
        image.layers.map((l) => l.digest),
      );
      const files = (r: typeof fromSave): unknown => r.results.find((x) => x.Id === 'suid')?.Files?.map((f) => Object.values(f));
      assert.deepEqual(files(fromSave), [[['/usr/bin/su']]]);
      assert.deepEqual(files(fromTarball), files(fromSave));
    }
  });

  it('docker save | gzip (docker load reads it too) scans like the plain archive', async () => {
    assert.ok(daemon);
    const plain = join(dir, 'ggcr-saved.tar');
    const gz = `${plain}.gz`;
    await writeFile(gz, (await run('gzip', ['-c', plain], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout);
    await daemon.client(['load', '-i', gz]);
    const [a] = await scan(`docker-archive:${plain}`, testScanOptions());
    const [b] = await scan(`docker-archive:${gz}`, testScanOptions());
    assert.deepEqual(
      b?.image.layers.map((l) => l.digest),
      a?.image.layers.map((l) => l.digest),
    );
    assert.deepEqual(
      b?.results.map((r) => [r.Id, r.Pass, r.Files]),
      a?.results.map((r) => [r.Id, r.Pass, r.Files]),
    );
  });

  it('two manifest.json members: docker loads the last, podman the first; oci-scan refuses the archive', async () => {
    assert.ok(daemon);
    const one = buildImage({ format: 'docker', layers: [{ entries: [{ type: 'file', path: 'one', content: '1' }] }] });
    const two = buildImage({ format: 'docker', layers: [{ entries: [{ type: 'file', path: 'two', content: '2' }] }] });
    const entries: EntrySpec[] = [];
    const manifests: string[] = [];
    for (const [img, tag] of [
      [one, 'dup-first:1.0'],
      [two, 'dup-last:1.0'],
    ] as const) {
      const tar = gunzipSync(img.layers[0]?.bytes ?? Buffer.alloc(0));
      const layer = `${digestOf(tar).slice(7)}.tar`;
      entries.push(
        { type: 'file', path: `${img.configDigest.slice(7)}.json`, content: img.config },
        { type: 'file', path: layer, content: tar },
      );
      manifests.push(JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, RepoTags: [tag], Layers: [layer] }]));
    }
    for (const m of manifests) entries.push({ type: 'file', path: 'manifest.json', content: m });
    const file = join(dir, 'dup.tar');
    await writeFile(file, buildTar(entries));
    assert.match(await daemon.client(['load', '-i', file]), /Loaded image: dup-last:1\.0/);
    const storage = ['--root', join(dir, 'podman'), '--runroot', join(dir, 'podman-run'), '--storage-driver', 'vfs'];
    assert.match((await run('podman', [...storage, 'load', '-i', file])).stdout, /dup-first:1\.0/);
    await assert.rejects(
      open(`docker-archive:${file}`),
      (err: unknown) => isOciScanError(err, 'INVALID_MANIFEST') && /two members named manifest\.json/.test(err.message),
    );
  });
});
