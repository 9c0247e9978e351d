/**
 * The built CLI (dist/src/cli/main.js) against a real htpasswd registry: exit codes, the
 * report file, one-line errors, and no password in stdout, stderr or the reports directory;
 * several images in one run; an image named like a command.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, buildIndex } from '../helpers/image-builder.js';
import { startCountingProxy } from '../helpers/counting-proxy.js';
import { Pusher } from '../helpers/push.js';
import { isolatedCacheEnv } from '../helpers/scan.js';
import { registrySkipReason, startRegistry, TEST_PASSWORD, TEST_USER, type RunningRegistry } from '../helpers/registry-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const creds = { username: TEST_USER, password: TEST_PASSWORD };

// Provenance: built by image-builder.ts. A clean image (non-root user, labels, one layer, CMD) and a suid one.
const cleanConfig = {
  User: '1000:1000',
  Cmd: ['/app'],
  Labels: { 'org.opencontainers.image.vendor': 'v', 'org.opencontainers.image.version': '1', component: 'c', product: 'p' },
};
const clean = buildImage({
  config: cleanConfig,
  layers: [{ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'app' }] }],
});
const suid = buildImage({
  config: { User: 'app:app' },
  layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' }] }],
});
// The clean image with a compiler added: highest severity Medium (exit 14).
const tools = buildImage({
  config: cleanConfig,
  layers: [
    {
      entries: [
        { type: 'file', path: 'app', mode: 0o755, content: 'app' },
        { type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' },
      ],
    },
  ],
});
const arm = buildImage({
  platform: { os: 'linux', architecture: 'arm64' },
  config: cleanConfig,
  layers: [{ entries: [{ type: 'file', path: 'x', content: 'x' }] }],
});
const index = buildIndex([clean, arm]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home-for-tests', OCI_SCAN_PROGRESS: 'none', ...isolatedCacheEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function reportsText(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const texts = await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')));
  return names.join('\n') + texts.join('\n');
}

describeOrSkip('CLI against a real registry', { skip }, () => {
  let registry: RunningRegistry;
  let dir: string;
  let auth: Record<string, string>;
  before(async () => {
    registry = await startRegistry({ kind: 'htpasswd' });
    dir = await mkdtemp(join(tmpdir(), 'oci-scan-cli-'));
    const pusher = new Pusher(registry.url, 'team/app', creds);
    await pusher.image(clean, '1.0');
    await pusher.image(suid, 'suid');
    await pusher.index([clean, arm], index, 'multi');
    await new Pusher(registry.url, 'library/alpine', creds).image(clean, '3.19');
    const apps = new Pusher(registry.url, 'app/clean', creds);
    await apps.image(clean, '1.0');
    await new Pusher(registry.url, 'app/tools', creds).image(tools, '1.0');
    const audit = new Pusher(registry.url, 'library/audit', creds);
    await audit.image(clean, '1.0');
    await audit.image(clean, 'latest');
    auth = {
      DOCKER_AUTH_CONFIG: JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } },
      }),
    };
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a clean image: exit 0, report <name>_<tag>-compliance.json keyed by the reference', async () => {
    const reports = join(dir, 'clean');
    const r = await run([`${registry.host}/team/app:1.0`, '--reports-dir', reports], auth);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(join(reports, 'team_app_1.0-compliance.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(report), [`${registry.host}/team/app:1.0`]);
    assert.ok(!r.stdout.includes(TEST_PASSWORD) && !r.stderr.includes(TEST_PASSWORD));
  });

  test('a suid file: exit 12 (Critical), found in the layer pulled by digest', async () => {
    const reports = join(dir, 'suid');
    const r = await run([`${registry.host}/team/app@${suid.manifestDigest}`, '--reports-dir', reports], auth);
    assert.equal(r.code, 12, r.stderr);
    const text = await reportsText(reports);
    assert.ok(text.includes(suid.layers[0]?.digest ?? 'missing'));
    assert.ok(text.includes('/usr/bin/su'));
  });

  test('--platform all: one report per platform', async () => {
    const reports = join(dir, 'all');
    const r = await run([`${registry.host}/team/app:multi`, '--reports-dir', reports, '--platform', 'all'], auth);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await readdir(reports)).length, 2);
  });

  test('a mirror: alpine:3.19 through --registry-mirror docker.io=HOST, report named as typed', async () => {
    const reports = join(dir, 'mirror');
    const r = await run(['alpine:3.19', '--reports-dir', reports, '--registry-mirror', `docker.io=${registry.host}`], auth);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(join(reports, 'alpine_3.19-compliance.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(report), ['alpine:3.19']);
  });

  test('pull failures exit 20 with one line on stderr, no stack trace, no password anywhere', async () => {
    const wrong = {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { username: TEST_USER, password: `${TEST_PASSWORD}-wrong` } } }),
    };
    const cases: Array<[args: string[], env: Record<string, string>, pattern: RegExp]> = [
      [[`${registry.host}/team/app:1.0`], wrong, /refused user ci/],
      [[`${registry.host}/team/app:1.0`], {}, /requires authentication/],
      [[`${registry.host}/team/nothing:1.0`], auth, /not found/],
      [[`${registry.host}/team/app:9.9`], auth, /not found/],
      [['Bad//Reference'], auth, /invalid/],
    ];
    for (const [args, env, pattern] of cases) {
      const reports = join(dir, 'fail');
      const r = await run([...args, '--reports-dir', reports], env);
      assert.equal(r.code, 20, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? '', pattern);
      assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
      for (const secret of [TEST_PASSWORD, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')]) {
        assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'password not printed');
        assert.ok(!(await reportsText(reports)).includes(secret), 'password not in reports');
      }
    }
    // The same failures and a successful pull with every log line on: still no secret.
    for (const [args, env] of [
      [[`${registry.host}/team/app:1.0`], wrong],
      [[`${registry.host}/team/app:1.0`], auth],
    ] as const) {
      const r = await run([...args, '--reports-dir', join(dir, 'debug'), '--log-level', 'trace'], env);
      assert.ok(r.stderr.includes('"level":'), 'debug logs were written');
      for (const secret of [TEST_PASSWORD, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')]) {
        assert.ok(
          !r.stdout.includes(secret) && !r.stderr.includes(secret),
          `secret in output at --log-level trace: ${r.stderr.slice(0, 2000)}`,
        );
      }
    }
  });

  test('several images of one registry in one run: both scanned and reported, the exit code the highest over both', async () => {
    const reports = join(dir, 'many');
    const refs = [`${registry.host}/app/clean:1.0`, `${registry.host}/app/tools:1.0`];
    const r = await run([...refs, '--reports-dir', reports], auth);
    assert.equal(r.code, 14, `the compiler of the second image counts: ${r.stderr}`);
    assert.deepEqual((await readdir(reports)).sort(), ['app_clean_1.0-compliance.json', 'app_tools_1.0-compliance.json']);
    for (const [i, file] of ['app_clean_1.0-compliance.json', 'app_tools_1.0-compliance.json'].entries()) {
      const report = JSON.parse(await readFile(join(reports, file), 'utf8')) as Record<string, unknown[]>;
      assert.deepEqual(Object.keys(report), [refs[i]]);
      assert.equal(report[refs[i] ?? '']?.length, 17);
    }
    const reversed = await run([...refs].reverse().concat(['--reports-dir', join(dir, 'many2')]), auth);
    assert.equal(reversed.code, 14, reversed.stderr);

    // The scan document names each image by the digests the registry holds; an index's platforms carry its digest.
    const doc = await run([...refs, `${registry.host}/team/app:multi`, '--platform', 'all', '--format', 'json'], auth);
    assert.equal(doc.code, 14, doc.stderr);
    const parsed = JSON.parse(doc.stdout) as {
      images: Array<{ reference: string; digest: string; indexDigest?: string; highest: string }>;
      highest: string;
    };
    assert.deepEqual(
      parsed.images.map((i) => i.digest),
      [clean.manifestDigest, tools.manifestDigest, clean.manifestDigest, arm.manifestDigest],
    );
    assert.deepEqual(
      parsed.images.map((i) => i.indexDigest),
      [undefined, undefined, index.digest, index.digest],
    );
    assert.deepEqual(
      parsed.images.map((i) => i.highest),
      ['Informational', 'Medium', 'Informational', 'Informational'],
    );
    assert.equal(parsed.highest, 'Medium');
  });

  test('several images of one registry in one run share its session: one ping for both (counted through a proxy)', async () => {
    const proxy = await startCountingProxy(registry.url);
    try {
      const proxyAuth = {
        DOCKER_AUTH_CONFIG: JSON.stringify({
          auths: { [proxy.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } },
        }),
      };
      const r = await run([`${proxy.host}/app/clean:1.0`, `${proxy.host}/app/tools:1.0`, '--reports-dir', join(dir, 'proxied')], proxyAuth);
      assert.equal(r.code, 14, r.stderr);
      assert.equal(proxy.count('GET', '/v2/'), 1, 'one ping for the registry, whatever the number of images');
    } finally {
      await proxy.stop();
    }
  });

  test('an image missing among others: every image attempted, one line for it, the others reported, exit 20', async () => {
    const reports = join(dir, 'missing');
    const missing = `${registry.host}/app/missing:1.0`;
    const r = await run([`${registry.host}/app/clean:1.0`, missing, `${registry.host}/app/tools:1.0`, '--reports-dir', reports], auth);
    assert.equal(r.code, 20, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`oci-scan: ${missing}: `), lines[0]);
    assert.match(lines[0] ?? '', /not found/);
    assert.deepEqual((await readdir(reports)).sort(), ['app_clean_1.0-compliance.json', 'app_tools_1.0-compliance.json']);
  });

  test('an image named like a command: audit:1.0, scan audit and docker://audit are images; audit alone is the audit command', async () => {
    const mirror = ['--registry-mirror', `docker.io=${registry.host}`];
    const tagged = await run(['audit:1.0', ...mirror, '--reports-dir', join(dir, 'audit1')], auth);
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.deepEqual(await readdir(join(dir, 'audit1')), ['audit_1.0-compliance.json']);
    const viaScan = await run(['scan', 'audit', ...mirror, '--reports-dir', join(dir, 'audit2'), '--json-stdout'], auth);
    assert.equal(viaScan.code, 12, `audit means audit:latest, which check 1 fails: ${viaScan.stderr}`);
    assert.deepEqual(Object.keys(JSON.parse(viaScan.stdout) as object), ['audit:latest']);
    const viaTransport = await run(['docker://audit:1.0', ...mirror, '--reports-dir', join(dir, 'audit3')], auth);
    assert.equal(viaTransport.code, 0, viaTransport.stderr);
    const reserved = await run(['audit', ...mirror, '--reports-dir', join(dir, 'audit4')], auth);
    assert.equal(reserved.code, 2, reserved.stderr);
    assert.match(reserved.stderr, /needs what to audit.* oci-scan scan audit/);
  });

  test('no matching platform: exit 21 listing the platforms', async () => {
    const r = await run([`${registry.host}/team/app:multi`, '--reports-dir', join(dir, 'p'), '--platform', 'linux/s390x'], auth);
    assert.equal(r.code, 21, r.stderr);
    assert.match(r.stderr, /linux\/amd64, linux\/arm64/);
  });
});
