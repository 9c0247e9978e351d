/**
 * Why a layer is there, on images real builders made (docs/reports.md, "Layers: history and
 * base"): each layer's history entry, and inherited versus introduced.
 *
 * Provenance: every image is built here, offline, from Dockerfiles written by the test —
 * `FROM scratch` plus a root filesystem tar made by the test (a setuid `su`), then ENV and
 * LABEL lines (history entries with `empty_layer`), a COPY (a layer) and USER — by
 * `buildah bud` (with and without `--layers`, private vfs storage) and by Debian's dockerd 20.10
 * with the classic builder (`DOCKER_BUILDKIT=0`), started by the test. An app image is built
 * `FROM` the base (adding a setuid `sudo`), through a real registry (Debian's docker-registry
 * on loopback) so that its manifest's base annotations name the registry's base. A hand-made
 * config whose history does not match its layers needs no tool.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scan, type ImageScan, type ScanOptions } from '../../src/scan.js';
import { scanDocument } from '../../src/report/formats/json.js';
import { layerDetails } from '../../src/report/layers.js';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { ociLayoutRef, tempDir, testScanOptions } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { missingTools, startDocker, type Daemon } from '../helpers/tools.js';

const run = promisify(execFile);

/** The tools a describe() needs; logs the loud skip line; throws in before() when CI requires them. */
function tools(label: string, needed: Readonly<Record<string, string>>, needsRoot = false): { skip: string | false; require: () => void } {
  const { skip, missing, packages } = missingTools(needed, needsRoot);
  if (skip) console.error(`!!! history/base tests SKIPPED (${label}): ${skip}`);
  return {
    skip: skip ? `${label}: ${skip}` : false,
    require: () => {
      if (missing.length > 0)
        throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing.join(', ')} missing (apt-get install ${packages.join(' ')})`);
    },
  };
}

/** A build context: a root filesystem tar (passwd, setuid su) and a base Dockerfile with empty-layer lines. */
async function baseContext(dir: string): Promise<string> {
  const root = join(dir, 'root');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(join(root, 'usr/bin/su'), '#!/bin/sh\n');
  await chmod(join(root, 'usr/bin/su'), 0o4755);
  const ctx = join(dir, 'base-ctx');
  await mkdir(ctx, { recursive: true });
  await run('tar', ['-C', root, '-cf', join(ctx, 'rootfs.tar'), '.']);
  await writeFile(join(ctx, 'app.txt'), 'app\n');
  await writeFile(
    join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      'ADD rootfs.tar /',
      'ENV LANG=C.UTF-8',
      'LABEL org.opencontainers.image.vendor=Acme',
      'COPY app.txt /app/app.txt',
      'USER 1000',
      '',
    ].join('\n'),
  );
  return ctx;
}

/** An app context `FROM base` adding a setuid sudo (in a tar: ADD keeps the setuid bit, which buildah's COPY drops). */
async function appContext(dir: string, base: string): Promise<string> {
  const root = join(dir, 'app-root');
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'usr/bin/sudo'), '#!/bin/sh\n');
  await chmod(join(root, 'usr/bin/sudo'), 0o4755);
  const ctx = join(dir, 'app-ctx');
  await mkdir(ctx, { recursive: true });
  await run('tar', ['-C', root, '-cf', join(ctx, 'sudo.tar'), '.']);
  await writeFile(join(ctx, 'Dockerfile'), [`FROM ${base}`, 'ENV APP=1', 'ADD sudo.tar /', ''].join('\n'));
  return ctx;
}

const steps = (s: ImageScan): Array<string | null> => layerDetails(s).map((d) => d.createdBy);
const only = async (input: string, options: Partial<ScanOptions> = {}): Promise<ImageScan> => {
  const [s, ...rest] = await scan(input, testScanOptions(options));
  assert.ok(s);
  assert.equal(rest.length, 0);
  return s;
};

const buildah = tools('buildah', { buildah: 'buildah' }, true);
const registrySkip = registrySkipReason();

describeOrSkip('history and base split on images buildah bud built', { skip: buildah.skip || registrySkip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let registry: RunningRegistry | undefined;
  let storage: string[] = [];
  const bud = (args: readonly string[]): Promise<unknown> =>
    run('buildah', [...storage, 'bud', '--quiet', '--tls-verify=false', ...args], { maxBuffer: 1 << 26 });
  const push = (image: string, dest: string): Promise<unknown> =>
    run('buildah', [...storage, 'push', '--quiet', '--tls-verify=false', image, dest]);
  let layout = '';
  let options: Partial<ScanOptions> = {};

  before(async () => {
    buildah.require();
    ({ dir, cleanup } = await tempDir('oci-scan-history-'));
    storage = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
    registry = await startRegistry({ kind: 'none' });
    options = { registry: { insecureRegistries: [registry.host], mirrors: {}, env: {} } };
    const ctx = await baseContext(dir);
    await bud(['--layers', '-t', 'localhost/base:1', ctx]);
    await bud(['-t', 'localhost/flat:1', ctx]);
    layout = join(dir, 'layout');
    for (const name of ['base', 'flat']) await push(`localhost/${name}:1`, `oci:${layout}:${name}`);
    await push('localhost/base:1', `docker://${registry.host}/team/base:1`);
    // The app is built FROM the registry's base: buildah records it in the base annotations —
    // without --layers the base's own digest; with --layers, that of the intermediate image of
    // the step before the last (here ENV's), which no registry holds.
    const appCtx = await appContext(dir, `${registry.host}/team/base:1`);
    await bud(['-t', 'localhost/app:1', appCtx]);
    await bud(['--layers', '-t', 'localhost/app-layers:1', appCtx]);
    await push('localhost/app:1', `oci:${layout}:app`);
    await push('localhost/app:1', `docker://${registry.host}/team/app:1`);
    await push('localhost/app-layers:1', `docker://${registry.host}/team/app-layers:1`);
  });
  after(async () => {
    await registry?.stop();
    await cleanup();
  });

  it('with --layers: one layer per ADD/COPY, each with its step; ENV, LABEL and USER are empty_layer entries', async () => {
    const s = await only(`oci:${layout}:base`);
    assert.equal(s.image.layers.length, 2);
    assert.match(steps(s)[0] ?? '', /^\/bin\/sh -c #\(nop\) ADD file:[0-9a-f]+ in \/ ?$/);
    assert.match(steps(s)[1] ?? '', /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]+ in \/app\/app\.txt ?$/);
    assert.ok(
      layerDetails(s).every((d) => d.created !== null && d.origin === null),
      'times known; no base named',
    );
    const suid = s.results.find((r) => r.Id === 'suid');
    assert.deepEqual(suid?.Files, [{ [s.image.layers[0]?.digest ?? '']: ['/usr/bin/su'] }]);
  });

  it("without --layers: one layer, and the history's one non-empty entry (buildah gives it to the last step) is its", async () => {
    const s = await only(`oci:${layout}:flat`);
    const nonEmpty = (s.image.config.history ?? []).filter((h) => !h.empty_layer);
    assert.equal(s.image.layers.length, 1);
    assert.equal(nonEmpty.length, 1);
    assert.deepEqual(steps(s), [nonEmpty[0]?.created_by ?? 'missing']);
    assert.match(steps(s)[0] ?? '', /USER 1000/);
  });

  it("--base (an OCI layout): the base's layers inherited, the app's introduced; the policy's inherited: accept fails on introduced only", async () => {
    const app = await only(`oci:${layout}:app`, { ...options, base: `oci:${layout}:base` });
    assert.deepEqual([app.base?.status, app.base?.source, app.base?.inheritedLayers], ['prefix', 'option', 2]);
    assert.deepEqual(
      layerDetails(app).map((d) => d.origin),
      ['inherited', 'inherited', 'introduced'],
    );
    const strict = app.results.find((r) => r.Id === 'suid');
    assert.equal(strict?.Pass, false, 'without the policy every finding counts');
    assert.equal(strict?.Files?.length, 2);
    const lenient = await only(`oci:${layout}:app`, {
      ...options,
      base: `oci:${layout}:base`,
      policy: { version: 1, inherited: 'accept' },
    });
    const suid = lenient.results.find((r) => r.Id === 'suid');
    assert.equal(suid?.Pass, false, 'sudo was introduced');
    assert.deepEqual(suid?.Files, [{ [app.image.layers[2]?.digest ?? '']: ['/usr/bin/sudo'] }]);
    assert.deepEqual(
      suid?.Accepted?.map((a) => [a.Path, a.Reason]),
      [['/usr/bin/su', `inherited from base oci:${layout}:base`]],
    );
    assert.equal(
      lenient.results.find((r) => r.Id === 'default-user')?.Pass,
      app.results.find((r) => r.Id === 'default-user')?.Pass,
      "config checks are the final image's",
    );
    const doc = scanDocument([{ input: 'app', scans: [lenient] }]);
    assert.equal(doc.images[0]?.base?.status, 'prefix');
    assert.equal(doc.images[0]?.layerDetails?.[2]?.origin, 'introduced');
  });

  it('a --base that is not a prefix is reported as such, and claims no origin', async () => {
    const app = await only(`oci:${layout}:app`, { base: `oci:${layout}:flat` });
    assert.equal(app.base?.status, 'not-prefix');
    assert.ok(layerDetails(app).every((d) => d.origin === null));
    const missing = await only(`oci:${layout}:app`, { base: `oci:${join(dir, 'nowhere')}:1` });
    assert.equal(missing.base?.status, 'unresolved');
    assert.match(missing.base?.note ?? '', /could not be read: .*nowhere/);
  });

  it("no --base: a registry image's base annotations are resolved through the same registry; a local image's are not fetched", async () => {
    assert.ok(registry);
    const fromRegistry = await only(`${registry.host}/team/app:1`, options);
    assert.equal(fromRegistry.image.annotations?.['org.opencontainers.image.base.name'], `${registry.host}/team/base:1`);
    assert.deepEqual(
      [fromRegistry.base?.source, fromRegistry.base?.status, fromRegistry.base?.inheritedLayers],
      ['annotation', 'prefix', 2],
      fromRegistry.base?.note,
    );
    const intermediate = await only(`${registry.host}/team/app-layers:1`, options);
    assert.deepEqual(
      [intermediate.base?.source, intermediate.base?.status],
      ['annotation', 'unresolved'],
      'buildah --layers names an intermediate image: said, not guessed',
    );
    assert.match(intermediate.base?.note ?? '', /could not be read: .*not found/);
    assert.ok(layerDetails(intermediate).every((d) => d.origin === null));
    const local = await only(`oci:${layout}:app`, options);
    assert.deepEqual([local.base?.source, local.base?.status], ['annotation', 'unresolved']);
    assert.match(local.base?.note ?? '', /local source/);
  });
});

const docker = tools('docker', { dockerd: 'docker.io', docker: 'docker.io', containerd: 'containerd' }, true);

describeOrSkip("history on an image docker 20.10's classic builder built", { skip: docker.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let daemon: Daemon | undefined;

  before(async () => {
    docker.require();
    ({ dir, cleanup } = await tempDir('oci-scan-history-docker-'));
    daemon = await startDocker(join(dir, 'docker'));
  });
  after(async () => {
    await daemon?.stop();
    await cleanup();
  });

  it('docker build (DOCKER_BUILDKIT=0) then docker save: ADD and COPY are the layers, ENV, LABEL and USER empty entries', async () => {
    assert.ok(daemon);
    const ctx = await baseContext(dir);
    const socket = `unix://${join(dir, 'docker', 'docker.sock')}`;
    await run('docker', ['--host', socket, 'build', '--quiet', '-t', 'hist:1', ctx], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 1 << 26,
    });
    const file = join(dir, 'hist.tar');
    await daemon.client(['save', '-o', file, 'hist:1']);
    const s = await only(`docker-archive:${file}`);
    assert.equal(s.image.config.history?.length, 5);
    assert.deepEqual(
      s.image.config.history?.map((h) => h.empty_layer),
      [false, true, true, false, true],
    );
    assert.match(steps(s)[0] ?? '', /^\/bin\/sh -c #\(nop\) ADD file:[0-9a-f]+ in \/ $/);
    assert.match(steps(s)[1] ?? '', /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]+ in \/app\/app\.txt $/);
    assert.ok(layerDetails(s).every((d) => d.created !== null && /^\d{4}-\d\d-\d\dT/.test(d.created)));
  });
});

describe('a hand-made config whose history does not match its layers', () => {
  it("every layer's history is unknown (null), not guessed", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const layers = [
        { entries: [{ type: 'file' as const, path: 'a', content: 'a' }] },
        { entries: [{ type: 'file' as const, path: 'b', content: 'b' }] },
      ];
      const ref = await ociLayoutRef(dir, {
        layers,
        history: [{ created_by: 'one' }, { created_by: 'two', empty_layer: true }, { created_by: 'three', empty_layer: true }],
      });
      const s = await only(ref);
      assert.deepEqual(steps(s), [null, null]);
      const three = await only(
        await ociLayoutRef(join(dir, 'b'), { layers, history: [{ created_by: 'one' }, { created_by: 'two' }, { created_by: 'three' }] }),
      );
      assert.deepEqual(steps(three), [null, null], 'more entries than layers');
      const matched = await only(
        await ociLayoutRef(join(dir, 'c'), {
          layers,
          history: [{ created_by: 'one' }, { created_by: 'e', empty_layer: true }, { created_by: 'two' }],
        }),
      );
      assert.deepEqual(steps(matched), ['one', 'two']);
    } finally {
      await cleanup();
    }
  });

  it(
    "the manifest's base annotations, pushed to a registry: the base is read through the same session",
    { skip: registrySkip ?? false },
    async () => {
      const registry = await startRegistry({ kind: 'none' });
      try {
        const baseLayers = [{ entries: [{ type: 'file' as const, path: 'usr/bin/su', mode: 0o4755, content: 'su' }] }];
        const base = buildImage({ layers: baseLayers });
        const pushImage = async (repo: string, image: typeof base): Promise<void> => {
          const pusher = new Pusher(registry.url, repo);
          for (const blob of [{ digest: image.configDigest, bytes: image.config }, ...image.layers])
            await pusher.blob(blob.digest, blob.bytes);
          await pusher.manifest('1', image.manifest, image.manifestMediaType);
        };
        await pushImage('lib/base', base);
        const annotations = {
          'org.opencontainers.image.base.name': `${registry.host}/lib/base:moved`,
          'org.opencontainers.image.base.digest': base.manifestDigest,
        };
        const app = buildImage({
          layers: [...baseLayers, { entries: [{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'sudo' }] }],
          annotations,
        });
        await pushImage('lib/app', app);
        const s = await only(`${registry.host}/lib/app:1`, { registry: { insecureRegistries: [registry.host], mirrors: {}, env: {} } });
        assert.deepEqual(
          [s.base?.status, s.base?.digest, s.base?.reference],
          ['prefix', base.manifestDigest, `${registry.host}/lib/base@${base.manifestDigest}`],
          'by digest: the tag it names need not exist',
        );
        assert.deepEqual(
          layerDetails(s).map((d) => d.origin),
          ['inherited', 'introduced'],
        );
      } finally {
        await registry.stop();
      }
    },
  );
});
