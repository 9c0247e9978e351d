/**
 * The registry source against a real registry (Debian's docker-registry, Distribution 2.8) in
 * three set-ups: anonymous, htpasswd (Basic) and token (Bearer, our token server). Images are
 * built in code by test/helpers/image-builder.ts and pushed with test/helpers/push.ts.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor, isOciScanError, type ErrorCode } from '../../src/errors.js';
import { openRegistryImages } from '../../src/sources/registry.js';
import type { Platform } from '../../src/image/platform.js';
import { buildImage, buildIndex, digestOf, type BuiltImage } from '../helpers/image-builder.js';
import { startServer } from '../helpers/fault-server.js';
import { Pusher } from '../helpers/push.js';
import {
  capturedLogger,
  readLayers,
  registrySkipReason,
  startRegistry,
  testOptions,
  TEST_PASSWORD,
  TEST_USER,
  type RunningRegistry,
} from '../helpers/registry-server.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const creds = { username: TEST_USER, password: TEST_PASSWORD };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

// Provenance: all images below are written by image-builder.ts from these entries.
const ociImage = buildImage({
  format: 'oci',
  config: { User: 'app:app', Labels: { 'org.opencontainers.image.vendor': 'oci-scan tests' } },
  layers: [
    {
      entries: [
        { type: 'dir', path: 'etc/' },
        { type: 'file', path: 'etc/os-release', content: 'NAME="Test OS"\nVERSION_ID="1"\n' },
      ],
    },
    { entries: [{ type: 'file', path: 'usr/bin/app', mode: 0o755, content: 'x'.repeat(200_000) }], compression: 'zstd-stored' },
  ],
});
const dockerImage = buildImage({
  format: 'docker',
  config: { Cmd: ['/bin/sh'] },
  layers: [{ entries: [{ type: 'file', path: 'bin/sh', mode: 0o755, content: '#!' }] }],
});
const amd64 = buildImage({
  format: 'oci',
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [{ entries: [{ type: 'file', path: 'amd64', content: 'a' }] }],
});
const arm64 = buildImage({
  format: 'oci',
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  layers: [{ entries: [{ type: 'file', path: 'arm64', content: 'b' }] }],
});
// A BuildKit-style attestation entry must be skipped.
const attestation = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: amd64.manifestDigest,
  size: amd64.manifest.length,
  platform: { os: 'unknown', architecture: 'unknown' },
  annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
};
const index = buildIndex([amd64, arm64], 'oci', [attestation]);

/** Asserts that `promise` rejects with an OciScanError of `code` (and its exit code), returning the message. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, exit: number): Promise<string> {
  let message = '';
  await assert.rejects(promise, (e: unknown) => {
    if (!isOciScanError(e, code)) return assert.fail(`expected ${code}, got ${String(e)}`);
    assert.equal(exitCodeFor(e.code), exit);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    message = e.message;
    return true;
  });
  return message;
}

async function assertImageMatches(images: Awaited<ReturnType<typeof openRegistryImages>>, built: BuiltImage): Promise<void> {
  assert.equal(images.length, 1);
  const [image] = images;
  assert.ok(image);
  assert.equal(image.manifestDigest, built.manifestDigest);
  assert.equal(image.configDigest, built.configDigest);
  assert.deepEqual(
    image.layers.map((l) => l.digest),
    built.layers.map((l) => l.digest),
  );
  const read = await readLayers(image);
  assert.deepEqual(
    read.map((r) => r.digest),
    built.layers.map((l) => l.digest),
  );
  read.forEach((r, i) => assert.ok(r.bytes.equals(built.layers[i]?.bytes ?? Buffer.alloc(0))));
}

describeOrSkip('registry: anonymous docker-registry', { skip }, () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    const team = new Pusher(registry.url, 'team/app');
    await team.image(ociImage, '1.0');
    await new Pusher(registry.url, 'team/docker').image(dockerImage, 'v2');
    await new Pusher(registry.url, 'team/multi').index([amd64, arm64], index, '1.0');
    await new Pusher(registry.url, 'library/alpine').image(dockerImage, '3.19');
  });
  after(() => registry?.stop());

  test('OCI manifest by tag: name, platform from config, config and every layer verified', async () => {
    const images = await openRegistryImages(`${registry.host}/team/app:1.0`, testOptions());
    await assertImageMatches(images, ociImage);
    const [image] = images;
    assert.deepEqual(image?.name, {
      display: `${registry.host}/team/app:1.0`,
      name: 'app',
      repository: 'team/app',
      tag: '1.0',
      tagOrigin: 'reference',
    });
    assert.deepEqual(image?.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(image?.fromIndex, undefined);
    assert.equal(image?.config.config?.User, 'app:app');
  });

  test('Docker schema2 manifest by digest, with docker:// and with tag@digest', async () => {
    const byDigest = await openRegistryImages(`docker://${registry.host}/team/docker@${dockerImage.manifestDigest}`, testOptions());
    await assertImageMatches(byDigest, dockerImage);
    assert.deepEqual(byDigest[0]?.name, {
      display: `${registry.host}/team/docker@${dockerImage.manifestDigest}`,
      name: 'docker',
      repository: 'team/docker',
      digest: dockerImage.manifestDigest,
      tagOrigin: 'reference',
    });
    // the digest wins over the tag (which does not even exist)
    const both = await openRegistryImages(`${registry.host}/team/docker:nope@${dockerImage.manifestDigest}`, testOptions());
    assert.equal(both[0]?.manifestDigest, dockerImage.manifestDigest);
    assert.equal(both[0]?.name.tag, 'nope');
  });

  test('index: default linux/amd64, --platform linux/arm64 (≡ arm64/v8), all; attestations skipped', async () => {
    const def = await openRegistryImages(`${registry.host}/team/multi:1.0`, testOptions());
    await assertImageMatches(def, amd64);
    assert.equal(def[0]?.fromIndex, true);
    assert.deepEqual(def[0]?.platform, { os: 'linux', architecture: 'amd64' });
    const arm = await openRegistryImages(`${registry.host}/team/multi:1.0`, testOptions({}, { os: 'linux', architecture: 'arm64' }));
    await assertImageMatches(arm, arm64);
    const all = await openRegistryImages(`${registry.host}/team/multi:1.0`, testOptions({}, 'all'));
    assert.deepEqual(
      all.map((i) => i.manifestDigest),
      [amd64.manifestDigest, arm64.manifestDigest],
    );
    assert.ok(all.every((i) => i.fromIndex === true && i.name.display === `${registry.host}/team/multi:1.0`));
    const byIndexDigest = await openRegistryImages(`${registry.host}/team/multi@${index.digest}`, testOptions());
    assert.equal(byIndexDigest[0]?.manifestDigest, amd64.manifestDigest);
    const msg = await rejectsWith(
      openRegistryImages(`${registry.host}/team/multi:1.0`, testOptions({}, { os: 'linux', architecture: 's390x' })),
      'NO_MATCHING_PLATFORM',
      21,
    );
    assert.match(msg, /linux\/amd64, linux\/arm64/);
    assert.doesNotMatch(msg, /unknown/);
  });

  test('index entries chosen as containerd does: normalised names, fallbacks, best variant first, attestations only when unknown/unknown', async () => {
    // Provenance: image-builder.ts; each image's config names its own platform.
    const armV6 = buildImage({
      format: 'oci',
      platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
      layers: [{ entries: [{ type: 'file', path: 'v6', content: '6' }] }],
    });
    const armV7 = buildImage({
      format: 'oci',
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      layers: [{ entries: [{ type: 'file', path: 'v7', content: '7' }] }],
    });
    const x86 = buildImage({
      format: 'oci',
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [{ entries: [{ type: 'file', path: 'x86', content: 'x' }] }],
    });
    const noPlatform = buildImage({
      format: 'oci',
      platform: { os: 'linux', architecture: 'riscv64' },
      layers: [{ entries: [{ type: 'file', path: 'np', content: 'n' }] }],
    });
    const desc = (i: BuiltImage, platform?: object, annotations?: object): object => ({
      mediaType: i.manifestMediaType,
      digest: i.manifestDigest,
      size: i.manifest.length,
      ...(platform ? { platform } : {}),
      ...(annotations ? { annotations } : {}),
    });
    const attestationType = { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': x86.manifestDigest };
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        desc(armV6, { os: 'linux', architecture: 'arm', variant: 'v6' }),
        desc(armV7, { os: 'linux', architecture: 'arm', variant: 'v7' }),
        // a real amd64 image, spelled the old way and carrying an attestation-looking annotation
        desc(x86, { os: 'Linux', architecture: 'x86_64' }, attestationType),
        // the real attestation: unknown/unknown
        desc(armV6, { os: 'unknown', architecture: 'unknown' }, attestationType),
        // no platform at all: the config says linux/riscv64
        desc(noPlatform),
      ],
    };
    const bytes = Buffer.from(JSON.stringify(doc));
    const pusher = new Pusher(registry.url, 'team/platforms');
    for (const i of [armV6, armV7, x86, noPlatform]) await pusher.image(i);
    await pusher.manifest('1.0', bytes, doc.mediaType);
    const ref = `${registry.host}/team/platforms:1.0`;
    const pick = async (platform: Platform | 'all'): Promise<Array<string | undefined>> =>
      (await openRegistryImages(ref, testOptions({}, platform))).map((i) => i.manifestDigest);

    // The default platform: the x86_64 entry (before: skipped for its annotation, and x86_64 ≠ amd64 → exit 21).
    const [def] = await openRegistryImages(ref, testOptions());
    assert.equal(def?.manifestDigest, x86.manifestDigest);
    assert.deepEqual(def?.platform, { os: 'Linux', architecture: 'x86_64' }, 'reported as the index writes it');
    assert.deepEqual(await pick({ os: 'linux', architecture: 'arm' }), [armV7.manifestDigest], 'arm ≡ arm/v7, though v6 comes first');
    assert.deepEqual(await pick({ os: 'linux', architecture: 'arm', variant: 'v6' }), [armV6.manifestDigest]);
    assert.deepEqual(
      await pick({ os: 'linux', architecture: 'arm', variant: 'v8' }),
      [armV7.manifestDigest],
      'arm/v8 runs v7, the best of what is there',
    );
    assert.deepEqual(
      await pick({ os: 'linux', architecture: 'arm64' }),
      [armV7.manifestDigest],
      'an arm64 machine runs arm/v7 (before: exit 21)',
    );
    // an entry without a platform comes after every entry that names one; its config decides
    const [riscv] = await openRegistryImages(ref, testOptions({}, { os: 'linux', architecture: 'riscv64' }));
    assert.equal(riscv?.manifestDigest, noPlatform.manifestDigest);
    assert.deepEqual(riscv?.platform, { os: 'linux', architecture: 'riscv64' }, 'the platform from the config');
    assert.deepEqual(
      await pick('all'),
      [armV6.manifestDigest, armV7.manifestDigest, x86.manifestDigest, noPlatform.manifestDigest],
      'every image, the attestation left out',
    );
    const msg = await rejectsWith(
      openRegistryImages(ref, testOptions({}, { os: 'linux', architecture: 's390x' })),
      'NO_MATCHING_PLATFORM',
      21,
    );
    // the entry without a platform is listed with the platform its config names
    assert.match(msg, /available platforms: linux\/arm\/v6, linux\/arm\/v7, Linux\/x86_64, linux\/riscv64: choose one$/);
  });

  test('unknown tag and unknown repository: IMAGE_NOT_FOUND (exit 20) naming registry and repository', async () => {
    const tag = await rejectsWith(openRegistryImages(`${registry.host}/team/app:9.9`, testOptions()), 'IMAGE_NOT_FOUND', 20);
    assert.match(tag, new RegExp(`${registry.host}.*team/app|team/app.*${registry.host}`));
    assert.match(tag, /9\.9/);
    const repo = await rejectsWith(openRegistryImages(`${registry.host}/team/nothing-here:1.0`, testOptions()), 'IMAGE_NOT_FOUND', 20);
    assert.match(repo, /team\/nothing-here/);
    await rejectsWith(openRegistryImages(`${registry.host}/team/app@sha256:${'0'.repeat(64)}`, testOptions()), 'IMAGE_NOT_FOUND', 20);
  });

  test('mirror: docker.io/library/alpine:3.19 fetched from the mirror, named as the user typed it', async () => {
    const { logger, text } = capturedLogger();
    const images = await openRegistryImages('alpine:3.19', testOptions({ mirrors: { 'docker.io': registry.host } }, undefined, logger));
    await assertImageMatches(images, dockerImage);
    assert.equal(images[0]?.name.display, 'alpine:3.19');
    assert.equal(images[0]?.name.name, 'alpine');
    assert.match(text(), new RegExp(registry.host.replace('.', '\\.')));
    assert.doesNotMatch(text(), /registry-1\.docker\.io/);
  });

  test('foreign layers: fetched when the registry has them, else marked notScanned; their URLs never fetched', async (t) => {
    const outside = await startServer((_req, res) => void res.writeHead(500).end());
    t.after(() => outside.stop());
    const base = buildImage({
      format: 'oci',
      layers: [
        { entries: [{ type: 'file', path: 'a', content: 'a' }] },
        { entries: [{ type: 'file', path: 'win', content: 'w' }] },
        { entries: [{ type: 'file', path: 'held', content: 'h' }] },
      ],
    });
    const doc = JSON.parse(base.manifest.toString()) as { layers: Array<{ mediaType: string; urls?: string[] }> };
    for (const i of [1, 2]) {
      const l = doc.layers[i];
      assert.ok(l);
      l.mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
      l.urls = [`${outside.url}/layer.tar.gz`];
    }
    const manifest = Buffer.from(JSON.stringify(doc));
    const pusher = new Pusher(registry.url, 'team/foreign');
    await pusher.blob(base.configDigest, base.config);
    for (const i of [0, 2]) {
      const l = base.layers[i];
      assert.ok(l);
      await pusher.blob(l.digest, l.bytes);
    }
    await pusher.manifest('1.0', manifest, base.manifestMediaType);
    const [image] = await openRegistryImages(`${registry.host}/team/foreign:1.0`, testOptions());
    assert.ok(image);
    assert.equal(image.layers[0]?.notScanned, undefined);
    assert.match(image.layers[1]?.notScanned ?? '', /foreign .*not held by registry/);
    assert.equal(image.layers[2]?.notScanned, undefined);
    const held = await image.layers[2]?.open();
    assert.ok(held);
    const chunks: Buffer[] = [];
    for await (const c of held) chunks.push(c as Buffer);
    assert.equal(digestOf(Buffer.concat(chunks)), base.layers[2]?.digest);
    assert.equal(outside.requests.length, 0, 'nothing fetched from the layer URLs');
  });

  test('a registry that is not there: NETWORK (exit 20) saying what to do', async () => {
    const msg = await rejectsWith(openRegistryImages('127.0.0.1:1/team/app:1.0', testOptions({ retries: 0 })), 'NETWORK', 20);
    assert.match(msg, /127\.0\.0\.1:1 refused the connection/);
  });
});

describeOrSkip('registry: htpasswd (Basic) docker-registry', { skip }, () => {
  let registry: RunningRegistry;
  let dir: string;
  before(async () => {
    registry = await startRegistry({ kind: 'htpasswd' });
    dir = await mkdtemp(join(tmpdir(), 'oci-scan-basic-'));
    await new Pusher(registry.url, 'team/app', creds).image(ociImage, '1.0');
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('credentials from DOCKER_AUTH_CONFIG; the password is in no log line', async () => {
    const { logger, text } = capturedLogger();
    const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { auth: b64(`${TEST_USER}:${TEST_PASSWORD}`) } } }) };
    await assertImageMatches(await openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env }, undefined, logger)), ociImage);
    assert.ok(text().length > 0, 'something was logged');
    assert.ok(!text().includes(TEST_PASSWORD));
    assert.ok(!text().includes(b64(`${TEST_USER}:${TEST_PASSWORD}`)));
  });

  test('credentials from a config file in DOCKER_CONFIG (key with scheme and path)', async () => {
    const cfg = join(dir, 'docker');
    await mkdir(cfg, { recursive: true });
    await writeFile(
      join(cfg, 'config.json'),
      JSON.stringify({ auths: { [`http://${registry.host}/v2/`]: { username: TEST_USER, password: TEST_PASSWORD } } }),
    );
    await assertImageMatches(
      await openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env: { DOCKER_CONFIG: cfg } })),
      ociImage,
    );
  });

  test('wrong password: AUTH_FAILED (exit 20), neither password in the message or the log', async () => {
    const { logger, text } = capturedLogger();
    const env = {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { auth: b64(`${TEST_USER}:wrong-${TEST_PASSWORD}`) } } }),
    };
    const msg = await rejectsWith(
      openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env }, undefined, logger)),
      'AUTH_FAILED',
      20,
    );
    assert.match(msg, new RegExp(`registry ${registry.host} refused user ci from DOCKER_AUTH_CONFIG`));
    assert.match(msg, /team\/app/);
    for (const s of [TEST_PASSWORD, b64(`${TEST_USER}:wrong-${TEST_PASSWORD}`)]) {
      assert.ok(!msg.includes(s));
      assert.ok(!text().includes(s));
    }
  });

  test('no credentials: AUTH_FAILED saying where to put them', async () => {
    const msg = await rejectsWith(openRegistryImages(`${registry.host}/team/app:1.0`, testOptions()), 'AUTH_FAILED', 20);
    assert.match(msg, /requires authentication.*DOCKER_AUTH_CONFIG/);
  });
});

describeOrSkip('registry: token-auth docker-registry', { skip }, () => {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-scan-token-'));
    tokens = await startTokenServer({
      dir,
      users: { [TEST_USER]: TEST_PASSWORD },
      refreshTokens: { 'refresh-0123456789': TEST_USER },
      anonymousPull: true,
      field: 'access_token',
    });
    registry = await startRegistry({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.certFile,
    });
    await new Pusher(registry.url, 'team/app', creds).index([amd64, arm64], index, '1.0');
    await new Pusher(registry.url, 'team/app', creds).image(ociImage, 'single');
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('anonymous token (no credentials), one token request per scope for the whole image', async () => {
    const before = tokens.requests.length;
    await assertImageMatches(await openRegistryImages(`${registry.host}/team/app:single`, testOptions()), ociImage);
    const mine = tokens.requests.slice(before);
    assert.equal(mine.length, 1, 'token cached per scope');
    assert.equal(mine[0]?.hadAuthorization, false);
    assert.deepEqual(mine[0]?.scopes, ['repository:team/app:pull']);
  });

  test('basic credentials exchanged for a token (GET), all platforms of the index', async () => {
    const { logger, text } = capturedLogger();
    const before = tokens.requests.length;
    const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { auth: b64(`${TEST_USER}:${TEST_PASSWORD}`) } } }) };
    const images = await openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env }, 'all', logger));
    assert.equal(images.length, 2);
    for (const [i, built] of [amd64, arm64].entries()) await assertImageMatches([images[i] as (typeof images)[number]], built);
    assert.equal(tokens.requests.slice(before)[0]?.user, TEST_USER);
    assert.ok(!text().includes(TEST_PASSWORD));
    assert.ok(!/eyJ[\w-]+\.eyJ/.test(text()), 'no JWT in the log');
  });

  test('identitytoken: OAuth2 refresh-token grant (POST) at the realm', async () => {
    const before = tokens.requests.length;
    const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { identitytoken: 'refresh-0123456789' } } }) };
    await assertImageMatches(await openRegistryImages(`${registry.host}/team/app:single`, testOptions({ env })), ociImage);
    const mine = tokens.requests.slice(before);
    assert.equal(mine[0]?.method, 'POST');
    assert.equal(mine[0]?.grantType, 'refresh_token');
    assert.equal(mine[0]?.user, TEST_USER);
  });

  test('wrong password: AUTH_FAILED from the token server, no password anywhere', async () => {
    const { logger, text } = capturedLogger();
    const env = {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { username: TEST_USER, password: 'not-the-password-42' } } }),
    };
    const msg = await rejectsWith(
      openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env }, undefined, logger)),
      'AUTH_FAILED',
      20,
    );
    assert.match(msg, /refused user ci/);
    assert.ok(!msg.includes('not-the-password-42') && !text().includes('not-the-password-42'));
  });

  test('unknown tag: IMAGE_NOT_FOUND', async () => {
    await rejectsWith(openRegistryImages(`${registry.host}/team/app:2.0`, testOptions()), 'IMAGE_NOT_FOUND', 20);
  });
});
