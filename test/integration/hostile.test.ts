/**
 * Malicious images and hostile surroundings, through the built CLI: hostile entry names are
 * printed escaped and never used as file system paths; hard links to missing targets and
 * duplicate entries across layers do not crash; concurrent scans into one reports directory;
 * stdout on a full device; SIGTERM/SIGINT while a slow registry trickles a layer; hostile
 * platform strings and archive names become safe, bounded, distinct report file names and
 * escaped lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildImage, buildIndex, buildTar, digestOf, ustarHeader, writeDockerArchive, writeOciLayout } from '../helpers/image-builder.js';
import { startFaultRegistry } from '../helpers/fault-server.js';
import { CLI, isolatedCacheEnv, ociLayoutRef, runCli, tempDir } from '../helpers/scan.js';

/** Every path under `dir`, relative, sorted. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((e) => relative(dir, join(dir, e))).sort();
}

/** A ustar header whose name is the raw bytes given (e.g. not UTF-8), checksum recomputed. */
function rawNameHeader(name: Buffer, mode: number): Buffer {
  const block = ustarHeader({ name: 'x', typeflag: '0', size: 0, mode });
  block.fill(0, 0, 100);
  name.copy(block, 0, 0, 100);
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return block;
}

// Provenance: suid files (so that they are reported) with hostile names, written by our ustar writer.
const hostileNames = [
  '../../../../tmp/oci-scan-escape',
  '/etc/../../abs-suid',
  'bin/\u001b[2J\u001b]0;pwned\u0007evil',
  'bin/bell\u0007\r\nFAKE PASS line',
  'bin/del\u007f\u009bc1',
];
const hostileTar = Buffer.concat([
  buildTar(hostileNames.map((path) => ({ type: 'file' as const, path, mode: 0o4755, content: 'x' }))).subarray(0, -1024),
  rawNameHeader(Buffer.from([0x62, 0x69, 0x6e, 0x2f, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xc3]), 0o4755),
  Buffer.alloc(1024),
]);

test('hostile entry names (.., absolute, ESC sequences, control characters, non-UTF-8) are printed escaped and never become paths', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, { layers: [{ tar: hostileTar }] });
    const before = await listing(dir);
    const r = await runCli([ref, '--reports-dir', join(dir, 'reports')], { cwd: dir });
    assert.equal(r.code, 12, r.stderr);
    assert.ok(!r.stdout.includes('\u001b'), 'raw ESC on stdout');
    // eslint-disable-next-line no-control-regex -- the point of the check
    assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'raw control characters on stdout');
    assert.doesNotMatch(r.stdout, /^FAKE PASS line/m, 'an entry name forged an output line');
    assert.match(r.stdout, /\\x1b\[2J\\x1b\]0;pwned\\x07evil/);
    assert.ok(!r.stderr.includes('\u001b'), 'raw ESC on stderr');
    // Only the report was added, inside the reports directory.
    const after = await listing(dir);
    assert.deepEqual(
      after.filter((p) => !before.includes(p)),
      ['reports', 'reports/img_1.0-compliance.json'],
    );
    const report = JSON.parse(await readFile(join(dir, 'reports', 'img_1.0-compliance.json'), 'utf8')) as Record<
      string,
      Array<{ Files?: Array<Record<string, string[]>> }>
    >;
    const paths =
      Object.values(report)[0]
        ?.flatMap((x) => x.Files ?? [])
        .flatMap((f) => Object.values(f).flat()) ?? [];
    assert.ok(paths.includes('/tmp/oci-scan-escape'), `'..' is resolved inside the image root: ${JSON.stringify(paths)}`);
    for (const p of paths) assert.ok(p.startsWith('/') && !p.split('/').includes('..'), p);
  } finally {
    await cleanup();
  }
});

test('an error message quoting hostile image data is printed without raw control characters', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // A manifest whose own mediaType carries an OSC title sequence and a line break.
    const img = buildImage({ layers: [{ entries: [] }] });
    const evil = Buffer.from(
      JSON.stringify({ ...(JSON.parse(img.manifest.toString()) as object), mediaType: 'x/\u001b]0;pwned\u0007\nforged line' }),
    );
    await writeOciLayout(join(dir, 'img'), [
      {
        image: { ...img, manifest: evil, manifestDigest: digestOf(evil), manifestMediaType: 'x/\u001b]0;pwned\u0007\nforged line' },
        tag: '1.0',
      },
    ]);
    const r = await runCli([`oci:${join(dir, 'img')}:1.0`, '--reports-dir', join(dir, 'reports')]);
    assert.ok(r.code === 21 || r.code === 20, `exit ${String(r.code)}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(
      r.stderr.trimEnd(),
      // eslint-disable-next-line no-control-regex -- the point of the check
      /[\u0000-\u001f\u007f-\u009f]/,
      `raw control characters on stderr: ${JSON.stringify(r.stderr)}`,
    );
  } finally {
    await cleanup();
  }
});

test('hard links to missing targets and duplicate entries across layers scan normally', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, {
      layers: [
        {
          entries: [
            { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'a' },
            { type: 'hardlink', path: 'usr/bin/ghost', target: 'does/not/exist' },
            { type: 'hardlink', path: 'usr/bin/up', target: '../../../etc/shadow' },
          ],
        },
        {
          entries: [
            { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'b' },
            { type: 'file', path: 'usr/bin/sudo', mode: 0o755, content: 'c' },
            { type: 'hardlink', path: 'usr/bin/ghost', target: 'usr/bin/ghost' },
          ],
        },
      ],
    });
    const r = await runCli([ref, '--reports-dir', join(dir, 'reports')]);
    assert.ok(r.code !== null && [0, 12, 13, 14, 15].includes(r.code), `exit ${String(r.code)}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /usr\/bin\/sudo/);
  } finally {
    await cleanup();
  }
});

test('two scans writing into the same reports directory at once both leave complete, valid files', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = await ociLayoutRef(join(dir, 'a'), { layers: [{ entries: [{ type: 'file', path: 'a', content: 'a' }] }] }, '1.0');
    const b = await ociLayoutRef(
      join(dir, 'b'),
      { layers: [{ entries: [{ type: 'file', path: 'b', content: 'b'.repeat(100_000) }] }] },
      '2.0',
    );
    const reports = join(dir, 'reports');
    // Twice each, so that two writers also race for the same file name.
    const runs = await Promise.all([
      runCli([a, '--reports-dir', reports]),
      runCli([b, '--reports-dir', reports]),
      runCli([a, '--reports-dir', reports]),
      runCli([b, '--reports-dir', reports]),
    ]);
    for (const r of runs) assert.ok(r.code !== null && r.code !== 23 && r.code < 20, `exit ${String(r.code)}: ${r.stderr}`);
    assert.deepEqual((await readdir(reports)).sort(), ['img_1.0-compliance.json', 'img_2.0-compliance.json']);
    for (const f of await readdir(reports)) {
      const doc = JSON.parse(await readFile(join(reports, f), 'utf8')) as Record<string, unknown[]>;
      assert.equal(Object.values(doc)[0]?.length, 17);
    }
  } finally {
    await cleanup();
  }
});

/** Runs the CLI with custom stdio; resolves with exit code and stderr. */
function spawnCli(
  args: readonly string[],
  stdout: number | 'pipe',
  onSpawn?: (kill: (s: NodeJS.Signals) => void, stderrSoFar: () => string) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', OCI_SCAN_PROGRESS: 'none', ...isolatedCacheEnv() };
    for (const k of ['COMPLIANCE_IMAGE_FULL_REF', 'COMPLIANCE_REPORTS_DIR', 'COMPLIANCE_JSON_STDOUT', 'DOCKER_AUTH_CONFIG', 'FORCE_COLOR'])
      delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', stdout, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
    onSpawn?.(
      (s) => child.kill(s),
      () => stderr,
    );
  });
}

test('stdout on a full device (/dev/full): exit 23 with one clear line', async () => {
  const { dir, cleanup } = await tempDir();
  const full = openSync('/dev/full', 'w');
  try {
    const ref = await ociLayoutRef(dir, { layers: [{ entries: [{ type: 'file', path: 'a', content: 'a' }] }] });
    const r = await spawnCli([ref, '--reports-dir', join(dir, 'reports')], full);
    assert.equal(r.code, 23, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /^oci-scan: .*stdout.*ENOSPC/);
  } finally {
    closeSync(full);
    await cleanup();
  }
});

// Provenance: a 2 MB layer of varied bytes, so that the trickling server needs many seconds.
const slowImage = buildImage({
  layers: [
    {
      entries: [
        { type: 'file', path: 'big.bin', content: Buffer.from(Array.from({ length: 2_000_000 }, (_, i) => (i * 2654435761) >>> 24)) },
      ],
    },
  ],
});
const slowLayer = slowImage.layers[0];

/** A fault registry that trickles the slow layer (1 KB every 100 ms); `requested` resolves when its download starts. */
async function tricklingRegistry(): Promise<{ server: Awaited<ReturnType<typeof startFaultRegistry>>; requested: Promise<void> }> {
  assert.ok(slowLayer);
  let blobRequested: () => void = () => undefined;
  const requested = new Promise<void>((resolve) => (blobRequested = resolve));
  const server = await startFaultRegistry({ repository: 'team/app', tag: '1.0', image: slowImage }, (req, res) => {
    if (!req.url?.includes(slowLayer.digest)) return false;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': slowLayer.bytes.length });
    let pos = 0;
    const timer = setInterval(() => {
      if (res.destroyed || pos >= slowLayer.bytes.length) {
        clearInterval(timer);
        return;
      }
      res.write(slowLayer.bytes.subarray(pos, pos + 1024));
      pos += 1024;
    }, 100);
    res.on('close', () => clearInterval(timer));
    blobRequested();
    return true;
  });
  return { server, requested };
}

for (const [signal, exit] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} during a slow layer download: exit ${exit}, one stderr line, no .tmp files in the reports dir`, async () => {
    const { dir, cleanup } = await tempDir();
    const { server, requested } = await tricklingRegistry();
    try {
      const reports = join(dir, 'reports');
      const r = await spawnCli([`${server.host}/team/app:1.0`, '--reports-dir', reports], 'pipe', (kill) => {
        void requested.then(() => setTimeout(() => kill(signal), 500));
      });
      assert.equal(r.code, exit, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^oci-scan: interrupted by ${signal}`));
      const left = await readdir(reports).catch(() => []);
      assert.deepEqual(left, [], `files left in the reports dir: ${left.join(', ')}`);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
}

test('SIGINT with the terminal progress on screen: the drawing is erased first, so the line is never glued to it', async () => {
  const { dir, cleanup } = await tempDir();
  const { server, requested } = await tricklingRegistry();
  try {
    const r = await spawnCli(
      [`${server.host}/team/app:1.0`, '--reports-dir', join(dir, 'reports'), '--progress', 'tty'],
      'pipe',
      (kill) => {
        void requested.then(() => setTimeout(() => kill('SIGINT'), 1500));
      },
    );
    assert.equal(r.code, 130, r.stderr);
    const at = r.stderr.indexOf('oci-scan: interrupted by SIGINT');
    assert.ok(at > 0, `progress was drawn before the line: ${JSON.stringify(r.stderr)}`);
    // eslint-disable-next-line no-control-regex -- the erase sequence is what is asserted
    assert.match(r.stderr.slice(0, at), /\r(\u001b\[\d+A)?\u001b\[J$/, 'erased right before the line');
  } finally {
    await server.stop();
    await cleanup();
  }
});

test('--timeout: a scan that outlives it stops with exit 20, one line, and no report', async () => {
  const { dir, cleanup } = await tempDir();
  const { server } = await tricklingRegistry();
  try {
    const reports = join(dir, 'reports');
    const r = await runCli([`${server.host}/team/app:1.0`, '--reports-dir', reports, '--timeout', '1']);
    assert.equal(r.code, 20, r.stderr);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^oci-scan: the scan did not finish within 1 s \(--timeout\)/);
    assert.deepEqual(await readdir(reports).catch(() => []), []);
  } finally {
    await server.stop();
    await cleanup();
  }
});

/** Asserts that `text` carries no raw control or text-reordering character (newlines aside). */
function assertNoRawControls(text: string, what: string): void {
  assert.doesNotMatch(
    text.replace(/\n/g, ''),
    // eslint-disable-next-line no-control-regex -- the point of the check
    /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/,
    `raw control characters in ${what}: ${JSON.stringify(text.slice(0, 500))}`,
  );
}

test('hostile platform strings in an index (ESC, NUL, 300 characters, two that sanitise alike): one safe, bounded, distinct report file each; escaped lines', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // Provenance: five one-layer images that differ in config and platform; a layout whose
    // index.json names an OCI index over them. linux/amd64/v1 and linux-amd64/v1 both become
    // linux-amd64-v1 in a file name; only the clean one has no setuid file.
    const platforms = [
      { os: 'linux', architecture: 'amd64', variant: 'v1' },
      { os: 'linux-amd64', architecture: 'v1' },
      { os: 'linux', architecture: 'arm', variant: '\u001b[2J\u001b]0;pwned\u0007' },
      { os: 'linux', architecture: 'riscv64', variant: 'a\u0000b' },
      { os: 'linux', architecture: 's390x', variant: 'v'.repeat(300) },
    ];
    const images = platforms.map((platform, i) =>
      buildImage({
        layers: [
          {
            entries:
              i === 0
                ? [{ type: 'file', path: 'app', content: 'clean' }]
                : [{ type: 'file', path: `usr/bin/su${i}`, mode: 0o4755, content: String(i) }],
          },
        ],
        config: { User: 'app:app', Labels: { n: String(i) }, Cmd: ['/app'] },
        platform,
      }),
    );
    const root = join(dir, 'multi');
    await writeOciLayout(
      root,
      images.map((image) => ({ image })),
    );
    const index = buildIndex(images);
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
    const reports = join(dir, 'reports');
    const r = await runCli([`oci:${root}:2.0`, '--platform', 'all', '--reports-dir', reports]);
    assert.equal(r.code, 12, r.stderr);
    assert.equal(r.stderr, '');
    assertNoRawControls(r.stdout, 'stdout');
    assert.match(r.stdout, /^Image oci:.*:2\.0 \(linux\/arm\/\\x1b\[2J\\x1b\]0;pwned\\x07\)$/m);
    assert.match(r.stdout, /^Image oci:.*:2\.0 \(linux\/riscv64\/a\\x00b\)$/m);
    const files = await readdir(reports);
    assert.equal(files.length, platforms.length, files.join(' '));
    for (const f of files) {
      assert.match(f, /^multi_2\.0_[A-Za-z0-9._-]+-compliance\.json$/);
      assert.ok(Buffer.byteLength(f) <= 200, f);
    }
    // Each platform's report is its own: the clean amd64/v1 image did not overwrite linux-amd64/v1's.
    const su = await Promise.all(
      files.map(async (f) => {
        const doc = JSON.parse(await readFile(join(reports, f), 'utf8')) as Record<string, Array<{ Id: string; Pass: boolean }>>;
        return doc[`oci:${root}:2.0`]?.find((x) => x.Id === 'suid')?.Pass;
      }),
    );
    assert.deepEqual(su.sort(), [false, false, false, false, true]);
    // Every report path printed is one of these files.
    const printed = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('Report: '))
      .map((l) => l.slice('Report: '.length));
    assert.deepEqual(printed.map((p) => relative(reports, p)).sort(), [...files].sort());
  } finally {
    await cleanup();
  }
});

test('hostile names an archive records (ref.name annotation, RepoTags) become safe file names and escaped lines', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const image = buildImage({ layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'x' }] }] });
    const layout = join(dir, 'layout');
    // A ref.name without '/', ':' or '@' is the tag itself (one with them is a full image name, docs/checks.md check 1).
    await writeOciLayout(layout, [{ image, tag: '..\u001b]0;pwned\u0007\u0000..' }]);
    const reports = join(dir, 'reports');
    const fromLayout = await runCli([`oci:${layout}`, '--reports-dir', reports], { cwd: dir });
    assert.equal(fromLayout.code, 12, fromLayout.stderr);
    assertNoRawControls(fromLayout.stdout, 'stdout');
    assert.match(fromLayout.stdout, /has tag: \.\.\\x1b\]0;pwned\\x07\\x00\.\.$/m);

    const archive = join(dir, 'saved.tar');
    await writeDockerArchive(archive, image, [`evil/${'n'.repeat(250)}/../\u001b[31m:\u202e${'t'.repeat(250)}`]);
    const fromArchive = await runCli([`docker-archive:${archive}`, '--reports-dir', reports], { cwd: dir });
    assert.equal(fromArchive.code, 12, fromArchive.stderr);
    assertNoRawControls(fromArchive.stdout, 'stdout');
    const files = await readdir(reports);
    assert.equal(files.length, 2, files.join(' '));
    for (const f of files) {
      assert.match(f, /^[A-Za-z0-9_-][A-Za-z0-9._-]*-compliance\.json$/);
      assert.ok(Buffer.byteLength(f) <= 200, f);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['layout', 'reports', 'saved.tar'], 'nothing written outside the reports directory');
  } finally {
    await cleanup();
  }
});
