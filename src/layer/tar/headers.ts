/**
 * Pure byte decoding of tar headers, PAX records and GNU sparse maps, with the exact
 * semantics of Go's `archive/tar` (reader.go, strconv.go, format.go) — the reader Docker,
 * containerd, podman, buildah and CRI-O apply layers with. Where two readers of one tar
 * disagree, an attacker can hide a file from the scanner that the runtime extracts, so every
 * rule here follows Go, including its quirks (docs/security.md, "Tar parity"). No state, no
 * streams: see reader.ts for the state machine.
 */

/** Size of a tar block. */
export const BLOCK_SIZE = 512;

/** Go's `maxSpecialFileSize`: PAX records, GNU long names and sparse maps are capped at 1 MiB. */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;

/** A tar stream Go's reader refuses (`archive/tar: invalid tar header`, `unexpected EOF`, …). */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** Go's Format bits that the reader's decisions depend on. */
export type HeaderFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** Header fields as Go's `readHeader` decodes them from one block. */
export interface RawHeader {
  name: string;
  linkname: string;
  typeflag: string;
  /** The mode's permission, setuid, setgid and sticky bits (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** `size` exactly (Go's int64; base-256 sizes may exceed 2^53). */
  sizeExact: bigint;
  format: HeaderFormat;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go's `parser.parseString`: the bytes up to the first NUL. */
export function parseString(block: Buffer, start: number, length: number): string {
  let end = block.indexOf(0, start);
  if (end < 0 || end > start + length) end = start + length;
  return end === start ? '' : block.toString('utf8', start, end);
}

/** Result of a numeric field: a value, or undefined when Go's parser sets `p.err`. */
type Numeric = number | bigint | undefined;

/** Go's `parseOctal`: trims spaces and NULs at both ends, cuts at a NUL, then `ParseUint(s, 8, 64)`. */
function parseOctal(block: Uint8Array, start: number, length: number): number | undefined {
  let s = start;
  let e = start + length;
  while (s < e && (block[s] === 0x20 || block[s] === 0)) s++;
  while (e > s && (block[e - 1] === 0x20 || block[e - 1] === 0)) e--;
  if (s === e) return 0;
  // At most 12 octal digits fit in a field: 2^36, exact in a double.
  let value = 0;
  for (let i = s; i < e; i++) {
    const c = block[i] ?? 0;
    if (c === 0) break; // Go cuts the trimmed field at its first NUL
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
  }
  return value;
}

/** Go's `parseNumeric`: base-256 (two's complement, big-endian) when the first byte's top bit is set, else octal. */
export function parseNumeric(block: Uint8Array, start: number, length: number): Numeric {
  const first = block[start] ?? 0;
  if ((first & 0x80) === 0) return parseOctal(block, start, length);
  const inv = (first & 0x40) !== 0 ? 0xff : 0x00;
  let x = 0n;
  for (let i = 0; i < length; i++) {
    let c = (block[start + i] ?? 0) ^ inv;
    if (i === 0) c &= 0x7f;
    if (x >> 56n > 0n) return undefined;
    x = (x << 8n) | BigInt(c);
  }
  if (x >> 63n > 0n) return undefined;
  return inv === 0xff ? ~x : x;
}

/** Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only, int64 range. */
export function parseDecimal(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v > INT64_MAX || v < INT64_MIN ? undefined : v;
}

/** A parsed value as a JS number (sizes and ids above 2^53 lose precision; Go would fail to read that much data anyway). */
export function toNumber(v: number | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Go's `block.getFormat`: checksum (unsigned or signed sum) and magic; undefined for FormatUnknown. */
export function blockFormat(block: Uint8Array): HeaderFormat | undefined {
  const stored = parseOctal(block, 148, 8);
  // The checksum field counts as spaces; each byte ≥ 0x80 is 0x100 less in the signed sum.
  let { unsigned, high } = byteSums(block);
  for (let i = 148; i < 156; i++) {
    const c = block[i] ?? 0;
    unsigned += 0x20 - c;
    high -= c >> 7;
  }
  const signed = unsigned - 0x100 * high;
  if (stored === undefined || (stored !== unsigned && stored !== signed)) return undefined;
  const magic = bytesEqual(block, 257, 'ustar\0');
  if (magic && bytesEqual(block, 508, 'tar\0')) return 'star';
  if (magic) return 'ustar';
  if (bytesEqual(block, 257, 'ustar ') && bytesEqual(block, 263, ' \0')) return 'gnu';
  return 'v7';
}

/**
 * The sum of a header block's bytes and the count of those ≥ 0x80, in one branch-free pass (it
 * runs once per entry): four bytes at a time when the block is 4-aligned, summed in lanes that
 * cannot carry into each other (128 words × 255 < 2^16 per 16-bit lane, 128 < 2^8 per 8-bit lane).
 */
function byteSums(block: Uint8Array): { unsigned: number; high: number } {
  let unsigned = 0;
  let high = 0;
  if ((block.byteOffset & 3) === 0 && block.length >= BLOCK_SIZE) {
    const words = new Uint32Array(block.buffer, block.byteOffset, BLOCK_SIZE / 4);
    let even = 0;
    let odd = 0;
    let top = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i] ?? 0;
      even += w & 0x00ff00ff;
      odd += (w >>> 8) & 0x00ff00ff;
      top += (w >>> 7) & 0x01010101;
    }
    unsigned = (even & 0xffff) + (even >>> 16) + (odd & 0xffff) + (odd >>> 16);
    high = (top & 0xff) + ((top >>> 8) & 0xff) + ((top >>> 16) & 0xff) + (top >>> 24);
    return { unsigned, high };
  }
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = block[i] ?? 0;
    unsigned += c;
    high += c >> 7;
  }
  return { unsigned, high };
}

function bytesEqual(block: Uint8Array, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (block[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** True when the whole block is zero (one half of the end-of-archive marker). */
export function isZeroBlock(block: Uint8Array, start = 0): boolean {
  for (let i = start; i < start + BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

/**
 * Go's `Reader.readHeader` for one non-zero block. Throws `TarFormatError` where Go returns
 * `ErrHeader`: a bad checksum, or any numeric field Go fails to parse.
 */
export function decodeHeader(block: Buffer, offset: number): RawHeader {
  const format = blockFormat(block);
  if (format === undefined) throw new TarFormatError(`invalid tar header at byte ${offset} (checksum)`);
  const size = parseNumeric(block, 124, 12);
  const mode = parseNumeric(block, 100, 8);
  const uid = parseNumeric(block, 108, 8);
  const gid = parseNumeric(block, 116, 8);
  // mtime, and for formats past v7 devmajor/devminor: parsed only because a bad value makes
  // Go fail the whole header.
  let ok = size !== undefined && mode !== undefined && uid !== undefined && gid !== undefined && parseNumeric(block, 136, 12) !== undefined;
  let name = parseString(block, 0, 100);
  if (format !== 'v7') {
    ok &&= parseNumeric(block, 329, 8) !== undefined && parseNumeric(block, 337, 8) !== undefined;
    let prefix = '';
    if (format === 'ustar') {
      prefix = parseString(block, 345, 155);
    } else if (format === 'star') {
      prefix = parseString(block, 345, 131);
      ok &&= parseNumeric(block, 476, 12) !== undefined && parseNumeric(block, 488, 12) !== undefined;
    } else {
      // GNU: atime/ctime are parsed with a separate parser; if they do not parse, Go falls
      // back to the pre-Go1.8 reading of that area as a USTAR prefix (when it is ASCII).
      const atimeBad = block[345] !== 0 && parseNumeric(block, 345, 12) === undefined;
      const ctimeBad = block[357] !== 0 && parseNumeric(block, 357, 12) === undefined;
      if (atimeBad || ctimeBad) {
        const s = parseString(block, 345, 155);
        if (isAscii(s)) prefix = s;
      }
    }
    if (prefix.length > 0) name = `${prefix}/${name}`;
  }
  if (!ok) throw new TarFormatError(`invalid tar header at byte ${offset} (numeric field)`);
  return {
    name,
    linkname: parseString(block, 157, 100),
    typeflag: String.fromCharCode(block[156] ?? 0),
    mode: modeBits(mode ?? 0),
    uid: toNumber(uid ?? 0),
    gid: toNumber(gid ?? 0),
    size: toNumber(size ?? 0),
    sizeExact: BigInt(size ?? 0),
    format,
  };
}

/** The permission, setuid, setgid and sticky bits of a mode value (Go's `Header.Mode & 07777`). */
function modeBits(mode: number | bigint): number {
  return typeof mode === 'number' ? mode & 0o7777 : Number(BigInt.asIntN(64, mode) & 0o7777n);
}

/** Go's `isHeaderOnlyType`: these types have no data, whatever their size field says. */
export function isHeaderOnlyType(typeflag: string): boolean {
  return typeflag === '1' || typeflag === '2' || typeflag === '3' || typeflag === '4' || typeflag === '5' || typeflag === '6';
}

/** Go's `blockPadding`: bytes of zero padding after `size` bytes of data. */
export function blockPadding(size: number): number {
  return -size & (BLOCK_SIZE - 1);
}

/** PAX records as Go keeps them (a map: later duplicates win). */
export type PaxRecords = Map<string, string>;

const SPARSE_OFFSET = 'GNU.sparse.offset';
/** Go's `paxSchilyXattr`: the records Go's reader puts in `Header.Xattrs`, which runtimes set on the extracted file. */
export const PAX_SCHILY_XATTR = 'SCHILY.xattr.';
/** The xattr holding a file's capabilities (docs/checks.md, check 7). */
export const CAPABILITY_XATTR = 'security.capability';
const SPARSE_NUMBYTES = 'GNU.sparse.numbytes';
const SPARSE_MAP = 'GNU.sparse.map';

/** Go's `parsePAX` over the data of an `x`/`g` header; throws where Go returns `ErrHeader`. */
export function parsePax(data: Buffer, offset: number): PaxRecords {
  const bad = (): TarFormatError => new TarFormatError(`invalid PAX record in the extended header at byte ${offset}`);
  const records: PaxRecords = new Map();
  const sparseMap: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw bad();
    const nStr = data.toString('latin1', pos, space);
    const n = /^[+-]?[0-9]+$/.test(nStr) ? Number(nStr) : NaN;
    const remaining = data.length - pos;
    if (!Number.isFinite(n) || n < 5 || n > remaining) throw bad();
    const recLen = n - (nStr.length + 1);
    if (recLen <= 0) throw bad();
    const recStart = space + 1;
    if (data[recStart + recLen - 1] !== 0x0a) throw bad();
    const eq = data.indexOf(0x3d, recStart);
    if (eq < 0 || eq >= recStart + recLen - 1) throw bad();
    const keyBytes = data.subarray(recStart, eq);
    const valueBytes = data.subarray(eq + 1, recStart + recLen - 1);
    const key = keyBytes.toString('utf8');
    // An xattr value is bytes (a capability set is binary): kept byte for byte as latin1.
    const value = key.startsWith(PAX_SCHILY_XATTR) ? valueBytes.toString('latin1') : valueBytes.toString('utf8');
    if (keyBytes.length === 0) throw bad();
    const nulInValue = valueBytes.includes(0);
    if (key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname') {
      if (nulInValue) throw bad();
    } else if (keyBytes.includes(0)) {
      throw bad();
    }
    pos += n;
    if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) {
      const expectOffset = sparseMap.length % 2 === 0;
      if ((expectOffset && key !== SPARSE_OFFSET) || (!expectOffset && key !== SPARSE_NUMBYTES) || value.includes(',')) throw bad();
      sparseMap.push(value);
    } else {
      records.set(key, value);
    }
  }
  if (sparseMap.length > 0) records.set(SPARSE_MAP, sparseMap.join(','));
  return records;
}

/** Go's `parsePAXTime`: seconds with an optional all-digit fraction. */
function validPaxTime(s: string): boolean {
  const dot = s.indexOf('.');
  const secs = dot < 0 ? s : s.slice(0, dot);
  if (parseDecimal(secs) === undefined) return false;
  if (dot < 0) return true;
  return /^[0-9]*$/.test(s.slice(dot + 1));
}

/** The header fields a PAX record set may override. */
export interface Mergeable {
  name: string;
  linkname: string;
  uid: number;
  gid: number;
  size: number;
  sizeExact: bigint;
  /** The `security.capability` xattr's bytes (`SCHILY.xattr.security.capability`), as Go puts it in `Header.Xattrs`. */
  capability?: Buffer;
}

/** Go's `mergePAX`: empty values keep the header's; a value that does not parse fails the header. */
export function mergePax(hdr: Mergeable, records: PaxRecords | undefined, offset: number): void {
  if (!records) return;
  for (const [key, value] of records) {
    if (value === '') continue;
    let ok = true;
    switch (key) {
      case 'path':
        hdr.name = value;
        break;
      case 'linkpath':
        hdr.linkname = value;
        break;
      case 'uid':
      case 'gid':
      case 'size': {
        const v = parseDecimal(value);
        if (v === undefined) ok = false;
        else if (key === 'uid') hdr.uid = toNumber(v);
        else if (key === 'gid') hdr.gid = toNumber(v);
        else {
          hdr.size = toNumber(v);
          hdr.sizeExact = v;
        }
        break;
      }
      case 'atime':
      case 'mtime':
      case 'ctime':
        ok = validPaxTime(value);
        break;
      case PAX_SCHILY_XATTR + CAPABILITY_XATTR:
        hdr.capability = Buffer.from(value, 'latin1');
        break;
    }
    if (!ok) throw new TarFormatError(`invalid PAX ${key} record for the entry at byte ${offset}`);
  }
}

/** One data fragment of a sparse file: `length` bytes at logical `offset`. */
export interface SparseEntry {
  readonly offset: bigint;
  readonly length: bigint;
}

/** Decimal `offset, length` pairs as sparse entries; undefined when one does not parse (Go's ErrHeader). */
function sparsePairs(tokens: readonly string[]): SparseEntry[] | undefined {
  const map: SparseEntry[] = [];
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const offset = parseDecimal(tokens[i] ?? '');
    const length = parseDecimal(tokens[i + 1] ?? '');
    if (offset === undefined || length === undefined) return undefined;
    map.push({ offset, length });
  }
  return map;
}

/** What a GNU sparse PAX record set says (Go's `readGNUSparsePAXHeaders`), before the 1.0 map is read. */
export type PaxSparse =
  | { readonly kind: 'none' }
  | { readonly kind: '0.x'; readonly name?: string; readonly size?: bigint; readonly map: SparseEntry[] }
  | { readonly kind: '1.0'; readonly name?: string; readonly size?: bigint };

/** Go's `readGNUSparsePAXHeaders` up to (not including) reading the 1.0 map from the data. */
export function paxSparse(records: PaxRecords | undefined, offset: number): PaxSparse {
  if (!records) return { kind: 'none' };
  const major = records.get('GNU.sparse.major') ?? '';
  const minor = records.get('GNU.sparse.minor') ?? '';
  let is1x0: boolean;
  if (major === '0' && (minor === '0' || minor === '1')) is1x0 = false;
  else if (major === '1' && minor === '0') is1x0 = true;
  else if (major !== '' || minor !== '') return { kind: 'none' };
  else if ((records.get(SPARSE_MAP) ?? '') !== '') is1x0 = false;
  else return { kind: 'none' };

  const bad = (): TarFormatError => new TarFormatError(`invalid GNU sparse header for the entry at byte ${offset}`);
  const nameRecord = records.get('GNU.sparse.name') ?? '';
  const sizeText = (records.get('GNU.sparse.size') ?? '') || (records.get('GNU.sparse.realsize') ?? '');
  let size: bigint | undefined;
  if (sizeText !== '') {
    size = parseDecimal(sizeText);
    if (size === undefined) throw bad();
  }
  const renamed = { ...(nameRecord !== '' ? { name: nameRecord } : {}), ...(size !== undefined ? { size } : {}) };
  if (is1x0) return { kind: '1.0', ...renamed };

  // Go's readGNUSparseMap0x1.
  const count = parseDecimal(records.get('GNU.sparse.numblocks') ?? '');
  if (count === undefined || count < 0n || count > 1n << 31n) throw bad();
  let parts = (records.get(SPARSE_MAP) ?? '').split(',');
  if (parts.length === 1 && parts[0] === '') parts = [];
  if (BigInt(parts.length) !== 2n * count) throw bad();
  const map = sparsePairs(parts);
  if (!map) throw bad();
  return { kind: '0.x', ...renamed, map };
}

/**
 * Go's `readGNUSparseMap1x0` over the whole blocks read so far: either the map and the bytes
 * (whole blocks) it took, or how many newlines must be present before it can be parsed.
 */
export function parseSparseMap1x0(data: Buffer, offset: number): { map: SparseEntry[]; consumed: number } | { need: number } {
  const bad = (): TarFormatError => new TarFormatError(`invalid GNU sparse 1.0 map for the entry at byte ${offset}`);
  let pos = 0;
  const next = (): string | undefined => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) return undefined;
    const token = data.toString('latin1', pos, nl);
    pos = nl + 1;
    return token;
  };
  const first = next();
  if (first === undefined) return { need: 1 };
  const count = parseDecimal(first);
  if (count === undefined || count < 0n || count > 1n << 31n) throw bad();
  const tokens: string[] = [];
  for (let i = 0n; i < 2n * count; i++) {
    const token = next();
    if (token === undefined) return { need: 1 + 2 * Number(count) };
    tokens.push(token);
  }
  const map = sparsePairs(tokens);
  if (!map) throw bad();
  // Go reads whole blocks, never more than it needs to find the newlines.
  return { map, consumed: Math.ceil(pos / BLOCK_SIZE) * BLOCK_SIZE };
}

/** Go's old GNU sparse map: up to `max` 24-byte entries from `start`; stops at an entry whose offset starts with NUL. */
export function oldGnuSparseEntries(block: Uint8Array, start: number, max: number, offset: number): SparseEntry[] {
  const out: SparseEntry[] = [];
  for (let i = 0; i < max; i++) {
    const at = start + i * 24;
    if (block[at] === 0) break;
    const off = parseNumeric(block, at, 12);
    const len = parseNumeric(block, at + 12, 12);
    if (off === undefined || len === undefined) throw new TarFormatError(`invalid GNU sparse header at byte ${offset}`);
    out.push({ offset: BigInt(off), length: BigInt(len) });
  }
  return out;
}

/** Go's `validateSparseEntries` (int64 arithmetic): non-negative, in order, not overlapping, inside `size`. */
export function validSparseEntries(map: readonly SparseEntry[], size: bigint): boolean {
  if (size < 0n) return false;
  let preEnd = 0n;
  for (const cur of map) {
    if (cur.offset < 0n || cur.length < 0n) return false;
    if (cur.offset > INT64_MAX - cur.length) return false;
    const end = cur.offset + cur.length;
    if (end > size) return false;
    if (preEnd > cur.offset) return false;
    preEnd = end;
  }
  return true;
}
