/**
 * The layer inspector (src/layer/inspect.ts): facts per entry kind, name normalisation,
 * whiteouts, watched files, compressions, chunking, corrupt inputs and limits.
 *
 * Provenance: every layer here is written by test/helpers/image-builder.ts (own ustar writer,
 * node:zlib gzip, zstd stored blocks or the `zstd` command), never by tar-stream.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isOciScanError, type ErrorCode } from '../../../src/errors.js';
import { sha256Digest, VerifyingStream } from '../../../src/image/verify.js';
import { inspectLayer, type EntryInfo, type EntryMatcher, type InspectOptions, type LayerFacts } from '../../../src/layer/inspect.js';
import { buildTar, compress, type Compression, type EntrySpec } from '../../helpers/image-builder.js';

/** True when the `zstd` command is installed (CI installs it; apt package `zstd`). */
const HAVE_ZSTD = ((): boolean => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!HAVE_ZSTD) console.error('SKIPPING real-zstd cases: the `zstd` command is missing (apt-get install zstd)');

/** A matcher that accepts everything, so that `matches.all` lists every non-whiteout path. */
const ALL: EntryMatcher = { id: 'all', fingerprint: 'all', matches: () => true };
const SUID: EntryMatcher = { id: 'suid', fingerprint: 'suid', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 };
const NEVER: EntryMatcher = { id: 'never', fingerprint: 'never', matches: () => false };

const WATCH = new Set([
  '/etc/os-release',
  '/usr/lib/os-release',
  '/etc/passwd',
  '/etc/group',
  '/etc/big',
  '/etc/hostname',
  '/etc/dir',
  '/opt/conf/app.conf',
]);

/** Streams `bytes` in chunks of `size` (non-object mode, like a file or socket). */
function chunked(bytes: Buffer, size = bytes.length): Readable {
  function* gen(): Generator<Buffer> {
    for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, Math.min(bytes.length, off + size));
  }
  return Readable.from(gen(), { objectMode: false });
}

/** Inspects `bytes` with the default matchers and watch list, plus `extra` options. */
function inspect(bytes: Buffer, extra: Partial<InspectOptions> = {}, chunk?: number): Promise<LayerFacts> {
  return inspectLayer(chunked(bytes, chunk), { matchers: [ALL, SUID, NEVER], watchPaths: WATCH, what: 'layer sha256:test', ...extra });
}

/** Records the EntryInfo of every entry the inspector shows a matcher. */
function recorder(): { matcher: EntryMatcher; seen: EntryInfo[] } {
  const seen: EntryInfo[] = [];
  return { seen, matcher: { id: 'rec', fingerprint: 'rec', matches: (e) => (seen.push(e), false) } };
}

/** Asserts that `promise` rejects with an OciScanError of `code` and a one-line message. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOciScanError(err), `expected OciScanError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('\n'), `message is not one line: ${err.message}`);
    assert.match(err.message, /layer sha256:test/);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** Facts without the `compression` field, for comparing one layer across compressions. */
function body(f: LayerFacts): Omit<LayerFacts, 'compression'> {
  const { compression: _c, ...rest } = f;
  return rest;
}

const LONG_DIR = '/usr/share/' + 'very-long-directory-name/'.repeat(5);
const LONG_FILE = LONG_DIR + 'a-file-whose-full-path-is-well-over-one-hundred-bytes.txt';
const LONG_TARGET = '../../' + 'another-long-target-component/'.repeat(4) + 'target-file';

/** A layer with every entry kind, long names, odd names, whiteouts and watched files. */
const RICH: EntrySpec[] = [
  { type: 'dir', path: './etc/' },
  { type: 'file', path: './etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
  { type: 'file', path: 'etc/group', content: 'root:x:0:\napp:x:1000:\n' },
  { type: 'symlink', path: '/etc/os-release', target: '../usr/lib/os-release' },
  { type: 'file', path: '//usr//lib/./os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'etc/big', content: Buffer.alloc(70_000, 0x61) },
  { type: 'dir', path: 'etc/dir/' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: Buffer.alloc(3000, 1) },
  { type: 'file', path: 'usr/bin/wall', mode: 0o2755, content: 'x' },
  { type: 'dir', path: 'tmp', mode: 0o1777 },
  { type: 'hardlink', path: 'usr/bin/su-again', target: './usr/bin/su', mode: 0o4755 },
  { type: 'symlink', path: 'usr/bin/nc', target: '/etc/alternatives/nc' },
  { type: 'char-device', path: 'dev/null', mode: 0o666 },
  { type: 'block-device', path: 'dev/sda', mode: 0o660 },
  { type: 'fifo', path: 'run/initctl', mode: 0o600 },
  { type: 'file', path: LONG_FILE, mode: 0o755, content: 'long' },
  { type: 'symlink', path: LONG_DIR + 'link-with-a-long-target', target: LONG_TARGET },
  { type: 'hardlink', path: 'usr/share/hard-to-long', target: LONG_FILE },
  { type: 'file', path: 'var/lib/.wh.removed', content: '' },
  { type: 'file', path: 'var/cache/.wh..wh..opq', content: '' },
  { type: 'file', path: 'var/.wh..wh.plnk', content: '' },
  { type: 'file', path: './usr/../usr/local/bin/tool', mode: 0o755, content: Buffer.alloc(513, 2) },
];

describe('inspectLayer: entries', () => {
  it('reports every entry kind with its type, mode, size and link target', async () => {
    const rec = recorder();
    const facts = await inspectLayer(chunked(buildTar(RICH)), {
      matchers: [rec.matcher],
      watchPaths: new Set(),
      what: 'layer sha256:test',
    });
    // The first time a path is seen (a hard link shows its target again: below).
    const byPath = new Map([...rec.seen].reverse().map((e) => [e.path, e]));
    assert.deepEqual(byPath.get('/etc'), { path: '/etc', basename: 'etc', type: 'dir', mode: 0o755, size: 0, uid: 0, gid: 0 });
    assert.deepEqual(byPath.get('/usr/bin/su'), {
      path: '/usr/bin/su',
      basename: 'su',
      type: 'file',
      mode: 0o4755,
      size: 3000,
      uid: 0,
      gid: 0,
    });
    assert.deepEqual(byPath.get('/usr/bin/su-again'), {
      path: '/usr/bin/su-again',
      basename: 'su-again',
      type: 'hardlink',
      mode: 0o4755,
      size: 0,
      uid: 0,
      gid: 0,
      linkTarget: '/usr/bin/su',
    });
    assert.deepEqual(byPath.get('/usr/bin/nc'), {
      path: '/usr/bin/nc',
      basename: 'nc',
      type: 'symlink',
      mode: 0o777,
      size: 0,
      uid: 0,
      gid: 0,
      linkTarget: '/etc/alternatives/nc',
    });
    assert.equal(byPath.get('/tmp')?.mode, 0o1777);
    assert.equal(byPath.get('/dev/null')?.type, 'char-device');
    assert.equal(byPath.get('/dev/sda')?.type, 'block-device');
    assert.equal(byPath.get('/run/initctl')?.type, 'fifo');
    assert.equal(byPath.get('/usr/local/bin/tool')?.size, 513);
    // A hard link's header sets the mode of the inode its target shares: the target is shown again with it.
    const again = rec.seen.findIndex((e) => e.path === '/usr/bin/su-again');
    assert.deepEqual(rec.seen[again + 1], { path: '/usr/bin/su', basename: 'su', type: 'file', mode: 0o4755, size: 0, uid: 0, gid: 0 });
    // Whiteouts are never shown to matchers.
    assert.ok(rec.seen.every((e) => !e.basename.startsWith('.wh.')));
    assert.equal(facts.entries, RICH.length);
    assert.equal(facts.compression, 'none');
  });

  for (const style of ['pax', 'gnu'] as const) {
    it(`reads ${style.toUpperCase()} long names and long link targets`, async () => {
      assert.ok(Buffer.byteLength(LONG_FILE) > 100 && Buffer.byteLength(LONG_TARGET) > 100);
      const rec = recorder();
      await inspectLayer(chunked(buildTar(RICH, style)), { matchers: [rec.matcher], watchPaths: new Set(), what: 'layer sha256:test' });
      const byPath = new Map(rec.seen.map((e) => [e.path, e]));
      assert.equal(byPath.get(LONG_FILE)?.type, 'file');
      assert.equal(byPath.get(LONG_FILE)?.basename, 'a-file-whose-full-path-is-well-over-one-hundred-bytes.txt');
      assert.equal(byPath.get(LONG_DIR + 'link-with-a-long-target')?.linkTarget, LONG_TARGET);
      assert.equal(byPath.get('/usr/share/hard-to-long')?.linkTarget, LONG_FILE);
      // No truncated 99/100-byte names leak through.
      assert.ok(
        rec.seen.every((e) => !(e.path.length >= 99 && e.path.length <= 101)),
        rec.seen.map((e) => e.path).join('\n'),
      );
    });
  }

  it('normalises ./, absolute, // and .. names to absolute paths', async () => {
    const facts = await inspect(buildTar(RICH));
    const all = facts.matches['all'] ?? [];
    for (const p of ['/etc', '/etc/passwd', '/etc/group', '/usr/lib/os-release', '/usr/local/bin/tool', '/etc/dir'])
      assert.ok(all.includes(p), `${p} missing from ${all.join(', ')}`);
    assert.ok(
      all.every((p) => p.startsWith('/') && !p.includes('//') && !p.includes('/./') && !p.endsWith('/')),
      all.join(', '),
    );
    assert.deepEqual([...all].sort(), all, 'matches are sorted');
    assert.equal(new Set(all).size, all.length, 'matches are unique');
  });

  it('records whiteouts and opaque dirs and never matches them', async () => {
    const facts = await inspect(buildTar(RICH));
    assert.deepEqual(facts.whiteouts, ['/var/lib/removed']);
    assert.deepEqual(facts.opaqueDirs, ['/var/cache']);
    assert.ok((facts.matches['all'] ?? []).every((p) => !p.includes('.wh.')));
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/su', '/usr/bin/su-again']);
    assert.deepEqual(facts.matches['never'], []);
  });

  it('keeps watched small files, link targets and dirs, and caps large files', async () => {
    const facts = await inspect(buildTar(RICH), { maxWatchedFileBytes: 65_536 });
    assert.deepEqual(facts.watched['/etc/passwd'], {
      type: 'file',
      content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
      size: 65,
      truncated: false,
    });
    assert.deepEqual(facts.watched['/etc/os-release'], { type: 'symlink', target: '../usr/lib/os-release' });
    assert.deepEqual(facts.watched['/usr/lib/os-release'], {
      type: 'file',
      content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n',
      size: 40,
      truncated: false,
    });
    // A large file keeps its first bytes (a user may be on line 2 of a huge /etc/passwd).
    assert.deepEqual(facts.watched['/etc/big'], { type: 'file', content: 'a'.repeat(65_536), size: 70_000, truncated: true });
    assert.deepEqual(facts.watched['/etc/dir'], { type: 'dir' });
    // Unwatched paths are not kept.
    assert.equal(facts.watched['/usr/bin/su'], undefined);
    // A file exactly at the cap is kept.
    const atCap = await inspect(buildTar([{ type: 'file', path: 'etc/hostname', content: Buffer.alloc(100, 0x62) }]), {
      maxWatchedFileBytes: 100,
    });
    assert.deepEqual(atCap.watched['/etc/hostname'], { type: 'file', content: 'b'.repeat(100), size: 100, truncated: false });
    const overCap = await inspect(buildTar([{ type: 'file', path: 'etc/hostname', content: Buffer.alloc(101, 0x62) }]), {
      maxWatchedFileBytes: 100,
    });
    assert.deepEqual(overCap.watched['/etc/hostname'], { type: 'file', content: 'b'.repeat(100), size: 101, truncated: true });
  });

  it('records a symlinked ancestor of a watched path, a watched hardlink, and a watched path replaced later in the layer', async () => {
    const facts = await inspect(
      buildTar([
        { type: 'symlink', path: 'opt/conf', target: '/srv/conf' },
        { type: 'hardlink', path: 'etc/group', target: 'etc/passwd' },
        { type: 'file', path: 'etc/hostname', content: 'first' },
        { type: 'fifo', path: 'etc/hostname' },
      ]),
    );
    assert.deepEqual(facts.watched['/opt/conf'], { type: 'symlink', target: '/srv/conf' });
    assert.deepEqual(facts.watched['/etc/group'], { type: 'hardlink', target: '/etc/passwd' });
    assert.deepEqual(facts.watched['/etc/hostname'], { type: 'other' });
  });

  it('counts entries and uncompressed tar bytes', async () => {
    const tar = buildTar(RICH);
    const facts = await inspect(gzipSync(tar));
    assert.equal(facts.tarBytes, tar.length);
    assert.equal(facts.entries, RICH.length);
    assert.equal(facts.compression, 'gzip');
  });

  it('inspects an empty layer (only the end-of-archive blocks)', async () => {
    const facts = await inspect(buildTar([]));
    assert.deepEqual(facts, {
      matches: { all: [], suid: [], never: [] },
      matchCounts: { all: 0, suid: 0, never: 0 },
      matchBytes: { all: 0, suid: 0, never: 0 },
      details: {},
      whiteouts: [],
      opaqueDirs: [],
      watched: {},
      symlinks: {},
      ops: [],
      executablesTruncated: false,
      capabilities: {},
      compression: 'none',
      entries: 0,
      tarBytes: 1024,
    });
  });
});

const COMPRESSIONS: Compression[] = ['none', 'gzip', 'zstd-stored', ...(HAVE_ZSTD ? (['zstd'] as const) : [])];
const EXPECTED_KIND = { none: 'none', gzip: 'gzip', 'zstd-stored': 'zstd', zstd: 'zstd' } as const;

describe('inspectLayer: compressions and chunking', () => {
  // Big enough to span several zstd stored blocks (128 KiB) and many gzip output chunks.
  const entries: EntrySpec[] = [
    ...RICH,
    {
      type: 'file',
      path: 'usr/lib/libbig.so',
      mode: 0o644,
      content: Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)),
    },
  ];
  const tar = buildTar(entries);

  it('gzip, zstd (stored and real) and plain give identical facts', async () => {
    const reference = await inspect(tar);
    for (const how of COMPRESSIONS) {
      const facts = await inspect(compress(tar, how));
      assert.equal(facts.compression, EXPECTED_KIND[how], how);
      assert.deepEqual(body(facts), body(reference), how);
    }
  });

  for (const how of COMPRESSIONS) {
    it(`the same ${how} layer in 1-byte, odd-sized and one large chunk gives deep-equal facts`, async () => {
      const blob = compress(tar, how);
      const whole = await inspect(blob);
      // 1-byte chunks of a 300 KiB layer take a while; use the head of the layer for them.
      const small = compress(buildTar(RICH), how);
      const smallWhole = await inspect(small);
      assert.deepEqual(await inspect(small, {}, 1), smallWhole, `${how} 1-byte`);
      for (const size of [7, 511, 512, 513, 4099, 65_537])
        assert.deepEqual(await inspect(blob, {}, size), whole, `${how} ${size}-byte chunks`);
    });
  }

  it('consumes trailing zero padding after the end-of-archive blocks', async () => {
    const padded = Buffer.concat([tar, Buffer.alloc(10_240)]);
    for (const how of ['none', 'gzip', 'zstd-stored'] as const) {
      const facts = await inspect(compress(padded, how));
      assert.deepEqual(body(facts), { ...body(await inspect(tar)), tarBytes: padded.length }, how);
    }
  });

  it('a layer that stops inside the last entry’s padding (umoci 0.4.7) reads as Go archive/tar reads it', async () => {
    // Provenance: the shape umoci 0.4.7 (Debian) writes: content of the last file, then EOF —
    // no zero padding, no end-of-archive blocks. Go's archive/tar returns io.EOF there.
    const entries: EntrySpec[] = [
      { type: 'file', path: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
      { type: 'file', path: 'usr/lib/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
    ];
    const full = buildTar(entries);
    const contentEnd = full.length - 1024 - 512 + 40; // last header block + 40 content bytes
    const expected = body(await inspect(full));
    for (const end of [contentEnd, contentEnd + 1, contentEnd + 471, full.length - 1024, full.length - 512]) {
      for (const how of ['none', 'gzip', 'zstd-stored'] as const) {
        const facts = await inspect(compress(full.subarray(0, end), how));
        assert.deepEqual(body(facts), { ...expected, tarBytes: end }, `${how} cut at ${end}`);
      }
    }
    // One byte of content missing, or a partial header: still corrupt.
    await rejectsWith(inspect(full.subarray(0, contentEnd - 1)), 'LAYER_CORRUPT');
    await rejectsWith(inspect(gzipSync(full.subarray(0, contentEnd - 1))), 'LAYER_CORRUPT');
    await rejectsWith(inspect(full.subarray(0, 1024 + 100)), 'LAYER_CORRUPT'); // inside the second header
    await rejectsWith(inspect(Buffer.concat([full.subarray(0, full.length - 1024), full.subarray(0, 300)])), 'LAYER_CORRUPT');
  });

  it('reads the whole blob so that a digest check at its end runs (good and bad digest)', async () => {
    const padded = Buffer.concat([buildTar(RICH), Buffer.alloc(20 * 512)]);
    const blob = gzipSync(padded);
    const good = new VerifyingStream(sha256Digest(blob), blob.length, 'layer sha256:test');
    chunked(blob, 999).pipe(good); // eslint-disable-line no-restricted-syntax -- test feed, errors surface on `good`
    const facts = await inspectLayer(good, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test' });
    assert.equal(facts.tarBytes, padded.length);
    const wrong = new VerifyingStream(sha256Digest('other'), blob.length, 'layer sha256:test');
    chunked(blob, 999).pipe(wrong); // eslint-disable-line no-restricted-syntax -- as above
    await rejectsWith(inspectLayer(wrong, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test' }), 'DIGEST_MISMATCH');
  });
});

describe('inspectLayer: corrupt input and limits', () => {
  const tar = buildTar([
    ...RICH,
    { type: 'file', path: 'usr/lib/libbig.so', content: Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 253)) },
  ]);

  it('truncated gzip → LAYER_CORRUPT', async () => {
    const gz = gzipSync(tar);
    await rejectsWith(inspect(gz.subarray(0, Math.floor(gz.length / 2))), 'LAYER_CORRUPT', /gzip/);
    // Cut inside the 8-byte trailer: every tar byte is there, the CRC/length is not.
    await rejectsWith(inspect(gz.subarray(0, gz.length - 4)), 'LAYER_CORRUPT');
  });

  it('bit-flipped gzip → LAYER_CORRUPT', async () => {
    for (const at of [0.3, 0.6, 0.95]) {
      const gz = Buffer.from(gzipSync(tar));
      const i = Math.floor(gz.length * at);
      gz[i] = (gz[i] ?? 0) ^ 0x10;
      await rejectsWith(inspect(gz), 'LAYER_CORRUPT');
    }
  });

  it('truncated zstd → LAYER_CORRUPT', async () => {
    const hows = ['zstd-stored', ...(HAVE_ZSTD ? ['zstd' as const] : [])] as const;
    for (const how of hows) {
      const z = compress(tar, how);
      await rejectsWith(inspect(z.subarray(0, Math.floor(z.length / 2))), 'LAYER_CORRUPT', undefined);
      await rejectsWith(inspect(z.subarray(0, z.length - 3)), 'LAYER_CORRUPT', undefined);
    }
  });

  it('garbage → LAYER_CORRUPT', async () => {
    const garbage = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 113 + 7) % 256));
    await rejectsWith(inspect(garbage), 'LAYER_CORRUPT', /tar/);
    await rejectsWith(inspect(Buffer.from('{"this is":"json, not a layer"}\n'.repeat(40))), 'LAYER_CORRUPT');
  });

  it('tar truncated mid-entry → LAYER_CORRUPT (plain, gzip, and inside a watched file)', async () => {
    const cut = tar.subarray(0, tar.length - 100_000);
    await rejectsWith(inspect(cut), 'LAYER_CORRUPT');
    await rejectsWith(inspect(gzipSync(cut)), 'LAYER_CORRUPT');
    const watchedTar = buildTar([{ type: 'file', path: 'etc/passwd', content: Buffer.alloc(5000, 0x41) }]);
    await rejectsWith(inspect(watchedTar.subarray(0, 2048)), 'LAYER_CORRUPT');
    await rejectsWith(inspect(watchedTar.subarray(0, 2048), { maxWatchedFileBytes: 10 }), 'LAYER_CORRUPT');
  });

  it('an empty blob is an empty layer (as Go archive/tar reads it), not an error', async () => {
    const facts = await inspect(Buffer.alloc(0));
    assert.equal(facts.entries, 0);
    assert.equal(facts.tarBytes, 0);
  });

  it('a gzip layer fed through many backpressure waits adds no listeners (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const big = gzipSync(buildTar([{ type: 'file', path: 'blob', content: Buffer.alloc(8 * 1024 * 1024, 3) }]), { level: 1 });
      await inspect(big, {}, 64 * 1024);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('maxLayerBytes → LAYER_TOO_LARGE (plain and gzip)', async () => {
    await rejectsWith(inspect(tar, { maxLayerBytes: 100_000 }), 'LAYER_TOO_LARGE', /100000/);
    await rejectsWith(inspect(gzipSync(tar), { maxLayerBytes: 100_000 }), 'LAYER_TOO_LARGE');
    // A zip bomb-ish layer: 64 MiB of zeros in a tiny gzip.
    const bomb = gzipSync(buildTar([{ type: 'file', path: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }]));
    await rejectsWith(inspect(bomb, { maxLayerBytes: 1024 * 1024 }), 'LAYER_TOO_LARGE');
    // Exactly at the limit is fine.
    assert.equal((await inspect(tar, { maxLayerBytes: tar.length })).tarBytes, tar.length);
  });

  it('an entry name or link target over PATH_MAX (4096 bytes) → LAYER_CORRUPT, before anything is recorded', async () => {
    const longName = buildTar([{ type: 'file', path: `${'d/'.repeat(2100)}sudo`, mode: 0o755, content: 'x' }]);
    await rejectsWith(inspect(longName), 'LAYER_CORRUPT', /longer than 4096 bytes/);
    const longTarget = buildTar([{ type: 'symlink', path: 'usr/bin/nc', target: `/${'t'.repeat(5000)}` }], 'gnu');
    await rejectsWith(inspect(longTarget), 'LAYER_CORRUPT', /PATH_MAX/);
    // Just under the limit is an ordinary entry.
    const fine = await inspect(buildTar([{ type: 'file', path: `${'d/'.repeat(2000)}sudo`, mode: 0o755, content: 'x' }]));
    assert.equal(fine.matches['all']?.length, 1);
  });

  it('maxRecordedPaths bounds the memory of links, directories and whiteouts → LAYER_TOO_LARGE', async () => {
    const many = buildTar(
      Array.from({ length: 200 }, (_, i): EntrySpec => ({ type: 'file', path: `usr/share/${i}/.wh.gone`, content: '' })),
    );
    await rejectsWith(inspect(many, { maxRecordedPaths: 100 }), 'LAYER_TOO_LARGE', /more than 100 links, directories and whiteouts/);
    assert.equal((await inspect(many)).whiteouts.length, 200);
  });

  it('maxEntries → LAYER_TOO_LARGE', async () => {
    await rejectsWith(inspect(tar, { maxEntries: 3 }), 'LAYER_TOO_LARGE', /3 tar entries/);
    assert.equal((await inspect(tar, { maxEntries: RICH.length + 1 })).entries, RICH.length + 1);
  });

  it('a signal aborted before the call, or while waiting for the first bytes, stops it', async () => {
    const reason = new Error('stop now');
    const stream = chunked(gzipSync(tar), 1000);
    await assert.rejects(
      inspectLayer(stream, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test', signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.ok(stream.destroyed, 'the blob is destroyed');
    // A source that never sends a byte: the abort ends the wait for the first bytes too.
    const silent = new Readable({ read() {} });
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(
      inspectLayer(silent, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test', signal: controller.signal }),
      (err) => err === reason,
    );
  });

  it('a signal aborted mid-layer stops an endless stream and destroys it', async () => {
    const header = buildTar([{ type: 'file', path: 'endless', content: Buffer.alloc(1) }]).subarray(0, 512);
    // A header announcing a 1 TiB file, then zeros forever (never ends on its own).
    header.write('17777777777\0', 124, 'ascii');
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    let produced = 0;
    // Each chunk comes on a later turn of the event loop, like file or socket data (a
    // synchronous endless source would starve the abort timer).
    const endless = new Readable({
      read() {
        setImmediate(() => {
          produced += 65_536;
          this.push(produced === 65_536 ? Buffer.concat([header, Buffer.alloc(65_536 - 512)]) : Buffer.alloc(65_536));
        });
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(
      inspectLayer(endless, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test', signal: controller.signal }),
      (err) => (err as Error).name === 'AbortError',
    );
    assert.ok(endless.destroyed, 'the source stream is destroyed');
    assert.ok(produced > 65_536);
  });

  it('a source stream error is passed through unchanged', async () => {
    const boom = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const failing = new Readable({
      read() {
        this.push(gzipSync(tar).subarray(0, 4096));
        this.destroy(boom);
      },
    });
    await assert.rejects(inspectLayer(failing, { matchers: [ALL], watchPaths: WATCH, what: 'layer sha256:test' }), (err) => {
      // Either the raw source error or a LAYER_CORRUPT wrapping it: never a hang or a success.
      return err === boom || (isOciScanError(err, 'LAYER_CORRUPT') && (err as Error).cause === boom);
    });
  });
});
