/**
 * One resolver for every source: the same documents served by a real registry
 * (docker-registry, pushed over the Distribution API), an OCI layout directory, an OCI archive
 * and a docker archive (an OCI layout with index.json and no manifest.json, named by
 * `io.containerd.image.name`, as `docker load` imports it) give the same images and the same
 * messages — a nested index, an index whose entries name no platform, an attestation beside the
 * image and on its own, and an index entry of an unknown media type.
 *
 * Provenance: images by test/helpers/image-builder.ts (the attestation is its
 * `sbom-attestation` artifact, the shape BuildKit and cosign attach); indexes are written below.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isOciScanError } from '../../src/errors.js';
import type { Platform } from '../../src/image/platform.js';
import { openSession, type Session } from '../../src/registry/session.js';
import { openImages } from '../../src/sources/index.js';
import { buildArtifact, buildImage, digestOf, tarOfFiles, type BuiltImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const UNKNOWN_TYPE = 'application/vnd.example.unknown.v1+json';
const amd64 = buildImage({
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [{ entries: [{ type: 'file', path: 'etc/amd64', content: 'a' }] }],
});
const arm64 = buildImage({
  platform: { os: 'linux', architecture: 'arm64' },
  layers: [{ entries: [{ type: 'file', path: 'etc/arm64', content: 'b' }] }],
});
const attestation = buildArtifact('sbom-attestation');

/** A descriptor of `image`, with the platform and annotations given. */
function entry(image: BuiltImage, platform?: object, annotations?: Record<string, string>, mediaType = image.manifestMediaType): object {
  return {
    mediaType,
    digest: image.manifestDigest,
    size: image.manifest.length,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/** An OCI index document over `manifests`. */
function index(manifests: readonly object[]): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  return { bytes, digest: digestOf(bytes) };
}

const attestationEntry = entry(
  attestation,
  { os: 'unknown', architecture: 'unknown' },
  { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.manifestDigest },
);
const inner = index([
  entry(amd64, { os: 'linux', architecture: 'amd64' }),
  entry(arm64, { os: 'linux', architecture: 'arm64' }),
  attestationEntry,
]);
const nested = index([{ mediaType: OCI_INDEX, digest: inner.digest, size: inner.bytes.length }]);
const noPlatforms = index([entry(arm64), entry(amd64)]);
const attested = index([attestationEntry, entry(amd64, { os: 'linux', architecture: 'amd64' })]);
const unknownType = index([entry(amd64, { os: 'linux', architecture: 'amd64' }, undefined, UNKNOWN_TYPE)]);

/** The cases: tag → the root document it names. */
const ROOTS: ReadonlyArray<{ tag: string; mediaType: string; digest: string; bytes: Buffer }> = [
  { tag: 'nested', mediaType: OCI_INDEX, ...nested },
  { tag: 'no-platforms', mediaType: OCI_INDEX, ...noPlatforms },
  { tag: 'attested', mediaType: OCI_INDEX, ...attested },
  { tag: 'attestation', mediaType: attestation.manifestMediaType, digest: attestation.manifestDigest, bytes: attestation.manifest },
  { tag: 'unknown-type', mediaType: OCI_INDEX, ...unknownType },
];

/** Every blob of the cases (configs, layers, manifests, indexes) by digest. */
function blobs(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const image of [amd64, arm64, attestation]) {
    out.set(image.configDigest, image.config);
    out.set(image.manifestDigest, image.manifest);
    for (const l of image.layers) out.set(l.digest, l.bytes);
  }
  for (const doc of [inner, nested, noPlatforms, attested, unknownType]) out.set(doc.digest, doc.bytes);
  return out;
}

/** The files of an OCI layout holding every case, one index.json entry per tag. */
function layoutFiles(): Array<[string, Buffer]> {
  const files: Array<[string, Buffer]> = [['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];
  for (const [digest, bytes] of blobs()) files.push([`blobs/sha256/${digest.slice(7)}`, bytes]);
  const manifests = ROOTS.map((r) => ({
    mediaType: r.mediaType,
    digest: r.digest,
    size: r.bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': r.tag, 'io.containerd.image.name': `docker.io/library/cases:${r.tag}` },
  }));
  files.push(['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))]);
  return files;
}

/** What opening an image gave: the images (manifest digest and platform), or the error's code and message with the reference as IMAGE. */
type Outcome =
  { images: Array<{ manifest: string | undefined; platform: string | undefined; fromIndex: boolean }> } | { code: string; message: string };

describeOrSkip('one resolver: the same result and message from a registry, a layout, an OCI archive and a docker archive', { skip }, () => {
  let registry: RunningRegistry;
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let session: Session;
  const sources: Array<{ name: string; ref: (tag: string) => string }> = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-resolve-'));
    registry = await startRegistry({ kind: 'none' });
    const pusher = new Pusher(registry.url, 'team/cases');
    for (const image of [amd64, arm64, attestation]) await pusher.image(image);
    for (const doc of [inner, nested, noPlatforms, attested, unknownType]) await pusher.manifest(doc.digest, doc.bytes, OCI_INDEX);
    for (const r of ROOTS) await pusher.manifest(r.tag, r.bytes, r.mediaType);
    const files = layoutFiles();
    const layout = join(dir, 'layout');
    for (const [path, bytes] of files) {
      await mkdir(join(layout, path, '..'), { recursive: true });
      await writeFile(join(layout, path), bytes);
    }
    await writeFile(join(dir, 'cases-oci.tar'), tarOfFiles(files));
    await writeFile(join(dir, 'cases-docker.tar'), tarOfFiles(files));
    session = openSession({ registry: testScanOptions().registry, logger: testScanOptions().logger });
    sources.push(
      { name: 'registry', ref: (tag) => `${registry.host}/team/cases:${tag}` },
      { name: 'OCI layout', ref: (tag) => `oci:${layout}:${tag}` },
      { name: 'OCI archive', ref: (tag) => `oci-archive:${join(dir, 'cases-oci.tar')}:${tag}` },
      { name: 'docker archive', ref: (tag) => `docker-archive:${join(dir, 'cases-docker.tar')}:cases:${tag}` },
    );
  });
  after(async () => {
    await session?.close();
    await registry?.stop();
    await cleanup();
  });

  async function outcome(input: string, platform: Platform | 'all'): Promise<Outcome> {
    try {
      const images = await openImages(input, testScanOptions({ platform, session }));
      return {
        images: images.map((i) => ({
          manifest: i.manifestDigest,
          platform: i.platform ? [i.platform.os, i.platform.architecture].join('/') : undefined,
          fromIndex: i.fromIndex === true,
        })),
      };
    } catch (err) {
      if (!isOciScanError(err)) throw err;
      return { code: err.code, message: err.message.split(input).join('IMAGE') };
    }
  }

  /** The outcome of `tag` for `platform`, asserted the same from every source; returns it. */
  async function same(tag: string, platform: Platform | 'all'): Promise<Outcome> {
    const outcomes = [];
    for (const source of sources) outcomes.push({ source: source.name, outcome: await outcome(source.ref(tag), platform) });
    const [first, ...rest] = outcomes;
    assert.ok(first);
    for (const other of rest)
      assert.deepEqual(
        other.outcome,
        first.outcome,
        `${other.source} differs from ${first.source} for ${tag} (${JSON.stringify(platform)})`,
      );
    return first.outcome;
  }

  const amd = { os: 'linux', architecture: 'amd64' };
  const image = (m: BuiltImage, platform: string): { manifest: string; platform: string; fromIndex: boolean } => ({
    manifest: m.manifestDigest,
    platform,
    fromIndex: true,
  });

  test('a nested index is followed: the platform asked for, every platform with all, the platforms listed on a miss', async () => {
    assert.deepEqual(await same('nested', amd), { images: [image(amd64, 'linux/amd64')] });
    assert.deepEqual(await same('nested', { os: 'linux', architecture: 'arm64', variant: 'v8' }), {
      images: [image(arm64, 'linux/arm64')],
    });
    assert.deepEqual(await same('nested', 'all'), { images: [image(amd64, 'linux/amd64'), image(arm64, 'linux/arm64')] });
    assert.deepEqual(await same('nested', { os: 'linux', architecture: 's390x' }), {
      code: 'NO_MATCHING_PLATFORM',
      message: `image index ${nested.digest} of IMAGE has no image for linux/s390x; available platforms: linux/amd64, linux/arm64: choose one`,
    });
  });

  test('an index whose entries name no platform: each config decides', async () => {
    assert.deepEqual(await same('no-platforms', amd), { images: [image(amd64, 'linux/amd64')] });
    assert.deepEqual(await same('no-platforms', 'all'), { images: [image(arm64, 'linux/arm64'), image(amd64, 'linux/amd64')] });
    assert.deepEqual(await same('no-platforms', { os: 'linux', architecture: 's390x' }), {
      code: 'NO_MATCHING_PLATFORM',
      message: `image index ${noPlatforms.digest} of IMAGE has no image for linux/s390x; available platforms: linux/arm64, linux/amd64: choose one`,
    });
  });

  test('an attestation manifest is skipped beside its image and refused as an artifact on its own', async () => {
    assert.deepEqual(await same('attested', amd), { images: [image(amd64, 'linux/amd64')] });
    assert.deepEqual(await same('attested', 'all'), { images: [image(amd64, 'linux/amd64')] });
    assert.deepEqual(await same('attestation', amd), {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `manifest ${attestation.manifestDigest} of IMAGE is an OCI artifact of type application/vnd.dsse.envelope.v1+json, not a container image: oci-scan scans container images; give the reference of the image itself`,
    });
  });

  test('an index entry of an unknown media type is refused, whatever the source serves under its digest', async () => {
    assert.deepEqual(await same('unknown-type', amd), {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `manifest ${amd64.manifestDigest} of IMAGE has media type ${UNKNOWN_TYPE}, which is not a container image manifest`,
    });
  });
});
