/**
 * Archives as real tools write them, beyond `docker save` (src/image/sources/docker-archive.ts,
 * local-image.ts): go-containerregistry / crane / ko / kaniko tarballs (`<hex>.tar.gz`),
 * Jib's lower-case manifest.json, gzip bytes inside `<id>/layer.tar`, foreign layers in
 * LayerSources, tag-less RepoTags, a config whose name is not its digest, OCI artifacts
 * refused clearly, and exports holding one platform under a full index.
 *
 * Provenance: images by test/helpers/image-builder.ts; each archive writer there names the
 * tool whose layout it mirrors. Real-tool archives are in test/integration/real-tools.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isOciScanError, type ErrorCode } from '../../src/errors.js';
import { openImages } from '../../src/image/sources/index.js';
import type { Image } from '../../src/image/types.js';
import { inspectLayer, type EntryMatcher, type LayerFacts } from '../../src/layer/inspect.js';
import { scan } from '../../src/scan.js';
import {
  buildArtifact,
  buildImage,
  buildIndex,
  digestOf,
  tarOfFiles,
  writeGgcrTarball,
  writeOciArchive,
  writeOciLayout,
  type ArtifactKind,
  type BuiltImage,
  type EntrySpec,
} from '../helpers/image-builder.js';
import { capturedLogger } from '../helpers/registry-server.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';

const ALL: EntryMatcher = { id: 'all', matches: () => true };
const WATCH = new Set(['/etc/os-release', '/etc/passwd']);

const BASE: EntrySpec[] = [
  { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
];
const APP: EntrySpec[] = [{ type: 'file', path: 'app/server', mode: 0o755, content: 'server' }];

/** A two-layer image with registry-style (gzip) layers, as a registry serves it. */
const image = buildImage({ format: 'docker', config: { User: 'app:app', Cmd: ['/app/server'] }, layers: [{ entries: BASE }, { entries: APP }] });

async function factsOf(img: Image): Promise<LayerFacts[]> {
  const out: LayerFacts[] = [];
  for (const layer of img.layers) out.push(await inspectLayer(await layer.open(), { matchers: [ALL], watchPaths: WATCH, what: `layer ${layer.digest}` }));
  return out;
}

/** Facts without the compression the inspector saw (docker archive layers reach it as plain tars). */
function bodies(facts: LayerFacts[]): unknown[] {
  return facts.map(({ compression: _c, ...rest }) => rest);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOciScanError(err), `expected OciScanError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('\n'), `message is not one line: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const open = (input: string, extra: Parameters<typeof testScanOptions>[0] = {}): Promise<Image[]> => openImages(input, testScanOptions(extra));

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let reference: LayerFacts[] = [];

before(async () => {
  ({ dir, cleanup } = await tempDir('oci-scan-archives-'));
  await writeOciLayout(join(dir, 'reference'), [{ image, tag: '1.0' }]);
  const [fromLayout] = await open(`oci:${join(dir, 'reference')}`);
  assert.ok(fromLayout);
  reference = await factsOf(fromLayout);
});
after(() => cleanup());

describe('go-containerregistry / crane / ko / kaniko tarballs (<hex>.tar.gz)', () => {
  it('reads compressed layers, reports the blob digests a registry knows, and finds what the OCI layout shows', async () => {
    const file = join(dir, 'ggcr.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['registry.local:5000/team/app:1.0'] });
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.deepEqual(img.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
    assert.equal(img.configDigest, image.configDigest);
    assert.deepEqual(img.name, { display: `docker-archive:${file}`, name: 'app', tag: '1.0', tagOrigin: 'archive' });
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
  });

  it('a tag-less RepoTags entry is :latest — selectable so, and the Tag check fails on it', async () => {
    const file = join(dir, 'ggcr-tagless.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['app'] });
    const [img] = await open(`docker-archive:${file}`);
    assert.deepEqual(img?.name, { display: `docker-archive:${file}`, name: 'app', tag: 'latest', tagOrigin: 'archive' });
    for (const ref of ['app', 'app:latest', 'docker.io/library/app:latest']) {
      const [picked] = await open(`docker-archive:${file}:${ref}`);
      assert.equal(picked?.configDigest, image.configDigest, ref);
    }
    await rejectsWith(open(`docker-archive:${file}:app:1.0`), 'IMAGE_NOT_FOUND', /images there: app$/);
    const [result] = await scan(`docker-archive:${file}`, testScanOptions());
    const tag = result?.results.find((r) => r.Id === 'tag-latest');
    assert.equal(tag?.Pass, false, tag?.Description);
    assert.match(tag?.Description ?? '', /latest/);
  });

  it('a compressed member whose bytes do not hash to its name → DIGEST_MISMATCH (tampered), not a scan', async () => {
    const file = join(dir, 'ggcr-tampered.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['app:1.0'] });
    const bytes = await readFile(file);
    const layer = image.layers[1];
    assert.ok(layer);
    const at = bytes.indexOf(layer.bytes);
    assert.ok(at > 0);
    // Flip a bit in the gzip trailer's CRC: the member no longer hashes to its name.
    bytes[at + layer.bytes.length - 6] = (bytes[at + layer.bytes.length - 6] ?? 0) ^ 0x01;
    await writeFile(file, bytes);
    const [img] = await open(`docker-archive:${file}`);
    const second = img?.layers[1];
    assert.ok(second);
    await rejectsWith(inspectLayer(await second.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }), 'DIGEST_MISMATCH', /does not match its digest/);
  });

  it('a layer whose uncompressed content is not the config’s diffID → DIGEST_MISMATCH, as docker load refuses it', async () => {
    // A consistent member (its name is its digest) whose tar is not the one the config lists.
    const other = buildImage({ format: 'docker', layers: [{ entries: BASE }, { entries: [{ type: 'file', path: 'app/other', content: 'x' }] }] });
    const swapped: BuiltImage = { ...image, layers: [image.layers[0], other.layers[1]].filter((l) => l !== undefined) };
    const file = join(dir, 'ggcr-wrong-diffid.tar');
    await writeGgcrTarball(file, swapped, { style: 'ggcr', repoTags: ['app:1.0'] });
    const [img] = await open(`docker-archive:${file}`);
    const second = img?.layers[1];
    assert.ok(second);
    await rejectsWith(inspectLayer(await second.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }), 'DIGEST_MISMATCH', /diffID/);
  });

  it('a foreign layer recorded in LayerSources and left out → not scanned, with the reason in the results', async () => {
    const file = join(dir, 'ggcr-foreign.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['app:1.0'], foreign: [0] });
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.equal(img.layers[0]?.digest, image.layers[0]?.digest);
    assert.match(img.layers[0]?.notScanned ?? '', /foreign.*not included in the archive/);
    assert.equal(img.layers[0]?.mediaType, 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
    assert.deepEqual(img.layers[0]?.urls, [`https://example.invalid/v2/base/blobs/${image.layers[0]?.digest}`]);
    assert.equal(img.layers[1]?.notScanned, undefined);
    const [result] = await scan(`docker-archive:${file}`, testScanOptions());
    const suid = result?.results.find((r) => r.Id === 'suid');
    assert.match(suid?.Description ?? '', /1 layer\(s\) not scanned: foreign/);
    // A missing layer that LayerSources does not describe is an incomplete archive.
    const broken = join(dir, 'ggcr-missing.tar');
    const files: Array<[string, Buffer]> = [
      [image.configDigest, image.config],
      ['manifest.json', Buffer.from(JSON.stringify([{ Config: image.configDigest, RepoTags: ['app:1.0'], Layers: image.layers.map((l) => `${l.digest.slice(7)}.tar.gz`) }]))],
    ];
    await writeFile(broken, tarOfFiles(files));
    await rejectsWith(open(`docker-archive:${broken}`), 'SOURCE_UNREADABLE', /missing.*incomplete/);
  });
});

describe('Jib tarballs and manifest.json keys', () => {
  it('reads lower-case config/repoTags/layers keys, as docker load does', async () => {
    const file = join(dir, 'jib.tar');
    await writeGgcrTarball(file, image, { style: 'jib', repoTags: ['registry.local:5000/jib/app:2.0'] });
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.deepEqual(img.name, { display: `docker-archive:${file}`, name: 'app', tag: '2.0', tagOrigin: 'archive' });
    assert.equal(img.configDigest, image.configDigest);
    assert.deepEqual(img.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
  });

  it('keys that fold to one field (Layers and layers) → INVALID_MANIFEST naming it, since runtimes would read one of them', async () => {
    const file = join(dir, 'two-layers-keys.tar');
    const manifest = `[{"Config":"${image.configDigest}","Layers":["a.tar"],"layers":["b.tar"]}]`;
    await writeFile(file, tarOfFiles([[image.configDigest, image.config], ['manifest.json', Buffer.from(manifest)]]));
    await rejectsWith(open(`docker-archive:${file}`), 'INVALID_MANIFEST', /Layers twice/);
    // Go folds the Kelvin sign and the long s like k and s: "LAYERſ" names Layers.
    const kelvin = join(dir, 'unicode-keys.tar');
    const tar = gunzipSync(image.layers[0]?.bytes ?? Buffer.alloc(0));
    const single = buildImage({ format: 'docker', layers: [{ tar, compression: 'none' }] });
    await writeFile(kelvin, tarOfFiles([[single.configDigest, single.config], ['l.tar', tar], ['manifest.json', Buffer.from(`[{"CONFIG":"${single.configDigest}","LAYERſ":["l.tar"],"repotags":["app:1.0"]}]`)]]));
    const [img] = await open(`docker-archive:${kelvin}`);
    assert.equal(img?.layers.length, 1);
    assert.equal(img?.name.tag, '1.0');
  });
});

describe('classic docker archives as other writers make them', () => {
  it('gzip bytes inside <id>/layer.tar are read; the digest reported is the diffID', async () => {
    const files: Array<[string, Buffer]> = [[`${image.configDigest.slice(7)}.json`, image.config]];
    const names = image.layers.map((_, i) => `${String(i).repeat(64)}/layer.tar`);
    image.layers.forEach((l, i) => files.push([names[i] ?? '', l.bytes]));
    files.push(['manifest.json', Buffer.from(JSON.stringify([{ Config: `${image.configDigest.slice(7)}.json`, RepoTags: ['app:1.0'], Layers: names }]))]);
    const file = join(dir, 'gzip-in-layer-tar.tar');
    await writeFile(file, tarOfFiles(files));
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.deepEqual(img.layers.map((l) => l.digest), image.layers.map((l) => l.diffId));
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
  });

  it('a config whose file name is not its digest is read (docker load does not check it), with a warning and the real digest', async () => {
    const wrong = 'f'.repeat(64);
    const tars = image.layers.map((l) => gunzipSync(l.bytes));
    const names = tars.map((t) => `${digestOf(t).slice(7)}/layer.tar`);
    const files: Array<[string, Buffer]> = [[`${wrong}.json`, image.config], ...tars.map((t, i): [string, Buffer] => [names[i] ?? '', t])];
    files.push(['manifest.json', Buffer.from(JSON.stringify([{ Config: `${wrong}.json`, RepoTags: ['app:1.0'], Layers: names }]))]);
    const file = join(dir, 'config-misnamed.tar');
    await writeFile(file, tarOfFiles(files));
    const { logger, text } = capturedLogger();
    const [img] = await open(`docker-archive:${file}`, { logger });
    assert.equal(img?.configDigest, image.configDigest);
    assert.match(text(), /"level":40.*config file name does not match its content/);
    assert.ok(text().includes(image.configDigest));
  });
});

describe('OCI artifacts are refused as such, from every source', () => {
  const kinds: Array<[ArtifactKind, string]> = [
    ['oras-file', 'application/vnd.unknown.artifact.v1'],
    ['oras-legacy', 'application/vnd.unknown.config.v1+json'],
    ['helm-chart', 'application/vnd.cncf.helm.config.v1+json'],
    ['cosign-signature', 'application/vnd.dev.cosign.simplesigning.v1+json'],
    ['sbom-attestation', 'application/vnd.dsse.envelope.v1+json'],
  ];
  for (const [kind, type] of kinds) {
    it(`${kind}: "is an OCI artifact of type ${type}, not a container image" (UNSUPPORTED_MEDIA_TYPE, exit 21)`, async () => {
      const artifact = buildArtifact(kind);
      const layout = join(dir, `artifact-${kind}`);
      await writeOciLayout(layout, [{ image: artifact, tag: '1.0' }]);
      const pattern = new RegExp(`oci:${layout}:1\\.0 is an OCI artifact of type ${type.replace(/[.+]/g, '\\$&')}, not a container image`);
      await rejectsWith(open(`oci:${layout}:1.0`), 'UNSUPPORTED_MEDIA_TYPE', pattern);
      const archive = join(dir, `artifact-${kind}.tar`);
      await writeOciArchive(archive, [{ image: artifact, tag: '1.0' }]);
      await rejectsWith(open(`oci-archive:${archive}:1.0`), 'UNSUPPORTED_MEDIA_TYPE', /is an OCI artifact of type/);
    });
  }
});

describe('an export of one platform under the full index', () => {
  /** ctr export --platform / docker save --platform: the whole index, one platform's blobs. */
  async function partialExport(file: string): Promise<{ amd: BuiltImage; arm: BuiltImage }> {
    const amd = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: [{ entries: BASE }] });
    const arm = buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [{ entries: APP }] });
    const index = buildIndex([amd, arm]);
    const files: Array<[string, Buffer]> = [
      ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
      [`blobs/sha256/${index.digest.slice(7)}`, index.bytes],
      [`blobs/sha256/${arm.manifestDigest.slice(7)}`, arm.manifest],
      [`blobs/sha256/${arm.configDigest.slice(7)}`, arm.config],
      ...arm.layers.map((l): [string, Buffer] => [`blobs/sha256/${l.digest.slice(7)}`, l.bytes]),
      ['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: index.mediaType, digest: index.digest, size: index.bytes.length, annotations: { 'org.opencontainers.image.ref.name': '1.0' } }] }))],
    ];
    await writeFile(file, tarOfFiles(files));
    return { amd, arm };
  }

  it('names the platforms present and suggests --platform; that platform scans; all scans what is there', async () => {
    const file = join(dir, 'one-platform.tar');
    const { arm } = await partialExport(file);
    await rejectsWith(open(`oci-archive:${file}`), 'NO_MATCHING_PLATFORM', /lists 2 platforms but .* holds the blobs of linux\/arm64 only \(not linux\/amd64.*\): scan it with --platform linux\/arm64$/);
    const [img] = await open(`oci-archive:${file}`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(img?.configDigest, arm.configDigest);
    const { logger, text } = capturedLogger();
    const all = await open(`oci-archive:${file}`, { platform: 'all', logger });
    assert.deepEqual(all.map((i) => i.configDigest), [arm.configDigest]);
    assert.match(text(), /"level":40.*more platforms than it holds/);
    assert.match(text(), /"absent":\["linux\/amd64"\]/);
  });
});

describe('compressed archives (docker save | gzip, zstd)', () => {
  it('placeholder', () => {
    assert.ok(gzipSync);
  });
});
