/**
 * Tar parity with Go's archive/tar (docs/security.md): every archive is read by our listTar and
 * by Go's own reader (test/oracle/tarlist through test/helpers/tar-oracle.ts), and the two
 * must agree on error-or-not and on every entry in order (name, linkname, typeflag, mode, uid,
 * gid, size, where its data is stored); pushed through TarReader in chunks as the inspector
 * does, also on every entry's content. Docker, containerd and podman apply layers with Go's
 * reader, so any disagreement is a place where a layer can hide a file from the scanner.
 *
 * Inputs: named hostile classes (each a fixed archive, its Go reading also asserted so the
 * case proves what it names), generated hostile archives (test/fuzz/tar-hostile.ts) and
 * mutations of archives written by GNU tar and test/helpers/image-builder.ts. A fixed seed
 * by default; FUZZ_RUNS / FUZZ_SEED for a long campaign. Needs `go` (Debian golang-go).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import fc from 'fast-check';
import { TarFormatError, TarReader, listTar, type TarHeader } from '../../src/layer/tar/reader.js';
import { closeGoOracle, goOracleSkip, listWithGo, type GoEntry, type GoListing } from '../helpers/tar-oracle.js';
import { fuzzParams, reportRuns } from './fuzz-config.js';
import {
  BLOCK,
  END,
  header,
  haveGnuTar,
  hostileTar,
  longName,
  member,
  mutatedTar,
  pax,
  paxRecord,
  padded,
  realTars,
  sparseExtension,
  sparseMap1x0,
  type Header,
} from './tar-hostile.js';
import { describeOrSkip } from '../helpers/skip.js';

type Ours = ReturnType<typeof listTar>;

const EXACT = 2n ** 53n;

/**
 * Go's int64 (decimal) against our number: exact up to 2^53, the nearest double above (our
 * reader keeps numbers as doubles), or near when `derived` from a value above 2^53.
 */
function sameNumber(go: string, ours: number, derived = false): boolean {
  const g = BigInt(go);
  if (!derived && g <= EXACT && g >= -EXACT) return ours === Number(g);
  return Math.abs(ours - Number(g)) <= Math.abs(Number(g)) * 2 ** -50;
}

/** The fields of one entry where Go and we differ, empty when none. */
function entryDiff(go: GoEntry, ours: Ours['entries'][number]): string[] {
  const out: string[] = [];
  // Names are decoded from bytes as UTF-8 (invalid sequences → U+FFFD) on our side.
  const goName = Buffer.from(go.nameHex, 'hex').toString('utf8');
  const goLink = Buffer.from(go.linknameHex, 'hex').toString('utf8');
  // Go itself answers either name there (test/oracle/tarlist/main.go, nameUnstable).
  if (goName !== ours.name && go.nameUnstable !== true) out.push(`name: go ${JSON.stringify(goName)} ours ${JSON.stringify(ours.name)}`);
  if (goLink !== ours.linkname) out.push(`linkname: go ${JSON.stringify(goLink)} ours ${JSON.stringify(ours.linkname)}`);
  if (go.typeflag !== ours.typeflag) out.push(`typeflag: go ${JSON.stringify(go.typeflag)} ours ${JSON.stringify(ours.typeflag)}`);
  if (go.mode !== ours.mode) out.push(`mode: go 0o${go.mode.toString(8)} ours 0o${ours.mode.toString(8)}`);
  if (!sameNumber(go.uid, ours.uid)) out.push(`uid: go ${go.uid} ours ${ours.uid}`);
  if (!sameNumber(go.gid, ours.gid)) out.push(`gid: go ${go.gid} ours ${ours.gid}`);
  if (!sameNumber(go.size, ours.size)) out.push(`size: go ${go.size} ours ${ours.size}`);
  // Where the content is (what the scanner reads a watched file from); a 'g' header has none.
  if (go.typeflag !== 'g' && go.dataSize !== '-1') {
    // A stored size above 2^53 (a sparse entry's less its 1.0 map) is rounded before subtraction.
    const derived = BigInt(go.dataOffset) + BigInt(go.dataSize) + 2n ** 21n > EXACT;
    if (!sameNumber(go.dataOffset, ours.dataOffset, derived)) out.push(`dataOffset: go ${go.dataOffset} ours ${ours.dataOffset}`);
    if (!sameNumber(go.dataSize, ours.dataSize, derived)) out.push(`dataSize: go ${go.dataSize} ours ${ours.dataSize}`);
  }
  return out;
}

/** Every difference between the two listings, empty when they agree. */
function listingDiff(go: GoListing, ours: Ours | Pushed): string[] {
  const out: string[] = [];
  if ((go.error !== null) !== (ours.error !== undefined))
    out.push(`error: go ${JSON.stringify(go.error)} ours ${JSON.stringify(ours.error ?? null)}`);
  const n = Math.max(go.entries.length, ours.entries.length);
  for (let i = 0; i < n; i++) {
    const g = go.entries[i];
    const o = ours.entries[i];
    if (!g || !o) {
      out.push(`entry ${i}: go ${g ? JSON.stringify(g.name) : 'none'} ours ${o ? JSON.stringify(o.name) : 'none'}`);
      continue;
    }
    for (const d of entryDiff(g, o)) out.push(`entry ${i} ${d}`);
  }
  return out;
}

/** A listing, one entry per line. */
function brief(l: GoListing | Ours | Pushed): string {
  const entries = l.entries.map(
    (e) =>
      `  ${JSON.stringify({ name: e.name, linkname: e.linkname, typeflag: e.typeflag, mode: `0o${e.mode.toString(8)}`, uid: e.uid, gid: e.gid, size: e.size, dataOffset: e.dataOffset, dataSize: e.dataSize })}`,
  );
  return `${entries.join('\n')}\n  error: ${JSON.stringify(l.error ?? null)}`;
}

/** The archive as hex when small, else written to a file under os.tmpdir(). */
function dump(tar: Buffer): string {
  if (tar.length <= 4096) return `hex ${tar.toString('hex')}`;
  const file = join(tmpdir(), `oci-scan-tar-mismatch-${createHash('sha256').update(tar).digest('hex').slice(0, 16)}.tar`);
  writeFileSync(file, tar);
  return `written to ${file} (replay: cd test/oracle/tarlist && go run . ${file})`;
}

/** Fails with the seed, the archive and both listings when Go and listTar disagree. */
function assertParity(tar: Buffer, go: GoListing | undefined, context: string): void {
  assert.ok(go, 'tarlist gave no answer');
  const ours = listTar(tar);
  const diff = listingDiff(go, ours);
  if (diff.length === 0) return;
  assert.fail(
    `${context}: listTar disagrees with Go's archive/tar\n${diff.join('\n')}\narchive (${tar.length} bytes): ${dump(tar)}\ngo:\n${brief(go)}\nours:\n${brief(ours)}`,
  );
}

/** The largest content (holes included) compared by digest: tarlist's maxHashed. */
const MAX_HASHED = 16 << 20;

/** What the inspector's path sees: bytes pushed in chunks, a sink for every entry's content. */
interface Pushed {
  readonly entries: Array<TarHeader & { digest?: string }>;
  readonly error?: string;
}

/** Pushes `tar` into a TarReader in chunks of the given sizes (cycled), as the inspector does. */
function readPushed(tar: Buffer, chunkSizes: readonly number[]): Pushed {
  const entries: Array<TarHeader & { digest?: string }> = [];
  const reader = new TarReader({
    entry(h) {
      const rec: TarHeader & { digest?: string } = { ...h };
      entries.push(rec);
      if (h.size > MAX_HASHED) return undefined;
      const hash = createHash('sha256');
      return {
        write: (chunk) => void hash.update(chunk),
        end: () => void (rec.digest = hash.digest('hex')),
      };
    },
  });
  try {
    let at = 0;
    for (let i = 0; at < tar.length && !reader.done; i++) {
      // At most about 5000 pushes per archive, so that tiny chunks stay cheap on big archives.
      const n = Math.max(1, Math.ceil(tar.length / 5000), chunkSizes.length === 0 ? tar.length : (chunkSizes[i % chunkSizes.length] ?? 1));
      reader.write(tar.subarray(at, at + n));
      at += n;
    }
    reader.end();
    return { entries };
  } catch (err) {
    if (err instanceof TarFormatError) return { entries, error: err.message };
    throw err;
  }
}

/** Fails when the pushed reading differs from Go's: entries, error-or-not, and content digests. */
function assertPushedParity(tar: Buffer, chunkSizes: readonly number[], go: GoListing | undefined, context: string): void {
  assert.ok(go, 'tarlist gave no answer');
  const ours = readPushed(tar, chunkSizes);
  const diff = listingDiff(go, ours);
  ours.entries.forEach((o, i) => {
    const g = go.entries[i];
    // Compared where both read the whole content: Go without error, and our sink ended.
    if (g && g.typeflag !== 'g' && g.sha256 !== '' && o.digest !== undefined && g.sha256 !== o.digest)
      diff.push(`entry ${i} content: go sha256 ${g.sha256} ours ${o.digest}`);
  });
  if (diff.length === 0) return;
  assert.fail(
    `${context}: TarReader fed in chunks of ${JSON.stringify(chunkSizes)} disagrees with Go's archive/tar\n${diff.join('\n')}\narchive (${tar.length} bytes): ${dump(tar)}\ngo:\n${brief(go)}\nours:\n${brief(ours)}`,
  );
}

/** A named hostile class: a fixed archive and what Go is known to read from it. */
interface NamedCase {
  readonly name: string;
  readonly tar: Buffer;
  /** Go's reading, asserted so that the case keeps testing what it names. */
  readonly go: Expectation;
  /**
   * Go releases before a change in archive/tar read this case differently: when the installed
   * Go reads it this way, listTar is held to `go` (the current behaviour) instead of the oracle.
   */
  readonly olderGo?: Expectation & { readonly before: string };
  /** A disagreement known and not yet fixed: checked under node:test's `todo` (reported, not failing). */
  readonly todo?: string;
}

/** What Go lists (names in order, when given) and whether it ends in an error. */
interface Expectation {
  readonly names?: readonly string[] | undefined;
  readonly error: boolean;
  readonly check?: (l: GoListing) => void;
}

function meets(l: { readonly entries: ReadonlyArray<{ readonly name: string }>; readonly error?: string | null }, e: Expectation): boolean {
  const namesOk = e.names === undefined || JSON.stringify(l.entries.map((x) => x.name)) === JSON.stringify(e.names);
  return namesOk && (l.error !== null && l.error !== undefined) === e.error;
}

const file = (name: string, data = 'data\n', h: Header = {}): Buffer => member({ name, ...h }, Buffer.from(data));
const hidden = (): Buffer => file('hidden/suid', '#!/bin/sh\n', { mode: 0o4755 });

function namedCases(): NamedCase[] {
  const cases: NamedCase[] = [
    {
      name: 'v7 header (no magic)',
      tar: Buffer.concat([file('v7file', 'x', { magic: 'v7', uname: 'ignored' }), END]),
      go: { names: ['v7file'], error: false },
    },
    {
      name: 'ustar prefix joins the name',
      tar: Buffer.concat([file('name', 'x', { prefix: 'usr/lib' }), END]),
      go: { names: ['usr/lib/name'], error: false },
    },
    {
      name: "ustar prefix with an empty name is 'prefix/': typeflag '\\0' makes it a directory, its size not skipped",
      tar: Buffer.concat([header({ name: '', prefix: 'pdir', typeflag: 0, size: hidden().length }), hidden(), END]),
      go: { names: ['pdir/', 'hidden/suid'], error: false, check: (l) => assert.equal(l.entries[0]?.typeflag, '5') },
    },
    {
      name: 'v7 ignores the prefix field',
      tar: Buffer.concat([file('name', 'x', { magic: 'v7', prefix: 'usr/lib' }), END]),
      go: { names: ['name'], error: false },
    },
    {
      name: 'star header: 131-byte prefix',
      tar: Buffer.concat([file('name', 'x', { magic: 'star', prefix: 'opt' }), END]),
      go: { names: ['opt/name'], error: false },
    },
    {
      name: 'GNU header with garbage atime: prefix fallback',
      tar: Buffer.concat([file('name', 'x', { magic: 'gnu', prefix: 'pfx/dir' }), END]),
      go: { names: ['pfx/dir/name'], error: false },
    },
    {
      name: 'GNU header with valid atime/ctime: no prefix',
      tar: Buffer.concat([file('name', 'x', { magic: 'gnu', gnu: { atime: 1, ctime: 2 } }), END]),
      go: { names: ['name'], error: false },
    },
    {
      name: "typeflag '\\0' with a name ending in '/' is a directory: its size is not skipped",
      tar: Buffer.concat([header({ name: 'dir/', typeflag: 0, size: hidden().length }), hidden(), END]),
      go: { names: ['dir/', 'hidden/suid'], error: false, check: (l) => assert.equal(l.entries[0]?.typeflag, '5') },
    },
    {
      name: "typeflag '\\0' with a plain name is a regular file",
      tar: Buffer.concat([file('plain', 'abc', { typeflag: 0 }), END]),
      go: { names: ['plain'], error: false, check: (l) => assert.equal(l.entries[0]?.typeflag, '0') },
    },
    ...['1', '2', '3', '4', '5', '6'].map((t): NamedCase => ({
      name: `typeflag '${t}' with size > 0 hides nothing: the next header is read where its data would be`,
      tar: Buffer.concat([header({ name: `special-${t}`, typeflag: t, linkname: 'target', size: hidden().length }), hidden(), END]),
      go: { names: [`special-${t}`, 'hidden/suid'], error: false, check: (l) => assert.equal(l.entries[0]?.size, String(hidden().length)) },
    })),
    {
      name: "typeflag '7' (contiguous) is a regular file with data",
      tar: Buffer.concat([file('contig', 'x'.repeat(600), { typeflag: '7' }), file('after'), END]),
      go: { names: ['contig', 'after'], error: false },
    },
    {
      name: 'unknown typeflag: data is skipped by its size',
      tar: Buffer.concat([member({ name: 'weird', typeflag: 'Z' }, hidden()), END]),
      go: { names: ['weird'], error: false },
    },
    {
      name: 'PAX path, linkpath, size, uid, gid, mtime with fractions',
      tar: Buffer.concat([
        pax(
          Buffer.concat([
            paxRecord('path', 'pax/name'),
            paxRecord('linkpath', 'pax/link'),
            paxRecord('uid', '3000000'),
            paxRecord('gid', '4000000'),
            paxRecord('mtime', '1700000000.123456789123'),
            paxRecord('size', '3'),
          ]),
        ),
        file('short', 'abc', { size: 0, typeflag: '0' }),
        END,
      ]),
      go: {
        names: ['pax/name'],
        error: false,
        check: (l) =>
          assert.deepEqual(
            [l.entries[0]?.linkname, l.entries[0]?.uid, l.entries[0]?.gid, l.entries[0]?.size],
            ['pax/link', '3000000', '4000000', '3'],
          ),
      },
    },
    {
      name: 'PAX empty values keep the header fields',
      tar: Buffer.concat([
        pax(Buffer.concat([paxRecord('path', ''), paxRecord('size', ''), paxRecord('uid', '')])),
        file('keep', 'abc', { uid: 42 }),
        END,
      ]),
      go: { names: ['keep'], error: false, check: (l) => assert.equal(l.entries[0]?.uid, '42') },
    },
    {
      name: 'PAX duplicate keys: the last wins',
      tar: Buffer.concat([pax(Buffer.concat([paxRecord('path', 'first'), paxRecord('path', 'second')])), file('ustar'), END]),
      go: { names: ['second'], error: false },
    },
    {
      name: 'PAX record length with a plus sign and leading zeros',
      tar: Buffer.concat([pax(Buffer.from('+16 path=signed\n016 uid=0000012\n')), file('ustar'), END]),
      go: { names: ['signed'], error: false },
    },
    {
      name: 'PAX malformed record (length past the end)',
      tar: Buffer.concat([pax(Buffer.from('99 path=x\n')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX record without its newline',
      tar: Buffer.concat([pax(Buffer.from('11 path=abc')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX path with a NUL is rejected',
      tar: Buffer.concat([pax(paxRecord('path', 'a\0b')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX bad uid is an error',
      tar: Buffer.concat([pax(paxRecord('uid', '12x')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX bad mtime fraction is an error',
      tar: Buffer.concat([pax(paxRecord('mtime', '1.x')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX negative size is an error',
      tar: Buffer.concat([pax(paxRecord('size', '-1')), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX size=0 over a ustar size: the member inside the "data" is read',
      tar: Buffer.concat([pax(paxRecord('size', '0')), header({ name: 'outer', size: hidden().length }), hidden(), END]),
      go: { names: ['outer', 'hidden/suid'], error: false },
    },
    {
      name: 'PAX size over a ustar size of 0: the member inside is data',
      tar: Buffer.concat([pax(paxRecord('size', String(hidden().length))), header({ name: 'outer', size: 0 }), hidden(), END]),
      go: { names: ['outer'], error: false },
    },
    {
      name: 'PAX size on a symlink: reported, not skipped',
      tar: Buffer.concat([
        pax(paxRecord('size', String(hidden().length))),
        header({ name: 'sym', typeflag: '2', linkname: 't' }),
        hidden(),
        END,
      ]),
      go: { names: ['sym', 'hidden/suid'], error: false },
    },
    {
      name: "'g' global header is an entry of its own, named by its path record",
      tar: Buffer.concat([pax(paxRecord('path', 'global/name'), 'g'), file('after'), END]),
      go: {
        names: ['global/name', 'after'],
        error: false,
        check: (l) => assert.deepEqual([l.entries[0]?.typeflag, l.entries[0]?.size], ['g', '0']),
      },
    },
    {
      name: "'g' global records do not apply to the next member",
      tar: Buffer.concat([
        pax(Buffer.concat([paxRecord('uid', '77'), paxRecord('linkpath', 'glob')]), 'g'),
        file('after', 'x', { uid: 5 }),
        END,
      ]),
      go: { names: ['PaxHeaders.0/entry', 'after'], error: false, check: (l) => assert.equal(l.entries[1]?.uid, '5') },
    },
    {
      name: "'x' then 'g': the pending 'x' records are dropped",
      tar: Buffer.concat([pax(paxRecord('path', 'lost')), pax(Buffer.alloc(0), 'g'), file('kept'), END]),
      go: { names: ['PaxHeaders.0/entry', 'kept'], error: false },
    },
    {
      name: "'g' with a bad record still lists (Go ignores mergePAX's error there)",
      tar: Buffer.concat([pax(paxRecord('uid', 'bad'), 'g'), file('after'), END]),
      go: { names: ['PaxHeaders.0/entry', 'after'], error: false },
    },
    {
      name: "two 'x' headers: the second replaces the first entirely",
      tar: Buffer.concat([
        pax(Buffer.concat([paxRecord('path', 'one'), paxRecord('uid', '9')])),
        pax(paxRecord('linkpath', 'two')),
        file('ustar'),
        END,
      ]),
      go: { names: ['ustar'], error: false, check: (l) => assert.deepEqual([l.entries[0]?.linkname, l.entries[0]?.uid], ['two', '0']) },
    },
    {
      name: 'GNU long name then PAX path: the long name wins',
      tar: Buffer.concat([longName('L', 'gnu/long\0'), pax(paxRecord('path', 'pax/path')), file('ustar'), END]),
      go: { names: ['gnu/long'], error: false },
    },
    {
      name: 'PAX path then GNU long name: the long name wins',
      tar: Buffer.concat([pax(paxRecord('path', 'pax/path')), longName('L', 'gnu/long'), file('ustar'), END]),
      go: { names: ['gnu/long'], error: false },
    },
    {
      name: 'empty GNU long name keeps the PAX path',
      tar: Buffer.concat([pax(paxRecord('path', 'pax/path')), longName('L', ''), file('ustar'), END]),
      go: { names: ['pax/path'], error: false },
    },
    {
      name: 'two GNU long names: the last wins; long link too',
      tar: Buffer.concat([
        longName('L', 'first'),
        longName('K', 'klink'),
        longName('L', 'second'),
        header({ name: 'ustar', typeflag: '2', linkname: 'short' }),
        END,
      ]),
      go: { names: ['second'], error: false, check: (l) => assert.equal(l.entries[0]?.linkname, 'klink') },
    },
    {
      name: 'GNU long name cut at its first NUL',
      tar: Buffer.concat([longName('L', 'visible\0hidden'), file('ustar'), END]),
      go: { names: ['visible'], error: false },
    },
    {
      name: 'GNU long name in a ustar-magic header still applies',
      tar: Buffer.concat([longName('L', 'long/ustar', { magic: 'ustar' }), file('ustar'), END]),
      go: { names: ['long/ustar'], error: false },
    },
    {
      name: 'GNU long name over 1 MiB is an error',
      tar: Buffer.concat([longName('L', 'n'.repeat((1 << 20) + 1)), file('ustar'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'PAX data of exactly 1 MiB is read',
      tar: Buffer.concat([pax(paxRecordOfLength('comment', 1 << 20)), file('ok'), END]),
      go: { names: ['ok'], error: false },
    },
    {
      name: 'PAX data over 1 MiB is an error',
      tar: Buffer.concat([pax(paxRecordOfLength('comment', (1 << 20) + 1)), file('never'), END]),
      go: { names: [], error: true },
    },
    {
      name: 'base-256 positive mode/uid/gid/size/mtime',
      tar: Buffer.concat([
        member(
          {
            name: 'b256',
            mode: { base256: 0o104755n },
            uid: { base256: 3000000000n },
            gid: { base256: 2n ** 40n },
            size: { base256: 3n },
            mtime: { base256: 2n ** 40n },
          },
          Buffer.from('abc'),
        ),
        END,
      ]),
      go: {
        names: ['b256'],
        error: false,
        check: (l) => assert.deepEqual([l.entries[0]?.mode, l.entries[0]?.uid, l.entries[0]?.size], [0o4755, '3000000000', '3']),
      },
    },
    {
      name: 'base-256 negative mode and uid',
      tar: Buffer.concat([member({ name: 'neg', mode: { base256: -1n }, uid: { base256: -2n }, gid: { base256: -(2n ** 62n) } }), END]),
      go: { names: ['neg'], error: false, check: (l) => assert.deepEqual([l.entries[0]?.mode, l.entries[0]?.uid], [0o7777, '-2']) },
    },
    {
      name: 'base-256 negative size is an error',
      tar: Buffer.concat([member({ name: 'negsize', size: { base256: -1n } }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'base-256 overflow (more than 63 bits) is an error',
      tar: Buffer.concat([
        member({
          name: 'ovf',
          uid: { raw: Buffer.from([0x80, 0x80, 0, 0, 0, 0, 0, 0]) },
          size: { raw: Buffer.from([0x80, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0]) },
        }),
        END,
      ]),
      go: { names: [], error: true },
    },
    {
      name: 'base-256 0xff leading size: -1',
      tar: Buffer.concat([member({ name: 'ff', size: { raw: Buffer.alloc(12, 0xff) } }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'base-256 huge uid beyond 2^53',
      tar: Buffer.concat([member({ name: 'big', uid: { base256: 2n ** 62n + 1n } }), END]),
      go: { names: ['big'], error: false },
    },
    {
      name: 'octal with leading spaces and NULs, trailing space',
      tar: Buffer.concat([
        member(
          {
            name: 'sp',
            mode: { octal: 0o755n, style: 'lead-space' },
            uid: { octal: 7n, style: 'lead-nul' },
            size: { octal: 3n, style: 'space' },
          },
          Buffer.from('abc'),
        ),
        END,
      ]),
      go: { names: ['sp'], error: false, check: (l) => assert.deepEqual([l.entries[0]?.mode, l.entries[0]?.uid], [0o755, '7']) },
    },
    {
      name: 'octal cut at an inner NUL',
      tar: Buffer.concat([member({ name: 'nul', size: { raw: '000000000\u000077' } }), END]),
      go: { names: ['nul'], error: false, check: (l) => assert.equal(l.entries[0]?.size, '0') },
    },
    {
      name: 'octal with an inner space is an error',
      tar: Buffer.concat([member({ name: 'isp', uid: { octal: 0o1234n, style: 'inner-space' } }), END]),
      go: { names: [], error: true },
    },
    {
      name: "octal digit '8' is an error",
      tar: Buffer.concat([member({ name: 'eight', gid: { raw: '0000008\0' } }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'full-width octal with no terminator',
      tar: Buffer.concat([member({ name: 'full', size: { octal: 3n, style: 'full' } }, Buffer.from('abc')), END]),
      go: { names: ['full'], error: false },
    },
    {
      name: 'ustar devmajor garbage is an error; v7 ignores it',
      tar: Buffer.concat([member({ name: 'dev', magic: 'ustar', devmajor: { raw: 'zz' } }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'signed checksum is accepted',
      tar: Buffer.concat([member({ name: 'caf\u00e9/\u00ff', checksum: 'signed' }), END]),
      go: { names: ['caf\u00e9/\u00ff'], error: false },
    },
    {
      name: 'wrong checksum is an error',
      tar: Buffer.concat([file('a'), member({ name: 'bad', checksum: 'off-by-one' }), END]),
      go: { names: ['a'], error: true },
    },
    {
      name: 'blank checksum is an error',
      tar: Buffer.concat([member({ name: 'blank', checksum: 'blank' }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'members after the end-of-archive marker are ignored',
      tar: Buffer.concat([file('before'), END, hidden(), END]),
      go: { names: ['before'], error: false },
    },
    {
      name: 'one zero block then EOF is a clean end',
      tar: Buffer.concat([file('only'), Buffer.alloc(BLOCK)]),
      go: { names: ['only'], error: false },
    },
    {
      name: 'one zero block then a member is an error',
      tar: Buffer.concat([file('first'), Buffer.alloc(BLOCK), hidden(), END]),
      go: { names: ['first'], error: true },
    },
    { name: 'no end-of-archive marker is a clean end', tar: file('nomarker'), go: { names: ['nomarker'], error: false } },
    {
      name: 'missing final padding is a clean end',
      tar: Buffer.concat([header({ name: 'nopad', size: 3 }), Buffer.from('abc')]),
      go: { names: ['nopad'], error: false },
    },
    {
      name: 'final padding cut halfway is a clean end',
      tar: Buffer.concat([header({ name: 'halfpad', size: 3 }), Buffer.from('abc'), Buffer.alloc(100)]),
      go: { names: ['halfpad'], error: false },
    },
    {
      name: 'truncated inside a header block',
      tar: Buffer.concat([file('a'), header({ name: 'cut' }).subarray(0, 300)]),
      go: { names: ['a'], error: true },
    },
    {
      name: 'truncated inside data',
      tar: Buffer.concat([header({ name: 'cut', size: 1000 }), Buffer.alloc(600, 1)]),
      go: { names: ['cut'], error: true },
    },
    {
      name: 'truncated inside PAX data',
      tar: Buffer.concat([header({ name: 'P', typeflag: 'x', size: 100 }), paxRecord('path', 'x'.repeat(20))]),
      go: { names: [], error: true },
    },
    { name: 'truncated right after a PAX header', tar: pax(paxRecord('path', 'dangling')), go: { names: [], error: false } },
    {
      name: 'garbage magic is v7',
      tar: Buffer.concat([file('garbage-magic', 'x', { magic: 'garbage', prefix: 'ignored' }), END]),
      go: { names: ['garbage-magic'], error: false },
    },
    ...sparseCases(),
  ];
  return cases;
}

/** A PAX record text of exactly `total` bytes. */
function paxRecordOfLength(key: string, total: number): Buffer {
  let value = 'v'.repeat(total - key.length - 10);
  for (;;) {
    const rec = paxRecord(key, value);
    if (rec.length === total) return rec;
    value = 'v'.repeat(value.length + (total - rec.length));
  }
}

/** An old GNU sparse member with `n` extension blocks holding no fragments, and no data. */
function oldSparseExtended(n: number): Buffer {
  const exts = Array.from({ length: n }, (_, i) => sparseExtension([], i + 1 < n ? 1 : 0));
  return Buffer.concat([
    header({ name: 'many-ext', typeflag: 'S', magic: 'gnu', size: 0, gnu: { isExtended: 1, realSize: 100 } }),
    ...exts,
  ]);
}

/** A GNU sparse 1.0 map of empty fragments whose text ends exactly at the end of block `blocks`. */
function longSparseMap1x0(blocks: number): Buffer {
  const pairs: string[] = [];
  let length = 0;
  // Room for the count line: at least 8 digits and its newline.
  while (length + 20 < blocks * BLOCK - 9) {
    const pair = `${pairs.length}\n0\n`;
    pairs.push(pair);
    length += pair.length;
  }
  // The count, padded with leading zeros (ParseInt reads them) so that the last newline is the block's last byte.
  const count = String(pairs.length).padStart(blocks * BLOCK - length - 1, '0');
  const text = Buffer.from(`${count}\n${pairs.join('')}`);
  assert.equal(text.length, blocks * BLOCK);
  return text;
}

function sparseCases(): NamedCase[] {
  const frag = (n: number): Buffer => Buffer.alloc(n, 0x53);
  // Old GNU sparse: 6 fragments, 4 in the header and 2 in one extension block.
  const map: Array<[number, number]> = [
    [0, 10],
    [100, 10],
    [200, 10],
    [300, 10],
    [400, 10],
    [500, 10],
  ];
  const oldSparse = (realSize: number | bigint, data: Buffer, ext = map.slice(4)): Buffer =>
    Buffer.concat([
      header({
        name: 'old-sparse',
        typeflag: 'S',
        magic: 'gnu',
        size: data.length,
        gnu: { sparse: map.slice(0, 4), isExtended: 1, realSize },
      }),
      sparseExtension(ext, 0),
      padded(data),
    ]);
  const paxSparse = (records: Buffer[], body: Buffer, name = 'GNUSparseFile.0/f'): Buffer =>
    Buffer.concat([pax(Buffer.concat(records)), member({ name }, body)]);
  const map1 = sparseMap1x0([
    [0, 5],
    [4096, 5],
  ]);
  return [
    {
      name: "old GNU sparse 'S' with an extension block",
      tar: Buffer.concat([oldSparse(1000, frag(60)), file('after'), END]),
      go: {
        names: ['old-sparse', 'after'],
        error: false,
        check: (l) => assert.deepEqual([l.entries[0]?.typeflag, l.entries[0]?.size], ['S', '1000']),
      },
    },
    {
      name: 'old GNU sparse: stored data shorter than the map needs',
      tar: Buffer.concat([oldSparse(1000, frag(50)), file('after'), END]),
      go: { names: ['old-sparse'], error: true },
    },
    {
      name: 'old GNU sparse: stored data longer than the map needs',
      tar: Buffer.concat([oldSparse(1000, frag(70)), file('after'), END]),
      go: { names: ['old-sparse'], error: true },
    },
    {
      name: 'old GNU sparse: fragment past the real size',
      tar: Buffer.concat([oldSparse(505, frag(60)), END]),
      go: { names: [], error: true },
    },
    {
      name: "old GNU sparse 'S' in a ustar-magic header is an error",
      tar: Buffer.concat([header({ name: 's', typeflag: 'S', magic: 'ustar', size: 0, gnu: { realSize: 10 } }), END]),
      go: { names: [], error: true },
    },
    {
      name: 'old GNU sparse: a 2^62-byte hole is read (as zeros) to the end',
      tar: Buffer.concat([
        header({ name: 'huge-hole', typeflag: 'S', magic: 'gnu', size: 10, gnu: { sparse: [[0, 10]], realSize: { base256: 2n ** 62n } } }),
        padded(frag(10)),
        file('after'),
        END,
      ]),
      go: { names: ['huge-hole', 'after'], error: false },
    },
    {
      name: 'GNU sparse PAX 0.0 (offset/numbytes records)',
      tar: Buffer.concat([
        paxSparse(
          [
            paxRecord('GNU.sparse.size', '8192'),
            paxRecord('GNU.sparse.numblocks', '2'),
            paxRecord('GNU.sparse.offset', '0'),
            paxRecord('GNU.sparse.numbytes', '5'),
            paxRecord('GNU.sparse.offset', '4096'),
            paxRecord('GNU.sparse.numbytes', '5'),
            paxRecord('GNU.sparse.name', 'real/name00'),
          ],
          frag(10),
        ),
        END,
      ]),
      go: { names: ['real/name00'], error: false, check: (l) => assert.equal(l.entries[0]?.size, '8192') },
    },
    {
      name: 'GNU sparse PAX 0.0 with records out of order is an error',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.size', '10'), paxRecord('GNU.sparse.numbytes', '5'), paxRecord('GNU.sparse.offset', '0')],
          frag(5),
        ),
        END,
      ]),
      go: { names: [], error: true },
    },
    {
      name: 'GNU sparse PAX 0.1 (map record)',
      tar: Buffer.concat([
        paxSparse(
          [
            paxRecord('GNU.sparse.major', '0'),
            paxRecord('GNU.sparse.minor', '1'),
            paxRecord('GNU.sparse.name', 'real/name01'),
            paxRecord('GNU.sparse.realsize', '8192'),
            paxRecord('GNU.sparse.numblocks', '2'),
            paxRecord('GNU.sparse.map', '0,5,4096,5'),
          ],
          frag(10),
        ),
        END,
      ]),
      go: { names: ['real/name01'], error: false },
    },
    {
      name: 'GNU sparse PAX 0.1 numblocks not matching the map is an error',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.size', '8192'), paxRecord('GNU.sparse.numblocks', '3'), paxRecord('GNU.sparse.map', '0,5,4096,5')],
          frag(10),
        ),
        END,
      ]),
      go: { names: [], error: true },
    },
    {
      name: 'GNU sparse PAX 1.0 (map in the data)',
      tar: Buffer.concat([
        paxSparse(
          [
            paxRecord('GNU.sparse.major', '1'),
            paxRecord('GNU.sparse.minor', '0'),
            paxRecord('GNU.sparse.name', 'real/name10'),
            paxRecord('GNU.sparse.realsize', '8192'),
          ],
          Buffer.concat([map1, frag(10)]),
        ),
        file('after'),
        END,
      ]),
      go: { names: ['real/name10', 'after'], error: false },
    },
    {
      name: 'GNU sparse PAX 1.0: map cut short by the entry size',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0'), paxRecord('GNU.sparse.realsize', '8192')],
          Buffer.from('2\n0\n5\n'),
        ),
        file('after'),
        END,
      ]),
      go: { names: [], error: true },
    },
    {
      name: 'GNU.sparse.name beats the GNU long name and the PAX path',
      tar: Buffer.concat([
        longName('L', 'gnu/long'),
        pax(
          Buffer.concat([
            paxRecord('path', 'pax/path'),
            paxRecord('GNU.sparse.major', '1'),
            paxRecord('GNU.sparse.minor', '0'),
            paxRecord('GNU.sparse.name', 'sparse/name'),
            paxRecord('GNU.sparse.realsize', '10'),
          ]),
        ),
        member({ name: 'ustar' }, Buffer.concat([sparseMap1x0([[0, 10]]), frag(10)])),
        END,
      ]),
      go: { names: ['sparse/name'], error: false },
    },
    {
      name: 'unknown GNU sparse version: a plain file',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.major', '2'), paxRecord('GNU.sparse.minor', '0'), paxRecord('GNU.sparse.name', 'not/used')],
          frag(10),
        ),
        END,
      ]),
      go: { names: ['GNUSparseFile.0/f'], error: false },
    },
    {
      name: 'GNU sparse map on a symlink is an error',
      tar: Buffer.concat([
        pax(
          Buffer.concat([
            paxRecord('GNU.sparse.major', '0'),
            paxRecord('GNU.sparse.minor', '1'),
            paxRecord('GNU.sparse.size', '10'),
            paxRecord('GNU.sparse.numblocks', '0'),
            paxRecord('GNU.sparse.map', ''),
          ]),
        ),
        header({ name: 'sym', typeflag: '2', linkname: 't' }),
        END,
      ]),
      go: { names: [], error: true },
    },
    {
      name: 'GNU sparse PAX 0.1 with a 2^62 real size and no data',
      tar: Buffer.concat([
        paxSparse(
          [
            paxRecord('GNU.sparse.major', '0'),
            paxRecord('GNU.sparse.minor', '1'),
            paxRecord('GNU.sparse.size', String(2n ** 62n)),
            paxRecord('GNU.sparse.numblocks', '0'),
            paxRecord('GNU.sparse.map', ''),
          ],
          Buffer.alloc(0),
        ),
        file('after'),
        END,
      ]),
      go: { names: ['GNUSparseFile.0/f', 'after'], error: false, check: (l) => assert.equal(l.entries[0]?.size, String(2n ** 62n)) },
    },
    {
      name: "'g' with a bad record and a path: Go's name is either (nameUnstable)",
      tar: Buffer.concat([pax(Buffer.concat([paxRecord('path', 'global/path'), paxRecord('uid', 'bad')]), 'g'), file('after'), END]),
      go: { names: undefined, error: false, check: (l) => assert.equal(l.entries[0]?.nameUnstable, true) },
    },
    {
      name: 'old GNU sparse: fragment offsets beyond 2^53 (exact in Go)',
      tar: Buffer.concat([
        header({ name: 'far', typeflag: 'S', magic: 'gnu', size: 3, gnu: { sparse: [[2n ** 60n + 1n, 3]], realSize: 2n ** 60n + 7n } }),
        padded(frag(3)),
        file('after'),
        END,
      ]),
      go: { names: ['far', 'after'], error: false },
    },
    {
      name: 'GNU sparse PAX 0.1: a fragment ending at 2^53 + 1',
      tar: Buffer.concat([
        paxSparse(
          [
            paxRecord('GNU.sparse.major', '0'),
            paxRecord('GNU.sparse.minor', '1'),
            paxRecord('GNU.sparse.size', String(2n ** 53n + 1n)),
            paxRecord('GNU.sparse.numblocks', '1'),
            paxRecord('GNU.sparse.map', `${2n ** 53n - 1n},2`),
          ],
          frag(2),
        ),
        END,
      ]),
      go: { names: ['GNUSparseFile.0/f'], error: false },
    },
    {
      name: 'old GNU sparse: 2047 extension blocks (under 1 MiB of map)',
      tar: Buffer.concat([oldSparseExtended(2047), file('after'), END]),
      go: { names: ['many-ext', 'after'], error: false },
    },
    {
      name: 'old GNU sparse: 2048 extension blocks (over 1 MiB of map)',
      tar: Buffer.concat([oldSparseExtended(2048), file('after'), END]),
      go: { names: [], error: true },
      olderGo: { before: '1.24.8 / 1.25.2 (CVE-2025-58183, errSparseTooLong)', names: ['many-ext', 'after'], error: false },
    },
    {
      name: 'GNU sparse PAX 1.0: a map of exactly 2048 blocks (1 MiB)',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0'), paxRecord('GNU.sparse.realsize', '1000000')],
          longSparseMap1x0(2048),
        ),
        file('after'),
        END,
      ]),
      go: { names: ['GNUSparseFile.0/f', 'after'], error: false },
    },
    {
      name: 'GNU sparse PAX 1.0: a map of 2049 blocks (over 1 MiB)',
      tar: Buffer.concat([
        paxSparse(
          [paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0'), paxRecord('GNU.sparse.realsize', '1000000')],
          longSparseMap1x0(2049),
        ),
        file('after'),
        END,
      ]),
      go: { names: [], error: true },
      olderGo: { before: '1.24.8 / 1.25.2 (CVE-2025-58183, errSparseTooLong)', names: ['GNUSparseFile.0/f', 'after'], error: false },
    },
    {
      name: 'sparse entry padding: no padding after the data',
      tar: Buffer.concat([
        pax(
          Buffer.concat([paxRecord('GNU.sparse.size', '10'), paxRecord('GNU.sparse.numblocks', '1'), paxRecord('GNU.sparse.map', '0,3')]),
        ),
        header({ name: 'tail', size: 3 }),
        Buffer.from('abc'),
      ]),
      go: { names: ['tail'], error: false },
    },
  ];
}

/** `arb` with counterexamples shown by size and digest (the mismatch message has the bytes). */
function labelled(arb: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return arb.map((tar) =>
    Object.assign(tar, {
      [fc.toStringMethod]: () => `<tar of ${tar.length} bytes, sha256 ${createHash('sha256').update(tar).digest('hex').slice(0, 16)}>`,
    }),
  );
}

/** The shared fuzz parameters, with shrinking: a small disagreeing archive is the useful report. */
function params(defaultRuns: number): fc.Parameters<[Buffer]> {
  return { ...fuzzParams<[Buffer]>(defaultRuns), endOnFailure: false };
}

const skip = goOracleSkip('tar differential (Go archive/tar oracle)');

describeOrSkip("tar parity with Go's archive/tar", { skip }, () => {
  after(() => closeGoOracle());

  /** Checks each case's Go reading, then listTar against it; collects the disagreements. */
  async function checkNamed(cases: readonly NamedCase[]): Promise<void> {
    const listings = await listWithGo(cases.map((c) => c.tar));
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const go = listings[i];
      assert.ok(go);
      if (c.olderGo && meets(go, c.olderGo)) {
        // The installed Go predates the change: hold listTar to the current behaviour.
        console.error(
          `note: ${c.name}: the installed Go reads this as Go before ${c.olderGo.before} did; listTar is checked against the current behaviour`,
        );
        const ours = listTar(c.tar);
        if (!meets(ours, c.go))
          failures.push(
            `${c.name}: listTar lists ${JSON.stringify(ours.entries.map((e) => e.name))} (error ${JSON.stringify(ours.error ?? null)}), current Go ${JSON.stringify(c.go.names)} (error ${c.go.error})`,
          );
        return;
      }
      if (c.go.names)
        assert.deepEqual(
          go.entries.map((e) => e.name),
          c.go.names,
          `${c.name}: Go lists ${JSON.stringify(go.entries.map((e) => e.name))} (error ${go.error})`,
        );
      assert.equal(go.error !== null, c.go.error, `${c.name}: Go's error is ${JSON.stringify(go.error)}`);
      c.go.check?.(go);
      try {
        assertParity(c.tar, go, c.name);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    });
    assert.equal(failures.length, 0, `${failures.length} of ${cases.length} named cases disagree:\n\n${failures.join('\n\n')}`);
  }

  const cases = namedCases();
  const known = cases.filter((c) => c.todo !== undefined);
  it('named hostile classes: Go reads them as stated, and listTar reads them as Go does', () =>
    checkNamed(cases.filter((c) => c.todo === undefined)));
  if (known.length > 0)
    it(`known disagreements (${known.length})`, { todo: [...new Set(known.map((c) => c.todo))].join('; ') }, () => checkNamed(known));

  it('generated hostile archives', async () => {
    const p = params(2000);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(labelled(hostileTar), async (tar) => {
        runs += 1;
        const [go] = await listWithGo([tar]);
        assertParity(tar, go, `hostile tar (seed ${p.seed})`);
      }),
      p,
    );
    reportRuns('tar differential (hostile)', runs);
  });

  it('pushed in chunks with a sink per entry, as the inspector reads: same entries and content', async () => {
    const corpus = realTars();
    const chunks = fc.oneof(
      fc.constant<number[]>([]),
      fc.array(fc.oneof(fc.constantFrom(1, 2, 511, 512, 513, 4096), fc.integer({ min: 1, max: 2000 })), { minLength: 1, maxLength: 12 }),
    );
    const p = fuzzParams<[Buffer, number[]]>(1000);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(labelled(fc.oneof(hostileTar, mutatedTar(corpus))), chunks, async (tar, sizes) => {
        runs += 1;
        const [go] = await listWithGo([tar]);
        assertPushedParity(tar, sizes, go, `pushed tar (seed ${p.seed})`);
      }),
      { ...p, endOnFailure: false },
    );
    reportRuns('tar differential (pushed in chunks, content digests)', runs);
  });

  it('mutations of archives written by GNU tar and the image builder', async () => {
    if (!haveGnuTar()) console.error('!!! GNU tar missing: mutating only image-builder archives (apt-get install tar)');
    const corpus = realTars();
    const listings = await listWithGo(corpus);
    corpus.forEach((tar, i) => assertParity(tar, listings[i], `real archive ${i}`));
    const p = params(1000);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(labelled(mutatedTar(corpus)), async (tar) => {
        runs += 1;
        const [go] = await listWithGo([tar]);
        assertParity(tar, go, `mutated real tar (seed ${p.seed})`);
      }),
      p,
    );
    reportRuns('tar differential (mutated real archives)', runs);
  });
});
