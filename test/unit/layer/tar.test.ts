/**
 * Hostile layers against the inspector: every way a tar can show one reader a file that
 * another reader (the runtime's: Go's archive/tar) does not see, or the other way round. Each
 * case builds its tar byte by byte with image-builder's `ustarHeader` (our own writer, not the
 * reader under test) and asserts what the runtime would extract — the setuid /usr/bin/sudo is
 * found exactly when Go's reader returns it. test/fuzz/tar-differential.test.ts checks the same
 * classes against Go itself.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isOciScanError } from '../../../src/errors.js';
import { inspectLayer, type EntryMatcher, type LayerFacts } from '../../../src/layer/inspect.js';
import { listTar } from '../../../src/layer/tar/reader.js';
import { ustarHeader, zstdStored } from '../../helpers/image-builder.js';

const SUID: EntryMatcher = { id: 'suid', fingerprint: 'suid', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 };
const ALL: EntryMatcher = { id: 'all', fingerprint: 'all', matches: () => true };

/** Data padded to whole blocks. */
function blocks(data: Buffer | string): Buffer {
  const b = Buffer.from(data);
  const rest = b.length % 512;
  return rest === 0 ? b : Buffer.concat([b, Buffer.alloc(512 - rest)]);
}

/** One PAX record (`LEN key=value\n`). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** An extended header (`x` or `g`) carrying `records`. */
function pax(typeflag: 'x' | 'g', records: Record<string, string>): Buffer {
  const data = Buffer.from(
    Object.entries(records)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
  );
  return Buffer.concat([ustarHeader({ name: 'PaxHeader', typeflag, size: data.length }), blocks(data)]);
}

/** The setuid sudo every case tries to hide. */
const SUDO = Buffer.concat([ustarHeader({ name: 'usr/bin/sudo', typeflag: '0', size: 4, mode: 0o4755 }), blocks('sudo')]);
const END = Buffer.alloc(1024);

function inspect(tar: Buffer): Promise<LayerFacts> {
  return inspectLayer(Readable.from([tar]), { matchers: [SUID, ALL], watchPaths: new Set(['/etc/passwd']), what: 'layer sha256:test' });
}

/** Sets a header's checksum after the test changed its bytes. */
function resum(block: Buffer): Buffer {
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(7, '0') + ' ', 148, 'ascii');
  return block;
}

describe('tar parity: what Go extracts, the inspector sees', () => {
  for (const [kind, typeflag] of [
    ['symlink', '2'],
    ['hard link', '1'],
    ['FIFO', '6'],
    ['character device', '3'],
    ['directory', '5'],
  ] as const) {
    it(`a ${kind} header with a size > 0 has no data: the member after it is read (Go's header-only types)`, async () => {
      const link = ustarHeader({
        name: 'usr/bin/innocent',
        typeflag,
        size: SUDO.length,
        linkname: typeflag === '1' || typeflag === '2' ? 'usr/bin/env' : '',
      });
      const facts = await inspect(Buffer.concat([link, SUDO, END]));
      assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
    });
  }

  it("a typeflag-NUL entry whose name ends in '/' is a directory with no data (Go's legacy rule)", async () => {
    const dir = ustarHeader({ name: 'usr/share/doc/', typeflag: '\0', size: SUDO.length });
    const facts = await inspect(Buffer.concat([dir, SUDO, END]));
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
    assert.ok(facts.matches['all']?.includes('/usr/share/doc'));
  });

  it('a base-256 mode field is read as Go reads it', async () => {
    const h = ustarHeader({ name: 'usr/bin/sudo', typeflag: '0', size: 4 });
    h.fill(0, 100, 108);
    h[100] = 0x80;
    h.writeUInt16BE(0o4755, 106);
    const facts = await inspect(Buffer.concat([resum(h), blocks('sudo'), END]));
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
  });

  it('a GNU long name beats a PAX path for the same entry (Go merges PAX first, then the long name)', async () => {
    const longName = Buffer.concat([ustarHeader({ name: '././@LongLink', typeflag: 'L', size: 13 }), blocks('usr/bin/sudo\0')]);
    const facts = await inspect(
      Buffer.concat([
        pax('x', { path: 'usr/share/harmless' }),
        longName,
        ustarHeader({ name: 'x', typeflag: '0', size: 4, mode: 0o4755 }),
        blocks('sudo'),
        END,
      ]),
    );
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
  });

  it('a PAX global header names no entry: its path neither renames the next member nor hides it', async () => {
    const renamed = await inspect(Buffer.concat([pax('g', { path: 'usr/share/harmless' }), SUDO, END]));
    assert.deepEqual(renamed.matches['suid'], ['/usr/bin/sudo']);
    const notLeaked = await inspect(
      Buffer.concat([
        pax('g', { path: 'usr/bin/sudo' }),
        ustarHeader({ name: 'usr/share/readme', typeflag: '0', size: 4, mode: 0o4755 }),
        blocks('text'),
        END,
      ]),
    );
    assert.deepEqual(notLeaked.matches['suid'], ['/usr/share/readme']);
    assert.equal(notLeaked.entries, 1, 'the global header is not an entry of the layer');
  });

  it('GNU sparse 1.0: GNU.sparse.name renames the entry, and the map is not content', async () => {
    const map = blocks('1\n0\n4\n');
    const records = pax('x', {
      'GNU.sparse.major': '1',
      'GNU.sparse.minor': '0',
      'GNU.sparse.name': 'usr/bin/sudo',
      'GNU.sparse.realsize': '4',
    });
    const h = ustarHeader({ name: 'GNUSparseFile.0/sudo', typeflag: '0', size: map.length + 4, mode: 0o4755 });
    const tar = Buffer.concat([records, h, map, blocks('sudo'), END]);
    const facts = await inspect(tar);
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
    assert.equal(listTar(tar).entries[0]?.size, 4);
  });

  it('a sparse /etc/passwd is read as its expanded content (holes are zeros)', async () => {
    const content = 'root:x:0:0::/root:/bin/sh\n';
    const records = pax('x', {
      'GNU.sparse.major': '0',
      'GNU.sparse.minor': '1',
      'GNU.sparse.name': 'etc/passwd',
      'GNU.sparse.size': String(content.length),
      'GNU.sparse.numblocks': '1',
      'GNU.sparse.map': `0,${content.length}`,
    });
    const tar = Buffer.concat([
      records,
      ustarHeader({ name: 'GNUSparseFile.0/passwd', typeflag: '0', size: content.length }),
      blocks(content),
      END,
    ]);
    const facts = await inspect(tar);
    assert.deepEqual(facts.watched['/etc/passwd'], { type: 'file', content, size: content.length, truncated: false });
  });

  it('a sparse /etc/passwd of 1 TiB logical size keeps only the first 1 MiB of its expanded content', async () => {
    const content = 'root:x:0:0::/root:/bin/sh\n';
    const size = 2 ** 40;
    const records = pax('x', {
      'GNU.sparse.major': '0',
      'GNU.sparse.minor': '1',
      'GNU.sparse.name': 'etc/passwd',
      'GNU.sparse.size': String(size),
      'GNU.sparse.numblocks': '1',
      'GNU.sparse.map': `0,${content.length}`,
    });
    const tar = Buffer.concat([
      records,
      ustarHeader({ name: 'GNUSparseFile.0/passwd', typeflag: '0', size: content.length }),
      blocks(content),
      END,
    ]);
    const facts = await inspect(tar);
    const watched = facts.watched['/etc/passwd'];
    assert.ok(watched?.type === 'file');
    assert.equal(watched.size, size);
    assert.equal(watched.truncated, true);
    assert.equal(watched.content.length, 1024 * 1024);
    assert.ok(watched.content.startsWith(content));
  });

  it('members after the end-of-archive marker are ignored, as Go ignores them (no false positive)', async () => {
    const facts = await inspect(
      Buffer.concat([ustarHeader({ name: 'etc/hostname', typeflag: '0', size: 2 }), blocks('h\n'), END, SUDO, END]),
    );
    assert.deepEqual(facts.matches['suid'], []);
    assert.deepEqual(facts.matches['all'], ['/etc/hostname']);
  });

  it('a layer Go refuses (bad checksum, data after a single zero block, truncated content) fails as LAYER_CORRUPT', async () => {
    const badSum = Buffer.from(SUDO);
    badSum[0] = 0x55;
    for (const tar of [Buffer.concat([badSum, END]), Buffer.concat([Buffer.alloc(512), SUDO, END]), SUDO.subarray(0, 514)]) {
      await assert.rejects(
        inspect(tar),
        (err: unknown) =>
          isOciScanError(err, 'LAYER_CORRUPT') && /could not be read \(tar: /.test(err.message) && !err.message.includes('\n'),
      );
    }
  });

  it('a layer that stops right after the last content (no padding, no end marker) is complete, as Go reads it', async () => {
    const facts = await inspect(SUDO.subarray(0, 516));
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
  });
});

/** A zstd frame of RLE blocks: `blocks` × 128 KiB of `byte`, with the window `log` announces. */
function zstdRle(blockCount: number, windowLog: number): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3])];
  for (let i = 0; i < blockCount; i++) {
    const header = ((128 * 1024) << 3) | (1 << 1) | (i === blockCount - 1 ? 1 : 0);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x00]));
  }
  return Buffer.concat(parts);
}

describe('zstd: what the runtimes accept, in bounded memory', () => {
  it('a layer that starts with a skippable frame is read', async () => {
    const tar = Buffer.concat([SUDO, END]);
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]), Buffer.from('meta'), zstdStored(tar)]);
    const facts = await inspect(skippable);
    assert.equal(facts.compression, 'zstd');
    assert.deepEqual(facts.matches['suid'], ['/usr/bin/sudo']);
  });

  it("a frame announcing a 1 GiB window is refused with a message that says why; 512 MiB, the runtimes' limit, is read", async () => {
    await assert.rejects(
      inspect(zstdRle(4, 30)),
      (err: unknown) => isOciScanError(err, 'LAYER_CORRUPT') && /window larger than 512 MiB/.test(err.message),
    );
    const facts = await inspect(zstdRle(4, 29));
    assert.equal(facts.compression, 'zstd');
    assert.equal(facts.tarBytes, 4 * 128 * 1024);
  });

  it('a zstd bomb (a few KB → GiBs of output) stops at --max-layer-size without holding the output in memory', async () => {
    const bomb = zstdRle(16 * 1024, 25); // 64 KB of input announcing 2 GiB of output
    assert.ok(bomb.length < 70_000);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await assert.rejects(
        inspectLayer(Readable.from([bomb]), {
          matchers: [ALL],
          watchPaths: new Set(),
          what: 'layer sha256:test',
          maxLayerBytes: 512 * 1024 * 1024,
        }),
        (err: unknown) => isOciScanError(err, 'LAYER_TOO_LARGE'),
      );
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    // The whole output would be 2 GiB; the decoder's window (the frame's 32 MiB) is all it may hold.
    assert.ok(peak - before < 100 * 1024 * 1024, `RSS grew by ${Math.round((peak - before) / 2 ** 20)} MiB`);
  });

  it('gzip and zstd layers give the same facts as the plain tar', async () => {
    const tar = Buffer.concat([SUDO, END]);
    const plain = await inspect(tar);
    const gz = await inspect(gzipSync(tar));
    assert.deepEqual({ ...gz, compression: 'none' }, plain);
  });
});
