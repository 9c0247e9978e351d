/**
 * Hostile tar archives for the tar-parity tests (test/fuzz/tar-differential.test.ts): a small
 * header writer of our own (every field settable, checksum right by default and wrong on
 * request) and fast-check arbitraries that compose v7 / ustar / GNU / star headers, every
 * typeflag, PAX 'x'/'g' records, GNU long names, old and PAX GNU sparse files, base-256 and
 * malformed numbers, end-of-archive tricks and truncations; plus mutations of real archives
 * written by GNU tar and by test/helpers/image-builder.ts.
 *
 * Field layout: POSIX.1-2001 ustar (pax), GNU tar's manual "Basic Tar Format" (GNU and old
 * sparse headers), and Go's archive/tar (format.go), whose reading is the reference.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  closeSync,
  ftruncateSync,
  linkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildTar, type EntrySpec } from '../helpers/image-builder.js';

/** Tar block size. */
export const BLOCK = 512;

/** How a numeric field is written. A plain number or bigint is the usual zero-padded octal + NUL. */
export type Num =
  | number
  | bigint
  | { readonly octal: bigint; readonly style: OctalStyle }
  | { readonly base256: bigint }
  | { readonly raw: Uint8Array | string };

/** Octal spellings readers disagree on: padding, terminators, NULs and spaces inside. */
export type OctalStyle = 'std' | 'space-nul' | 'space' | 'lead-space' | 'lead-nul' | 'full' | 'inner-space' | 'inner-nul' | 'plus';

/** The magic/version written at 257 (and the star trailer at 508). */
export type Magic = 'v7' | 'ustar' | 'gnu' | 'star' | 'ustar-bad-version' | 'gnu-bad-version' | 'garbage';

/** How the checksum at 148 is written. */
export type Checksum = 'ok' | 'ok-7' | 'ok-space' | 'signed' | 'off-by-one' | 'blank' | 'zero' | 'garbage' | 'base256';

/** Every field of one 512-byte header block; unset fields are zero / empty. */
export interface Header {
  readonly name?: string | Uint8Array | undefined;
  readonly mode?: Num | undefined;
  readonly uid?: Num | undefined;
  readonly gid?: Num | undefined;
  readonly size?: Num | undefined;
  readonly mtime?: Num | undefined;
  readonly typeflag?: string | number | undefined;
  readonly linkname?: string | Uint8Array | undefined;
  readonly magic?: Magic | undefined;
  readonly uname?: string | undefined;
  readonly gname?: string | undefined;
  readonly devmajor?: Num | undefined;
  readonly devminor?: Num | undefined;
  /** ustar: 155 bytes at 345; star: 131 bytes at 345; GNU: raw bytes over its atime/ctime. */
  readonly prefix?: string | Uint8Array | undefined;
  /** GNU-only fields (old sparse map). */
  readonly gnu?:
    | {
        readonly atime?: Num | undefined;
        readonly ctime?: Num | undefined;
        readonly sparse?: ReadonlyArray<readonly [Num, Num]> | undefined;
        readonly isExtended?: number | undefined;
        readonly realSize?: Num;
      }
    | undefined;
  /** star-only atime/ctime at 476/488. */
  readonly star?: { readonly atime?: Num | undefined; readonly ctime?: Num } | undefined;
  readonly checksum?: Checksum | undefined;
}

function bytesOf(s: string | Uint8Array): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
}

/** Two's complement of `value` in `width` bytes, the first byte's top bit set (GNU base-256). */
function base256(value: bigint, width: number): Buffer {
  const out = Buffer.alloc(width);
  let v = BigInt.asUintN(width * 8, value);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = (out[0] ?? 0) | 0x80;
  return out;
}

function octalText(value: bigint, width: number, style: OctalStyle): string {
  const digits = (value < 0n ? -value : value).toString(8);
  const sign = value < 0n ? '-' : '';
  switch (style) {
    case 'std':
      return sign + digits.padStart(width - 1 - sign.length, '0') + '\0';
    case 'space-nul':
      return sign + digits.padStart(width - 2 - sign.length, '0') + ' \0';
    case 'space':
      return sign + digits.padStart(width - 1 - sign.length, '0') + ' ';
    case 'lead-space':
      return (sign + digits).padStart(width - 1, ' ') + '\0';
    case 'lead-nul':
      return (sign + digits).padStart(width - 1, '\0') + '\0';
    case 'full':
      return sign + digits.padStart(width - sign.length, '0');
    case 'inner-space': {
      const d = digits.padStart(width - 2, '0');
      return `${d.slice(0, 2)} ${d.slice(2)}\0`;
    }
    case 'inner-nul': {
      const d = digits.padStart(width - 2, '0');
      return `${d.slice(0, -1)}\0${d.slice(-1)}\0`;
    }
    case 'plus':
      return '+' + digits.padStart(width - 2, '0') + '\0';
  }
}

/** Encodes a numeric field of `width` bytes (too-long text is cut, as a careless writer would). */
export function numField(n: Num, width: number): Buffer {
  if (typeof n === 'number' || typeof n === 'bigint') {
    const v = BigInt(n);
    // Like Go's writer: octal when it fits, else base-256.
    return v >= 0n && v < 8n ** BigInt(width - 1) ? numField({ octal: v, style: 'std' }, width) : base256(v, width);
  }
  if ('base256' in n) return base256(n.base256, width);
  if ('raw' in n) {
    const out = Buffer.alloc(width);
    bytesOf(n.raw).copy(out, 0, 0, width);
    return out;
  }
  const out = Buffer.alloc(width);
  Buffer.from(octalText(n.octal, width, n.style), 'latin1').copy(out, 0, 0, width);
  return out;
}

function put(block: Buffer, at: number, width: number, value: string | Uint8Array | undefined): void {
  if (value === undefined) return;
  bytesOf(value).copy(block, at, 0, width);
}

function putNum(block: Buffer, at: number, width: number, value: Num | undefined): void {
  if (value !== undefined) numField(value, width).copy(block, at);
}

const MAGIC: Record<Magic, string> = {
  v7: '',
  ustar: 'ustar\u000000',
  gnu: 'ustar  \u0000',
  star: 'ustar\u000000',
  'ustar-bad-version': 'ustar\u0000  ',
  'gnu-bad-version': 'ustar 00',
  garbage: 'USTAR\u000000',
};

/** Sums of the block with the checksum field read as spaces: [unsigned, signed]. */
export function checksums(block: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return [unsigned, signed];
}

/** Writes the checksum field of a header block in place. */
export function setChecksum(block: Buffer, how: Checksum = 'ok'): Buffer {
  const [unsigned, signed] = checksums(block);
  const field = ((): Buffer => {
    switch (how) {
      case 'ok':
        return Buffer.from(unsigned.toString(8).padStart(6, '0') + '\0 ', 'latin1');
      case 'ok-7':
        return Buffer.from(unsigned.toString(8).padStart(7, '0') + '\0', 'latin1');
      case 'ok-space':
        return Buffer.from(unsigned.toString(8).padStart(6, ' ') + '  ', 'latin1');
      case 'signed':
        return signed < 0
          ? Buffer.from(`-${(-signed).toString(8)}`.padEnd(8, '\0'), 'latin1')
          : Buffer.from(signed.toString(8).padStart(6, '0') + '\0 ', 'latin1');
      case 'off-by-one':
        return Buffer.from((unsigned + 1).toString(8).padStart(6, '0') + '\0 ', 'latin1');
      case 'blank':
        return Buffer.from('        ', 'latin1');
      case 'zero':
        return Buffer.alloc(8);
      case 'garbage':
        return Buffer.from('12x456\0 ', 'latin1');
      case 'base256':
        return base256(BigInt(unsigned), 8);
    }
  })();
  field.copy(block, 148, 0, 8);
  return block;
}

/** One 512-byte header block. */
export function header(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  put(block, 0, 100, h.name);
  putNum(block, 100, 8, h.mode ?? 0o644);
  putNum(block, 108, 8, h.uid ?? 0);
  putNum(block, 116, 8, h.gid ?? 0);
  putNum(block, 124, 12, h.size ?? 0);
  putNum(block, 136, 12, h.mtime ?? 1700000000);
  const tf = h.typeflag ?? '0';
  block[156] = typeof tf === 'number' ? tf : tf.charCodeAt(0);
  put(block, 157, 100, h.linkname);
  const magic = h.magic ?? 'ustar';
  put(block, 257, 8, MAGIC[magic]);
  if (magic !== 'v7') {
    put(block, 265, 32, h.uname ?? 'root');
    put(block, 297, 32, h.gname ?? 'root');
    putNum(block, 329, 8, h.devmajor);
    putNum(block, 337, 8, h.devminor);
  }
  if (magic === 'star') {
    put(block, 345, 131, h.prefix);
    putNum(block, 476, 12, h.star?.atime);
    putNum(block, 488, 12, h.star?.ctime);
    put(block, 508, 4, 'tar\0');
  } else {
    put(block, 345, 155, h.prefix);
  }
  if (h.gnu) {
    putNum(block, 345, 12, h.gnu.atime);
    putNum(block, 357, 12, h.gnu.ctime);
    (h.gnu.sparse ?? []).slice(0, 4).forEach(([off, len], i) => {
      putNum(block, 386 + i * 24, 12, off);
      putNum(block, 398 + i * 24, 12, len);
    });
    block[482] = h.gnu.isExtended ?? 0;
    putNum(block, 483, 12, h.gnu.realSize);
  }
  return setChecksum(block, h.checksum);
}

/** An old-GNU sparse extension block: up to 21 (offset, length) pairs and the is-extended byte. */
export function sparseExtension(entries: ReadonlyArray<readonly [Num, Num]>, isExtended: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  entries.slice(0, 21).forEach(([off, len], i) => {
    putNum(block, i * 24, 12, off);
    putNum(block, i * 24 + 12, 12, len);
  });
  block[504] = isExtended;
  return block;
}

/** Zero bytes up to the next block boundary. */
export function padding(length: number): Buffer {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}

/** `data` followed by its padding. */
export function padded(data: Uint8Array): Buffer {
  return Buffer.concat([data, padding(data.length)]);
}

/** A header whose size is its data's length (unless `h.size` says otherwise), and the data, padded. */
export function member(h: Header, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([header({ size: data.length, ...h }), padded(data)]);
}

/** How a PAX record's length field is written: right, or wrong in a chosen way. */
export type PaxLength = 'ok' | 'plus' | 'leading-zero' | 'short' | 'long' | 'tiny' | 'not-a-number' | 'huge';

/** One PAX record `"%d %s=%s\n"`, its length field right by default. */
export function paxRecord(key: string | Uint8Array, value: string | Uint8Array, length: PaxLength = 'ok'): Buffer {
  const body = Buffer.concat([bytesOf(key), Buffer.from('='), bytesOf(value), Buffer.from('\n')]);
  let n = body.length + 2;
  while (String(n).length + 1 + body.length !== n) n = String(n).length + 1 + body.length;
  const field = ((): string => {
    switch (length) {
      case 'ok':
        return String(n);
      case 'plus':
        return `+${n + 1}`;
      case 'leading-zero':
        return `0${n + 1}`;
      case 'short':
        return String(n - 1);
      case 'long':
        return String(n + 1);
      case 'tiny':
        return '4';
      case 'not-a-number':
        return 'x';
      case 'huge':
        return '99999999999999999999';
    }
  })();
  return Buffer.concat([Buffer.from(`${field} `), body]);
}

/** A PAX extended header ('x') or global header ('g') member carrying `records`. */
export function pax(records: Uint8Array, kind: 'x' | 'g' = 'x', h: Header = {}): Buffer {
  return member({ name: 'PaxHeaders.0/entry', typeflag: kind, ...h }, records);
}

/** A GNU long name ('L') or long link ('K') member. */
export function longName(kind: 'L' | 'K', content: string | Uint8Array, h: Header = {}): Buffer {
  return member({ name: '././@LongLink', typeflag: kind, magic: 'gnu', ...h }, bytesOf(content));
}

/** Two zero blocks: the end-of-archive marker. */
export const END = Buffer.alloc(2 * BLOCK);

/** The text of a GNU PAX 1.0 sparse map, padded to whole blocks (it precedes the data). */
export function sparseMap1x0(
  entries: ReadonlyArray<readonly [number | bigint | string, number | bigint | string]>,
  count: number | string = entries.length,
): Buffer {
  return padded(Buffer.from(`${count}\n${entries.map(([o, l]) => `${o}\n${l}\n`).join('')}`));
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** A piece of an archive and offsets inside it where a truncation is most interesting. */
interface Piece {
  readonly bytes: Buffer;
  readonly cuts: readonly number[];
}

function piece(...parts: Buffer[]): Piece {
  const cuts: number[] = [];
  let at = 0;
  for (const p of parts) {
    cuts.push(at);
    at += p.length;
  }
  cuts.push(at);
  return { bytes: Buffer.concat(parts), cuts };
}

const interestingValues: readonly bigint[] = [
  0n,
  1n,
  7n,
  8n,
  0o644n,
  0o755n,
  0o4755n,
  0o2755n,
  0o1777n,
  0o7777n,
  0o10000n,
  0o100644n,
  0o40755n,
  0o177777n,
  511n,
  512n,
  513n,
  1000n,
  65534n,
  65535n,
  65536n,
  2n ** 21n - 1n,
  2n ** 21n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 33n - 1n,
  2n ** 33n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 56n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  -1n,
  -2n,
  -512n,
  -(2n ** 31n),
  -(2n ** 53n),
  -(2n ** 63n),
  -(2n ** 63n) - 1n,
];

const bigValue = fc.oneof(
  { arbitrary: fc.constantFrom(...interestingValues), weight: 3 },
  { arbitrary: fc.bigInt({ min: 0n, max: 1n << 40n }), weight: 1 },
  { arbitrary: fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), weight: 1 },
);

const octalStyle = fc.constantFrom<OctalStyle>(
  'std',
  'space-nul',
  'space',
  'lead-space',
  'lead-nul',
  'full',
  'inner-space',
  'inner-nul',
  'plus',
);

/** Garbage numeric fields: octal's neighbours, base-256 leading bytes, random bytes. */
const rawNum = fc.oneof(
  fc.constantFrom('8', '9', '0x10', '-1', ' - 1', '1e3', '12 34', '\u00001', '        ', '777777777777', '0000000000008', 'abc'),
  fc
    .tuple(fc.constantFrom(0x80, 0xff, 0xc0, 0xbf, 0x81, 0xfe), fc.uint8Array({ minLength: 0, maxLength: 12 }))
    .map(([lead, rest]) => Buffer.concat([Buffer.from([lead]), rest])),
  fc.uint8Array({ minLength: 1, maxLength: 12 }),
);

/** Any numeric field, mostly well-formed. */
const anyNum: fc.Arbitrary<Num> = fc.oneof(
  { arbitrary: bigValue, weight: 4 },
  { arbitrary: fc.record({ octal: bigValue, style: octalStyle }), weight: 2 },
  { arbitrary: bigValue.map((v) => ({ base256: v })), weight: 2 },
  { arbitrary: rawNum.map((raw) => ({ raw })), weight: 1 },
);

/** `arb` once in `1 + odds` draws, else null: each hostile twist is rare, so an archive has a few. */
function rarely<T>(arb: fc.Arbitrary<T>, odds: number): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: odds }, { arbitrary: arb, weight: 1 });
}

/** A numeric field for `value`: usually plain octal, sometimes spelled differently. */
function numFor(value: number): fc.Arbitrary<Num> {
  return fc.oneof(
    { arbitrary: fc.constant<Num>(value), weight: 20 },
    { arbitrary: octalStyle.map((style): Num => ({ octal: BigInt(value), style })), weight: 2 },
    { arbitrary: fc.constant<Num>({ base256: BigInt(value) }), weight: 2 },
    { arbitrary: anyNum, weight: 1 },
  );
}

const modeNum: fc.Arbitrary<Num> = fc.oneof(
  { arbitrary: fc.constantFrom<Num>(0o644, 0o755, 0o4755, 0o2755, 0o1777, 0o7777, 0o100644, 0o40755, 0o120777, 0o777777), weight: 12 },
  { arbitrary: anyNum, weight: 1 },
);
const idNum: fc.Arbitrary<Num> = fc.oneof(
  { arbitrary: fc.constantFrom<Num>(0, 1000, 65534, 2097152, { base256: 3000000000n }), weight: 12 },
  { arbitrary: anyNum, weight: 1 },
);

const nameText = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'a',
      'file.txt',
      'dir/',
      'dir/sub/',
      'etc/passwd',
      './etc/shadow',
      '../../etc/shadow',
      '/abs/path',
      'a//b',
      './',
      '.',
      '..',
      'usr/bin/su',
      'usr/bin/.wh.su',
      '.wh..wh..opq',
      'héllo',
      'a\\b',
      ' lead',
      'trail ',
      'x'.repeat(99),
      'y'.repeat(100),
      'z/'.repeat(50),
      'GNUSparseFile.0/f',
      'PaxHeaders.0/f',
    ),
    weight: 6,
  },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 2 },
  { arbitrary: fc.constant(''), weight: 1 },
);
/** A name field's bytes: text, or raw bytes (NULs, invalid UTF-8, 0x80+). */
const nameBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: nameText.map((s) => Buffer.from(s)), weight: 8 },
  { arbitrary: fc.uint8Array({ maxLength: 110 }).map((b) => Buffer.from(b)), weight: 1 },
);

const ALL_TYPEFLAGS = [
  '0',
  '\0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  'x',
  'g',
  'L',
  'K',
  'S',
  'D',
  'M',
  'N',
  'V',
  'A',
  'I',
  'X',
  'Z',
  ' ',
  '\u00ff',
  '\u0080',
] as const;
const fileType = fc.oneof(
  { arbitrary: fc.constantFrom('0', '\0', '7'), weight: 20 },
  { arbitrary: fc.constantFrom(...ALL_TYPEFLAGS), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), weight: 1 },
);
const magic = fc.oneof(
  { arbitrary: fc.constantFrom<Magic>('ustar', 'gnu'), weight: 6 },
  { arbitrary: fc.constantFrom<Magic>('v7', 'star'), weight: 2 },
  { arbitrary: fc.constantFrom<Magic>('ustar-bad-version', 'gnu-bad-version', 'garbage'), weight: 1 },
);
const checksum = fc.oneof(
  { arbitrary: fc.constant<Checksum>('ok'), weight: 60 },
  { arbitrary: fc.constantFrom<Checksum>('ok-7', 'ok-space', 'signed'), weight: 6 },
  { arbitrary: fc.constantFrom<Checksum>('off-by-one', 'blank', 'zero', 'garbage', 'base256'), weight: 1 },
);

/** The fields every header arbitrary shares (name, type and size are set per kind). */
const commonFields = fc.record({
  mode: modeNum,
  uid: idNum,
  gid: idNum,
  mtime: fc.oneof({ arbitrary: fc.constant<Num>(1700000000), weight: 15 }, { arbitrary: anyNum, weight: 1 }),
  magic,
  checksum,
  linkname: fc.oneof({ arbitrary: fc.constant(Buffer.alloc(0)), weight: 4 }, { arbitrary: nameBytes, weight: 1 }),
  prefix: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 6 },
    { arbitrary: fc.constantFrom('usr/lib', 'a'.repeat(155), 'p/'), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 1 },
  ),
  devmajor: fc.oneof({ arbitrary: fc.constant<Num | undefined>(undefined), weight: 20 }, { arbitrary: anyNum, weight: 1 }),
  gnuTimes: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 8 },
    { arbitrary: fc.record({ atime: anyNum, ctime: anyNum }), weight: 1 },
  ),
});

type Common = typeof commonFields extends fc.Arbitrary<infer T> ? T : never;

function withCommon(c: Common, h: Header): Header {
  return {
    mode: c.mode,
    uid: c.uid,
    gid: c.gid,
    mtime: c.mtime,
    magic: c.magic,
    checksum: c.checksum,
    linkname: c.linkname,
    prefix: c.prefix,
    devmajor: c.devmajor,
    ...(c.gnuTimes ? { gnu: c.gnuTimes } : {}),
    ...h,
  };
}

const content = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 5, 100, 511, 512, 513, 1024, 1500).map((n) => Buffer.alloc(n, 0x61 + (n % 26))), weight: 4 },
  { arbitrary: fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)), weight: 1 },
);

/** What ends a member's data: the padding, none, garbage padding, or a cut inside the data. */
const tail = fc.oneof(
  { arbitrary: fc.constant('pad'), weight: 30 },
  { arbitrary: fc.constantFrom('none', 'garbage-pad', 'short-data'), weight: 1 },
);

function withTail(data: Buffer, how: string): Buffer[] {
  switch (how) {
    case 'none':
      return [data];
    case 'garbage-pad':
      return [data, Buffer.alloc(padding(data.length).length, 0x5a)];
    case 'short-data':
      return [data.subarray(0, Math.floor(data.length / 2))];
    default:
      return [data, padding(data.length)];
  }
}

/** A regular (or any-typed) member: its data usually matches its size field. */
const fileMember = fc
  .record({ c: commonFields, name: nameBytes, type: fileType, data: content, size: rarely(anyNum, 30), tail })
  .chain((r) =>
    (r.size === null ? numFor(r.data.length) : fc.constant(r.size)).map((size) =>
      piece(header(withCommon(r.c, { name: r.name, typeflag: r.type, size })), ...withTail(r.data, r.tail)),
    ),
  );

/**
 * A member hidden inside another's data, or exposed from it, depending on who is asked: a
 * header-only type ('1'..'6', or '\0' named like a directory) with size > 0, whose "data" Go
 * reads as the next header; or a PAX size record that disagrees with the ustar size field.
 */
const hiddenMember = fc
  .record({
    c: commonFields,
    via: fc.constantFrom('type', 'type', 'pax-size-zero', 'pax-size-covers'),
    type: fc.constantFrom('1', '2', '3', '4', '5', '6', '\0', '0'),
    name: fc.constantFrom('dir/', 'link', 'dev', 'x/'),
    inner: fc.record({ name: nameBytes, data: content }),
  })
  .map((r) => {
    const inner = member({ name: r.inner.name, typeflag: '0', mode: 0o4755 }, r.inner.data);
    const linkname = r.type === '1' || r.type === '2' ? 'target' : '';
    switch (r.via) {
      case 'pax-size-zero': {
        // PAX says 0 bytes, the ustar field covers the inner member: Go reads it as a member.
        const rec = paxRecord('size', '0');
        return piece(pax(rec), header(withCommon(r.c, { name: r.name, typeflag: '0', size: inner.length })), inner);
      }
      case 'pax-size-covers': {
        // The ustar field says 0 bytes, PAX covers the inner member: Go reads it as data.
        const rec = paxRecord('size', String(inner.length));
        return piece(pax(rec), header(withCommon(r.c, { name: r.name, typeflag: '0', size: 0 })), inner);
      }
      default:
        return piece(header(withCommon(r.c, { name: r.name, typeflag: r.type, size: inner.length, linkname })), inner);
    }
  });

const numericText = fc.oneof(
  {
    arbitrary: fc.oneof(fc.nat({ max: 5000 }), fc.constantFrom(0, 1, 512, 65534, 2097152, 4294967295, 2 ** 53 + 2)).map(String),
    weight: 10,
  },
  {
    arbitrary: fc.constantFrom(
      '-1',
      '+7',
      '007',
      ' 12',
      '12 ',
      '0x10',
      '1e3',
      '',
      '9223372036854775807',
      '9223372036854775808',
      '-9223372036854775808',
      '9007199254740993',
      '18446744073709551616',
      '1.5',
      '1_000',
    ),
    weight: 1,
  },
);
const timeText = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '1700000000',
      '1700000000.123456789',
      '1700000000.1234567891234',
      '-1.5',
      '1.',
      '0.000000001',
      '-9223372036854775808',
    ),
    weight: 6,
  },
  { arbitrary: fc.constantFrom('.5', '1.x', '1.-5', '', '+1', '1e9', '1.5.5', ' 1'), weight: 1 },
);
const nameValue = fc.oneof(
  { arbitrary: nameText.map((s) => Buffer.from(s)), weight: 12 },
  { arbitrary: fc.constantFrom('a\0b', 'x'.repeat(300), 'a\nb').map((s) => Buffer.from(s)), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)), weight: 1 },
);
const anyValue = fc.oneof(
  nameValue,
  numericText.map((s) => Buffer.from(s)),
  fc.constantFrom('0,1,2', '1,2,3,4', '0,0', '1', '0').map((s) => Buffer.from(s)),
);

/** One PAX record: a key and a value that suits it (mostly well-formed), its length field mostly right. */
const paxPair: fc.Arbitrary<readonly [string, Buffer]> = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom('path', 'linkpath', 'uname', 'gname'), nameValue), weight: 8 },
  {
    arbitrary: fc.tuple(
      fc.constantFrom('uid', 'gid'),
      numericText.map((s) => Buffer.from(s)),
    ),
    weight: 4,
  },
  {
    arbitrary: fc.tuple(
      fc.constant('size'),
      numericText.map((s) => Buffer.from(s)),
    ),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(
      fc.constantFrom('mtime', 'atime', 'ctime'),
      timeText.map((s) => Buffer.from(s)),
    ),
    weight: 3,
  },
  {
    arbitrary: fc.tuple(
      fc.constantFrom(
        'SCHILY.xattr.security.capability',
        'LIBARCHIVE.xattr.user.a',
        'comment',
        'charset',
        'hdrcharset',
        'PATH',
        'path ',
        'GNU.sparse.name',
      ),
      anyValue,
    ),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(
      fc.constantFrom(
        'GNU.sparse.major',
        'GNU.sparse.minor',
        'GNU.sparse.size',
        'GNU.sparse.realsize',
        'GNU.sparse.numblocks',
        'GNU.sparse.offset',
        'GNU.sparse.numbytes',
        'GNU.sparse.map',
      ),
      anyValue,
    ),
    weight: 1,
  },
  { arbitrary: fc.tuple(fc.constantFrom('', 'a=b', 'k\0ey', '=', 'key\n'), anyValue), weight: 1 },
);
const paxLength = fc.oneof(
  { arbitrary: fc.constant<PaxLength>('ok'), weight: 40 },
  { arbitrary: fc.constantFrom<PaxLength>('plus', 'leading-zero'), weight: 2 },
  { arbitrary: fc.constantFrom<PaxLength>('short', 'long', 'tiny', 'not-a-number', 'huge'), weight: 1 },
);

/** PAX record text: records (duplicates possible), sometimes followed by garbage, rarely over the 1 MiB limit. */
const paxRecords: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.array(fc.tuple(paxPair, paxLength), { maxLength: 5 }),
    fc.oneof(
      { arbitrary: fc.constant(Buffer.alloc(0)), weight: 30 },
      { arbitrary: fc.constantFrom('garbage', '\0\0\0', '5 a=b', '\n', '3 x\n', '6 a=b\n').map((s) => Buffer.from(s)), weight: 1 },
    ),
    fc.oneof({ arbitrary: fc.constant(0), weight: 100 }, { arbitrary: fc.constantFrom(1 << 20, (1 << 20) + 1, (1 << 20) - 10), weight: 1 }),
  )
  .map(([records, trailer, big]) => {
    const parts = records.map(([[k, v], l]) => paxRecord(k, v, l));
    if (big > 0) {
      // An oversize record whose total PAX data is about `big` bytes (Go's limit is 1 MiB).
      const filler = Math.max(0, big - Buffer.concat(parts).length - 30);
      parts.push(paxRecord('comment', 'c'.repeat(filler)));
    }
    return Buffer.concat([...parts, trailer]);
  });

/** A PAX 'x' or 'g' member followed by (usually) the member it describes. */
const paxMember = fc
  .record({
    kind: fc.constantFrom<'x' | 'g'>('x', 'x', 'x', 'g'),
    records: paxRecords,
    c: commonFields,
    size: rarely(anyNum, 30),
    next: fileMember,
    withNext: fc.boolean(),
  })
  .map((r) => {
    const h = header(withCommon(r.c, { name: 'PaxHeaders/x', typeflag: r.kind, size: r.size ?? r.records.length }));
    const parts = [h, r.records, padding(r.records.length)];
    return r.withNext ? piece(...parts, r.next.bytes) : piece(...parts);
  });

/** GNU long name / long link members in any order, with PAX headers mixed in, then a member. */
const longNameMember = fc
  .record({
    metas: fc.array(
      fc.oneof(
        fc
          .record({
            kind: fc.constantFrom<'L' | 'K'>('L', 'K'),
            text: fc.oneof(
              { arbitrary: nameText, weight: 4 },
              { arbitrary: fc.constantFrom('l'.repeat(150), `${'m'.repeat(120)}\0tail`, '', '\0', 'dir/'.repeat(40)), weight: 1 },
            ),
            nul: fc.boolean(),
            c: commonFields,
          })
          .map((m) =>
            longName(
              m.kind,
              m.nul ? `${m.text}\0` : m.text,
              withCommon(m.c, { typeflag: m.kind, name: '././@LongLink', magic: m.c.magic === 'ustar' ? 'gnu' : m.c.magic }),
            ),
          ),
        paxRecords.map((rec) => pax(rec)),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    next: fileMember,
  })
  .map((r) => piece(...r.metas, r.next.bytes));

/** A sparse map whose fragments fit the real size (usually) and the data they need. */
const sparseLayout = fc
  .record({
    frags: fc.array(
      fc.tuple(
        fc.oneof(
          { arbitrary: fc.nat({ max: 1500 }).map(BigInt), weight: 30 },
          { arbitrary: fc.constantFrom(2n ** 40n + 1n, 2n ** 45n + 3n), weight: 1 },
        ),
        fc.nat({ max: 700 }),
      ),
      { maxLength: 30 },
    ),
    tailHole: fc.oneof(
      { arbitrary: fc.nat({ max: 2000 }).map(BigInt), weight: 8 },
      { arbitrary: fc.constantFrom(1n << 40n, (1n << 62n) + 3n), weight: 1 },
    ),
    dataDelta: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: -600, max: 600 }), weight: 1 }),
    shuffle: fc.oneof({ arbitrary: fc.constant(false), weight: 8 }, { arbitrary: fc.constant(true), weight: 1 }),
  })
  .map((r) => {
    const entries: Array<[bigint, bigint]> = [];
    let at = 0n;
    for (const [hole, len] of r.frags) {
      at += hole;
      entries.push([at, BigInt(len)]);
      at += BigInt(len);
    }
    if (r.shuffle) entries.reverse();
    const dataLen = Math.max(0, r.frags.reduce((s, [, l]) => s + l, 0) + r.dataDelta);
    return { entries, realSize: at + r.tailHole, data: Buffer.alloc(dataLen, 0x73) };
  });

/** Old GNU sparse ('S'): up to 4 fragments in the header, the rest in extension blocks. */
const oldSparseMember = fc
  .record({
    c: commonFields,
    layout: sparseLayout,
    name: nameBytes,
    magicGnu: fc.oneof({ arbitrary: fc.constant(true), weight: 8 }, { arbitrary: fc.constant(false), weight: 1 }),
    extFlag: fc.constantFrom(1, 1, 1, 0x80, 0),
    realSize: rarely(anyNum, 20),
    tail,
  })
  .map((r) => {
    const entries = r.layout.entries.map(([o, l]): [Num, Num] => [o, l]);
    const head = entries.slice(0, 4);
    const rest = entries.slice(4);
    const exts: Buffer[] = [];
    for (let i = 0; i < rest.length; i += 21) exts.push(sparseExtension(rest.slice(i, i + 21), i + 21 < rest.length ? r.extFlag : 0));
    const h = header(
      withCommon(r.c, {
        name: r.name,
        typeflag: 'S',
        size: r.layout.data.length,
        magic: r.magicGnu ? 'gnu' : r.c.magic,
        gnu: { sparse: head, isExtended: exts.length > 0 ? r.extFlag : 0, realSize: r.realSize ?? r.layout.realSize },
      }),
    );
    return piece(h, ...exts, ...withTail(r.layout.data, r.tail));
  });

/** GNU sparse in PAX: 0.0 (offset/numbytes records), 0.1 (map record), 1.0 (map in the data). */
const paxSparseMember = fc
  .record({
    version: fc.constantFrom('0.0', '0.1', '1.0', '1.0'),
    layout: sparseLayout,
    name: fc.option(nameText),
    sizeKey: fc.constantFrom('GNU.sparse.size', 'GNU.sparse.size', 'GNU.sparse.realsize', 'GNU.sparse.realsize', 'size'),
    versionRecords: fc.boolean(),
    numblocksDelta: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: -2, max: 2 }), weight: 1 }),
    c: commonFields,
    extra: rarely(paxRecords, 6),
    tail,
  })
  .map((r) => {
    const { entries, realSize, data } = r.layout;
    const records: Buffer[] = [];
    const n = entries.length + r.numblocksDelta;
    if (r.version === '1.0') records.push(paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0'));
    else if (r.versionRecords) records.push(paxRecord('GNU.sparse.major', '0'), paxRecord('GNU.sparse.minor', r.version.slice(2)));
    if (r.name !== null) records.push(paxRecord('GNU.sparse.name', r.name));
    records.push(paxRecord(r.sizeKey, String(realSize)));
    if (r.version === '0.0') {
      records.push(paxRecord('GNU.sparse.numblocks', String(n)));
      for (const [o, l] of entries) records.push(paxRecord('GNU.sparse.offset', String(o)), paxRecord('GNU.sparse.numbytes', String(l)));
    } else if (r.version === '0.1') {
      records.push(
        paxRecord('GNU.sparse.numblocks', String(n)),
        paxRecord('GNU.sparse.map', entries.map(([o, l]) => `${o},${l}`).join(',')),
      );
    }
    if (r.extra) records.push(r.extra);
    const recs = Buffer.concat(records);
    const body = r.version === '1.0' ? Buffer.concat([sparseMap1x0(entries, n), data]) : data;
    const xh = header({ name: 'PaxHeaders/sparse', typeflag: 'x', size: recs.length });
    const fh = header(withCommon(r.c, { name: 'GNUSparseFile.0/sparse', typeflag: '0', size: body.length }));
    return piece(xh, recs, padding(recs.length), fh, ...withTail(body, r.tail));
  });

/** Blocks that are not members: zeros (one or two), garbage, a lone header-shaped block. */
const oddBlocks = fc.oneof(
  fc.constantFrom(1, 2, 3).map((n) => piece(Buffer.alloc(n * BLOCK))),
  fc.uint8Array({ minLength: BLOCK, maxLength: BLOCK }).map((b) => piece(Buffer.from(b))),
  fc.nat({ max: 511 }).map((n) => piece(Buffer.alloc(n, 0x41))),
);

/** Any one piece of a hostile archive. */
const anyPiece: fc.Arbitrary<Piece> = fc.oneof(
  { arbitrary: fileMember, weight: 8 },
  { arbitrary: hiddenMember, weight: 2 },
  { arbitrary: paxMember, weight: 4 },
  { arbitrary: longNameMember, weight: 3 },
  { arbitrary: oldSparseMember, weight: 2 },
  { arbitrary: paxSparseMember, weight: 3 },
  { arbitrary: oddBlocks, weight: 1 },
);

/** How an archive ends: no marker, one zero block, the marker, the marker then more members. */
const ending = fc.oneof(
  { arbitrary: fc.constant(piece(END)), weight: 5 },
  { arbitrary: fc.constantFrom(piece(), piece(Buffer.alloc(BLOCK)), piece(Buffer.alloc(BLOCK * 3))), weight: 2 },
  { arbitrary: fileMember.map((m) => piece(END, m.bytes, END)), weight: 1 },
  { arbitrary: fileMember.map((m) => piece(Buffer.alloc(BLOCK), m.bytes)), weight: 1 },
);

/** Where to cut the archive: nowhere (mostly), at a piece boundary ± a little, or anywhere. */
const cut = fc.oneof(
  { arbitrary: fc.constant(null), weight: 6 },
  { arbitrary: fc.record({ at: fc.nat(), delta: fc.constantFrom(0, 0, 0, -1, 1, -511, 100) }), weight: 2 },
  { arbitrary: fc.record({ at: fc.nat(), delta: fc.constant(0), anywhere: fc.constant(true) }), weight: 1 },
);

/** A hostile tar archive, built from the pieces above. */
export const hostileTar: fc.Arbitrary<Buffer> = fc
  .record({ pieces: fc.array(anyPiece, { minLength: 1, maxLength: 5 }), ending, cut })
  .map(({ pieces, ending: end, cut: c }) => {
    const all = [...pieces, end];
    const bytes = Buffer.concat(all.map((p) => p.bytes));
    if (c === null) return bytes;
    if ('anywhere' in c) return bytes.subarray(0, c.at % (bytes.length + 1));
    const cuts: number[] = [];
    let base = 0;
    for (const p of all) {
      for (const x of p.cuts) cuts.push(base + x);
      base += p.bytes.length;
    }
    const at = (cuts[c.at % cuts.length] ?? 0) + c.delta;
    return bytes.subarray(0, Math.max(0, Math.min(bytes.length, at)));
  });

// ---------------------------------------------------------------------------------------------
// Real archives and their mutations

/** Whether GNU tar runs (Debian: the essential `tar` package). */
export function haveGnuTar(): boolean {
  try {
    return execFileSync('tar', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('GNU tar');
  } catch {
    return false;
  }
}

/**
 * Archives written by real tools, read back as the differential's seeds: GNU tar 1.34 in the
 * gnu, posix, ustar and v7 formats (long names, links, a FIFO, setuid bits, an ownership of
 * 2^21+, sparse files with --sparse-version 0.0 / 0.1 / 1.0 and old GNU sparse), and
 * test/helpers/image-builder.ts (PAX and GNU long names). Built once, in a temporary directory.
 */
export function realTars(): readonly Buffer[] {
  corpus ??= writeRealTars();
  return corpus;
}

let corpus: readonly Buffer[] | undefined;

function writeRealTars(): Buffer[] {
  const out: Buffer[] = [buildTar(builderEntries(), 'pax'), buildTar(builderEntries(), 'gnu')];
  if (!haveGnuTar()) return out;
  const dir = mkdtempSync(join(tmpdir(), 'oci-scan-tar-real-'));
  try {
    const tree = join(dir, 'tree');
    const short = join(dir, 'short');
    mkdirSync(join(tree, 'usr/bin'), { recursive: true });
    mkdirSync(join(tree, `deep/${'d'.repeat(90)}/${'e'.repeat(90)}`), { recursive: true });
    writeFileSync(join(tree, 'usr/bin/su'), '#!/bin/sh\n');
    chmodSync(join(tree, 'usr/bin/su'), 0o4755);
    writeFileSync(join(tree, `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}`), 'x'.repeat(700));
    symlinkSync('l'.repeat(150), join(tree, 'longlink'));
    symlinkSync('../usr/bin/su', join(tree, 'usr/su-link'));
    linkSync(join(tree, 'usr/bin/su'), join(tree, 'hard'));
    execFileSync('mkfifo', [join(tree, 'fifo')]);
    writeFileSync(join(tree, 'héllo wörld'), 'unicode\n');
    // Sparse: 3 data regions in 256 KiB, holes of whole file-system blocks between (tar finds
    // them with SEEK_HOLE).
    const fd = openSync(join(tree, 'sparse'), 'w');
    ftruncateSync(fd, 256 << 10);
    for (const at of [0, 64 << 10, (256 << 10) - 700]) writeSync(fd, Buffer.alloc(700, 0x53), 0, 700, at);
    closeSync(fd);
    mkdirSync(join(short, 'd'), { recursive: true });
    writeFileSync(join(short, 'd/f'), 'short tree\n');
    symlinkSync('f', join(short, 'd/l'));
    const tar = (args: string[], cwd: string): Buffer =>
      execFileSync('tar', ['-c', '-f', '-', '--numeric-owner', '--mtime=@1700000000.5', ...args, '.'], { cwd, maxBuffer: 64 << 20 });
    // An owner above 2^21 - 1 needs base-256 (gnu) or PAX records (posix); ustar and v7 cannot hold it.
    const bigOwner = ['--owner=2097153', '--group=65534'];
    out.push(
      tar(['--format=gnu', ...bigOwner], tree),
      tar(['--format=gnu', '--sparse', ...bigOwner], tree),
      tar(['--format=posix', ...bigOwner], tree),
      tar(['--format=ustar'], short),
      tar(['--format=v7'], short),
    );
    for (const v of ['0.0', '0.1', '1.0']) out.push(tar(['--format=posix', '--sparse', `--sparse-version=${v}`, ...bigOwner], tree));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function builderEntries(): EntrySpec[] {
  return [
    { type: 'dir', path: 'etc/' },
    { type: 'file', path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', uid: 0, gid: 0 },
    { type: 'file', path: `opt/${'n'.repeat(120)}/bin`, mode: 0o4755, content: 'x'.repeat(600) },
    { type: 'symlink', path: 'usr/bin/sh', target: `/${'t'.repeat(130)}` },
    { type: 'hardlink', path: 'etc/passwd-', target: 'etc/passwd' },
    { type: 'fifo', path: 'run/fifo' },
  ];
}

/** One edit of a real archive. */
type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly value: number; readonly fixChecksum: boolean }
  | { readonly kind: 'field'; readonly block: number; readonly field: number; readonly value: Num; readonly fixChecksum: boolean }
  | { readonly kind: 'truncate'; readonly at: number; readonly delta: number }
  | { readonly kind: 'splice'; readonly from: number; readonly to: number; readonly length: number }
  | { readonly kind: 'drop-block'; readonly block: number };

/** Numeric fields of a header: [offset, width]. */
const NUMERIC_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [100, 8],
  [108, 8],
  [116, 8],
  [124, 12],
  [136, 12],
  [329, 8],
  [337, 8],
  [483, 12],
  [386, 12],
  [398, 12],
];

function headerBlocks(tar: Buffer): number[] {
  const out: number[] = [];
  for (let b = 0; (b + 1) * BLOCK <= tar.length; b++) {
    const block = tar.subarray(b * BLOCK, (b + 1) * BLOCK);
    const [u] = checksums(block);
    const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/[\0 ]/g, ''), 8);
    if (stored === u) out.push(b);
  }
  return out;
}

function applyMutation(tar: Buffer, m: Mutation, heads: readonly number[]): Buffer {
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(tar);
      const at = m.at % out.length;
      out[at] = m.value;
      const b = Math.floor(at / BLOCK);
      if (m.fixChecksum && heads.includes(b)) setChecksum(out.subarray(b * BLOCK, (b + 1) * BLOCK));
      return out;
    }
    case 'field': {
      const out = Buffer.from(tar);
      const b = heads[m.block % Math.max(1, heads.length)] ?? 0;
      const [off, width] = NUMERIC_FIELDS[m.field % NUMERIC_FIELDS.length] ?? [124, 12];
      if ((b + 1) * BLOCK > out.length) return out;
      numField(m.value, width).copy(out, b * BLOCK + off);
      if (m.fixChecksum) setChecksum(out.subarray(b * BLOCK, (b + 1) * BLOCK));
      return out;
    }
    case 'truncate': {
      const blocks = Math.ceil(tar.length / BLOCK);
      const at = (m.at % (blocks + 1)) * BLOCK + m.delta;
      return tar.subarray(0, Math.max(0, Math.min(tar.length, at)));
    }
    case 'splice': {
      const from = m.from % tar.length;
      const chunk = tar.subarray(from, from + m.length);
      const to = m.to % (tar.length + 1);
      return Buffer.concat([tar.subarray(0, to), chunk, tar.subarray(to)]);
    }
    case 'drop-block': {
      const b = m.block % Math.max(1, Math.floor(tar.length / BLOCK));
      return Buffer.concat([tar.subarray(0, b * BLOCK), tar.subarray((b + 1) * BLOCK)]);
    }
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      at: fc.nat(),
      value: fc.oneof(fc.constantFrom(0, 0x20, 0x30, 0x37, 0x38, 0x80, 0xff, 0x2f), fc.integer({ min: 0, max: 255 })),
      fixChecksum: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      block: fc.nat(),
      field: fc.nat(),
      value: anyNum,
      fixChecksum: fc.constantFrom(true, true, true, false),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), delta: fc.constantFrom(0, 0, 1, -1, 100, 511) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('splice' as const),
      from: fc.nat(),
      to: fc.nat(),
      length: fc.constantFrom(1, 100, 512, 1024, 1536),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('drop-block' as const), block: fc.nat() }), weight: 1 },
);

/** A real archive (from `corpus`) with one to three mutations. */
export function mutatedTar(corpus: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const withHeads = corpus.map((tar) => ({ tar, heads: headerBlocks(tar) }));
  return fc.record({ i: fc.nat({ max: corpus.length - 1 }), ms: fc.array(mutation, { minLength: 1, maxLength: 3 }) }).map(({ i, ms }) => {
    const seed = withHeads[i];
    if (!seed) throw new Error('empty corpus');
    return ms.reduce((tar, m) => (tar.length === 0 ? tar : applyMutation(tar, m, seed.heads)), seed.tar);
  });
}
