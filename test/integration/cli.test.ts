/**
 * The built CLI as a subprocess: report files that validate against the schema and are named
 * after the whole repository path, exit codes (highest severity, env overrides,
 * 2/20/21/22/23), COMPLIANCE_JSON_STDOUT (one object whatever the platforms), one-line errors without stack traces, a reports
 * directory that is never emptied and whose creation always ends, --allow-unscanned-layers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  buildImage,
  buildIndex,
  buildTar,
  digestOf,
  writeDockerArchive,
  writeOciLayout,
  type ImageSpec,
} from '../helpers/image-builder.js';
import { ociLayoutRef, runCli, tempDir } from '../helpers/scan.js';
import { REPORT_SCHEMA_URL } from '../../src/report/validate.js';

const cleanSpec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'app', mode: 0o755, content: 'x' },
      ],
    },
  ],
  config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'] },
};

/** Asserts a failure: exit code, one line on stderr naming `pattern`, no stack trace, nothing on stdout. */
function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] ?? '', /^oci-scan: /);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.equal(r.stdout, '');
}

test('the demo image: report validates against the schema, exit code 12 (highest severity Critical)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const r = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', dir]);
    assert.equal(r.code, 12, r.stderr);
    const report = JSON.parse(await readFile(join(dir, 'demo_1.0-compliance.json'), 'utf8')) as Record<string, unknown[]>;
    const schema = JSON.parse(await readFile(REPORT_SCHEMA_URL, 'utf8')) as object;
    const validate = new Ajv2020({ strict: true }).compile(schema);
    assert.ok(validate(report), JSON.stringify(validate.errors));
    assert.deepEqual(Object.keys(report), ['oci:fixtures/demo:1.0']);
    assert.equal(report['oci:fixtures/demo:1.0']?.length, 17);
    assert.match(r.stdout, /^PASS\. Severity: Informational\. Tag :latest\. Image oci:fixtures\/demo:1\.0 has tag: 1\.0\.$/m);
    assert.match(r.stdout, /^FAIL\. Severity: Critical\. Checking for a su file\. Found file\.$/m);
    assert.match(r.stdout, /^ {8}\/usr\/bin\/su$/m);
    assert.equal(r.stderr, '');
  } finally {
    await cleanup();
  }
});

test('exit code is the highest severity, not the first result; *_EXIT_CODE variables override', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // Tag passes (first result), labels missing (Low) and more than one layer (Low): highest Low.
    const ref = await ociLayoutRef(dir, {
      ...cleanSpec,
      layers: [...cleanSpec.layers, { entries: [] }],
      config: { ...cleanSpec.config, Labels: null },
    });
    const low = await runCli([ref, '--reports-dir', join(dir, 'r')]);
    assert.equal(low.code, 15, low.stderr);
    const lowOverride = await runCli([ref, '--reports-dir', join(dir, 'r')], { env: { LOW_EXIT_CODE: '3' } });
    assert.equal(lowOverride.code, 3);
    const clean = await runCli([await ociLayoutRef(join(dir, 'c'), cleanSpec), '--reports-dir', join(dir, 'r')]);
    assert.equal(clean.code, 0, clean.stderr + clean.stdout);
    const cleanOverride = await runCli([await ociLayoutRef(join(dir, 'c2'), cleanSpec), '--reports-dir', join(dir, 'r')], {
      env: { INFORMATIONAL_EXIT_CODE: '7' },
    });
    assert.equal(cleanOverride.code, 7);
    const high = await runCli(
      [
        await ociLayoutRef(join(dir, 'h'), { ...cleanSpec, config: { ...cleanSpec.config, ExposedPorts: { '2375/tcp': {} } } }),
        '--reports-dir',
        join(dir, 'r'),
      ],
      { env: { HIGH_EXIT_CODE: '42' } },
    );
    assert.equal(high.code, 42);
    const medium = await runCli([
      await ociLayoutRef(join(dir, 'm'), {
        ...cleanSpec,
        layers: [{ entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'x' }] }],
      }),
      '--reports-dir',
      join(dir, 'r'),
    ]);
    assert.equal(medium.code, 14);
    const critical = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', join(dir, 'r')], { env: { CRITICAL_EXIT_CODE: '99' } });
    assert.equal(critical.code, 99);
    const bad = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', join(dir, 'r')], { env: { CRITICAL_EXIT_CODE: 'lots' } });
    assertOneLineError(bad, 2, /CRITICAL_EXIT_CODE="lots" is not an exit code/);
  } finally {
    await cleanup();
  }
});

test('COMPLIANCE_JSON_STDOUT=true prints the same JSON on stdout; the check lines move to stderr', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const r = await runCli(['oci:fixtures/demo:1.0'], { env: { COMPLIANCE_JSON_STDOUT: 'true', COMPLIANCE_REPORTS_DIR: dir } });
    assert.equal(r.code, 12);
    const file = await readFile(join(dir, 'demo_1.0-compliance.json'), 'utf8');
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(file));
    assert.match(r.stderr, /^FAIL\. Severity: Critical\. Checking for a su file/m);
  } finally {
    await cleanup();
  }
});

test('no image: exit 22; COMPLIANCE_IMAGE_FULL_REF is used when IMAGE is absent', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    assertOneLineError(await runCli(['--reports-dir', dir]), 22, /no image given.*COMPLIANCE_IMAGE_FULL_REF/);
    const r = await runCli([], { env: { COMPLIANCE_IMAGE_FULL_REF: 'oci:fixtures/demo:1.0', COMPLIANCE_REPORTS_DIR: dir } });
    assert.equal(r.code, 12);
    assert.deepEqual(await readdir(dir), ['demo_1.0-compliance.json']);
  } finally {
    await cleanup();
  }
});

test('reports directory: created when missing, never emptied; below a file or under /proc → exit 23, one line', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const reports = join(dir, 'deep', 'reports');
    await mkdir(reports, { recursive: true });
    await writeFile(join(reports, 'keep-me.txt'), 'precious');
    const r = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', reports]);
    assert.equal(r.code, 12);
    assert.deepEqual((await readdir(reports)).sort(), ['demo_1.0-compliance.json', 'keep-me.txt']);
    assert.equal(await readFile(join(reports, 'keep-me.txt'), 'utf8'), 'precious');
    const created = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', join(dir, 'new', 'dir')]);
    assert.equal(created.code, 12);
    assert.deepEqual(await readdir(join(dir, 'new', 'dir')), ['demo_1.0-compliance.json']);
    // A path below a regular file can never be created, even by root.
    const blocked = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', join(reports, 'keep-me.txt', 'sub')]);
    assertOneLineError(blocked, 23, /cannot create the reports directory .*ENOTDIR/);
    // Under /proc, mkdir answers ENOENT below an existing directory: Node's recursive mkdir
    // retried that forever; the run must end with one line.
    const proc = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', '/proc/oci-scan-test/reports'], { timeoutMs: 30_000 });
    assert.equal(proc.signal, null, 'the CLI hung and was killed');
    assertOneLineError(
      proc,
      23,
      /cannot create the reports directory \/proc\/oci-scan-test\/reports: ENOENT \(at \/proc\/oci-scan-test\); set COMPLIANCE_REPORTS_DIR/,
    );
  } finally {
    await cleanup();
  }
});

test('bad input: missing file → 20, truncated gzip layer → 20, corrupt tar → 20, manifest not JSON → 21, unknown option → 2', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    assertOneLineError(await runCli([`oci:${join(dir, 'nope')}:1.0`, '--reports-dir', dir]), 20, /does not exist/);
    assertOneLineError(await runCli([`docker-archive:${join(dir, 'nope.tar')}`, '--reports-dir', dir]), 20, /does not exist/);

    const goodTar = buildTar([{ type: 'file', path: 'usr/bin/tool', mode: 0o755, content: 'x'.repeat(5000) }]);
    const { gzipSync } = await import('node:zlib');
    const truncated = gzipSync(goodTar).subarray(0, 60);
    const r1 = await runCli([await ociLayoutRef(join(dir, 'trunc'), { layers: [{ blob: truncated }] }), '--reports-dir', join(dir, 'r')]);
    assertOneLineError(r1, 20, /layer sha256:[a-f0-9]{64} of .* could not be read \(gzip: unexpected end of file\)/);

    const corrupt = Buffer.from(goodTar);
    corrupt.fill(0x41, 0, 200); // destroy the first header (its checksum no longer matches)
    const r2 = await runCli([
      await ociLayoutRef(join(dir, 'corrupt'), { layers: [{ blob: corrupt, compression: 'none' }] }),
      '--reports-dir',
      join(dir, 'r'),
    ]);
    assertOneLineError(r2, 20, /could not be read \(tar: /);

    const notJson = Buffer.from('this is not a manifest');
    const root = join(dir, 'badmanifest');
    await writeOciLayout(root, [{ image: buildImage(cleanSpec), tag: '1.0' }]);
    await writeFile(join(root, 'blobs', 'sha256', digestOf(notJson).slice(7)), notJson);
    await writeFile(
      join(root, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: digestOf(notJson),
            size: notJson.length,
            annotations: { 'org.opencontainers.image.ref.name': '1.0' },
          },
        ],
      }),
    );
    assertOneLineError(await runCli([`oci:${root}:1.0`, '--reports-dir', join(dir, 'r')]), 21, /manifest .* is not valid JSON/);

    assertOneLineError(
      await runCli(['oci:fixtures/demo:1.0', '--no-such-option']),
      2,
      /^oci-scan: unknown option --no-such-option \(see oci-scan --help\)$/,
    );
    // No partial report was left behind by any failure.
    assert.deepEqual(await readdir(join(dir, 'r')).catch(() => []), []);
  } finally {
    await cleanup();
  }
});

test('docker-archive: the tag the archive records decides check 1; the report is named after its whole repository path', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDockerArchive(join(dir, 'saved.tar'), buildImage(cleanSpec), ['registry.local/team/web:latest']);
    const r = await runCli([`docker-archive:${join(dir, 'saved.tar')}`, '--reports-dir', join(dir, 'r')]);
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stdout, /^FAIL\. Severity: Critical\. Tag :latest\. Image docker-archive:.*saved\.tar has tag: latest\.$/m);
    assert.deepEqual(await readdir(join(dir, 'r')), ['team_web_latest-compliance.json']);
  } finally {
    await cleanup();
  }
});

test('reports of repositories that share their last segment (team-a/app, team-b/app) never overwrite each other', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const reports = join(dir, 'r');
    const cases: Array<[repoTag: string, file: string]> = [
      ['registry.local:5000/team-a/app:1.0', 'team-a_app_1.0-compliance.json'],
      ['team-b/app:1.0', 'team-b_app_1.0-compliance.json'],
      ['docker.io/library/gcc:12', 'gcc_12-compliance.json'],
    ];
    for (const [repoTag, expected] of cases) {
      const archive = join(dir, `${expected}.tar`);
      await writeDockerArchive(archive, buildImage(cleanSpec), [repoTag]);
      const r = await runCli([`docker-archive:${archive}`, '--reports-dir', reports]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.endsWith(`Report: ${join(reports, expected)}\n`), r.stdout);
    }
    assert.deepEqual((await readdir(reports)).sort(), [
      'gcc_12-compliance.json',
      'team-a_app_1.0-compliance.json',
      'team-b_app_1.0-compliance.json',
    ]);
  } finally {
    await cleanup();
  }
});

test('--platform all on a multi-platform layout: one report per platform (platform in the file name); --json-stdout prints ONE object, a key per platform', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const amd64 = buildImage({ ...cleanSpec, platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = buildImage({
      ...cleanSpec,
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'x' }] }],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const root = join(dir, 'multi');
    await writeOciLayout(root, [{ image: amd64 }, { image: arm64 }]);
    const index = buildIndex([amd64, arm64]);
    await writeFile(join(root, 'blobs', 'sha256', index.digest.slice(7)), index.bytes);
    await writeFile(
      join(root, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: index.mediaType,
            digest: index.digest,
            size: index.bytes.length,
            annotations: { 'org.opencontainers.image.ref.name': '2.0' },
          },
        ],
      }),
    );
    const reports = join(dir, 'r');
    const r = await runCli([`oci:${root}:2.0`, '--platform', 'all', '--reports-dir', reports, '--json-stdout']);
    assert.equal(r.code, 12, r.stderr); // arm64 has a setuid su: the highest severity of all platforms counts
    const doc = JSON.parse(r.stdout) as Record<string, Array<{ Id: string; Pass: boolean; Description: string }>>;
    assert.ok(!Array.isArray(doc), 'one object, as the original printed, never an array');
    assert.deepEqual(Object.keys(doc), [`oci:${root}:2.0 [linux/amd64]`, `oci:${root}:2.0 [linux/arm64/v8]`]);
    assert.deepEqual((await readdir(reports)).sort(), [
      'multi_2.0_linux-amd64-compliance.json',
      'multi_2.0_linux-arm64-v8-compliance.json',
    ]);
    // Each report file keeps the original's shape: one key, the reference as given.
    const file = JSON.parse(await readFile(join(reports, 'multi_2.0_linux-arm64-v8-compliance.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(file, { [`oci:${root}:2.0`]: doc[`oci:${root}:2.0 [linux/arm64/v8]`] });
    const os = Object.values(doc).map((results) => results.find((x) => x.Id === 'os-type')?.Description ?? '');
    assert.match(os[0] ?? '', /\(linux\/amd64\)/);
    assert.match(os[1] ?? '', /\(linux\/arm64\/v8\)/);
    assert.match(r.stderr, /^Image oci:.*:2\.0 \(linux\/arm64\/v8\)$/m);
    const one = await runCli([`oci:${root}:2.0`, '--platform', 'linux/arm64', '--reports-dir', join(dir, 'one')]);
    assert.equal(one.code, 12, one.stderr);
    assert.deepEqual(await readdir(join(dir, 'one')), ['multi_2.0-compliance.json']);
    const none = await runCli([`oci:${root}:2.0`, '--platform', 'linux/s390x', '--reports-dir', join(dir, 'none')]);
    assertOneLineError(none, 21, /no image for linux\/s390x; available platforms: linux\/amd64, linux\/arm64\/v8/);
  } finally {
    await cleanup();
  }
});

test('--allow-unscanned-layers: a foreign layer the archive lacks fails every file check unless the flag is given', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // Provenance: a clean two-layer image whose second layer is re-labelled non-distributable
    // (with a URL) and left out of the layout, as a Windows base layer would be.
    const base = buildImage({ ...cleanSpec, layers: [...cleanSpec.layers, { entries: [{ type: 'file', path: 'win', content: 'w' }] }] });
    const doc = JSON.parse(base.manifest.toString()) as { layers: Array<{ mediaType: string; urls?: string[] }> };
    const foreign = doc.layers[1];
    assert.ok(foreign);
    foreign.mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
    foreign.urls = ['https://foreign.example.com/layer'];
    const manifest = Buffer.from(JSON.stringify(doc));
    const root = join(dir, 'foreign');
    await writeOciLayout(root, [{ image: { ...base, manifest, manifestDigest: digestOf(manifest) }, tag: '1.0' }]);
    await rm(join(root, 'blobs', 'sha256', (base.layers[1]?.digest ?? '').slice(7)));
    type Doc = Record<string, Array<{ Id: string; Pass: boolean; Description: string }>>;
    const fileChecks = ['suid', 'sgid', 'sudo', 'su', 'sshd', 'ssh', 'nc', 'netcat', 'socat', 'compilers'];

    const strict = await runCli([`oci:${root}:1.0`, '--reports-dir', join(dir, 'strict'), '--json-stdout']);
    assert.equal(strict.code, 12, strict.stderr);
    const strictResults = (JSON.parse(strict.stdout) as Doc)[`oci:${root}:1.0`] ?? [];
    for (const id of fileChecks)
      assert.equal(strictResults.find((x) => x.Id === id)?.Pass, false, `${id} must fail while a layer is unscanned`);

    const allowed = await runCli([`oci:${root}:1.0`, '--reports-dir', join(dir, 'allowed'), '--json-stdout', '--allow-unscanned-layers']);
    const allowedResults = (JSON.parse(allowed.stdout) as Doc)[`oci:${root}:1.0`] ?? [];
    for (const id of fileChecks) {
      const r = allowedResults.find((x) => x.Id === id);
      assert.equal(r?.Pass, true, `${id} judges the scanned layers only`);
      assert.match(r?.Description ?? '', /not scanned/);
    }
  } finally {
    await cleanup();
  }
});

test('a bare name that is a local file or layout here, and a layout path with a tag, fail with the form that scans them; help and version alone do what they say', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await cp('fixtures/demo', join(dir, 'layout'), { recursive: true });
    await writeFile(join(dir, 'app.tar'), '');
    const file = await runCli(['app.tar', '--no-cache'], { cwd: dir });
    assert.equal(file.code, 20, file.stderr);
    assert.equal(file.stderr.trimEnd().split('\n').length, 1, file.stderr);
    assert.match(
      file.stderr,
      /— "app\.tar" is also a file here, but a bare name is a registry reference: to scan the local one, run oci-scan \.\/app\.tar\n$/,
    );
    const layout = await runCli(['layout', '--no-cache'], { cwd: dir });
    assert.match(layout.stderr, /"layout" is also an OCI layout here, .* run oci-scan oci:\.\/layout\n$/);
    const tagged = await runCli([`${join(dir, 'layout')}:1.0`, '--no-cache'], { cwd: dir });
    assert.equal(tagged.code, 20);
    assert.match(
      tagged.stderr,
      new RegExp(
        `is an OCI layout: to scan its tag 1\\.0, run oci-scan oci:${join(dir, 'layout').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1\\.0\n$`,
      ),
    );
    const version = await runCli(['version'], { cwd: dir });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const help = await runCli(['help'], { cwd: dir });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: oci-scan /);
  } finally {
    await cleanup();
  }
});
