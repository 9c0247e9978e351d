/**
 * Layer workers (src/inspect/host.ts, worker.ts): a layer whose decoder runs in JavaScript's
 * thread (zstd through the addon or WebAssembly, bzip2, xz) is inspected on a worker thread,
 * and the worker must say exactly what the main thread says — the same facts, the same errors
 * (codes, messages, settings), the abort honoured at once, a source's own failure passed on.
 *
 * Provenance: the tars are written by test/helpers/image-builder.ts; zstd, bzip2 and xz are the
 * real commands (CI installs them: apt packages zstd, bzip2, xz-utils).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createChecks, EXTENDED_CHECKS, matchersOf, watchPathsOf, type CheckData } from '../../../src/checks/index.js';
import { isOciScanError, OciScanError } from '../../../src/errors.js';
import { sha256Digest, VerifyingStream } from '../../../src/image/verify.js';
import { inspectLayerAnywhere, layerWorkersStarted, type LayerBlob } from '../../../src/inspect/host.js';
import { inspectLayer, type EntryMatcher, type InspectOptions, type LayerFacts } from '../../../src/layer/inspect.js';
import { buildTar, compress, type EntrySpec } from '../../helpers/image-builder.js';
import { describeOrSkip } from '../../helpers/skip.js';
import { missingTools } from '../../helpers/tools.js';

const TOOLS = ['zstd', 'bzip2', 'xz'] as const;
const tools = missingTools({ zstd: 'zstd', bzip2: 'bzip2', xz: 'xz-utils' });
if (tools.skip) console.error(`SKIPPING the layer worker tests: ${tools.skip}`);

/** The policy data the matchers are built from: a forbidden program of the policy's own, secret rules of the built-ins. */
const DATA: CheckData = { forbiddenPrograms: ['busybox'] };
const CHECKS = createChecks(
  DATA,
  EXTENDED_CHECKS.map((c) => c.id),
);

/** A layer with something for every kind of fact: matched programs, set-id files, watched files, links, whiteouts, a secret. */
const ENTRIES: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
  { type: 'file', path: 'etc/shadow', content: 'root::19000:0:99999:7:::\n', mode: 0o640 },
  { type: 'file', path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
  { type: 'dir', path: 'usr/bin/' },
  { type: 'file', path: 'usr/bin/sudo', content: 'x', mode: 0o4755 },
  { type: 'file', path: 'usr/bin/busybox', content: 'y'.repeat(70_000), mode: 0o755 },
  { type: 'file', path: 'usr/bin/gcc-12', content: 'z', mode: 0o755 },
  { type: 'hardlink', path: 'usr/bin/su', target: 'usr/bin/sudo' },
  { type: 'symlink', path: 'usr/bin/nc', target: 'busybox' },
  {
    type: 'file',
    path: 'root/.ssh/id_rsa',
    content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
  },
  { type: 'file', path: 'app/.env', content: 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' },
  { type: 'file', path: 'var/.wh.cache', content: '' },
  { type: 'file', path: 'opt/.wh..wh..opq', content: '' },
  ...Array.from({ length: 300 }, (_, i): EntrySpec => ({
    type: 'file',
    path: `usr/share/doc/pkg${i}/copyright`,
    content: `text ${i}\n`.repeat(40),
  })),
];
const TAR = buildTar(ENTRIES);

function compressWith(tool: (typeof TOOLS)[number], tar: Buffer): Buffer {
  return execFileSync(tool, ['-c', ...(tool === 'zstd' ? ['-q', '-3'] : [])], { input: tar, maxBuffer: 1 << 28 });
}

/** `bytes` as a stream of `size`-byte chunks. */
function chunked(bytes: Buffer, size = 7_919): Readable {
  function* gen(): Generator<Buffer> {
    for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, Math.min(bytes.length, off + size));
  }
  return Readable.from(gen(), { objectMode: false });
}

function options(extra: Partial<InspectOptions> = {}): InspectOptions {
  return { matchers: matchersOf(CHECKS), watchPaths: watchPathsOf(CHECKS), what: 'layer sha256:test', ...extra };
}

/** A stream as a blob the host must read itself (no file). */
function streamed(stream: Readable): LayerBlob {
  return { open: () => Promise.resolve(stream), digest: 'sha256:unchecked', size: -1 };
}

/** The facts through the host (a worker where it takes the layer), and whether a worker did. */
async function anywhere(
  blob: Readable | LayerBlob,
  extra: Partial<InspectOptions> = {},
  data: CheckData | 'none' = DATA,
): Promise<{ facts: LayerFacts; onWorker: boolean }> {
  const before = layerWorkersStarted();
  const facts = await inspectLayerAnywhere(
    blob instanceof Readable ? streamed(blob) : blob,
    options(extra),
    data === 'none' ? undefined : data,
  );
  return { facts, onWorker: layerWorkersStarted() > before };
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describeOrSkip('layer workers', { skip: tools.skip }, () => {
  for (const tool of TOOLS) {
    it(`${tool}: a worker records the same facts as the main thread`, async () => {
      const blob = compressWith(tool, TAR);
      const main = await inspectLayer(chunked(blob), options());
      const { facts, onWorker } = await anywhere(chunked(blob));
      assert.equal(onWorker, true, `a ${tool} layer is inspected on a worker`);
      assert.deepEqual(facts, main);
      // The facts are not empty agreement: the policy's own program and the secrets were found.
      assert.deepEqual(facts.matches['forbidden-programs'], ['/usr/bin/busybox']);
      assert.ok(Object.keys(facts.details).length > 0, 'a content matcher kept what it found');
      assert.equal(facts.compression, tool === 'zstd' ? 'zstd' : tool === 'bzip2' ? 'bzip2' : 'xz');
      assert.equal(facts.entries, ENTRIES.length);
    });
  }

  it('a gzip layer stays on the main thread (Node inflates it on its thread pool already)', async () => {
    const blob = gzipSync(TAR);
    const { facts, onWorker } = await anywhere(chunked(blob));
    assert.equal(onWorker, false);
    assert.deepEqual(facts, await inspectLayer(chunked(blob), options()));
  });

  it("matchers the policy's data does not rebuild (a caller's own) are inspected on the main thread", async () => {
    const own: EntryMatcher = { id: 'own', fingerprint: 'own/1', matches: (e) => e.path.endsWith('/sudo') };
    const blob = compressWith('zstd', TAR);
    const before = layerWorkersStarted();
    const facts = await inspectLayerAnywhere(streamed(chunked(blob)), options({ matchers: [own] }), DATA);
    assert.equal(layerWorkersStarted(), before);
    assert.deepEqual(facts.matches['own'], ['/usr/bin/sudo']);
    // Without the data (a scan with the caller's checks) there is no worker either.
    assert.equal((await anywhere(chunked(blob), {}, 'none')).onWorker, false);
  });

  it("a gzip layer still being read does not hold the worker's place", async () => {
    process.env['OCI_SCAN_LAYER_WORKERS'] = '1';
    const gzip = new Readable({ read() {} });
    gzip.push(gzipSync(TAR).subarray(0, 4096));
    try {
      const slow = anywhere(gzip);
      await new Promise((r) => setTimeout(r, 50));
      // The gzip layer is sniffed and inspected on the main thread, stalled: the xz layer takes the one worker.
      assert.equal((await anywhere(chunked(compressWith('xz', TAR)))).onWorker, true);
      gzip.push(gzipSync(TAR).subarray(4096));
      gzip.push(null);
      // (Its own count of workers saw the xz layer's: compare what it found instead.)
      assert.deepEqual((await slow).facts, await inspectLayer(chunked(gzipSync(TAR)), options()));
    } finally {
      delete process.env['OCI_SCAN_LAYER_WORKERS'];
    }
  });

  it('OCI_SCAN_LAYER_WORKERS=0 keeps every layer on the main thread', async () => {
    process.env['OCI_SCAN_LAYER_WORKERS'] = '0';
    try {
      assert.equal((await anywhere(chunked(compressWith('xz', TAR)))).onWorker, false);
    } finally {
      delete process.env['OCI_SCAN_LAYER_WORKERS'];
    }
  });

  for (const tool of TOOLS) {
    it(`${tool}: a truncated layer fails on the worker with the main thread's one-line error`, async () => {
      const blob = compressWith(tool, TAR);
      const cut = blob.subarray(0, Math.floor(blob.length * 0.6));
      const onMain = await failure(inspectLayer(chunked(cut), options()));
      const before = layerWorkersStarted();
      const onWorker = await failure(inspectLayerAnywhere(streamed(chunked(cut)), options(), DATA));
      assert.equal(layerWorkersStarted(), before + 1);
      assert.ok(isOciScanError(onWorker, 'LAYER_CORRUPT'), String(onWorker));
      assert.ok(isOciScanError(onMain, 'LAYER_CORRUPT'));
      assert.equal(onWorker.message, onMain.message);
      assert.doesNotMatch(onWorker.message, /\n/);
    });
  }

  it('the decompression-bomb limit fails on the worker with its code, message and setting', async () => {
    const blob = compressWith('zstd', TAR);
    const limit = { maxLayerBytes: 64 * 1024 };
    const onMain = await failure(inspectLayer(chunked(blob), options(limit)));
    const onWorker = await failure(anywhere(chunked(blob), limit));
    assert.ok(isOciScanError(onWorker, 'LAYER_TOO_LARGE'), String(onWorker));
    assert.equal(onWorker.setting, 'maxLayerBytes');
    assert.equal(onWorker.message, (onMain as Error).message);
  });

  it("a source's own failure after some bytes is what the inspection rejects with", async () => {
    const blob = compressWith('bzip2', TAR);
    const source = new Readable({ read() {} });
    source.push(blob.subarray(0, 4096));
    const mismatch = new OciScanError(
      'DIGEST_MISMATCH',
      'layer sha256:test does not match its digest: the blob is corrupt or was tampered with',
    );
    setTimeout(() => source.destroy(mismatch), 50);
    const err = await failure(anywhere(source));
    assert.equal(err, mismatch);
  });

  it('an abort ends the worker at once with the caller’s reason, with the source stalled', async () => {
    const blob = compressWith('zstd', TAR);
    const stalled = new Readable({ read() {} });
    stalled.push(blob.subarray(0, 1000));
    const controller = new AbortController();
    const reason = new Error('run stopped');
    const before = layerWorkersStarted();
    const pending = anywhere(stalled, { signal: controller.signal });
    // The worker has started (and asked for bytes the source does not have) before the abort.
    for (let i = 0; i < 200 && layerWorkersStarted() === before; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(layerWorkersStarted(), before + 1);
    await new Promise((r) => setTimeout(r, 100));
    controller.abort(reason);
    assert.equal(await failure(pending), reason);
    assert.equal(stalled.destroyed, true, 'the source is torn down');
  });
  describe("a layout's blob file, read by the worker itself", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'oci-scan-worker-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** `bytes` written to a file, as a blob whose `open` is the layout source's: the file through the digest and size check. */
    async function fileBlob(bytes: Buffer, digest = sha256Digest(bytes), size = bytes.length): Promise<LayerBlob & { read: () => number }> {
      const path = join(dir, `${randomUUID()}.blob`);
      await writeFile(path, bytes);
      let read = 0;
      return {
        file: { path },
        digest,
        size,
        onBytes: (n) => (read += n),
        read: () => read,
        open: () => {
          const verified = new VerifyingStream(digest, size, 'layer sha256:test');
          pipeline(createReadStream(path), verified).catch(() => undefined);
          return Promise.resolve(verified);
        },
      };
    }

    it('reads and checks the file on the worker: the same facts, every byte told to the progress', async () => {
      const bytes = compressWith('zstd', TAR);
      const blob = await fileBlob(bytes);
      const { facts, onWorker } = await anywhere(blob);
      assert.equal(onWorker, true);
      assert.equal(blob.read(), bytes.length, 'the worker told the progress every byte it read');
      assert.deepEqual(facts, await inspectLayer(await blob.open(), options()));
    });

    for (const [name, change] of [
      ['a digest that is not the bytes’', { digest: sha256Digest(Buffer.from('other')) }],
      ['a size larger than the file', { size: 1 << 20 }],
      ['a size smaller than the file', { size: 100 }],
    ] as const) {
      it(`${name}: the worker fails as the source's stream fails (DIGEST_MISMATCH, same message)`, async () => {
        const bytes = compressWith('xz', TAR);
        const blob = await fileBlob(bytes, change.digest ?? sha256Digest(bytes), change.size ?? bytes.length);
        const onMain = await failure(inspectLayer(await blob.open(), options()));
        const before = layerWorkersStarted();
        const onWorker = await failure(inspectLayerAnywhere(blob, options(), DATA));
        assert.equal(layerWorkersStarted(), before + 1);
        assert.ok(isOciScanError(onWorker, 'DIGEST_MISMATCH'), String(onWorker));
        assert.equal(onWorker.message, (onMain as Error).message);
      });
    }

    it('a blob file modified while the worker reads it yields no facts: DIGEST_MISMATCH', async () => {
      // Raw zstd blocks and no frame checksum: a changed byte still decodes, so only the reads can tell.
      const tar = buildTar([{ type: 'file', path: 'data/big', content: Buffer.alloc(8 << 20, 0x61) }]);
      const bytes = compress(tar, 'zstd-stored');
      const blob = await fileBlob(bytes);
      let changed = false;
      const path = blob.file?.path ?? '';
      const onBytes = (): void => {
        if (changed) return;
        changed = true;
        // After the worker's first read; the host's own read of 8 MiB is usually done by then
        // (then only the two reads' CRC-32s differ), else its digest fails: either way, no facts.
        const fd = openSync(path, 'r+');
        writeSync(fd, Buffer.from('b'), 0, 1, bytes.length - 100_000);
        closeSync(fd);
      };
      const err = await failure(inspectLayerAnywhere({ ...blob, onBytes }, options(), DATA));
      assert.equal(changed, true);
      assert.ok(isOciScanError(err, 'DIGEST_MISMATCH'), String(err));
      assert.match(err.message, /changed while it was read|does not match its digest/);
    });

    it('a file that is gone is opened the source’s way, whose error names what is missing', async () => {
      const blob: LayerBlob = {
        file: { path: join(dir, 'missing.blob') },
        digest: 'sha256:unchecked',
        size: 1,
        open: () =>
          Promise.reject(new OciScanError('SOURCE_UNREADABLE', 'layer sha256:test is missing from the layout: the image is incomplete')),
      };
      const err = await failure(inspectLayerAnywhere(blob, options(), DATA));
      assert.ok(isOciScanError(err, 'SOURCE_UNREADABLE'));
    });
  });
});
