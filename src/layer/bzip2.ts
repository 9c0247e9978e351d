/**
 * A streaming bzip2 decoder: a port of Go's `compress/bzip2`, the reader containers/image and
 * containers/storage apply bzip2 layers with, so that a stream is accepted, refused and decoded
 * exactly as podman does (docs/architecture.md, "Decoders"). Concatenated streams are read on;
 * randomised blocks (bzip2 < 0.9.5) are refused, as Go refuses them.
 *
 * Memory: one block at a time (at most 900 000 symbols, 3.6 MB) plus the compressed input of the
 * block being read (a block is decoded once all its bits are in: a block of 900 000 symbols takes
 * at most 2.3 MB compressed). Output is produced one bounded buffer at a time, after the consumer
 * asked for it, so a block that expands 45-fold through its run-lengths never piles up.
 */

/** A bzip2 stream the decoder refuses (Go's StructuralError, or a truncation). */
export class Bzip2Error extends Error {
  override readonly name = 'Bzip2Error';
}

/** Thrown inside a step when the bits it needs have not arrived yet; the step is run again later. */
const NEED_INPUT: unique symbol = Symbol('need input');

const FILE_MAGIC = 0x425a; // "BZ"
const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const FINAL_MAGIC_HI = 0x177245;
const FINAL_MAGIC_LO = 0x385090;
const INVALID_NODE = 0xffff;

/** The CRC of bzip2 (CRC-32/BZIP2: the IEEE polynomial, most significant bit first). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 24;
    for (let j = 0; j < 8; j++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    table[i] = crc >>> 0;
  }
  return table;
})();

function updateCrc(value: number, bytes: Uint8Array, end: number): number {
  let crc = ~value;
  for (let i = 0; i < end; i++) crc = (CRC_TABLE[((crc >>> 24) ^ (bytes[i] as number)) & 0xff] as number) ^ (crc << 8);
  return ~crc >>> 0;
}

/** A Huffman tree built exactly as Go's newHuffmanTree builds it (so invalid code lengths behave alike). */
class HuffmanTree {
  readonly left: Uint16Array;
  readonly right: Uint16Array;
  readonly leftValue: Uint16Array;
  readonly rightValue: Uint16Array;
  #next = 0;

  constructor(lengths: Uint8Array) {
    const n = lengths.length;
    const pairs = Array.from(lengths, (length, value) => ({ value, length }));
    pairs.sort((a, b) => a.length - b.length || a.value - b.value);
    let code = 0;
    let length = 32;
    const codes: Array<{ code: number; codeLen: number; value: number }> = new Array(n);
    for (let i = n - 1; i >= 0; i--) {
      const pair = pairs[i] as { value: number; length: number };
      if (length > pair.length) length = pair.length;
      codes[i] = { code, codeLen: length, value: pair.value };
      // uint32 arithmetic, as Go's `code += 1 << (32 - length)`.
      code = (code + 2 ** (32 - length)) % 2 ** 32;
    }
    codes.sort((a, b) => a.code - b.code);
    this.left = new Uint16Array(n);
    this.right = new Uint16Array(n);
    this.leftValue = new Uint16Array(n);
    this.rightValue = new Uint16Array(n);
    this.#build(codes, 0, codes.length, 0);
  }

  #build(codes: ReadonlyArray<{ code: number; value: number }>, start: number, end: number, level: number): number {
    const test = 2 ** (31 - level);
    let firstRight = end;
    for (let i = start; i < end; i++) {
      if (Math.floor((codes[i] as { code: number }).code / test) % 2 === 1) {
        firstRight = i;
        break;
      }
    }
    const leftCount = firstRight - start;
    const rightCount = end - firstRight;
    if (leftCount === 0 || rightCount === 0) {
      if (end - start < 2) throw new Bzip2Error('bzip2 data invalid: empty Huffman tree');
      if (level === 31) throw new Bzip2Error('bzip2 data invalid: equal symbols in Huffman tree');
      return leftCount === 0 ? this.#build(codes, firstRight, end, level + 1) : this.#build(codes, start, firstRight, level + 1);
    }
    const index = this.#next++;
    if (leftCount === 1) {
      this.left[index] = INVALID_NODE;
      this.leftValue[index] = (codes[start] as { value: number }).value;
    } else this.left[index] = this.#build(codes, start, firstRight, level + 1);
    if (rightCount === 1) {
      this.right[index] = INVALID_NODE;
      this.rightValue[index] = (codes[firstRight] as { value: number }).value;
    } else this.right[index] = this.#build(codes, firstRight, end, level + 1);
    return index;
  }
}

/** Reads bits, most significant first, from the input buffered so far. */
class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** Buffered bits (the low `bits` bits of `n`). */
  n = 0;
  bits = 0;
  /** No more input will come: running out is a truncation, not a wait. */
  ended = false;

  byte(): number {
    if (this.pos >= this.buf.length) {
      if (this.ended) throw new Bzip2Error('unexpected end of the bzip2 data: the stream is truncated');
      throw NEED_INPUT;
    }
    return this.buf[this.pos++] as number;
  }

  /** Up to 24 bits. */
  read(count: number): number {
    while (this.bits < count) {
      this.n = ((this.n & ((1 << this.bits) - 1)) << 8) | this.byte();
      this.bits += 8;
    }
    this.bits -= count;
    return (this.n >>> this.bits) & ((1 << count) - 1);
  }

  bit(): number {
    if (this.bits === 0) {
      this.n = this.byte();
      this.bits = 8;
    }
    this.bits--;
    return (this.n >>> this.bits) & 1;
  }
}

/** Where the decoder stands between steps. */
type Phase = 'stream-header' | 'between-blocks' | 'block-output' | 'done';

/** The bzip2 decoder, fed input and asked for output in bounded pieces. */
export class Bzip2Decoder {
  readonly #br = new BitReader();
  #phase: Phase = 'stream-header';
  #blockSize = 0;
  #fileCrc = 0;
  #blockCrc = 0;
  #wantBlockCrc = 0;
  #tt = new Uint32Array(0);
  readonly #c = new Uint32Array(256);
  #preRleLength = 0;
  #preRleUsed = 0;
  #tPos = 0;
  #lastByte = -1;
  #byteRepeats = 0;
  #repeats = 0;
  /** Input bytes a waiting step needs before it is worth running again (doubles on each wait). */
  #wanted = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** Adds input. */
  push(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
  }

  /** No more input will come. */
  end(): void {
    this.#br.ended = true;
  }

  /** True once every stream has ended cleanly. */
  get done(): boolean {
    return this.#phase === 'done';
  }

  /**
   * Decodes into `out`: the number of bytes written, 0 when more input is needed first (or the
   * data is done). Throws Bzip2Error for a damaged stream.
   */
  read(out: Uint8Array): number {
    for (;;) {
      if (this.#phase === 'done') return 0;
      if (this.#phase === 'block-output') {
        const n = this.#readFromBlock(out);
        if (n > 0) {
          this.#blockCrc = updateCrc(this.#blockCrc, out, n);
          return n;
        }
        if (this.#blockCrc !== this.#wantBlockCrc) throw new Bzip2Error('bzip2 data invalid: block checksum mismatch');
        this.#phase = 'between-blocks';
        continue;
      }
      if (!this.#step()) return 0;
    }
  }

  /** Runs the next step from a snapshot of the input; false (input restored) when it needs more. */
  #step(): boolean {
    const br = this.#br;
    const available = br.buf.length - br.pos + this.#pendingBytes;
    if (!br.ended && available < this.#wanted) return false;
    this.#takePending();
    const snapshot = { pos: br.pos, n: br.n, bits: br.bits, fileCrc: this.#fileCrc };
    try {
      if (this.#phase === 'stream-header') this.#setup(true);
      else this.#nextBlock();
      this.#wanted = 0;
      return true;
    } catch (err) {
      if (err !== NEED_INPUT) throw err;
      br.pos = snapshot.pos;
      br.n = snapshot.n;
      br.bits = snapshot.bits;
      this.#fileCrc = snapshot.fileCrc;
      this.#wanted = Math.max(2 * (br.buf.length - br.pos), 64 * 1024);
      return false;
    }
  }

  /** Moves pending input behind the unread bytes. */
  #takePending(): void {
    if (this.#pending.length === 0) return;
    const br = this.#br;
    br.buf = Buffer.concat([br.buf.subarray(br.pos), ...this.#pending]);
    br.pos = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #setup(needMagic: boolean): void {
    const br = this.#br;
    if (needMagic && br.read(16) !== FILE_MAGIC) throw new Bzip2Error('bzip2 data invalid: bad magic value');
    if (br.read(8) !== 0x68) throw new Bzip2Error('bzip2 data invalid: non-Huffman entropy encoding');
    const level = br.read(8);
    if (level < 0x31 || level > 0x39) throw new Bzip2Error('bzip2 data invalid: invalid compression level');
    this.#fileCrc = 0;
    this.#blockSize = 100 * 1000 * (level - 0x30);
    if (this.#blockSize > this.#tt.length) this.#tt = new Uint32Array(this.#blockSize);
    this.#phase = 'between-blocks';
  }

  #nextBlock(): void {
    const br = this.#br;
    const hi = br.read(24);
    const lo = br.read(24);
    if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
      this.#readBlock();
      this.#phase = 'block-output';
      return;
    }
    if (hi !== FINAL_MAGIC_HI || lo !== FINAL_MAGIC_LO) throw new Bzip2Error('bzip2 data invalid: bad magic value found');
    const wantFileCrc = ((br.read(16) << 16) | br.read(16)) >>> 0;
    if (this.#fileCrc !== wantFileCrc) throw new Bzip2Error('bzip2 data invalid: file checksum mismatch');
    // The rest of the current byte is padding; then either the end or another stream.
    br.bits = 0;
    if (br.pos >= br.buf.length) {
      if (!br.ended) throw NEED_INPUT;
      this.#phase = 'done';
      return;
    }
    const b = br.byte();
    const z = br.byte();
    if (b !== 0x42 || z !== 0x5a) throw new Bzip2Error('bzip2 data invalid: bad magic value in continuation file');
    this.#setup(false);
  }

  #readBlock(): void {
    const br = this.#br;
    this.#wantBlockCrc = ((br.read(16) << 16) | br.read(16)) >>> 0;
    this.#blockCrc = 0;
    this.#fileCrc = (((this.#fileCrc << 1) | (this.#fileCrc >>> 31)) ^ this.#wantBlockCrc) >>> 0;
    if (br.read(1) !== 0) throw new Bzip2Error('bzip2 data invalid: deprecated randomized files');
    const origPtr = br.read(24);
    const rangesUsed = br.read(16);
    const symbols: number[] = [];
    for (let range = 0; range < 16; range++) {
      if ((rangesUsed & (1 << (15 - range))) === 0) continue;
      const bits = br.read(16);
      for (let s = 0; s < 16; s++) if ((bits & (1 << (15 - s))) !== 0) symbols.push(16 * range + s);
    }
    if (symbols.length === 0) throw new Bzip2Error('bzip2 data invalid: no symbols in input');
    const numTrees = br.read(3);
    if (numTrees < 2 || numTrees > 6) throw new Bzip2Error('bzip2 data invalid: invalid number of Huffman trees');
    const numSelectors = br.read(15);
    const treeIndexes = new Uint8Array(numSelectors);
    const treeMtf = Array.from({ length: numTrees }, (_, i) => i);
    for (let i = 0; i < numSelectors; i++) {
      let c = 0;
      while (br.bit() !== 0) c++;
      if (c >= numTrees) throw new Bzip2Error('bzip2 data invalid: tree index too large');
      const t = treeMtf[c] as number;
      treeMtf.copyWithin(1, 0, c);
      treeMtf[0] = t;
      treeIndexes[i] = t;
    }
    const mtf = Uint8Array.from(symbols);
    const numSymbols = symbols.length + 2; // RUNA and RUNB
    const trees: HuffmanTree[] = [];
    const lengths = new Uint8Array(numSymbols);
    for (let i = 0; i < numTrees; i++) {
      let length = br.read(5);
      for (let j = 0; j < numSymbols; j++) {
        for (;;) {
          if (length < 1 || length > 20) throw new Bzip2Error('bzip2 data invalid: Huffman length out of range');
          if (br.bit() === 0) break;
          length += br.bit() !== 0 ? -1 : 1;
        }
        lengths[j] = length;
      }
      trees.push(new HuffmanTree(lengths));
    }
    if (numSelectors === 0) throw new Bzip2Error('bzip2 data invalid: no tree selectors given');
    let tree = trees[treeIndexes[0] as number] as HuffmanTree;
    let selectorIndex = 1;
    const tt = this.#tt;
    const c = this.#c;
    c.fill(0);
    let bufIndex = 0;
    let repeat = 0;
    let repeatPower = 0;
    let decoded = 0;
    const blockSize = this.#blockSize;
    // The symbol loop reads bits from local copies of the bit reader's state (the hot path).
    const input = br.buf;
    let inPos = br.pos;
    let bitBuf = br.n;
    let bitCount = br.bits;
    for (;;) {
      if (decoded === 50) {
        if (selectorIndex >= numSelectors) throw new Bzip2Error('bzip2 data invalid: insufficient selector indices for number of symbols');
        tree = trees[treeIndexes[selectorIndex] as number] as HuffmanTree;
        selectorIndex++;
        decoded = 0;
      }
      // Huffman decoding, as Go's huffmanTree.Decode: 1 goes left.
      const { left, right, leftValue, rightValue } = tree;
      let node = 0;
      let v: number;
      for (;;) {
        if (bitCount === 0) {
          if (inPos >= input.length) {
            if (br.ended) throw new Bzip2Error('unexpected end of the bzip2 data: the stream is truncated');
            throw NEED_INPUT;
          }
          bitBuf = input[inPos++] as number;
          bitCount = 8;
        }
        bitCount--;
        if (((bitBuf >>> bitCount) & 1) === 1) {
          const next = left[node] as number;
          if (next === INVALID_NODE) {
            v = leftValue[node] as number;
            break;
          }
          node = next;
        } else {
          const next = right[node] as number;
          if (next === INVALID_NODE) {
            v = rightValue[node] as number;
            break;
          }
          node = next;
        }
      }
      decoded++;
      if (v < 2) {
        if (repeat === 0) repeatPower = 1;
        repeat += repeatPower << v;
        repeatPower <<= 1;
        if (repeat > 2 * 1024 * 1024) throw new Bzip2Error('bzip2 data invalid: repeat count too large');
        continue;
      }
      if (repeat > 0) {
        if (repeat > blockSize - bufIndex) throw new Bzip2Error('bzip2 data invalid: repeats past end of block');
        const b = mtf[0] as number;
        tt.fill(b, bufIndex, bufIndex + repeat);
        c[b] = (c[b] as number) + repeat;
        bufIndex += repeat;
        repeat = 0;
      }
      if (v === numSymbols - 1) break;
      let k = v - 1;
      const b = mtf[k] as number;
      // Move to front: a loop for the near positions, memmove for the far ones.
      if (k < 16) for (; k > 0; k--) mtf[k] = mtf[k - 1] as number;
      else mtf.copyWithin(1, 0, k);
      mtf[0] = b;
      if (bufIndex >= blockSize) throw new Bzip2Error('bzip2 data invalid: data exceeds block size');
      tt[bufIndex++] = b;
      c[b] = (c[b] as number) + 1;
    }
    br.pos = inPos;
    br.n = bitBuf;
    br.bits = bitCount;
    if (origPtr >= bufIndex) throw new Bzip2Error('bzip2 data invalid: origPtr out of bounds');
    // The inverse Burrows–Wheeler transform, in place (tt keeps each byte below its link).
    let sum = 0;
    for (let i = 0; i < 256; i++) {
      const ci = c[i] as number;
      c[i] = sum;
      sum += ci;
    }
    for (let i = 0; i < bufIndex; i++) {
      const b = (tt[i] as number) & 0xff;
      const at = c[b] as number;
      tt[at] = ((tt[at] as number) | (i << 8)) >>> 0;
      c[b] = at + 1;
    }
    this.#preRleLength = bufIndex;
    this.#preRleUsed = 0;
    this.#tPos = (tt[origPtr] as number) >>> 8;
    this.#lastByte = -1;
    this.#byteRepeats = 0;
    this.#repeats = 0;
  }

  /** Undoes the initial run-length encoding into `out`, as Go's readFromBlock. */
  #readFromBlock(out: Uint8Array): number {
    const tt = this.#tt;
    const end = out.length;
    const preRleLength = this.#preRleLength;
    let preRleUsed = this.#preRleUsed;
    let tPos = this.#tPos;
    let lastByte = this.#lastByte;
    let byteRepeats = this.#byteRepeats;
    let repeats = this.#repeats;
    let n = 0;
    while ((repeats > 0 || preRleUsed < preRleLength) && n < end) {
      if (repeats > 0) {
        const count = Math.min(repeats, end - n);
        out.fill(lastByte, n, n + count);
        n += count;
        repeats -= count;
        if (repeats === 0) lastByte = -1;
        continue;
      }
      tPos = tt[tPos] as number;
      const b = tPos & 0xff;
      tPos >>>= 8;
      preRleUsed++;
      if (byteRepeats === 3) {
        repeats = b;
        byteRepeats = 0;
        continue;
      }
      if (lastByte === b) byteRepeats++;
      else byteRepeats = 0;
      lastByte = b;
      out[n++] = b;
    }
    this.#preRleUsed = preRleUsed;
    this.#tPos = tPos;
    this.#lastByte = lastByte;
    this.#byteRepeats = byteRepeats;
    this.#repeats = repeats;
    return n;
  }
}

/** Output buffer size: one buffer per hop to the consumer. */
const OUTPUT_CHUNK = 256 * 1024;

/** bzip2 decoding as a pipeline stage: one fresh output buffer at a time, produced when the consumer asks. */
export async function* bzip2Decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = new Bzip2Decoder();
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
  if (!decoder.done) throw new Bzip2Error('unexpected end of the bzip2 data: the stream is truncated');
}
