/**
 * The extended checks on images built by real tools from real Dockerfiles, so that the history
 * is what those tools write (docs/checks.md, "Extended checks"): Docker 20.10's classic builder
 * (`docker build`, dockerd started by the test under a temporary directory: test/helpers/tools.ts)
 * and `buildah bud` (private storage under a temporary directory, chroot isolation, Docker
 * format so the config keeps HEALTHCHECK). No network: the base is `FROM scratch` + `ADD` of a
 * root filesystem tar made here from this machine's dash and libc, with `apt-get` and `apk`
 * stubs (scripts that exit 0) so the RUN lines run as written. The images, saved as docker
 * archives, are scanned through the CLI with `--checks extended` in every format.
 *
 * Needs root, dockerd/containerd (docker.io, containerd) and buildah: a missing one skips with
 * one loud line, unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import type { ReportResult } from '../../src/report/model.js';
import type { ScanDocument } from '../../src/report/formats/json.js';
import { buildTar, type EntrySpec } from '../helpers/image-builder.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { missingTools, startDocker, type Daemon } from '../helpers/tools.js';

const run = promisify(execFile);

/** Planted credentials: in no output at all. */
const AWS_KEY = 'AKIAZ7QWERTYUIOPASDF';
const RUN_TOKEN = 'hunter2-but-longer-than-that';

/** A root filesystem with a shell that runs: this machine's dash and libc, account files with an empty root password, package manager stubs. */
async function rootfsTar(): Promise<Buffer> {
  const file = async (path: string, from: string, mode = 0o755): Promise<EntrySpec> => ({
    type: 'file',
    path,
    mode,
    content: await readFile(from),
  });
  const text = (path: string, content: string, mode = 0o644): EntrySpec => ({ type: 'file', path, mode, content });
  const stub = '#!/bin/sh\nexit 0\n';
  return buildTar([
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'lib' },
    { type: 'dir', path: 'lib/x86_64-linux-gnu' },
    { type: 'dir', path: 'lib64' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'usr' },
    { type: 'dir', path: 'usr/bin' },
    await file('bin/sh', '/bin/dash'),
    await file('lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'),
    await file('lib64/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2'),
    text('usr/bin/apt-get', stub, 0o755),
    text('usr/bin/apk', stub, 0o755),
    text('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n'),
    text('etc/group', 'root:x:0:\napp:x:1000:\n'),
    text('etc/shadow', 'root::19000:0:99999:7:::\napp:!:19000::::::\n', 0o640),
    text('etc/os-release', 'NAME="Test Linux"\nVERSION_ID="1"\n'),
  ]);
}

/** The image under test: every case of the brief in one Dockerfile. */
const DOCKERFILE = `FROM scratch
ADD rootfs.tar /
ENV AWS_ACCESS_KEY_ID=${AWS_KEY}
ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PASSWORD_FILE=/run/secrets/db
RUN apt-get update
RUN apk add --no-cache libcrypto3=3.1.4-r1 libssl3=3.1.4-r1
RUN API_TOKEN=${RUN_TOKEN} /bin/sh -c 'exit 0'
ADD app.txt /app/
HEALTHCHECK CMD ["/bin/sh", "-c", "exit 0"]
USER 1000:1000
CMD ["/bin/sh"]
`;

/** The same image with the health check switched off. */
const DOCKERFILE_NONE = 'FROM localhost/ext:1.0\nHEALTHCHECK NONE\n';

/** Writes the build context under `dir`. */
async function writeContext(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'rootfs.tar'), await rootfsTar());
  await writeFile(join(dir, 'app.txt'), 'hello\n');
  await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(dir, 'Dockerfile.none'), DOCKERFILE_NONE);
}

/** Every output of one CLI scan with the extended checks, and its results. */
async function scanEverywhere(ref: string, dir: string): Promise<{ results: Map<string, ReportResult>; texts: Record<string, string> }> {
  await mkdir(dir, { recursive: true });
  const f = (name: string): string => join(dir, name);
  const r = await runCli([
    ref,
    '--checks',
    'extended',
    '--log-level',
    'debug',
    '--format',
    'legacy',
    '--reports-dir',
    f('reports'),
    '--format',
    `json=${f('doc.json')}`,
    '--format',
    `sarif=${f('doc.sarif')}`,
    '--format',
    `junit=${f('junit.xml')}`,
    '--format',
    `table=${f('table.txt')}`,
  ]);
  assert.equal(r.code, 12, r.stderr);
  const json = await readFile(f('doc.json'), 'utf8');
  const doc = JSON.parse(json) as ScanDocument;
  const { readdir } = await import('node:fs/promises');
  const legacy = await Promise.all((await readdir(f('reports'))).map((n) => readFile(join(f('reports'), n), 'utf8')));
  const texts = {
    legacy: legacy.join('\n'),
    json,
    sarif: await readFile(f('doc.sarif'), 'utf8'),
    junit: await readFile(f('junit.xml'), 'utf8'),
    table: await readFile(f('table.txt'), 'utf8'),
    stdout: r.stdout,
    stderr: r.stderr,
  };
  return { results: new Map((doc.images[0]?.results ?? []).map((x) => [x.Id, x])), texts };
}

/** What both tools' images must give. */
function assertFindings(results: Map<string, ReportResult>, texts: Record<string, string>, healthcheck: 'set' | 'none'): void {
  for (const [name, text] of Object.entries(texts)) {
    assert.ok(!text.includes(AWS_KEY), `${name} holds the AWS key`);
    assert.ok(!text.includes(RUN_TOKEN), `${name} holds the RUN token`);
  }
  const secrets = results.get('secrets-env');
  assert.equal(secrets?.Pass, false);
  assert.match(secrets?.Description ?? '', /AWS_ACCESS_KEY_ID \(AWS access key id\) in Env: "AKIA…" \(20 chars, sha256:[0-9a-f]{8}\)/);
  assert.match(secrets?.Description ?? '', /AWS_ACCESS_KEY_ID \(AWS access key id\) in history entry \d+ \(ENV\)/);
  assert.match(secrets?.Description ?? '', /API_TOKEN in history entry \d+ \(RUN[^)]*\): "hunt…" \(28 chars/);
  // False alarms: a package pin, a GPG key id, a *_FILE path.
  assert.doesNotMatch(secrets?.Description ?? '', /libcrypto3|libssl3|GPG_KEY|PASSWORD_FILE/);

  const history = results.get('build-history');
  assert.equal(history?.Pass, false);
  assert.equal((history?.Description.match(/history entry/g) ?? []).length, 1, history?.Description);
  assert.match(history?.Description ?? '', /^history entry 3 \(RUN[^)]*\): apt-get update without an install in the same RUN/);

  const add = results.get('add-instruction');
  assert.equal(add?.Pass, false);
  assert.match(add?.Description ?? '', /^history entry 6 \(ADD[^)]*\): ADD of local content \(file:[0-9a-f]{12}…\) into \/app\/$/);

  assert.equal(results.get('empty-password')?.Pass, false);
  assert.match(results.get('empty-password')?.Description ?? '', /empty password field in \/etc\/shadow for root$/);
  assert.equal(results.get('duplicate-ids')?.Pass, true);
  assert.equal(results.get('sensitive-volumes')?.Pass, true);
  assert.deepEqual(results.get('healthcheck')?.Pass, healthcheck === 'set', results.get('healthcheck')?.Description);
  if (healthcheck === 'none') assert.equal(results.get('healthcheck')?.Description, 'HEALTHCHECK NONE: the health check is disabled');
}

const docker = missingTools({ dockerd: 'docker.io', docker: 'docker.io', containerd: 'containerd', runc: 'runc' }, true);
if (docker.skip) console.error(`!!! extended checks on docker-built images SKIPPED: ${docker.skip}`);

describeOrSkip(
  'extended checks on images built by docker build (classic builder, dockerd 20.10)',
  { skip: docker.skip, timeout: 10 * 60_000 },
  () => {
    let dir = '';
    let cleanup: () => Promise<void> = async () => undefined;
    let daemon: Daemon | undefined;
    const saved = { set: '', none: '' };

    before(async () => {
      if (docker.missing.length > 0)
        throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${docker.missing.join(', ')} missing (apt-get install ${docker.packages.join(' ')})`);
      ({ dir, cleanup } = await tempDir('oci-scan-ext-docker-'));
      await writeContext(join(dir, 'ctx'));
      // The docker client picks BuildKit by default; the classic builder is the one that writes `#(nop)` histories.
      process.env['DOCKER_BUILDKIT'] = '0';
      daemon = await startDocker(join(dir, 'docker'));
      await daemon.client(['build', '--network', 'none', '-q', '-t', 'localhost/ext:1.0', join(dir, 'ctx')]);
      await daemon.client([
        'build',
        '--network',
        'none',
        '-q',
        '-t',
        'localhost/ext-none:1.0',
        '-f',
        join(dir, 'ctx', 'Dockerfile.none'),
        join(dir, 'ctx'),
      ]);
      saved.set = join(dir, 'ext.tar');
      saved.none = join(dir, 'ext-none.tar');
      await daemon.client(['save', '-o', saved.set, 'localhost/ext:1.0']);
      await daemon.client(['save', '-o', saved.none, 'localhost/ext-none:1.0']);
    });
    after(async () => {
      delete process.env['DOCKER_BUILDKIT'];
      await daemon?.stop();
      await cleanup();
    });

    it('HEALTHCHECK set: every finding, no planted secret in any output', async () => {
      const { results, texts } = await scanEverywhere(`docker-archive:${saved.set}`, join(dir, 'out-set'));
      assertFindings(results, texts, 'set');
    });

    it('HEALTHCHECK NONE over an inherited one fails healthcheck', async () => {
      const { results, texts } = await scanEverywhere(`docker-archive:${saved.none}`, join(dir, 'out-none'));
      assertFindings(results, texts, 'none');
    });
  },
);

const buildah = missingTools({ buildah: 'buildah' }, true);
if (buildah.skip) console.error(`!!! extended checks on buildah-built images SKIPPED: ${buildah.skip}`);

describeOrSkip('extended checks on images built by buildah bud', { skip: buildah.skip, timeout: 10 * 60_000 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let env: NodeJS.ProcessEnv = {};
  const saved = { set: '', none: '' };
  const tool = async (args: readonly string[]): Promise<string> =>
    (await run('buildah', args, { env, maxBuffer: 64 * 1024 * 1024 })).stdout;

  before(async () => {
    if (buildah.missing.length > 0)
      throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${buildah.missing.join(', ')} missing (apt-get install ${buildah.packages.join(' ')})`);
    ({ dir, cleanup } = await tempDir('oci-scan-ext-buildah-'));
    await writeContext(join(dir, 'ctx'));
    await writeFile(
      join(dir, 'storage.conf'),
      `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
    );
    await mkdir(join(dir, 'tmp'));
    env = { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), TMPDIR: join(dir, 'tmp') };
    // Docker format: an OCI config has no Healthcheck field (buildah drops HEALTHCHECK with a warning).
    await tool(['bud', '--quiet', '--isolation', 'chroot', '--format', 'docker', '-t', 'localhost/ext:1.0', join(dir, 'ctx')]);
    await tool([
      'bud',
      '--quiet',
      '--isolation',
      'chroot',
      '--format',
      'docker',
      '-t',
      'localhost/ext-none:1.0',
      '-f',
      join(dir, 'ctx', 'Dockerfile.none'),
      join(dir, 'ctx'),
    ]);
    saved.set = join(dir, 'ext.tar');
    saved.none = join(dir, 'ext-none.tar');
    await tool(['push', '--quiet', 'localhost/ext:1.0', `docker-archive:${saved.set}:localhost/ext:1.0`]);
    await tool(['push', '--quiet', 'localhost/ext-none:1.0', `docker-archive:${saved.none}:localhost/ext-none:1.0`]);
  });
  after(async () => {
    if (dir) await tool(['rmi', '--all', '--force']).catch(() => undefined);
    await cleanup();
  });

  it('HEALTHCHECK set: every finding, no planted secret in any output', async () => {
    const { results, texts } = await scanEverywhere(`docker-archive:${saved.set}`, join(dir, 'out-set'));
    assertFindings(results, texts, 'set');
  });

  it('HEALTHCHECK NONE over an inherited one fails healthcheck', async () => {
    const { results, texts } = await scanEverywhere(`docker-archive:${saved.none}`, join(dir, 'out-none'));
    assertFindings(results, texts, 'none');
  });
});
