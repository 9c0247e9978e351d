/**
 * xz and bzip2 with the real runtime (docs/architecture.md, "Decoders"):
 * - an OCI archive whose layers are an xz and a bzip2 stream under the tar+gzip media type
 *   (containers/image sniffs the bytes, whatever the media type says): `podman load` applies
 *   it — the layers' diffIDs are checked against the decompressed tars — and `podman save`
 *   writes the applied layers back as plain tars; oci-scan reads the original archive and
 *   podman's re-export alike, with the same findings;
 * - `podman save` archives (docker-archive, oci-archive) compressed as a whole with xz and
 *   bzip2 scan like the plain ones.
 * A missing tool skips with one loud line naming its apt package, unless
 * OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 *
 * Provenance: images built by test/helpers/image-builder.ts, layers compressed by xz and bzip2.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import type { ReportResult } from '../../src/report/model.js';
import { scan, type ImageScan } from '../../src/scan.js';
import { buildImage, buildTar, writeOciArchive } from '../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);
const needed = missingTools({ podman: 'podman', xz: 'xz-utils', bzip2: 'bzip2' });
if (needed.skip) console.error(`!!! compressed real-tools tests SKIPPED: ${needed.skip}`);

const base = buildTar([
  { type: 'file', path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
  { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' },
]);
const tools = buildTar([{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' }]);
const compress = (tool: 'xz' | 'bzip2', tar: Buffer): Buffer => execFileSync(tool, ['-c'], { input: tar });

/** The files a result names, whatever layer digest they are listed under. */
function filesOf(r: ReportResult | undefined): string[] {
  return (r?.Files ?? []).flatMap((perLayer) => Object.values(perLayer).flat()).sort();
}

/** The findings a test compares: per check id, pass or fail and the files (an archive may name layers by diffID, another by blob digest). */
function findings(result: ImageScan): Record<string, { pass: boolean; files: string[] }> {
  return Object.fromEntries(result.results.map((r) => [r.Id, { pass: r.Pass, files: filesOf(r) }]));
}

async function scanOne(input: string): Promise<ImageScan> {
  const [result] = await scan(input, testScanOptions());
  assert.ok(result, `${input} scans`);
  return result;
}

describeOrSkip('xz and bzip2 layers and archives with podman', { skip: needed.skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let storage: string[] = [];

  before(async () => {
    if (needed.missing.length > 0) throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${needed.missing.join(', ')} missing`);
    ({ dir, cleanup } = await tempDir('oci-scan-xzbz-'));
    storage = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  });
  after(() => cleanup());

  it('podman applies an image whose layers are xz and bzip2 under the gzip media type; oci-scan reads them as podman does', async () => {
    const image = buildImage({
      config: { User: 'app' },
      layers: [
        { tar: base, blob: compress('xz', base), compression: 'gzip' },
        { tar: tools, blob: compress('bzip2', tools), compression: 'gzip' },
      ],
    });
    const archive = join(dir, 'xzbz-oci.tar');
    await writeOciArchive(archive, [{ image, tag: 'localhost/xzbz:1.0' }]);
    // podman load checks each decompressed layer against the config's diffIDs: it succeeds
    // only if it decompressed the xz and bzip2 blobs to the very tars we built.
    await run('podman', [...storage, 'load', '--quiet', '-i', archive]);
    const resaved = join(dir, 'resaved.tar');
    await run('podman', [...storage, 'save', '--quiet', '--format', 'docker-archive', '-o', resaved, 'localhost/xzbz:1.0']);

    const ours = await scanOne(`oci-archive:${archive}`);
    assert.deepEqual(
      ours.image.layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    const applied = await scanOne(`docker-archive:${resaved}`);
    assert.deepEqual(
      applied.image.config.rootfs?.diff_ids,
      image.layers.map((l) => l.diffId),
      'podman applied the tars we built',
    );
    assert.deepEqual(findings(ours), findings(applied));
    const byId = new Map(ours.results.map((r) => [r.Id, r]));
    assert.deepEqual(filesOf(byId.get('suid')), ['/usr/bin/su'], 'the setuid file of the xz layer is seen');
    assert.ok(
      filesOf(byId.get('compilers')).some((f) => f.endsWith('/gcc')),
      'the compiler of the bzip2 layer is seen',
    );
  });

  it('podman save archives compressed whole with xz and bzip2 scan like the plain ones', async () => {
    const image = buildImage({
      config: { User: 'app' },
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'sudo' }] }],
    });
    const source = join(dir, 'src-oci.tar');
    await writeOciArchive(source, [{ image, tag: 'localhost/plain:1.0' }]);
    await run('podman', [...storage, 'load', '--quiet', '-i', source]);
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const plain = join(dir, `saved-${format}.tar`);
      await run('podman', [...storage, 'save', '--quiet', '--format', format, '-o', plain, 'localhost/plain:1.0']);
      const expected = findings(await scanOne(`${format}:${plain}`));
      for (const tool of ['xz', 'bzip2'] as const) {
        const file = `${plain}.${tool}`;
        await writeFile(file, execFileSync(tool, ['-c', plain], { maxBuffer: 1 << 28 }));
        const result = await scanOne(`${format}:${file}`);
        assert.deepEqual(findings(result), expected, `${format} | ${tool}`);
      }
    }
  });
});
