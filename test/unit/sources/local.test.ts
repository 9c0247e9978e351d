/**
 * Local image sources (src/sources/*): OCI layout, OCI archive, docker archive (classic
 * and Docker 25+ layouts), tag and platform selection, digest verification, broken inputs, and
 * the in-place tar index.
 *
 * Provenance: every image is built by test/helpers/image-builder.ts and written to a temporary
 * directory; archives are written by its own ustar writer.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { indexTar } from '../../../src/sources/tar-index.js';
import { openImages } from '../../../src/sources/index.js';
import type { Image } from '../../../src/image/types.js';
import { inspectLayer } from '../../../src/layer/inspect.js';
import {
  buildImage,
  buildIndex,
  buildTar,
  digestOf,
  tarOfFiles,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type BuiltImage,
  type EntrySpec,
} from '../../helpers/image-builder.js';
import { ALL, bodies, factsOf, rejectsWith, WATCH } from '../../helpers/local-sources.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const BASE: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
];
const APP: EntrySpec[] = [
  { type: 'file', path: 'app/server', mode: 0o755, content: 'server' },
  { type: 'symlink', path: 'usr/bin/nc', target: '/bin/nc.openbsd' },
];

/** An image with a gzip, a zstd (stored) and a plain layer. */
function appImage(arch = 'amd64', extra: EntrySpec[] = []): BuiltImage {
  return buildImage({
    platform: { os: 'linux', architecture: arch },
    config: { User: 'app:app', Cmd: ['/app/server'], Labels: { arch } },
    layers: [
      { entries: BASE, compression: 'gzip' },
      { entries: [...APP, ...extra], compression: 'zstd-stored' },
      { entries: [{ type: 'file', path: `etc/arch-${arch}`, content: arch }], compression: 'none' },
    ],
  });
}

const open = (input: string, platform: Parameters<typeof testScanOptions>[0] = {}): Promise<Image[]> =>
  openImages(input, testScanOptions(platform));

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
const amd = appImage('amd64');
const arm = appImage('arm64');
const other = appImage('amd64', [{ type: 'file', path: 'other', content: 'other image' }]);

before(async () => {
  ({ dir, cleanup } = await tempDir('oci-scan-sources-'));
});
after(() => cleanup());

describe('OCI layout (oci:DIR[:TAG])', () => {
  it('selects an image by tag, with config, platform and layer digests from the manifest', async () => {
    const root = join(dir, 'tagged');
    await writeOciLayout(root, [
      { image: amd, tag: '1.0' },
      { image: other, tag: '2.0' },
    ]);
    const [image, ...rest] = await open(`oci:${root}:1.0`);
    assert.equal(rest.length, 0);
    assert.ok(image);
    assert.deepEqual(image.name, { display: `oci:${root}:1.0`, name: 'tagged', repository: 'tagged', tag: '1.0', tagOrigin: 'reference' });
    assert.equal(image.configDigest, amd.configDigest);
    assert.equal(image.manifestDigest, amd.manifestDigest);
    assert.deepEqual(image.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(image.config.config?.User, 'app:app');
    assert.deepEqual(
      image.layers.map((l) => [l.digest, l.size, l.mediaType]),
      amd.layers.map((l) => [l.digest, l.size, l.mediaType]),
    );
    const facts = await factsOf(image);
    assert.deepEqual(
      facts.map((f) => f.compression),
      ['gzip', 'zstd', 'none'],
    );
    assert.deepEqual(facts[1]?.matches['all'], ['/app/server', '/usr/bin/nc']);
    const [second] = await open(`oci:${root}:2.0`);
    assert.equal(second?.configDigest, other.configDigest);
  });

  it('takes the single image by default and reports the tag the layout records', async () => {
    const root = join(dir, 'single');
    await writeOciLayout(root, [{ image: amd, tag: '3.1' }]);
    const [image] = await open(`oci:${root}`);
    assert.deepEqual(image?.name, { display: `oci:${root}`, name: 'single', repository: 'single', tag: '3.1', tagOrigin: 'archive' });
    const untagged = join(dir, 'untagged');
    await writeOciLayout(untagged, [{ image: amd }]);
    const [u] = await open(`oci:${untagged}`);
    assert.equal(u?.name.tagOrigin, 'none');
    assert.equal(u?.name.tag, undefined);
  });

  it('an unknown tag → IMAGE_NOT_FOUND listing the tags there are', async () => {
    const root = join(dir, 'tagged2');
    await writeOciLayout(root, [
      { image: amd, tag: '1.0' },
      { image: other, tag: '2.0' },
    ]);
    await rejectsWith(open(`oci:${root}:9.9`), 'IMAGE_NOT_FOUND', /"9\.9".*1\.0, 2\.0/);
  });

  it('several images and no tag → an error that asks for one and lists the tags', async () => {
    const root = join(dir, 'multi');
    await writeOciLayout(root, [
      { image: amd, tag: '1.0' },
      { image: other, tag: '2.0' },
    ]);
    await rejectsWith(open(`oci:${root}`), 'USAGE', /:TAG.*1\.0, 2\.0/);
  });

  it('resolves an index with linux/amd64 + linux/arm64 per platform, and all of them with "all"', async () => {
    const root = join(dir, 'multiarch');
    await writeOciLayout(root, [{ image: amd }, { image: arm }]);
    const index = buildIndex([amd, arm], 'oci', [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: digestOf(Buffer.from('att')),
        size: 3,
        platform: { os: 'unknown', architecture: 'unknown' },
      },
    ]);
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
            annotations: { 'org.opencontainers.image.ref.name': 'multi' },
          },
        ],
      }),
    );
    const [a] = await open(`oci:${root}:multi`);
    assert.equal(a?.configDigest, amd.configDigest);
    assert.deepEqual(a?.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(a?.fromIndex, true);
    const [b] = await open(`oci:${root}:multi`, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    assert.equal(b?.configDigest, arm.configDigest);
    const all = await open(`oci:${root}`, { platform: 'all' });
    assert.deepEqual(
      all.map((i) => i.platform?.architecture),
      ['amd64', 'arm64'],
    );
    await rejectsWith(
      open(`oci:${root}`, { platform: { os: 'linux', architecture: 's390x' } }),
      'NO_MATCHING_PLATFORM',
      /linux\/amd64, linux\/arm64/,
    );
  });

  it('a tampered layer blob → DIGEST_MISMATCH when its stream is consumed', async () => {
    const root = join(dir, 'tampered');
    await writeOciLayout(root, [{ image: amd, tag: '1.0' }]);
    const plain = amd.layers[2];
    assert.ok(plain);
    const path = join(root, 'blobs', 'sha256', plain.digest.slice(7));
    const bytes = await readFile(path);
    bytes[600] = (bytes[600] ?? 0) ^ 0x01; // same size, one bit changed inside the file content
    await writeFile(path, bytes);
    const [image] = await open(`oci:${root}:1.0`);
    const layer = image?.layers[2];
    assert.ok(layer);
    await rejectsWith(
      inspectLayer(await layer.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }),
      'DIGEST_MISMATCH',
      /does not match its digest/,
    );
    // A truncated blob: the size check fires.
    await writeFile(path, bytes.subarray(0, 1024));
    await rejectsWith(inspectLayer(await layer.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }), 'DIGEST_MISMATCH');
    // A missing blob.
    await rm(path);
    await rejectsWith(layer.open(), 'SOURCE_UNREADABLE', /missing/);
  });

  it('a tampered config or manifest → DIGEST_MISMATCH when the image is opened', async () => {
    const root = join(dir, 'tampered-config');
    await writeOciLayout(root, [{ image: amd, tag: '1.0' }]);
    await writeFile(join(root, 'blobs', 'sha256', amd.configDigest.slice(7)), amd.config.toString().replace('app:app', 'root:app'));
    await rejectsWith(open(`oci:${root}:1.0`), 'DIGEST_MISMATCH', /config/);
  });

  it('no index.json → SOURCE_UNREADABLE; index.json or manifest not JSON → INVALID_MANIFEST', async () => {
    const root = join(dir, 'broken');
    await writeOciLayout(root, [{ image: amd, tag: '1.0' }]);
    await rm(join(root, 'index.json'));
    await rejectsWith(open(`oci:${root}`), 'SOURCE_UNREADABLE', /index\.json/);
    await writeFile(join(root, 'index.json'), '{ not json');
    await rejectsWith(open(`oci:${root}`), 'INVALID_MANIFEST');
    // A manifest blob that is not JSON (stored under its own digest, so only parsing fails).
    const junk = Buffer.from('<html>this is not a manifest</html>');
    await writeFile(join(root, 'blobs', 'sha256', digestOf(junk).slice(7)), junk);
    await writeFile(
      join(root, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(junk), size: junk.length }],
      }),
    );
    await rejectsWith(open(`oci:${root}`), 'INVALID_MANIFEST');
  });

  it('a missing path → SOURCE_NOT_FOUND; a file given to oci: → SOURCE_UNREADABLE', async () => {
    await rejectsWith(open(`oci:${join(dir, 'nope')}`), 'SOURCE_NOT_FOUND', /does not exist/);
    const f = join(dir, 'a-file.tar');
    await writeFile(f, 'x');
    await rejectsWith(open(`oci:${f}`), 'SOURCE_UNREADABLE', /oci-archive/);
  });
});

describe('OCI archive (oci-archive:FILE[:TAG])', () => {
  it('reads the same image as the layout, by tag and by default', async () => {
    const file = join(dir, 'app-oci.tar');
    await writeOciArchive(file, [{ image: amd, tag: '1.0' }]);
    const [image] = await open(`oci-archive:${file}:1.0`);
    assert.equal(image?.configDigest, amd.configDigest);
    assert.deepEqual(image?.name, {
      display: `oci-archive:${file}:1.0`,
      name: 'app-oci',
      repository: 'app-oci',
      tag: '1.0',
      tagOrigin: 'reference',
    });
    assert.ok(image);
    const facts = await factsOf(image);
    const root = join(dir, 'same-as-archive');
    await writeOciLayout(root, [{ image: amd, tag: '1.0' }]);
    const [fromLayout] = await open(`oci:${root}`);
    assert.ok(fromLayout);
    assert.deepEqual(facts, await factsOf(fromLayout));
    const [byDefault] = await open(`oci-archive:${file}`);
    assert.equal(byDefault?.name.tagOrigin, 'archive');
  });

  it('a gzip-compressed archive is read like the plain one; a damaged xz or bzip2 one → a clear error', async () => {
    const file = join(dir, 'app-oci.tar');
    const gz = join(dir, 'app-oci.tar.gz');
    await writeFile(gz, gzipSync(await readFile(file)));
    const [image] = await open(`oci-archive:${gz}:1.0`);
    assert.ok(image);
    assert.equal(image.configDigest, amd.configDigest);
    assert.deepEqual(
      image.layers.map((l) => l.digest),
      amd.layers.map((l) => l.digest),
    );
    const [plain] = await open(`oci-archive:${file}:1.0`);
    assert.ok(plain);
    assert.deepEqual(await factsOf(image), await factsOf(plain));
    const xz = join(dir, 'app-oci.tar.xz');
    await writeFile(xz, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(64)]));
    await rejectsWith(open(`oci-archive:${xz}`), 'SOURCE_UNREADABLE', /could not be decompressed \(xz: .*checksum/);
    const bz = join(dir, 'app-oci.tar.bz2');
    await writeFile(bz, Buffer.concat([Buffer.from('BZh9'), Buffer.alloc(64)]));
    await rejectsWith(open(`docker-archive:${bz}`), 'SOURCE_UNREADABLE', /could not be decompressed \(bzip2: .*bad magic value found/);
  });

  it('a file that is not a tar, a truncated archive, an archive without index.json → SOURCE_UNREADABLE', async () => {
    const junk = join(dir, 'junk.tar');
    await writeFile(junk, Buffer.alloc(4096, 0x41));
    await rejectsWith(open(`oci-archive:${junk}`), 'SOURCE_UNREADABLE', /not a tar/);
    const full = await readFile(join(dir, 'app-oci.tar'));
    const cut = join(dir, 'cut.tar');
    await writeFile(cut, full.subarray(0, 1536));
    await rejectsWith(open(`oci-archive:${cut}`), 'SOURCE_UNREADABLE', /truncated/);
    const noIndex = join(dir, 'noindex.tar');
    await writeFile(noIndex, tarOfFiles([['oci-layout', Buffer.from('{}')]]));
    await rejectsWith(open(`oci-archive:${noIndex}`), 'SOURCE_UNREADABLE', /no index\.json/);
  });
});

describe('docker archive (docker-archive:FILE[:REPO:TAG])', () => {
  it('classic and Docker 25+ layouts give the same config, layer digests and facts', async () => {
    const classic = join(dir, 'classic.tar');
    const modern = join(dir, 'modern.tar');
    await writeDockerArchive(classic, amd, ['app:1.0'], 'classic');
    await writeDockerArchive(modern, amd, ['app:1.0'], 'oci');
    const [c] = await open(`docker-archive:${classic}`);
    const [m] = await open(`docker-archive:${modern}`);
    assert.ok(c && m);
    assert.equal(c.configDigest, amd.configDigest);
    assert.equal(m.configDigest, amd.configDigest);
    // Docker archives hold uncompressed layers: their digests are the config's diff_ids.
    const diffIds = amd.layers.map((l) => l.diffId);
    assert.deepEqual(
      c.layers.map((l) => l.digest),
      diffIds,
    );
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      diffIds,
    );
    assert.deepEqual(c.name, { display: `docker-archive:${classic}`, name: 'app', repository: 'app', tag: '1.0', tagOrigin: 'archive' });
    assert.deepEqual(m.name, { display: `docker-archive:${modern}`, name: 'app', repository: 'app', tag: '1.0', tagOrigin: 'archive' });
    const cf = await factsOf(c);
    assert.deepEqual(cf, await factsOf(m));
    assert.ok(cf.every((f) => f.compression === 'none'));
    // …and the same facts as the compressed layers of the registry/OCI form.
    const root = join(dir, 'docker-vs-oci');
    await writeOciLayout(root, [{ image: amd, tag: '1.0' }]);
    const [o] = await open(`oci:${root}`);
    assert.ok(o);
    assert.deepEqual(bodies(cf), bodies(await factsOf(o)));
  });

  it('selects REPO:TAG, with or without docker.io/library/, and lists the images on a miss', async () => {
    // Two images in one classic archive, as `docker save app:1.0 other:2.0` writes it.
    const files: Array<[string, Buffer]> = [];
    const manifest = [];
    for (const [image, tags] of [
      [amd, ['app:1.0']],
      [other, ['docker.io/library/other:2.0', 'registry.local:5000/team/other:2.0']],
    ] as const) {
      const config = `${image.configDigest.slice(7)}.json`;
      files.push([config, image.config]);
      const layers = image.layers.map((l) => {
        const tar = plainTar(l.bytes);
        return [`${digestOf(Buffer.concat([Buffer.from(config), tar])).slice(7)}/layer.tar`, tar] as [string, Buffer];
      });
      manifest.push({ Config: config, RepoTags: [...tags], Layers: layers.map(([p]) => p) });
      files.push(...layers);
    }
    files.push(['manifest.json', Buffer.from(JSON.stringify(manifest))]);
    const file = join(dir, 'two.tar');
    await writeFile(file, tarOfFiles(files));
    const pick = async (ref: string): Promise<Image | undefined> => (await open(`docker-archive:${file}:${ref}`))[0];
    const first = await pick('app:1.0');
    assert.equal(first?.configDigest, amd.configDigest);
    assert.ok(first);
    assert.equal((await factsOf(first)).length, 3);
    assert.equal((await pick('docker.io/library/app:1.0'))?.configDigest, amd.configDigest);
    assert.equal((await pick('library/app:1.0'))?.configDigest, amd.configDigest);
    assert.equal((await pick('other:2.0'))?.configDigest, other.configDigest);
    assert.equal((await pick('docker.io/library/other:2.0'))?.configDigest, other.configDigest);
    const picked = await pick('registry.local:5000/team/other:2.0');
    assert.equal(picked?.configDigest, other.configDigest);
    assert.deepEqual(picked?.name, {
      display: `docker-archive:${file}:registry.local:5000/team/other:2.0`,
      name: 'other',
      repository: 'team/other',
      tag: '2.0',
      tagOrigin: 'reference',
    });
    await rejectsWith(pick('app:9.9'), 'IMAGE_NOT_FOUND', /app:1\.0, docker\.io\/library\/other:2\.0/);
    await rejectsWith(open(`docker-archive:${file}`), 'USAGE', /REPO:TAG/);
  });

  it('a layer stored as a symlink to another image id (docker save dedup) is read through the link', async () => {
    const tars = amd.layers.map((l) => plainTar(l.bytes));
    const config = `${amd.configDigest.slice(7)}.json`;
    const entries: EntrySpec[] = [{ type: 'file', path: config, content: amd.config }];
    const names = tars.map((_, i) => `layer${i}/layer.tar`);
    // layer0 holds the bytes; "dup" ids link to it the way docker save does (relative symlink,
    // and a hard link for good measure).
    tars.forEach((t, i) => entries.push({ type: 'file', path: names[i] ?? '', content: t }));
    entries.push({ type: 'dir', path: 'dup1/' }, { type: 'symlink', path: 'dup1/layer.tar', target: '../layer1/layer.tar' });
    entries.push({ type: 'hardlink', path: 'dup2/layer.tar', target: 'layer2/layer.tar' });
    entries.push({
      type: 'file',
      path: 'manifest.json',
      content: JSON.stringify([
        { Config: config, RepoTags: ['app:1.0'], Layers: ['layer0/layer.tar', 'dup1/layer.tar', 'dup2/layer.tar'] },
      ]),
    });
    const file = join(dir, 'dedup.tar');
    await writeFile(file, buildTar(entries));
    const [image] = await open(`docker-archive:${file}`);
    assert.ok(image);
    assert.deepEqual(
      image.layers.map((l) => l.digest),
      amd.layers.map((l) => l.diffId),
    );
    assert.equal((await factsOf(image)).length, 3);
  });

  it('no manifest.json → SOURCE_UNREADABLE; manifest.json not JSON → INVALID_MANIFEST; a tampered layer → DIGEST_MISMATCH', async () => {
    const none = join(dir, 'no-manifest.tar');
    await writeFile(none, tarOfFiles([['repositories', Buffer.from('{}')]]));
    await rejectsWith(open(`docker-archive:${none}`), 'SOURCE_UNREADABLE', /no manifest\.json/);
    const notJson = join(dir, 'not-json.tar');
    await writeFile(notJson, tarOfFiles([['manifest.json', Buffer.from('[{"Config": "x.json", ')]]));
    await rejectsWith(open(`docker-archive:${notJson}`), 'INVALID_MANIFEST');
    const wrongShape = join(dir, 'wrong-shape.tar');
    await writeFile(wrongShape, tarOfFiles([['manifest.json', Buffer.from('{"Config": "x.json"}')]]));
    await rejectsWith(open(`docker-archive:${wrongShape}`), 'INVALID_MANIFEST');

    const classic = join(dir, 'classic-tampered.tar');
    await writeDockerArchive(classic, amd, ['app:1.0'], 'classic');
    const bytes = await readFile(classic);
    // Flip a byte inside the content of /etc/arch-amd64 in the last layer (its text is unique).
    const at = bytes.indexOf(Buffer.from('amd64', 'ascii'), bytes.indexOf(Buffer.from('etc/arch-amd64')) + 512);
    assert.ok(at > 0);
    bytes[at] = 0x41;
    await writeFile(classic, bytes);
    const [image] = await open(`docker-archive:${classic}`);
    const last = image?.layers[2];
    assert.ok(last);
    await rejectsWith(inspectLayer(await last.open(), { matchers: [ALL], watchPaths: WATCH, what: 'layer' }), 'DIGEST_MISMATCH');
  });
});

describe('tar-index', () => {
  for (const style of ['pax', 'gnu'] as const) {
    it(`indexes ${style.toUpperCase()} long member names and serves the right byte ranges`, async () => {
      const long = 'blobs/sha256/' + 'deep/'.repeat(30) + 'x'.repeat(64);
      const content = Buffer.from('the content of a member with a long name');
      const file = join(dir, `long-${style}.tar`);
      await writeFile(
        file,
        buildTar(
          [
            { type: 'file', path: './index.json', content: '{}' },
            { type: 'file', path: long, content },
            { type: 'symlink', path: 'link-' + 'y'.repeat(120), target: long },
            { type: 'dir', path: 'blobs/' },
            { type: 'file', path: '/abs/member', content: 'abs' },
          ],
          style,
        ),
      );
      const members = await indexTar(file, 'test archive');
      const m = members.get(long);
      assert.ok(m, [...members.keys()].join('\n'));
      const bytes = await readFile(file);
      assert.deepEqual(bytes.subarray(m.offset, m.offset + m.size), content);
      assert.deepEqual(members.get('link-' + 'y'.repeat(120)), m);
      assert.ok(members.has('index.json'));
      assert.ok(members.has('abs/member'));
      assert.ok(!members.has('blobs'), 'directories are not members');
      assert.ok(
        [...members.keys()].every((k) => k.length !== 100 && k.length !== 99),
        'no truncated names',
      );
    });
  }
});

/** The plain tar of one of the builder's layers (docker archives hold uncompressed layers). */
function plainTar(bytes: Buffer): Buffer {
  return bytes[0] === 0x1f ? gunzipSync(bytes) : bytes[0] === 0x28 ? unzstdStored(bytes) : bytes;
}

/** Reverses image-builder's zstdStored (raw blocks only). */
function unzstdStored(frame: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 6;
  for (;;) {
    const header = (frame[pos] ?? 0) | ((frame[pos + 1] ?? 0) << 8) | ((frame[pos + 2] ?? 0) << 16);
    const size = header >> 3;
    out.push(frame.subarray(pos + 3, pos + 3 + size));
    pos += 3 + size;
    if (header & 1) break;
  }
  return Buffer.concat(out);
}
