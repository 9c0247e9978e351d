/**
 * Archives as real tools write them, beyond `docker save` (src/sources/docker-archive.ts,
 * oci-layout.ts): go-containerregistry / crane / ko / kaniko tarballs (`<hex>.tar.gz`),
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
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { openImages } from '../../../src/sources/index.js';
import type { Image } from '../../../src/image/types.js';
import { inspectLayer, type LayerFacts } from '../../../src/layer/inspect.js';
import type { ReportResult } from '../../../src/report/model.js';
import { scan } from '../../../src/scan.js';
import {
  buildArtifact,
  buildImage,
  buildIndex,
  buildTar,
  compress,
  digestOf,
  tarOfFiles,
  ustarHeader,
  writeDockerArchive,
  writeGgcrTarball,
  writeOciArchive,
  writeOciLayout,
  type ArtifactKind,
  type BuiltImage,
  type EntrySpec,
} from '../../helpers/image-builder.js';
import { capturedLogger } from '../../helpers/registry-server.js';
import { ALL, bodies, factsOf, rejectsWith, WATCH } from '../../helpers/local-sources.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const BASE: EntrySpec[] = [
  { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
];
const APP: EntrySpec[] = [{ type: 'file', path: 'app/server', mode: 0o755, content: 'server' }];

/** A two-layer image with registry-style (gzip) layers, as a registry serves it. */
const image = buildImage({
  format: 'docker',
  config: { User: 'app:app', Cmd: ['/app/server'] },
  layers: [{ entries: BASE }, { entries: APP }],
});

/** scan()'s results with the image's name (which differs between forms) replaced by IMAGE. */
async function resultsOf(input: string, logger?: Logger): Promise<ReportResult[]> {
  const [result, ...rest] = await scan(input, testScanOptions(logger ? { logger } : {}));
  assert.ok(result);
  assert.equal(rest.length, 0);
  return result.results.map((r) => ({ ...r, Description: r.Description.split(input).join('IMAGE') }));
}

const open = (input: string, extra: Parameters<typeof testScanOptions>[0] = {}): Promise<Image[]> =>
  openImages(input, testScanOptions(extra));

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
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    assert.equal(img.configDigest, image.configDigest);
    assert.deepEqual(img.name, {
      display: `docker-archive:${file}`,
      name: 'app',
      repository: 'team/app',
      tag: '1.0',
      tagOrigin: 'archive',
    });
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
  });

  it('a tag-less RepoTags entry is :latest — selectable so, and the Tag check fails on it', async () => {
    const file = join(dir, 'ggcr-tagless.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['app'] });
    const [img] = await open(`docker-archive:${file}`);
    assert.deepEqual(img?.name, { display: `docker-archive:${file}`, name: 'app', repository: 'app', tag: 'latest', tagOrigin: 'archive' });
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
    await rejectsWith(
      inspectLayer(await second.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }),
      'DIGEST_MISMATCH',
      /does not match its digest/,
    );
  });

  it('a layer whose uncompressed content is not the config’s diffID → DIGEST_MISMATCH, as docker load refuses it', async () => {
    // A consistent member (its name is its digest) whose tar is not the one the config lists.
    const other = buildImage({
      format: 'docker',
      layers: [{ entries: BASE }, { entries: [{ type: 'file', path: 'app/other', content: 'x' }] }],
    });
    const swapped: BuiltImage = { ...image, layers: [image.layers[0], other.layers[1]].filter((l) => l !== undefined) };
    const file = join(dir, 'ggcr-wrong-diffid.tar');
    await writeGgcrTarball(file, swapped, { style: 'ggcr', repoTags: ['app:1.0'] });
    const [img] = await open(`docker-archive:${file}`);
    const second = img?.layers[1];
    assert.ok(second);
    await rejectsWith(
      inspectLayer(await second.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }),
      'DIGEST_MISMATCH',
      /diffID/,
    );
  });

  it('a foreign layer recorded in LayerSources and left out → not scanned, with the reason in the results', async () => {
    const file = join(dir, 'ggcr-foreign.tar');
    await writeGgcrTarball(file, image, { style: 'ggcr', repoTags: ['app:1.0'], foreign: [0] });
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.equal(img.layers[0]?.digest, image.layers[0]?.digest);
    assert.match(img.layers[0]?.notScanned ?? '', /foreign .*not held by docker archive .*never downloads layers from their external URLs/);
    assert.equal(img.layers[0]?.mediaType, 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
    assert.deepEqual(img.layers[0]?.urls, [`https://example.invalid/v2/base/blobs/${image.layers[0]?.digest}`]);
    assert.equal(img.layers[1]?.notScanned, undefined);
    const [result] = await scan(`docker-archive:${file}`, testScanOptions());
    // Never a pass: the file checks cannot vouch for a layer they did not see.
    const suid = result?.results.find((r) => r.Id === 'suid');
    assert.equal(suid?.Pass, false);
    assert.ok(
      suid?.Description.includes(
        `layer ${image.layers[0]?.digest} not scanned (foreign (non-distributable) layer not held by docker archive ${file}; oci-scan never downloads layers from their external URLs)`,
      ),
      suid?.Description,
    );
    // A missing layer that LayerSources does not describe is an incomplete archive.
    const broken = join(dir, 'ggcr-missing.tar');
    const files: Array<[string, Buffer]> = [
      [image.configDigest, image.config],
      [
        'manifest.json',
        Buffer.from(
          JSON.stringify([
            { Config: image.configDigest, RepoTags: ['app:1.0'], Layers: image.layers.map((l) => `${l.digest.slice(7)}.tar.gz`) },
          ]),
        ),
      ],
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
    assert.deepEqual(img.name, { display: `docker-archive:${file}`, name: 'app', repository: 'jib/app', tag: '2.0', tagOrigin: 'archive' });
    assert.equal(img.configDigest, image.configDigest);
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
  });

  it("keys that fold to one field (Layers and layers): the last wins, as docker load and podman read it (Go's encoding/json)", async () => {
    const file = join(dir, 'two-layers-keys.tar');
    const tar = gunzipSync(image.layers[0]?.bytes ?? Buffer.alloc(0));
    const single = buildImage({ format: 'docker', layers: [{ tar, compression: 'none' }] });
    const decoy = gunzipSync(image.layers[1]?.bytes ?? Buffer.alloc(0));
    const manifest = `[{"Config":"${single.configDigest}","Layers":["decoy.tar"],"layers":["l.tar"],"RepoTags":["app:1.0"]}]`;
    await writeFile(
      file,
      tarOfFiles([
        [single.configDigest, single.config],
        ['l.tar', tar],
        ['decoy.tar', decoy],
        ['manifest.json', Buffer.from(manifest)],
      ]),
    );
    const [last] = await open(`docker-archive:${file}`);
    assert.deepEqual(
      last?.layers.map((l) => l.digest),
      [single.layers[0]?.diffId],
    );
    // Go folds the Kelvin sign and the long s like k and s: "LAYERſ" names Layers.
    const kelvin = join(dir, 'unicode-keys.tar');
    await writeFile(
      kelvin,
      tarOfFiles([
        [single.configDigest, single.config],
        ['l.tar', tar],
        ['manifest.json', Buffer.from(`[{"CONFIG":"${single.configDigest}","LAYERſ":["l.tar"],"repotags":["app:1.0"]}]`)],
      ]),
    );
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
    files.push([
      'manifest.json',
      Buffer.from(JSON.stringify([{ Config: `${image.configDigest.slice(7)}.json`, RepoTags: ['app:1.0'], Layers: names }])),
    ]);
    const file = join(dir, 'gzip-in-layer-tar.tar');
    await writeFile(file, tarOfFiles(files));
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      image.layers.map((l) => l.diffId),
    );
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
      [
        'index.json',
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: index.mediaType,
                digest: index.digest,
                size: index.bytes.length,
                annotations: { 'org.opencontainers.image.ref.name': '1.0' },
              },
            ],
          }),
        ),
      ],
    ];
    await writeFile(file, tarOfFiles(files));
    return { amd, arm };
  }

  it('names the platforms present and suggests --platform; that platform scans; all scans what is there', async () => {
    const file = join(dir, 'one-platform.tar');
    const { arm } = await partialExport(file);
    await rejectsWith(
      open(`oci-archive:${file}`),
      'NO_MATCHING_PLATFORM',
      /lists 2 platforms but .* holds the blobs of linux\/arm64 only \(not linux\/amd64.*\): scan it for linux\/arm64$/,
    );
    const [img] = await open(`oci-archive:${file}`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(img?.configDigest, arm.configDigest);
    const { logger, text } = capturedLogger();
    const all = await open(`oci-archive:${file}`, { platform: 'all', logger });
    assert.deepEqual(
      all.map((i) => i.configDigest),
      [arm.configDigest],
    );
    assert.match(text(), /"level":40.*more platforms than it holds/);
    assert.match(text(), /"absent":\["linux\/amd64"\]/);
  });
});

describe('a docker archive holding an OCI layout and no manifest.json (what docker load imports through index.json)', () => {
  it('is resolved through index.json, the image named by io.containerd.image.name; a name it lacks lists the names there', async () => {
    const file = join(dir, 'index-only.tar');
    const files: Array<[string, Buffer]> = [
      ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
      [`blobs/sha256/${image.configDigest.slice(7)}`, image.config],
      [`blobs/sha256/${image.manifestDigest.slice(7)}`, image.manifest],
      ...image.layers.map((l): [string, Buffer] => [`blobs/sha256/${l.digest.slice(7)}`, l.bytes]),
      [
        'index.json',
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: image.manifestMediaType,
                digest: image.manifestDigest,
                size: image.manifest.length,
                annotations: { 'io.containerd.image.name': 'registry.local:5000/team/app:1.0' },
              },
            ],
          }),
        ),
      ],
    ];
    await writeFile(file, tarOfFiles(files));
    const [img] = await open(`docker-archive:${file}`);
    assert.ok(img);
    assert.deepEqual(img.name, {
      display: `docker-archive:${file}`,
      name: 'app',
      repository: 'team/app',
      tag: '1.0',
      tagOrigin: 'archive',
    });
    assert.equal(img.manifestDigest, image.manifestDigest);
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
    const [picked] = await open(`docker-archive:${file}:registry.local:5000/team/app:1.0`);
    assert.equal(picked?.name.tagOrigin, 'reference');
    await rejectsWith(
      open(`docker-archive:${file}:app:2.0`),
      'IMAGE_NOT_FOUND',
      /has no image app:2\.0; images there: registry\.local:5000\/team\/app:1\.0$/,
    );
  });
});

describe('compressed archives (docker save | gzip, zstd), read in one pass', () => {
  /** `docker save app:1.0 | gzip`: the classic archive, gzip-compressed as a whole. */
  async function savedAndGzipped(name: string, img: BuiltImage = image): Promise<{ plain: string; gz: string }> {
    const plain = join(dir, `${name}.tar`);
    await writeDockerArchive(plain, img, ['app:1.0'], 'classic');
    const gz = join(dir, `${name}.tar.gz`);
    await writeFile(gz, gzipSync(await readFile(plain)));
    return { plain, gz };
  }

  it('docker save | gzip: the same image and facts as the plain archive; every layer consumed once, during the pass', async () => {
    const { plain, gz } = await savedAndGzipped('saved');
    const calls: string[] = [];
    const consumed = new Map<string, LayerFacts>();
    const consumeLayer = async (tar: Readable, id: string): Promise<void> => {
      calls.push(id);
      consumed.set(id, await inspectLayer(tar, { matchers: [ALL], watchPaths: WATCH, what: id }));
    };
    const [img] = await openImages(`docker-archive:${gz}`, { ...testScanOptions(), consumeLayer });
    const [fromPlain] = await open(`docker-archive:${plain}`);
    assert.ok(img && fromPlain);
    assert.equal(img.configDigest, fromPlain.configDigest);
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      fromPlain.layers.map((l) => l.digest),
    );
    assert.deepEqual(img.name, { ...fromPlain.name, display: `docker-archive:${gz}` });
    // Each layer member was handed over exactly once, and the layers name those hand-overs.
    assert.deepEqual([...calls].sort(), img.layers.map((l) => l.consumedAs).sort());
    assert.equal(new Set(calls).size, calls.length);
    const plainFacts = await factsOf(fromPlain);
    assert.deepEqual(
      img.layers.map((l) => consumed.get(l.consumedAs ?? '')),
      plainFacts,
    );
    // Opening a layer again streams the archive again and gives the same bytes' facts.
    assert.deepEqual(await factsOf(img), plainFacts);
  });

  it('scan() of docker save | gzip and | zstd gives the report of the plain archive', async () => {
    const { plain, gz } = await savedAndGzipped('saved-scan');
    const zst = join(dir, 'saved-scan.tar.zst');
    await writeFile(zst, compress(await readFile(plain), 'zstd'));
    const expected = await resultsOf(`docker-archive:${plain}`);
    assert.equal(expected.find((r) => r.Id === 'suid')?.Pass, false);
    for (const file of [gz, zst]) {
      // The scan inspects a layer itself only when the pass did not (it logs each one it does).
      const { logger, text } = capturedLogger();
      assert.deepEqual(await resultsOf(`docker-archive:${file}`, logger), expected, file);
      assert.doesNotMatch(text(), /layer inspected/, 'the layers were inspected during the pass, not again');
    }
    const { logger, text } = capturedLogger();
    await resultsOf(`docker-archive:${plain}`, logger);
    assert.equal(text().match(/layer inspected/g)?.length, image.layers.length, 'a plain archive is read per layer');
  });

  it('an OCI archive compressed with zstd (oci-archive:FILE.tar.zst) reads like the plain one', async () => {
    const file = join(dir, 'oci-for-zstd.tar');
    await writeOciArchive(file, [{ image, tag: '1.0' }]);
    const zst = join(dir, 'oci-for-zstd.tar.zst');
    await writeFile(zst, compress(await readFile(file), 'zstd'));
    const [img] = await open(`oci-archive:${zst}:1.0`);
    assert.ok(img);
    assert.equal(img.name.name, 'oci-for-zstd', 'named after the file without .tar.zst');
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    assert.deepEqual(bodies(await factsOf(img)), bodies(reference));
    assert.deepEqual(await resultsOf(`oci-archive:${zst}:1.0`), await resultsOf(`oci-archive:${file}:1.0`));
  });

  it('a layer changed inside a gzipped archive → DIGEST_MISMATCH before any report; a truncated one → SOURCE_UNREADABLE', async () => {
    const { plain } = await savedAndGzipped('saved-tampered');
    const bytes = await readFile(plain);
    const at = bytes.indexOf(Buffer.from('server'), bytes.indexOf(Buffer.from('app/server')) + 512);
    assert.ok(at > 0);
    bytes[at] = 0x53;
    const gz = join(dir, 'saved-tampered.tar.gz');
    await writeFile(gz, gzipSync(bytes));
    await rejectsWith(scan(`docker-archive:${gz}`, testScanOptions()), 'DIGEST_MISMATCH', /diffID/);
    const whole = gzipSync(await readFile(plain));
    const cut = join(dir, 'saved-cut.tar.gz');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await rejectsWith(open(`docker-archive:${cut}`), 'SOURCE_UNREADABLE', /could not be decompressed \(gzip: unexpected end of file\)/);
    // With the scan's consumer reading a layer when the archive ends: the same error, no hang.
    await rejectsWith(scan(`docker-archive:${cut}`, testScanOptions()), 'SOURCE_UNREADABLE', /could not be decompressed/);
  });
});

describe('ambiguous archives are refused (runtimes would disagree on what they hold)', () => {
  /** A docker archive whose members are written in the given order (ustar, by our writer). */
  async function archive(name: string, extra: EntrySpec[], withManifest = true): Promise<string> {
    const tars = image.layers.map((l) => gunzipSync(l.bytes));
    const names = tars.map((t) => `${digestOf(t).slice(7)}.tar`);
    const base: EntrySpec[] = [
      { type: 'file', path: `${image.configDigest.slice(7)}.json`, content: image.config },
      ...tars.map((t, i): EntrySpec => ({ type: 'file', path: names[i] ?? '', content: t })),
    ];
    const manifest = JSON.stringify([{ Config: `${image.configDigest.slice(7)}.json`, RepoTags: ['app:1.0'], Layers: names }]);
    const file = join(dir, name);
    await writeFile(
      file,
      buildTar([...base, ...(withManifest ? [{ type: 'file', path: 'manifest.json', content: manifest } as const] : []), ...extra]),
    );
    return file;
  }

  for (const compressed of [false, true]) {
    const form = compressed ? ' (gzipped archive)' : '';
    const maybeGzip = async (file: string): Promise<string> => {
      if (!compressed) return file;
      await writeFile(`${file}.gz`, gzipSync(await readFile(file)));
      return `${file}.gz`;
    };

    it(`two manifest.json members${form} → INVALID_MANIFEST naming manifest.json (podman reads the first, docker the last)`, async () => {
      const file = await maybeGzip(
        await archive(`dup-manifest${compressed ? '-gz' : ''}.tar`, [{ type: 'file', path: './manifest.json', content: '[]' }]),
      );
      await rejectsWith(open(`docker-archive:${file}`), 'INVALID_MANIFEST', /two members named manifest\.json/);
    });

    it(`any member twice${form} (a layer, a config) → INVALID_MANIFEST naming it`, async () => {
      const tar = gunzipSync(image.layers[0]?.bytes ?? Buffer.alloc(0));
      const name = `${digestOf(tar).slice(7)}.tar`;
      const file = await maybeGzip(
        await archive(`dup-layer${compressed ? '-gz' : ''}.tar`, [{ type: 'file', path: name, content: 'other bytes' }]),
      );
      await rejectsWith(open(`docker-archive:${file}`), 'INVALID_MANIFEST', new RegExp(`two members named ${name}`));
    });

    it(`manifest.json as a symlink or a hard link${form} → INVALID_MANIFEST`, async () => {
      for (const type of ['symlink', 'hardlink'] as const) {
        const real = JSON.stringify([
          {
            Config: `${image.configDigest.slice(7)}.json`,
            RepoTags: ['app:1.0'],
            Layers: image.layers.map((l) => `${digestOf(gunzipSync(l.bytes)).slice(7)}.tar`),
          },
        ]);
        const file = await maybeGzip(
          await archive(
            `link-manifest-${type}${compressed ? '-gz' : ''}.tar`,
            [
              { type: 'file', path: 'real.json', content: real },
              { type, path: 'manifest.json', target: 'real.json' },
            ],
            false,
          ),
        );
        await rejectsWith(
          open(`docker-archive:${file}`),
          'INVALID_MANIFEST',
          /manifest\.json .* is a (symbolic|hard) link to "real\.json"/,
        );
      }
    });
  }

  it('a symlink header with a size > 0 does not hide the next member (Go reads links as header-only)', async () => {
    const plainFile = await archive('link-with-size-base.tar', []);
    const bytes = await readFile(plainFile);
    // A symlink whose size field says 512: Go ignores the size of header-only types, so the
    // manifest.json header right after it is read (tar-stream and the old index skipped it).
    const link = ustarHeader({ name: 'decoy', typeflag: '2', linkname: 'x', size: 512 });
    const file = join(dir, 'link-with-size.tar');
    await writeFile(file, Buffer.concat([link, bytes]));
    const [img] = await open(`docker-archive:${file}`);
    assert.equal(img?.configDigest, image.configDigest);
  });

  it('members after the end-of-archive marker do not exist (as for Go): such a manifest.json is not read', async () => {
    const tars = image.layers.map((l) => gunzipSync(l.bytes));
    const before = buildTar([
      { type: 'file', path: `${image.configDigest.slice(7)}.json`, content: image.config },
      ...tars.map((t): EntrySpec => ({ type: 'file', path: `${digestOf(t).slice(7)}.tar`, content: t })),
    ]);
    const after = buildTar([
      {
        type: 'file',
        path: 'manifest.json',
        content: JSON.stringify([
          { Config: `${image.configDigest.slice(7)}.json`, RepoTags: ['app:1.0'], Layers: tars.map((t) => `${digestOf(t).slice(7)}.tar`) },
        ]),
      },
    ]);
    const file = join(dir, 'after-end.tar');
    await writeFile(file, Buffer.concat([before, after]));
    await rejectsWith(open(`docker-archive:${file}`), 'SOURCE_UNREADABLE', /no manifest\.json/);
  });
});
