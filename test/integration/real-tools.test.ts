/**
 * Images written by real tools (Debian packages `umoci`, `skopeo`), scanned through scan():
 * an OCI layout that umoci builds from a directory tree (two `insert` layers and a `config`
 * with --config.user / --config.label), copied by skopeo to docker-archive:FILE:app:1.0 and to
 * oci-archive:FILE:1.0. A missing tool skips with one loud line naming its apt package, unless
 * OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ReportResult } from '../../src/report/model.js';
import { scan, type ImageScan } from '../../src/scan.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';

const run = promisify(execFile);

/** Whether `tool` runs; the apt package that provides it. */
function haveTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = (['umoci', 'skopeo'] as const).filter((t) => !haveTool(t));
const required = process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1';
const skip = missing.length > 0 && !required ? `real-tools tests SKIPPED: ${missing.join(', ')} not installed (apt-get install ${missing.join(' ')})` : false;
if (skip) console.error(`!!! ${skip}`);

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n';

describe('images written by umoci and skopeo', { skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let layout = '';

  before(async () => {
    if (required && missing.length > 0) throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing.join(', ')} missing (apt-get install ${missing.join(' ')})`);
    ({ dir, cleanup } = await tempDir('oci-scan-real-tools-'));
    // Layer 1: a small Debian-like root. Layer 2: a compiler chain and a removal of `su`.
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

    layout = join(dir, 'layout');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:1.0`]);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:1.0`, base, '/']);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:1.0`, app, '/']);
    await run('umoci', ['config', '--image', `${layout}:1.0`, '--config.user', 'app:app', '--config.label', 'org.opencontainers.image.vendor=Acme', '--config.label', 'version=1.0', '--config.cmd', '/app/server', '--architecture', 'amd64', '--os', 'linux']);
    // No /etc/containers/policy.json here: local copies need no signature policy.
    await run('skopeo', ['copy', '--insecure-policy', '--quiet', `oci:${layout}:1.0`, `docker-archive:${join(dir, 'app-docker.tar')}:app:1.0`]);
    await run('skopeo', ['copy', '--insecure-policy', '--quiet', `oci:${layout}:1.0`, `oci-archive:${join(dir, 'app-oci.tar')}:1.0`]);
  });
  after(() => cleanup());

  async function scanOne(input: string): Promise<{ result: ImageScan; byId: (id: string) => ReportResult }> {
    const [result, ...rest] = await scan(input, testScanOptions());
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

  /** Findings shared by every form of the image, whatever its layer digests. */
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
      assert.deepEqual(result.image.layers.map((l) => l.digest), result.image.config.rootfs?.diff_ids);
      assert.equal(result.image.name.tag, '1.0');
      assert.equal(result.image.name.name, 'app');
      assertFindings(result, byId);
    }
  });

  it('scans the OCI archive skopeo wrote (oci-archive:FILE:1.0) with the layout’s digests', async () => {
    const { result, byId } = await scanOne(`oci-archive:${join(dir, 'app-oci.tar')}:1.0`);
    const [fromLayout] = await scan(`oci:${layout}:1.0`, testScanOptions());
    assert.deepEqual(result.image.layers.map((l) => l.digest), fromLayout?.image.layers.map((l) => l.digest));
    assert.equal(result.image.configDigest, fromLayout?.image.configDigest);
    assertFindings(result, byId);
  });
});
