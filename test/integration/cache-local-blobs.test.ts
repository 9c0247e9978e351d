/**
 * A layer-facts cache hit does not stand in for a local layer blob that is not there
 * (docs/architecture.md, "The persistent cache"): layout A is scanned first and caches the
 * facts of its base layer L; image B lists L but its store lacks L's blob, or holds it
 * truncated. B's scan with A's store must fail exactly as it fails with a store of its own
 * (--no-cache), for OCI layouts and OCI archives, and through the CLI's disk cache.
 *
 * Provenance: images built by test/helpers/image-builder.ts, written as OCI layouts and archives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isOciScanError } from '../../src/errors.js';
import { scan } from '../../src/scan.js';
import { memoryFactsStore } from '../../src/store/facts-store.js';
import { buildImage, tarOfFiles, writeOciArchive, writeOciLayout, type BuiltImage } from '../helpers/image-builder.js';
import { runCli, tempDir, testScanOptions } from '../helpers/scan.js';

const base = {
  entries: [
    { type: 'file' as const, path: 'etc/os-release', content: 'ID=debian\n' },
    { type: 'file' as const, path: 'usr/lib/base.bin', content: randomBytes(64 * 1024) },
  ],
};
const imageA = buildImage({ config: { User: '1000' }, layers: [base] });
const imageB = buildImage({ config: { User: '1000' }, layers: [base, { entries: [{ type: 'file', path: 'srv/b.txt', content: 'b' }] }] });
const shared = imageB.layers[0];
assert.ok(shared && imageA.layers[0]?.digest === shared.digest, 'A and B share their base layer');

/** The error a scan rejects with, as `code: message`, or 'no error'. */
async function outcome(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return 'no error';
  } catch (err) {
    assert.ok(isOciScanError(err), `an OciScanError, not ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
}

/** B's blob of L as each case leaves it. */
type Damage = 'missing' | 'truncated';

function blobFile(root: string, image: BuiltImage, i: number): string {
  return join(root, 'blobs', 'sha256', image.layers[i]?.digest.slice(7) ?? '');
}

describe('a cached layer still needs its blob in the image being scanned', () => {
  for (const damage of ['missing', 'truncated'] as const satisfies readonly Damage[]) {
    test(`OCI layout, shared blob ${damage}: the error is the one a fresh store gives`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await writeOciLayout(join(dir, 'a'), [{ image: imageA, tag: '1' }]);
        await writeOciLayout(join(dir, 'b'), [{ image: imageB, tag: '1' }]);
        const file = blobFile(join(dir, 'b'), imageB, 0);
        if (damage === 'missing') await rm(file);
        else await truncate(file, Math.floor((shared?.size ?? 0) / 2));

        const store = memoryFactsStore();
        const [a] = await scan(`oci:${join(dir, 'a')}:1`, testScanOptions({ store }));
        assert.ok(a, 'A scans');
        const cached = await outcome(scan(`oci:${join(dir, 'b')}:1`, testScanOptions({ store })));
        const fresh = await outcome(scan(`oci:${join(dir, 'b')}:1`, testScanOptions()));
        assert.notEqual(fresh, 'no error', 'B alone fails');
        assert.equal(cached, fresh);
        assert.match(
          cached,
          damage === 'missing' ? /^SOURCE_UNREADABLE: .*is missing/ : /^DIGEST_MISMATCH: .*bytes, its manifest declares/,
        );
      } finally {
        await cleanup();
      }
    });
  }

  test('OCI archive without the shared blob: the error is the one a fresh store gives', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeOciLayout(join(dir, 'a'), [{ image: imageA, tag: '1' }]);
      // B's archive: everything but L's blob.
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: imageB.manifestMediaType,
              digest: imageB.manifestDigest,
              size: imageB.manifest.length,
              annotations: { 'org.opencontainers.image.ref.name': '1' },
            },
          ],
        }),
      );
      const files: Array<[string, Buffer]> = [
        ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
        [`blobs/sha256/${imageB.configDigest.slice(7)}`, imageB.config],
        [`blobs/sha256/${imageB.manifestDigest.slice(7)}`, imageB.manifest],
        [`blobs/sha256/${imageB.layers[1]?.digest.slice(7) ?? ''}`, imageB.layers[1]?.bytes ?? Buffer.alloc(0)],
        ['index.json', index],
      ];
      await writeFile(join(dir, 'b.tar'), tarOfFiles(files));

      const store = memoryFactsStore();
      await scan(`oci:${join(dir, 'a')}:1`, testScanOptions({ store }));
      const cached = await outcome(scan(`oci-archive:${join(dir, 'b.tar')}:1`, testScanOptions({ store })));
      const fresh = await outcome(scan(`oci-archive:${join(dir, 'b.tar')}:1`, testScanOptions()));
      assert.match(fresh, /^SOURCE_UNREADABLE: .*is missing/);
      assert.equal(cached, fresh);
    } finally {
      await cleanup();
    }
  });

  test('a whole OCI archive still hits the cache: L is not inspected again', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeOciLayout(join(dir, 'a'), [{ image: imageA, tag: '1' }]);
      await writeOciArchive(join(dir, 'b.tar'), [{ image: imageB, tag: '1' }]);
      const store = memoryFactsStore();
      await scan(`oci:${join(dir, 'a')}:1`, testScanOptions({ store }));
      const inspected: string[] = [];
      const [b] = await scan(
        `oci-archive:${join(dir, 'b.tar')}:1`,
        testScanOptions({ store, onLayerBytes: ({ layer }) => inspected.push(layer.digest) }),
      );
      assert.ok(b, 'B scans');
      assert.ok(!inspected.includes(shared?.digest ?? ''), 'the cached layer is not read');
      assert.ok(inspected.includes(imageB.layers[1]?.digest ?? ''), 'B’s own layer is read');
    } finally {
      await cleanup();
    }
  });

  test('CLI with the disk cache: B without the blob fails as with --no-cache', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeOciLayout(join(dir, 'a'), [{ image: imageA, tag: '1' }]);
      await writeOciLayout(join(dir, 'b'), [{ image: imageB, tag: '1' }]);
      await rm(blobFile(join(dir, 'b'), imageB, 0));
      const cacheDir = join(dir, 'cache');
      const a = await runCli([`oci:${join(dir, 'a')}:1`, '--cache-dir', cacheDir, '--reports-dir', join(dir, 'ra')]);
      assert.notEqual(a.code, null);
      const cached = await runCli([`oci:${join(dir, 'b')}:1`, '--cache-dir', cacheDir, '--reports-dir', join(dir, 'rb')]);
      const fresh = await runCli([`oci:${join(dir, 'b')}:1`, '--no-cache', '--reports-dir', join(dir, 'rc')]);
      assert.equal(cached.code, fresh.code);
      assert.match(fresh.stderr, /is missing from OCI layout/);
      assert.match(cached.stderr, /is missing from OCI layout/);
    } finally {
      await cleanup();
    }
  });
});
