/**
 * A push-style tar reader with the semantics of Go's `archive/tar` `Reader.Next` (reader.go):
 * the reader Docker, containerd, podman, buildah and CRI-O apply layers with. Why our own and
 * not tar-stream: tar-stream skips "content" of links and FIFOs that Go treats as header-only
 * (hiding the next member), reads base-256 modes and PAX/GNU precedence differently, leaks
 * global headers into the next entry, knows no sparse formats and reports members after the
 * end-of-archive marker. Any such difference lets a layer hide a file from the scanner that
 * the runtime extracts (docs/security.md, "Tar parity"); a differential test against Go's own
 * reader (test/fuzz/tar-differential.test.ts) keeps the two in step.
 *
 * Bytes are pushed with `write`; each entry is announced to the handler, which may return a
 * sink for its (logical) content. Everything is synchronous, so a layer costs no promise per
 * entry. Errors are thrown as `TarFormatError` where Go's reader (or reading an entry's
 * content, as a runtime does) fails.
 */
import {
  BLOCK_SIZE,
  MAX_SPECIAL_FILE_SIZE,
  TarFormatError,
  blockPadding,
  decodeHeader,
  isHeaderOnlyType,
  isZeroBlock,
  mergePax,
  oldGnuSparseEntries,
  parseNumeric,
  parsePax,
  parseSparseMap1x0,
  parseString,
  paxSparse,
  toNumber,
  validSparseEntries,
  type PaxRecords,
  type RawHeader,
  type SparseEntry,
} from './headers.js';

export { TarFormatError } from './headers.js';

/** One entry as Go's `Reader.Next` returns it. */
export interface TarHeader {
  /** Go's `Header.Name` after PAX, GNU long-name and GNU sparse renames; not normalised. */
  readonly name: string;
  readonly linkname: string;
  /** One character, as Go's `Header.Typeflag` (`'\0'` already converted to `'0'` or `'5'`). */
  readonly typeflag: string;
  /** Go's `Header.Mode & 0o7777`: permissions with setuid, setgid and sticky bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Go's `Header.Size`: the logical size (for sparse files, the expanded size). */
  readonly size: number;
  /** Offset in the tar stream where this entry's data bytes begin. */
  readonly dataOffset: number;
  /** Bytes of data stored in the stream for this entry (0 for header-only types). */
  readonly dataSize: number;
  /** True for a GNU sparse file: its content has holes that `dataSize` does not store. */
  readonly sparse: boolean;
  /** The `security.capability` xattr (PAX `SCHILY.xattr.security.capability`), raw bytes: runtimes set it on the file. */
  readonly capability: Buffer | undefined;
}

/** Receives the logical content of one entry. */
export interface EntrySink {
  /** Logical bytes wanted: a sparse file's content past this is not produced. */
  readonly limit?: number;
  write(chunk: Buffer): void;
  /** Called once after the last byte. */
  end(): void;
}

/** Told about each entry; returns a sink to receive its content, or undefined to skip it. */
export interface TarHandler {
  entry(header: TarHeader): EntrySink | undefined;
}

type State =
  | 'header'
  | 'zero' // one zero block seen; a second one ends the archive
  | 'special' // content of an x/g/L/K header
  | 'sparse-ext' // old GNU sparse extension blocks
  | 'sparse-map' // GNU sparse 1.0 map at the start of the data
  | 'data'
  | 'pad'
  | 'done'
  | 'failed';

/** A header being assembled across the metadata entries that precede it. */
interface Pending {
  pax?: PaxRecords;
  longName?: string;
  longLink?: string;
}

/** Mutable form of a header while it is assembled (the PAX, long-name and sparse overrides applied). */
interface Building extends Omit<RawHeader, 'format'> {
  /** Data bytes stored for the entry. */
  physical: number;
  headerOffset: number;
  sparseMap?: SparseEntry[];
  capability?: Buffer;
}

const MAX_SPARSE_MAP_BYTES = MAX_SPECIAL_FILE_SIZE;
/** The old GNU sparse area of a header: 4 entries of 24 bytes and the is-extended byte. */
const OLD_GNU_HEADER_MAP_BYTES = 4 * 24 + 1;

/** Go's archive/tar reader, fed by pushes. */
export class TarReader {
  readonly #handler: TarHandler;
  #state: State = 'header';
  /** Bytes consumed from the stream so far (skipped bytes included). */
  #position = 0;
  /** Partial block or special-file content being gathered. */
  #buf: Buffer[] = [];
  #buffered = 0;
  /** Bytes still wanted in the current state. */
  #want = 0;
  #pending: Pending = {};
  #special: { typeflag: string; header: RawHeader; offset: number } | undefined;
  #building: Building | undefined;
  #sparseExtended: SparseEntry[] = [];
  /** Bytes of old GNU sparse map read so far: the header's 97-byte area, then 512 per extension block. */
  #sparseExtBytes = 0;
  #mapNewlines = 0;
  #mapNeed = 1;
  #sink: EntrySink | undefined;
  /** For a sparse entry with a sink: the physical data, expanded at the end. */
  #sparseData: Buffer[] | undefined;
  /** The map of that sparse entry. */
  #sparseMap: SparseEntry[] = [];
  /** Logical bytes of a sparse entry to produce for its sink. */
  #sparseSize = 0;
  /** Stored bytes of a sparse entry still worth keeping for its sink. */
  #sparseKeep = 0;
  #pad = 0;
  #error: TarFormatError | undefined;

  constructor(handler: TarHandler) {
    this.#handler = handler;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#position;
  }

  /** True once the end-of-archive marker was read: later bytes are ignored, as Go ignores them. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Bytes the caller may skip instead of pushing (the rest of a skipped entry's data and its
   * padding): a caller reading a file can seek past them. 0 when the next bytes are needed.
   */
  get skippable(): number {
    if (this.#state === 'data' && this.#sink === undefined && this.#sparseData === undefined) return this.#want + this.#pad;
    if (this.#state === 'pad') return this.#want;
    return 0;
  }

  /** Skips `n` bytes (at most `skippable`) as if they had been pushed. */
  skip(n: number): void {
    if (n > this.skippable) throw new RangeError(`cannot skip ${n} bytes here`);
    let left = n;
    if (this.#state === 'data') {
      const d = Math.min(left, this.#want);
      this.#want -= d;
      this.#position += d;
      left -= d;
      if (this.#want === 0) this.#finishData();
    }
    if (left > 0 && this.#state === 'pad') {
      this.#want -= left;
      this.#position += left;
      if (this.#want === 0) this.#state = 'header';
    }
  }

  /** Pushes the next bytes of the stream. Throws `TarFormatError` where Go's reader fails. */
  write(chunk: Buffer): void {
    if (this.#error) throw this.#error;
    try {
      this.#consume(chunk);
    } catch (err) {
      if (err instanceof TarFormatError) {
        this.#error = err;
        this.#state = 'failed';
      }
      throw err;
    }
  }

  /**
   * Signals the end of the stream. Like Go: an end at a header boundary or inside the padding
   * after an entry is a clean end (no end-of-archive marker needed); anywhere else the data
   * is truncated.
   */
  end(): void {
    if (this.#error) throw this.#error;
    const clean = (this.#state === 'header' || this.#state === 'zero') && this.#buffered === 0;
    if (clean || this.#state === 'pad' || this.#state === 'done') {
      this.#state = 'done';
      return;
    }
    this.#error = new TarFormatError(`unexpected end of tar data at byte ${this.#position}: the layer is truncated`);
    this.#state = 'failed';
    throw this.#error;
  }

  #consume(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.#state) {
        case 'done':
          this.#position += len - off;
          return;
        case 'failed':
          throw this.#error ?? new TarFormatError('tar reader failed');
        case 'data': {
          const n = Math.min(this.#want, len - off);
          if (n > 0) {
            const piece = chunk.subarray(off, off + n);
            if (this.#sparseData) {
              if (this.#sparseKeep > 0) {
                this.#sparseData.push(Buffer.from(piece.subarray(0, this.#sparseKeep)));
                this.#sparseKeep -= Math.min(piece.length, this.#sparseKeep);
              }
            } else {
              this.#sink?.write(piece);
            }
            this.#want -= n;
            this.#position += n;
            off += n;
          }
          if (this.#want === 0) this.#finishData();
          break;
        }
        case 'pad': {
          const n = Math.min(this.#want, len - off);
          this.#want -= n;
          this.#position += n;
          off += n;
          if (this.#want === 0) this.#state = 'header';
          break;
        }
        case 'header':
        case 'zero':
        case 'sparse-ext': {
          // Whole blocks straight from the chunk when possible (no copy).
          let block: Buffer;
          if (this.#buffered === 0 && len - off >= BLOCK_SIZE) {
            block = chunk.subarray(off, off + BLOCK_SIZE);
            off += BLOCK_SIZE;
          } else {
            const n = Math.min(BLOCK_SIZE - this.#buffered, len - off);
            this.#gather(chunk.subarray(off, off + n));
            off += n;
            this.#position += n;
            if (this.#buffered < BLOCK_SIZE) continue;
            this.#position -= BLOCK_SIZE;
            block = this.#take();
          }
          const at = this.#position;
          this.#position += BLOCK_SIZE;
          if (this.#state === 'sparse-ext') this.#onSparseExtension(block, at);
          else this.#onBlock(block, at);
          break;
        }
        case 'special':
        case 'sparse-map': {
          const n = Math.min(this.#want, len - off);
          this.#gather(chunk.subarray(off, off + n));
          if (this.#state === 'sparse-map') this.#mapNewlines += countNewlines(chunk, off, off + n);
          this.#want -= n;
          this.#position += n;
          off += n;
          if (this.#state === 'special' && this.#want === 0) this.#onSpecial();
          else if (this.#state === 'sparse-map') this.#onSparseMapBytes();
          break;
        }
      }
    }
  }

  #gather(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#buf.push(Buffer.from(piece));
    this.#buffered += piece.length;
  }

  #take(): Buffer {
    const out = this.#buf.length === 1 ? (this.#buf[0] as Buffer) : Buffer.concat(this.#buf, this.#buffered);
    this.#buf = [];
    this.#buffered = 0;
    return out;
  }

  /** A header block (or the second half of the end marker). */
  #onBlock(block: Buffer, at: number): void {
    if (isZeroBlock(block)) {
      if (this.#state === 'zero') {
        this.#state = 'done';
        return;
      }
      this.#state = 'zero';
      return;
    }
    if (this.#state === 'zero') throw new TarFormatError(`invalid tar header at byte ${at} (data after a zero block)`);
    const raw = decodeHeader(block, at);
    // Go's first handleRegularFile: a negative size is an error even on metadata headers.
    const physical = isHeaderOnlyType(raw.typeflag) ? 0 : raw.size;
    if (physical < 0) throw new TarFormatError(`invalid tar header at byte ${at} (negative size)`);
    switch (raw.typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        if (physical > MAX_SPECIAL_FILE_SIZE)
          throw new TarFormatError(`tar metadata record at byte ${at} is larger than ${MAX_SPECIAL_FILE_SIZE} bytes`);
        this.#special = { typeflag: raw.typeflag, header: raw, offset: at };
        this.#pad = blockPadding(physical);
        this.#state = 'special';
        this.#want = physical;
        if (physical === 0) this.#onSpecial();
        return;
      default:
        this.#onFileHeader(raw, block, at);
    }
  }

  /** The content of an x/g/L/K header is complete. */
  #onSpecial(): void {
    const special = this.#special;
    if (!special) return;
    this.#special = undefined;
    const data = this.#take();
    const { typeflag, header, offset } = special;
    if (typeflag === 'x' || typeflag === 'g') {
      const records = parsePax(data, offset);
      if (typeflag === 'g') {
        // Go returns a global header to its caller as an entry of its own (runtimes ignore
        // it) and starts the next entry afresh: neither its records nor any pending ones
        // apply to the following member.
        // Go ignores mergePAX's error here; only the name is surfaced.
        const hdr = { name: header.name, linkname: '', uid: 0, gid: 0, size: 0 };
        const path = records.get('path');
        if (path !== undefined && path !== '') hdr.name = path;
        this.#pending = {};
        this.#toPad();
        this.#handler.entry({
          name: hdr.name,
          linkname: '',
          typeflag: 'g',
          mode: 0,
          uid: 0,
          gid: 0,
          size: 0,
          dataOffset: offset + BLOCK_SIZE,
          dataSize: 0,
          sparse: false,
          capability: undefined,
        });
        return;
      }
      this.#pending.pax = records;
    } else {
      const text = parseString(data, 0, data.length);
      if (typeflag === 'L') this.#pending.longName = text;
      else this.#pending.longLink = text;
    }
    this.#toPad();
  }

  #toPad(): void {
    this.#want = this.#pad;
    this.#pad = 0;
    this.#state = this.#want > 0 ? 'pad' : 'header';
  }

  /** A file (non-metadata) header: Go's `next()` default branch. */
  #onFileHeader(raw: RawHeader, block: Buffer, at: number): void {
    const pending = this.#pending;
    this.#pending = {};
    const building: Building = {
      name: raw.name,
      linkname: raw.linkname,
      typeflag: raw.typeflag,
      mode: raw.mode,
      uid: raw.uid,
      gid: raw.gid,
      size: raw.size,
      sizeExact: raw.sizeExact,
      physical: 0,
      headerOffset: at,
    };
    mergePax(building, pending.pax, at);
    if (pending.longName !== undefined && pending.longName !== '') building.name = pending.longName;
    if (pending.longLink !== undefined && pending.longLink !== '') building.linkname = pending.longLink;
    if (building.typeflag === '\0') building.typeflag = building.name.endsWith('/') ? '5' : '0';
    const typeflag = building.typeflag;
    const physical = isHeaderOnlyType(typeflag) ? 0 : building.size;
    if (physical < 0) throw new TarFormatError(`invalid tar header at byte ${at} (negative size)`);
    building.physical = physical;
    this.#pad = blockPadding(physical);

    if (typeflag === 'S') {
      // Old GNU sparse: the map is in the header and in extension blocks before the data.
      if (raw.format !== 'gnu') throw new TarFormatError(`invalid tar header at byte ${at} (sparse entry not in GNU format)`);
      const real = parseNumeric(block, 483, 12);
      if (real === undefined) throw new TarFormatError(`invalid GNU sparse header at byte ${at}`);
      building.size = toNumber(real);
      building.sizeExact = BigInt(real);
      this.#sparseExtended = oldGnuSparseEntries(block, 386, 4, at);
      this.#sparseExtBytes = OLD_GNU_HEADER_MAP_BYTES;
      this.#building = building;
      if ((block[482] ?? 0) > 0) {
        this.#state = 'sparse-ext';
        return;
      }
      this.#startSparse(this.#sparseExtended);
      return;
    }

    const sparse = paxSparse(pending.pax, at);
    if (sparse.kind !== 'none') {
      if (sparse.name !== undefined) building.name = sparse.name;
      if (sparse.size !== undefined) {
        building.size = toNumber(sparse.size);
        building.sizeExact = sparse.size;
      }
    }
    this.#building = building;
    if (sparse.kind === '0.x') {
      this.#startSparse(sparse.map);
      return;
    }
    if (sparse.kind === '1.0') {
      // The map is at the start of the entry's data, in whole blocks.
      this.#state = 'sparse-map';
      this.#want = Math.min(building.physical, MAX_SPARSE_MAP_BYTES);
      this.#mapNewlines = 0;
      this.#mapNeed = 1;
      if (this.#want === 0) this.#onSparseMapBytes();
      return;
    }
    this.#startData(building, undefined);
  }

  #onSparseExtension(block: Buffer, at: number): void {
    // Go (since the CVE-2025-58183 fix) stops once the map reaches 1 MiB, as for the 1.0 map:
    // otherwise extension blocks could grow the map without bound.
    this.#sparseExtBytes += BLOCK_SIZE;
    if (this.#sparseExtBytes >= MAX_SPARSE_MAP_BYTES) {
      throw new TarFormatError(
        `GNU sparse map of the entry at byte ${this.#building?.headerOffset ?? at} is larger than ${MAX_SPARSE_MAP_BYTES} bytes`,
      );
    }
    this.#sparseExtended.push(...oldGnuSparseEntries(block, 0, 21, at));
    if ((block[504] ?? 0) > 0) return; // another extension block follows
    this.#startSparse(this.#sparseExtended);
  }

  /** More bytes of a GNU sparse 1.0 map have arrived (whole blocks matter, as Go reads blocks). */
  #onSparseMapBytes(): void {
    const building = this.#building;
    if (!building) return;
    const wholeBlocks = Math.floor(this.#buffered / BLOCK_SIZE) * BLOCK_SIZE;
    const exhausted = this.#want === 0;
    if (this.#mapNewlines >= this.#mapNeed && wholeBlocks > 0) {
      const data = Buffer.concat(this.#buf, this.#buffered);
      const parsed = parseSparseMap1x0(data.subarray(0, wholeBlocks), building.headerOffset);
      if ('map' in parsed) {
        // Bytes gathered beyond the map's blocks are the start of the data: replay them.
        const extra = data.subarray(parsed.consumed);
        this.#buf = [];
        this.#buffered = 0;
        building.physical -= parsed.consumed;
        this.#position -= extra.length;
        this.#startSparse(parsed.map);
        if (extra.length > 0) this.#consume(extra);
        return;
      }
      this.#mapNeed = parsed.need;
    }
    if (exhausted) {
      if (building.physical > MAX_SPARSE_MAP_BYTES)
        throw new TarFormatError(
          `GNU sparse map of the entry at byte ${building.headerOffset} is larger than ${MAX_SPARSE_MAP_BYTES} bytes`,
        );
      throw new TarFormatError(`unexpected end of the GNU sparse map of the entry at byte ${building.headerOffset}`);
    }
  }

  #startSparse(map: SparseEntry[]): void {
    const building = this.#building;
    if (!building) return;
    if (isHeaderOnlyType(building.typeflag) || !validSparseEntries(map, building.sizeExact)) {
      throw new TarFormatError(`invalid GNU sparse map for the entry at byte ${building.headerOffset}`);
    }
    building.sparseMap = map;
    this.#startData(building, map);
  }

  /** Announces the entry and moves to its data. */
  #startData(building: Building, map: SparseEntry[] | undefined): void {
    this.#building = undefined;
    const header: TarHeader = {
      name: building.name,
      linkname: building.linkname,
      typeflag: building.typeflag,
      mode: building.mode,
      uid: building.uid,
      gid: building.gid,
      size: building.size,
      dataOffset: this.#position,
      dataSize: building.physical,
      sparse: map !== undefined,
      capability: building.capability,
    };
    this.#sink = this.#handler.entry(header);
    if (map !== undefined) {
      // Reading a sparse file's content fails in Go when the stored data is not exactly
      // what the map's fragments add up to; runtimes read it, so the layer fails.
      const stored = map.reduce((sum, e) => sum + e.length, 0n);
      if (stored !== BigInt(building.physical))
        throw new TarFormatError(
          `GNU sparse entry ${JSON.stringify(building.name)} at byte ${building.headerOffset} stores ${building.physical} bytes but its map needs ${stored}`,
        );
      if (this.#sink) {
        this.#sparseData = [];
        this.#sparseMap = map;
        // The first `limit` logical bytes never need more than the first `limit` stored ones.
        this.#sparseSize = Math.min(building.size, this.#sink.limit ?? building.size);
        this.#sparseKeep = this.#sparseSize;
      }
    }
    this.#state = 'data';
    this.#want = building.physical;
    if (this.#want === 0) this.#finishData();
  }

  #finishData(): void {
    if (this.#sparseData && this.#sink) {
      this.#sink.write(expandSparse(Buffer.concat(this.#sparseData), this.#sparseMap, this.#sparseSize));
    }
    this.#sparseData = undefined;
    this.#sink?.end();
    this.#sink = undefined;
    this.#toPad();
  }
}

function countNewlines(chunk: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = chunk.indexOf(0x0a, from); i >= 0 && i < to; i = chunk.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** The first `size` logical bytes of a sparse file: stored fragments at their offsets, zeros in the holes. */
function expandSparse(stored: Buffer, map: readonly SparseEntry[], size: number): Buffer {
  const out = Buffer.alloc(size);
  let from = 0;
  for (const e of map) {
    if (e.offset >= BigInt(size) || from >= stored.length) break;
    const length = Number(e.length);
    stored.copy(out, Number(e.offset), from, Math.min(stored.length, from + length));
    from += length;
  }
  return out;
}

/** Reads a whole tar held in memory as Go's archive/tar would, reading every entry's content as a runtime does. */
export function listTar(bytes: Uint8Array): { entries: TarHeader[]; error?: string } {
  const entries: TarHeader[] = [];
  const reader = new TarReader({
    entry(h) {
      entries.push(h);
      return undefined;
    },
  });
  try {
    reader.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    reader.end();
    return { entries };
  } catch (err) {
    if (err instanceof TarFormatError) return { entries, error: err.message };
    throw err;
  }
}
