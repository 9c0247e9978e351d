/**
 * A streaming xz decoder that accepts, refuses and decodes streams as github.com/ulikunitz/xz
 * does — the reader containers/image and containers/storage apply xz layers with — so that
 * oci-scan reads what podman reads (docs/architecture.md, "Decoders"). That reader takes:
 * concatenated streams with stream padding; CRC-32, CRC-64 or SHA-256 checks (not "none");
 * one filter per block, LZMA2 (no BCJ or delta filter); LZMA2 chunks in the order its state
 * machine allows, the next chunk starting where the range decoder stopped; a dictionary of
 * max(8 MiB, the block's dictionary size).
 *
 * Memory: the dictionary grows with the output up to that size (so a stream whose header
 * declares a 1.5 GiB dictionary costs what it has decoded, at most 1.5 GiB); larger
 * dictionaries are refused (`XZ_MAX_DICT_BYTES`). Input is held one LZMA2 chunk at a time
 * (≤ 64 KiB compressed, ≤ 2 MiB uncompressed), and output leaves one bounded buffer at a time.
 */
import { createHash, type Hash } from 'node:crypto';

/** An xz stream the decoder refuses. */
export class XzError extends Error {
  override readonly name = 'XzError';
}

/**
 * Largest dictionary accepted: 1.5 GiB, the largest xz's own encoder (liblzma) writes. The
 * runtime's reader takes any size up to 4 GiB; only a crafted header goes past this one.
 */
export const XZ_MAX_DICT_BYTES = 1536 * 1024 * 1024;
/** ulikunitz/xz's smallest dictionary: a block's may say less, distances up to this stay valid. */
const MIN_DICT_BYTES = 8 * 1024 * 1024;
const INITIAL_DICT_BYTES = 1024 * 1024;

const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const CHECK_SIZES: Readonly<Record<number, number>> = { 0x01: 4, 0x04: 8, 0x0a: 32 };

const crc32 = (bytes: Uint8Array, value = 0): number => process.getBuiltinModule('node:zlib').crc32(bytes, value);

/** CRC-64/XZ (ECMA-182, reflected) with 32-bit halves. */
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  const polyLo = 0xd7870f42;
  const polyHi = 0xc96c5795;
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let j = 0; j < 8; j++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h >>>= 1;
      if (carry) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[i] = l;
    hi[i] = h;
  }
  return { lo, hi };
})();

/** The running check of a block's uncompressed data. */
interface Check {
  update(bytes: Uint8Array): void;
  /** The check as stored (little-endian for the CRCs). */
  digest(): Buffer;
}

function newCheck(flags: number): Check {
  if (flags === 0x01) {
    let value = 0;
    return {
      update: (bytes) => {
        value = crc32(bytes, value);
      },
      digest: () => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(value >>> 0);
        return b;
      },
    };
  }
  if (flags === 0x04) {
    let lo = 0xffffffff;
    let hi = 0xffffffff;
    return {
      update: (bytes) => {
        const { lo: tl, hi: th } = CRC64_TABLE;
        let l = lo;
        let h = hi;
        for (let k = 0, n = bytes.length; k < n; k++) {
          const i = (l ^ (bytes[k] as number)) & 0xff;
          l = ((l >>> 8) | (h << 24)) ^ (tl[i] as number);
          h = (h >>> 8) ^ (th[i] as number);
        }
        lo = l >>> 0;
        hi = h >>> 0;
      },
      digest: () => {
        const b = Buffer.alloc(8);
        b.writeUInt32LE(~lo >>> 0, 0);
        b.writeUInt32LE(~hi >>> 0, 4);
        return b;
      },
    };
  }
  const hash: Hash = createHash('sha256');
  return { update: (bytes) => hash.update(bytes), digest: () => hash.digest() };
}

/** A variable-length integer of the xz format, as ulikunitz/xz reads it; undefined when the bytes end first. */
function readUvarint(buf: Uint8Array, start: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (start + i >= end) return undefined;
    const b = buf[start + i] as number;
    if (i + 1 > 10 || (i + 1 === 10 && b > 1)) throw new XzError('xz: varint overflows 64 bits');
    if (b < 0x80) {
      value += b * scale;
      if (value >= 2 ** 63) throw new XzError('xz: size overflow');
      return { value, next: start + i + 1 };
    }
    value += (b & 0x7f) * scale;
    scale *= 128;
  }
}

/** Thrown by the LZMA decoder when it would read past the chunk's compressed bytes. */
const CHUNK_OVERRUN = new XzError('xz: unexpected end of an LZMA2 chunk');

/** Where the decoder stands. */
type Phase = 'stream-header' | 'stream-padding' | 'block-or-index' | 'lzma2' | 'block-end' | 'done';

/** LZMA2 chunk-order state, ulikunitz/xz's chunkState: S(tart), L(zma), R(eset), U(ncompressed). */
type ChunkState = 'S' | 'L' | 'R' | 'U';

/** The xz decoder, fed input and asked for output in bounded pieces. */
export class XzDecoder {
  // Input: `buf` from `pos` on is unread; `pending` waits to be appended.
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;

  #phase: Phase = 'stream-header';
  #streamFlags = 0;
  #records: Array<[number, number]> = [];
  // The block being read.
  #blockHeaderLength = 0;
  #blockCompressed = 0;
  #blockUncompressed = 0;
  #declaredCompressed = -1;
  #declaredUncompressed = -1;
  #check: Check | undefined;
  #chunkState: ChunkState = 'S';

  // The dictionary: a ring of up to #dictCap bytes, grown as output comes.
  #dict = new Uint8Array(0);
  #dictCap = 0;
  #dictPos = 0;
  /** Bytes written since the last dictionary reset (ulikunitz's `head`). */
  #head = 0;
  // Output of the last chunk not yet handed out: `#outLeft` bytes ending at `#dictPos`.
  #outLeft = 0;

  // LZMA state (kept across chunks that do not reset it).
  #lc = 0;
  #lp = 0;
  #pb = 0;
  #hasProps = false;
  #state = 0;
  #rep0 = 0;
  #rep1 = 0;
  #rep2 = 0;
  #rep3 = 0;
  #probs = new Uint16Array(0);

  /** Adds input. */
  push(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
  }

  /** No more input will come. */
  end(): void {
    this.#ended = true;
  }

  /** True once every stream has ended cleanly. */
  get done(): boolean {
    return this.#phase === 'done';
  }

  /** Decodes into `out`: the bytes written; 0 when more input is needed first (or the data is done). */
  read(out: Uint8Array): number {
    for (;;) {
      if (this.#outLeft > 0) return this.#copyOut(out);
      if (this.#phase === 'done' || !this.#step()) return 0;
    }
  }

  /** Makes `n` unread bytes available at `#pos`; false when they have not arrived yet; throws at a truncation. */
  #ensure(n: number): boolean {
    if (this.#buf.length - this.#pos >= n) return true;
    this.#takePending();
    if (this.#buf.length - this.#pos >= n) return true;
    if (this.#ended) throw new XzError('unexpected end of the xz data: the stream is truncated');
    return false;
  }

  /** Moves all pending input behind the unread bytes. */
  #takePending(): void {
    if (this.#pendingBytes === 0) return;
    this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), ...this.#pending]);
    this.#pos = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** True when no unread byte is left and none will come. */
  #atEnd(): boolean {
    return this.#buf.length - this.#pos === 0 && this.#pendingBytes === 0 && this.#ended;
  }

  /** One step of the format; false when it needs more input first. */
  #step(): boolean {
    switch (this.#phase) {
      case 'stream-header':
        return this.#streamHeader();
      case 'stream-padding':
        return this.#streamPadding();
      case 'block-or-index':
        return this.#blockOrIndex();
      case 'lzma2':
        return this.#chunk();
      case 'block-end':
        return this.#blockEnd();
      case 'done':
        return false;
    }
  }

  #streamHeader(): boolean {
    if (!this.#ensure(12)) return false;
    const h = this.#buf.subarray(this.#pos, this.#pos + 12);
    if (!HEADER_MAGIC.every((b, i) => h[i] === b)) throw new XzError('xz: invalid header magic bytes');
    if (h.readUInt32LE(8) !== crc32(h.subarray(6, 8))) throw new XzError('xz: invalid checksum for file header');
    if (h[6] !== 0 || CHECK_SIZES[h[7] as number] === undefined) throw new XzError('xz: invalid flags (check type none or unknown)');
    this.#streamFlags = h[7] as number;
    this.#records = [];
    this.#pos += 12;
    this.#phase = 'block-or-index';
    return true;
  }

  /** After a stream: four-byte groups of zeros, then another stream or the end. */
  #streamPadding(): boolean {
    if (this.#atEnd()) {
      this.#phase = 'done';
      return true;
    }
    if (!this.#ensure(4)) return false;
    if (this.#buf.readUInt32LE(this.#pos) === 0) {
      this.#pos += 4;
      return true;
    }
    this.#phase = 'stream-header';
    return true;
  }

  #blockOrIndex(): boolean {
    // ulikunitz/xz ends the data quietly when it ends where a block header starts or inside
    // one (its readBlockHeader's io.EOF is taken for the end of the stream): so does the
    // runtime, so oci-scan reads what came before.
    if (this.#atEnd()) {
      this.#phase = 'done';
      return true;
    }
    if (!this.#ensure(1)) return false;
    const size = this.#buf[this.#pos] as number;
    if (size === 0) return this.#index();
    const length = (size + 1) * 4;
    if (this.#ended && this.#buf.length - this.#pos + this.#pendingBytes < length) {
      this.#phase = 'done';
      return true;
    }
    if (!this.#ensure(length)) return false;
    const h = this.#buf.subarray(this.#pos, this.#pos + length);
    if (crc32(h.subarray(0, length - 4)) !== h.readUInt32LE(length - 4)) throw new XzError('xz: checksum error for block header');
    const flags = h[1] as number;
    if ((flags & 0x3c) !== 0) throw new XzError('xz: reserved block header flags set');
    let at = 2;
    const field = (): number => {
      const v = readUvarint(h, at, length - 4);
      if (!v) throw new XzError('xz: block header too short');
      at = v.next;
      return v.value;
    };
    this.#declaredCompressed = flags & 0x40 ? field() : -1;
    this.#declaredUncompressed = flags & 0x80 ? field() : -1;
    if ((flags & 0x03) !== 0) throw new XzError('xz: unsupported filter count (only LZMA2 alone is read)');
    const id = field();
    if (id !== 0x21)
      throw new XzError(id >= 2 ** 62 ? 'xz: reserved filter id in block stream header' : 'xz: unsupported filter (only LZMA2 is read)');
    if (at + 2 > length - 4) throw new XzError('xz: block header too short');
    if (h[at] !== 1) throw new XzError('xz: wrong LZMA2 filter size');
    const code = h[at + 1] as number;
    if (code > 40) throw new XzError('xz: wrong LZMA2 dictionary size property');
    const dictBytes = code === 40 ? 2 ** 32 - 1 : (2 | (code & 1)) * 2 ** (11 + (code >> 1));
    at += 2;
    for (let i = at; i < length - 4; i++) if (h[i] !== 0) throw new XzError('xz: block header padding is not zero');
    if (dictBytes > XZ_MAX_DICT_BYTES) {
      throw new XzError(
        `the xz block needs a ${Math.ceil(dictBytes / 2 ** 20)} MiB dictionary, more than the ${XZ_MAX_DICT_BYTES / 2 ** 20} MiB any xz encoder writes and oci-scan accepts`,
      );
    }
    this.#startDictionary(Math.max(MIN_DICT_BYTES, dictBytes));
    this.#pos += length;
    this.#blockHeaderLength = length;
    this.#blockCompressed = 0;
    this.#blockUncompressed = 0;
    this.#check = newCheck(this.#streamFlags);
    this.#chunkState = 'S';
    this.#hasProps = false;
    this.#phase = 'lzma2';
    return true;
  }

  #startDictionary(cap: number): void {
    this.#dictCap = cap;
    if (this.#dict.length > cap || this.#dict.length === 0) this.#dict = new Uint8Array(Math.min(cap, INITIAL_DICT_BYTES));
    this.#dictPos = 0;
    this.#head = 0;
  }

  /** Room for `n` more bytes at #dictPos without overwriting what a distance may still reach: grows the ring until it is full size. */
  #reserve(n: number): void {
    if (this.#dictPos + n <= this.#dict.length || this.#dict.length >= this.#dictCap) return;
    let size = this.#dict.length;
    while (size < this.#dictPos + n && size < this.#dictCap) size = Math.min(size * 2, this.#dictCap);
    const grown = new Uint8Array(size);
    grown.set(this.#dict.subarray(0, this.#dictPos));
    this.#dict = grown;
  }

  /** Reads one LZMA2 chunk (or the end marker) and decodes it into the dictionary. */
  #chunk(): boolean {
    if (!this.#ensure(1)) return false;
    const control = this.#buf[this.#pos] as number;
    let kind: 'end' | 'UD' | 'U' | 'L' | 'LR' | 'LRN' | 'LRND';
    if (control < 0x80) {
      if (control === 0) kind = 'end';
      else if (control === 1) kind = 'UD';
      else if (control === 2) kind = 'U';
      else throw new XzError('lzma: unsupported chunk header byte');
    } else kind = (['L', 'LR', 'LRN', 'LRND'] as const)[(control >> 5) & 3] as 'L' | 'LR' | 'LRN' | 'LRND';
    const headerLength = kind === 'end' ? 1 : kind === 'U' || kind === 'UD' ? 3 : kind === 'L' || kind === 'LR' ? 5 : 6;
    if (!this.#ensure(headerLength)) return false;
    const size =
      kind === 'end' ? 0 : (kind === 'U' || kind === 'UD' ? 0 : (control & 0x1f) << 16) + this.#buf.readUInt16BE(this.#pos + 1) + 1;
    const compressed = headerLength >= 5 ? this.#buf.readUInt16BE(this.#pos + 3) + 1 : 0;
    // The whole chunk must be in before it is decoded (at most 64 KiB + 6) — or all there is:
    // ulikunitz/xz does not need the compressed bytes the header declares, only those the range
    // decoder reads before the chunk's output is complete.
    const want = headerLength + (kind === 'U' || kind === 'UD' ? size : compressed);
    if (this.#buf.length - this.#pos < want && !this.#ended && !this.#ensure(want)) return false;
    if (this.#ended) this.#takePending();
    if (this.#buf.length - this.#pos < (kind === 'U' || kind === 'UD' ? want : headerLength))
      throw new XzError('unexpected end of the xz data: the stream is truncated');
    const b = this.#buf;
    const p = this.#pos;
    this.#nextChunkState(kind);
    if (kind === 'end') {
      this.#consume(1);
      this.#phase = 'block-end';
      return true;
    }
    if (kind === 'UD' || kind === 'LRND') this.#head = 0;
    if (kind === 'LRN' || kind === 'LRND') {
      const code = b[p + 5] as number;
      if (code > 224) throw new XzError('lzma: invalid properties code');
      this.#lc = code % 9;
      this.#lp = Math.floor(code / 9) % 5;
      this.#pb = Math.floor(code / 45);
      this.#hasProps = true;
    }
    if (kind === 'LR' || kind === 'LRN' || kind === 'LRND') this.#resetState();
    let consumed: number;
    if (kind === 'U' || kind === 'UD') {
      this.#reserve(size);
      this.#write(b.subarray(p + 3, p + 3 + size));
      consumed = 3 + size;
    } else {
      if (!this.#hasProps) throw new XzError('lzma: chunk type not allowed here');
      consumed = headerLength + this.#decodeLzma(b, p + headerLength, Math.min(p + headerLength + compressed, b.length), size);
    }
    this.#consume(consumed);
    this.#blockUncompressed += size;
    if (this.#declaredUncompressed >= 0 && this.#blockUncompressed > this.#declaredUncompressed)
      throw new XzError('xz: wrong uncompressed size for block');
    this.#outLeft = size;
    this.#hashOutput(size);
    return true;
  }

  /** ulikunitz/xz's chunkState.next. */
  #nextChunkState(kind: 'end' | 'UD' | 'U' | 'L' | 'LR' | 'LRN' | 'LRND'): void {
    const s = this.#chunkState;
    const bad = (): never => {
      throw new XzError('lzma: unexpected chunk type');
    };
    if (kind === 'end') return;
    switch (s) {
      case 'S':
        if (kind === 'UD') this.#chunkState = 'R';
        else if (kind === 'LRND') this.#chunkState = 'L';
        else bad();
        return;
      case 'L':
        if (kind === 'UD') this.#chunkState = 'R';
        else if (kind === 'U') this.#chunkState = 'U';
        return;
      case 'R':
        if (kind === 'LRN' || kind === 'LRND') this.#chunkState = 'L';
        else if (kind !== 'UD' && kind !== 'U') bad();
        return;
      case 'U':
        if (kind === 'UD') this.#chunkState = 'R';
        else if (kind !== 'U') this.#chunkState = 'L';
        return;
    }
  }

  /** Counts `n` bytes of the block's data as read. */
  #consume(n: number): void {
    this.#pos += n;
    this.#blockCompressed += n;
    if (this.#declaredCompressed >= 0 && this.#blockCompressed > this.#declaredCompressed)
      throw new XzError('xz: wrong compressed size for block');
  }

  #write(bytes: Uint8Array): void {
    // Uncompressed chunks are ≤ 64 KiB: #reserve made room, or the ring is full size and wraps.
    for (const byte of bytes) {
      if (this.#dictPos === this.#dict.length) this.#dictPos = 0;
      this.#dict[this.#dictPos++] = byte;
    }
    this.#head += bytes.length;
  }

  /** Feeds the check with the last `n` bytes written (they end at #dictPos). */
  #hashOutput(n: number): void {
    const check = this.#check as Check;
    const start = this.#dictPos - n;
    if (start >= 0) check.update(this.#dict.subarray(start, this.#dictPos));
    else {
      check.update(this.#dict.subarray(this.#dict.length + start));
      check.update(this.#dict.subarray(0, this.#dictPos));
    }
  }

  #copyOut(out: Uint8Array): number {
    const n = Math.min(out.length, this.#outLeft);
    let start = this.#dictPos - this.#outLeft;
    if (start < 0) start += this.#dict.length;
    const first = Math.min(n, this.#dict.length - start);
    out.set(this.#dict.subarray(start, start + first), 0);
    if (first < n) out.set(this.#dict.subarray(0, n - first), first);
    this.#outLeft -= n;
    return n;
  }

  #blockEnd(): boolean {
    const checkSize = CHECK_SIZES[this.#streamFlags] as number;
    const padding = (4 - (this.#blockCompressed % 4)) % 4;
    if (!this.#ensure(padding + checkSize)) return false;
    const b = this.#buf;
    for (let i = 0; i < padding; i++) if (b[this.#pos + i] !== 0) throw new XzError('xz: non-zero block padding');
    if (this.#declaredUncompressed >= 0 && this.#blockUncompressed !== this.#declaredUncompressed)
      throw new XzError('xz: wrong uncompressed size for block');
    if (this.#declaredCompressed >= 0 && this.#blockCompressed !== this.#declaredCompressed)
      throw new XzError('xz: wrong compressed size for block');
    const stored = b.subarray(this.#pos + padding, this.#pos + padding + checkSize);
    if (!(this.#check as Check).digest().equals(stored)) throw new XzError('xz: checksum error for block');
    this.#pos += padding + checkSize;
    this.#records.push([this.#blockHeaderLength + this.#blockCompressed + checkSize, this.#blockUncompressed]);
    this.#phase = 'block-or-index';
    return true;
  }

  /** The index and the stream footer; false (nothing consumed) until all of them are in. */
  #index(): boolean {
    // The index is parsed whole from what has arrived, again after each chunk until it is all in.
    this.#takePending();
    const b = this.#buf;
    const start = this.#pos;
    const end = b.length;
    let at = start + 1;
    const field = (): number | undefined => {
      const v = readUvarint(b, at, end);
      if (v) at = v.next;
      return v?.value;
    };
    const waitOrFail = (): boolean => {
      if (this.#ended) throw new XzError('unexpected end of the xz data: the stream is truncated');
      return false;
    };
    const count = field();
    if (count === undefined) return waitOrFail();
    if (count !== this.#records.length) throw new XzError(`xz: index length is ${count}; want ${this.#records.length}`);
    for (const [unpadded, uncompressed] of this.#records) {
      const u = field();
      const v = u === undefined ? undefined : field();
      if (u === undefined || v === undefined) return waitOrFail();
      if (u !== unpadded || v !== uncompressed) throw new XzError('xz: index record does not match its block');
    }
    const padding = (4 - ((at - start) % 4)) % 4;
    if (end - at < padding + 4 + 12) return waitOrFail();
    for (let i = 0; i < padding; i++) if (b[at + i] !== 0) throw new XzError('xz: non-zero byte in index padding');
    at += padding;
    if (crc32(b.subarray(start, at)) !== b.readUInt32LE(at)) throw new XzError('xz: wrong checksum for index');
    at += 4;
    const footer = b.subarray(at, at + 12);
    if (footer[10] !== 0x59 || footer[11] !== 0x5a) throw new XzError('xz: footer magic invalid');
    if (crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) throw new XzError('xz: footer checksum error');
    if (footer[8] !== 0 || CHECK_SIZES[footer[9] as number] === undefined) throw new XzError('xz: invalid flags');
    if (footer[9] !== this.#streamFlags) throw new XzError('xz: footer flags incorrect');
    if ((footer.readUInt32LE(4) + 1) * 4 !== at - start) throw new XzError('xz: index size in footer wrong');
    this.#pos = at + 12;
    this.#phase = 'stream-padding';
    return true;
  }

  #resetState(): void {
    const literals = 0x300 << (this.#lc + this.#lp);
    if (this.#probs.length !== PROBS_FIXED + literals) this.#probs = new Uint16Array(PROBS_FIXED + literals);
    this.#probs.fill(1024);
    this.#state = 0;
    this.#rep0 = this.#rep1 = this.#rep2 = this.#rep3 = 0;
  }

  /**
   * Decodes one LZMA chunk of `size` bytes from buf[start, limit) into the dictionary, with
   * ulikunitz/xz's rules: a new range decoder (first byte 0), the range normalised after each
   * bit, the chunk done once `size` bytes are out and the range decoder's code is 0 — or the
   * next operation is an end marker. Returns the compressed bytes used.
   */
  #decodeLzma(buf: Uint8Array, start: number, limit: number, size: number): number {
    let inPos = start;
    const nextByte = (): number => {
      if (inPos >= limit) throw CHUNK_OVERRUN;
      return buf[inPos++] as number;
    };
    if (nextByte() !== 0) throw new XzError('newRangeDecoder: first byte not zero');
    let range = 0xffffffff;
    let code = 0;
    for (let i = 0; i < 4; i++) code = ((code << 8) | nextByte()) >>> 0;
    if (code >= range) throw new XzError('newRangeDecoder: d.code >= d.nrange');

    const probs = this.#probs;
    const bit = (index: number): number => {
      const prob = probs[index] as number;
      const bound = (range >>> 11) * prob;
      let result: number;
      if (code < bound) {
        range = bound;
        probs[index] = prob + ((2048 - prob) >>> 5);
        result = 0;
      } else {
        code = (code - bound) >>> 0;
        range = (range - bound) >>> 0;
        probs[index] = prob - (prob >>> 5);
        result = 1;
      }
      if (range < 0x1000000) {
        range = (range << 8) >>> 0;
        code = ((code << 8) | nextByte()) >>> 0;
      }
      return result;
    };
    const direct = (count: number): number => {
      let result = 0;
      for (let i = 0; i < count; i++) {
        range >>>= 1;
        let b = 0;
        if (code >= range) {
          code = (code - range) >>> 0;
          b = 1;
        }
        result = ((result << 1) | b) >>> 0;
        if (range < 0x1000000) {
          range = (range << 8) >>> 0;
          code = ((code << 8) | nextByte()) >>> 0;
        }
      }
      return result;
    };
    const tree = (base: number, bits: number): number => {
      let m = 1;
      for (let i = 0; i < bits; i++) m = (m << 1) | bit(base + m);
      return m - (1 << bits);
    };
    const reverseTree = (base: number, bits: number): number => {
      let m = 1;
      let result = 0;
      for (let i = 0; i < bits; i++) {
        const b = bit(base + m);
        m = (m << 1) | b;
        result |= b << i;
      }
      return result;
    };
    const length = (base: number, posState: number): number => {
      if (bit(base + LEN_CHOICE) === 0) return tree(base + LEN_LOW + (posState << 3), 3);
      if (bit(base + LEN_CHOICE2) === 0) return 8 + tree(base + LEN_MID + (posState << 3), 3);
      return 16 + tree(base + LEN_HIGH, 8);
    };

    const lc = this.#lc;
    const lpMask = (1 << this.#lp) - 1;
    const pbMask = (1 << this.#pb) - 1;
    let state = this.#state;
    let rep0 = this.#rep0;
    let rep1 = this.#rep1;
    let rep2 = this.#rep2;
    let rep3 = this.#rep3;
    this.#reserve(size);
    let dict = this.#dict;
    let pos = this.#dictPos;
    let head = this.#head;
    const cap = this.#dictCap;
    const byteAt = (distance: number): number => {
      if (distance <= 0 || distance > Math.min(head, cap)) return 0;
      let i = pos - distance;
      if (i < 0) i += dict.length;
      return dict[i] as number;
    };
    const put = (b: number): void => {
      if (pos === dict.length) pos = 0;
      dict[pos++] = b;
      head++;
    };
    let decompressed = 0;
    const END = 0xffffffff;

    /** One operation: -1 after a literal or match, -2 at an end marker. */
    const op = (): number => {
      const posState = head & pbMask;
      if (bit(IS_MATCH + (state << 4) + posState) === 0) {
        const prev = byteAt(1);
        const base = LITERAL + 0x300 * (((head & lpMask) << lc) | (prev >>> (8 - lc)));
        let symbol = 1;
        if (state < 7) {
          while (symbol < 0x100) symbol = (symbol << 1) | bit(base + symbol);
        } else {
          let match = byteAt(rep0 + 1);
          while (symbol < 0x100) {
            const matchBit = (match >>> 7) & 1;
            match <<= 1;
            const b = bit(base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | b;
            if (matchBit !== b) {
              while (symbol < 0x100) symbol = (symbol << 1) | bit(base + symbol);
              break;
            }
          }
        }
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        put(symbol & 0xff);
        decompressed++;
        return -1;
      }
      let len: number;
      if (bit(IS_REP + state) === 0) {
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        state = state < 7 ? 7 : 10;
        len = length(LEN_CODER, posState);
        const lenState = len < 3 ? len : 3;
        const slot = tree(POS_SLOT + (lenState << 6), 6);
        if (slot < 4) rep0 = slot;
        else {
          const directBits = (slot >>> 1) - 1;
          let dist = ((2 | (slot & 1)) << directBits) >>> 0;
          if (slot < 14) dist = (dist + reverseTree(SPEC_POS + dist - slot - 1, directBits)) >>> 0;
          else {
            dist = (dist + ((direct(directBits - 4) << 4) >>> 0)) >>> 0;
            dist = (dist + reverseTree(ALIGN, 4)) >>> 0;
          }
          rep0 = dist;
        }
        if (rep0 === END) return -2;
      } else {
        if (bit(IS_REP_G0 + state) === 0) {
          if (bit(IS_REP0_LONG + (state << 4) + posState) === 0) {
            state = state < 7 ? 9 : 11;
            copyMatch(rep0 + 1, 1);
            return -1;
          }
        } else {
          let dist: number;
          if (bit(IS_REP_G1 + state) === 0) dist = rep1;
          else {
            if (bit(IS_REP_G2 + state) === 0) dist = rep2;
            else {
              dist = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        len = length(REP_LEN_CODER, posState);
        state = state < 7 ? 8 : 11;
      }
      copyMatch(rep0 + 1, len + 2);
      return -1;
    };
    const copyMatch = (distance: number, n: number): void => {
      if (distance <= 0 || distance > Math.min(head, cap)) throw new XzError('writeMatch: distance out of range');
      let from = pos - distance;
      if (from < 0) from += dict.length;
      for (let i = 0; i < n; i++) {
        if (from === dict.length) from = 0;
        put(dict[from++] as number);
      }
      decompressed += n;
    };

    try {
      for (;;) {
        if (op() === -2) {
          if (code !== 0) throw new XzError('lzma: data after end of stream marker');
          throw new XzError('lzma: wrong uncompressed data size');
        }
        if (decompressed >= size) {
          if (decompressed > size) throw new XzError('lzma: wrong uncompressed data size');
          // Not at the end of the range coder: only an end marker may follow.
          if (code !== 0 && op() !== -2) throw new XzError('lzma: wrong uncompressed data size');
          break;
        }
      }
    } catch (err) {
      if (err === CHUNK_OVERRUN) throw new XzError('unexpected end of an LZMA2 chunk: the stream is damaged');
      throw err;
    }
    this.#state = state;
    this.#rep0 = rep0;
    this.#rep1 = rep1;
    this.#rep2 = rep2;
    this.#rep3 = rep3;
    this.#dictPos = pos;
    this.#head = head;
    dict = this.#dict;
    return inPos - start;
  }
}

// Offsets of the LZMA probability model in one Uint16Array.
const IS_MATCH = 0;
const IS_REP = IS_MATCH + 12 * 16;
const IS_REP_G0 = IS_REP + 12;
const IS_REP_G1 = IS_REP_G0 + 12;
const IS_REP_G2 = IS_REP_G1 + 12;
const IS_REP0_LONG = IS_REP_G2 + 12;
const POS_SLOT = IS_REP0_LONG + 12 * 16;
const SPEC_POS = POS_SLOT + 4 * 64;
const ALIGN = SPEC_POS + 115;
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + 16 * 8;
const LEN_HIGH = LEN_MID + 16 * 8;
const LEN_SIZE = LEN_HIGH + 256;
const LEN_CODER = ALIGN + 16;
const REP_LEN_CODER = LEN_CODER + LEN_SIZE;
const LITERAL = REP_LEN_CODER + LEN_SIZE;
const PROBS_FIXED = LITERAL;

/** Output buffer size: one buffer per hop to the consumer. */
const OUTPUT_CHUNK = 256 * 1024;

/** xz decoding as a pipeline stage: one fresh output buffer at a time, produced when the consumer asks. */
export async function* xzDecode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = new XzDecoder();
  const drain = function* (): Generator<Buffer> {
    for (;;) {
      const out = Buffer.allocUnsafe(OUTPUT_CHUNK);
      const n = decoder.read(out);
      if (n === 0) return;
      yield out.subarray(0, n);
    }
  };
  for await (const chunk of source) {
    decoder.push(chunk);
    yield* drain();
  }
  decoder.end();
  yield* drain();
  if (!decoder.done) throw new XzError('unexpected end of the xz data: the stream is truncated');
}
