/**
 * Resume records (docs/audit.md, "Resuming"): after an image's legacy report is in place, a
 * record of it is appended to this run's journal in `<reports-dir>/.oci-scan-audit/` — one
 * line per reference and manifest digest, written after the report was renamed into place (so
 * a record never names a report that is not there). Each process appends to a file of its own
 * (shards may share the directory), one write per line; a process killed mid-write leaves at
 * most a broken last line, which reads as no record. A later run with the same reports
 * directory indexes every journal and skips a reference whose record for the digest its tag
 * resolves to now is complete: it parses, matches its schema, names that reference and digest,
 * and its reports exist. Anything else is not complete, and the image is scanned again. One
 * journal line per image rather than one file: creating a file costs far more than appending
 * a line (up to a millisecond on a virtual disk, a round trip on a network volume). A record
 * is what the reports directory already says, not a secret: it is written with the report's
 * mode.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OciScanError } from '../errors.js';
import type { Platform } from '../image/platform.js';
import type { Image, ImageName } from '../image/types.js';
import type { ReportResult, ScannedImage } from '../report/model.js';
import type { ImageScan } from '../scan.js';
import { assertValidDocument } from '../report/validate.js';
import { canonicalJson } from '../store/facts-store.js';
import type { SummaryImage } from './summary.js';
import { isSummaryImage } from './validate.js';

/** The folder of the records inside the reports directory. */
export const RECORDS_DIR = '.oci-scan-audit';
const RECORD_FORMAT = 'oci-scan-audit-record/2';
/** A record holds one image's results (bounded by the recorder's caps); refuse anything far larger. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** One image (platform) of a record: its summary entry and what the whole-audit formats need. */
export interface RecordedImage {
  readonly entry: SummaryImage;
  readonly name: ImageName;
  readonly manifestDigest?: string;
  readonly indexDigest?: string;
  readonly configDigest: string;
  readonly platform?: Platform;
  readonly results: readonly ReportResult[];
}

/** The record of one reference scanned at one digest. */
export interface AuditRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly reference: string;
  readonly digest: string;
  /** The verdict key of the run that scanned it (`verdictKey`): a record is reused only by a run with the same one. */
  readonly verdict: string;
  readonly images: readonly RecordedImage[];
}

/** What, besides an image's bytes, decides its verdict: a record made under anything else is not reused. */
export interface VerdictInputs {
  /** oci-scan's version: a newer one may judge the same bytes differently. */
  readonly toolVersion: string;
  /** The policy object as loaded (undefined: none). */
  readonly policy?: unknown;
  /** The checks run, in order, with their severities (the policy's rules applied, `--checks`). */
  readonly checks: readonly { readonly id: string; readonly severity: string }[];
  /** The platform choice (`linux/amd64`, `all`, …). */
  readonly platform: string;
  readonly allowUnscannedLayers: boolean;
  /** Indexes of the policy's acceptances that have expired by the run's date (an expiry changes the verdict). */
  readonly expiredAcceptances: readonly number[];
}

/** The verdict key of a run: the sha256 (hex) of everything in `inputs`. */
export function verdictKey(inputs: VerdictInputs): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

/**
 * The key of `reference` at `digest` in a journal: the sha256 of both, in hex. The verdict key is
 * checked inside the record: the newest record of a reference and digest is the one its report
 * came from, whatever it was made under.
 */
export function recordKey(reference: string, digest: string): string {
  return createHash('sha256').update(`${reference}\n${digest}`).digest('hex');
}

/** A journal file's name pattern: `records-<pid>-<random>.jsonl`. */
const JOURNAL = /^records-[0-9]+-[0-9a-f]{12}\.jsonl$/;
/** Bytes of a line before its record: the key and a space. */
const KEY_PREFIX = 65;

/** A record of `reference` at `digest`, scanned under `verdict`, for its scanned images. */
export function makeRecord(reference: string, digest: string, verdict: string, images: readonly RecordedImage[]): AuditRecord {
  return { format: RECORD_FORMAT, reference, digest, verdict, images };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `doc` when it is a record of `reference` at `digest` made under `verdict` whose parts match their schemas (an untrusted record read back: a journal line, a cached verdict), else undefined. */
export function recordOf(doc: unknown, reference: string, digest: string, verdict: string): AuditRecord | undefined {
  return isRecordOf(doc, reference, digest, verdict) ? doc : undefined;
}

/** True when `doc` is a record of `reference` at `digest` (under `verdict`, when given) whose parts match their schemas. */
function isRecordOf(doc: unknown, reference: string, digest: string, verdict: string | undefined): doc is AuditRecord {
  if (
    !isObject(doc) ||
    doc['format'] !== RECORD_FORMAT ||
    doc['reference'] !== reference ||
    doc['digest'] !== digest ||
    typeof doc['verdict'] !== 'string'
  )
    return false;
  if (verdict !== undefined && doc['verdict'] !== verdict) return false;
  const images = doc['images'];
  if (!Array.isArray(images) || images.length === 0) return false;
  return images.every((i: unknown) => {
    if (
      !isObject(i) ||
      !isSummaryImage(i['entry']) ||
      !isObject(i['name']) ||
      typeof i['configDigest'] !== 'string' ||
      !Array.isArray(i['results'])
    )
      return false;
    if (i['entry'].reference !== reference || i['entry'].report === null) return false;
    try {
      assertValidDocument('report', { [reference]: i['results'] });
      return true;
    } catch {
      return false;
    }
  });
}

/** This run's journal: records appended one line at a time to a file of its own, created on the first. */
export class RecordJournal {
  readonly #file: string;
  #fd: number | undefined;

  constructor(reportsDir: string) {
    this.#file = join(reportsDir, RECORDS_DIR, `records-${process.pid}-${randomBytes(6).toString('hex')}.jsonl`);
  }

  /** Appends `record` as one line, in one write; throws REPORT_WRITE when the directory cannot take it. */
  append(record: AuditRecord): void {
    const line = Buffer.from(`${recordKey(record.reference, record.digest)} ${JSON.stringify(record)}\n`);
    try {
      this.#fd ??= openSync(this.#file, 'a', 0o644);
      for (let at = 0; at < line.length;) at += writeSync(this.#fd, line, at, line.length - at);
    } catch (err) {
      throw new OciScanError(
        'REPORT_WRITE',
        `cannot write the audit record ${this.#file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check that the reports directory is writable and the disk is not full`,
        { cause: err },
      );
    }
  }

  /** Closes the file (a later append opens it again). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Where a record's line is: its journal, the offset of its JSON and the JSON's length. */
interface RecordLine {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/** Calls `line` with the key and the JSON's place of every whole line of the journal `file` (read in 1 MiB pieces). */
function scanJournal(file: string, line: (key: string, offset: number, length: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    let head = '';
    let lineStart = 0;
    for (let position = 0; ;) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) return; // a last line without its newline was cut short: no record
      for (let from = 0; from < read;) {
        const nl = buffer.indexOf(10, from);
        const end = nl < 0 || nl >= read ? read : nl;
        if (head.length < KEY_PREFIX) head += buffer.toString('latin1', from, Math.min(end, from + KEY_PREFIX - head.length));
        if (end === read) break;
        const length = position + end - lineStart - KEY_PREFIX;
        if (head.length === KEY_PREFIX && head[KEY_PREFIX - 1] === ' ' && length > 0 && length <= MAX_RECORD_BYTES)
          line(head.slice(0, KEY_PREFIX - 1), lineStart + KEY_PREFIX, length);
        head = '';
        lineStart = position + end + 1;
        from = end + 1;
      }
      position += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** The records of every journal of a reports directory, found by reference and digest. */
export class RecordIndex {
  readonly #reportsDir: string;
  readonly #lines = new Map<string, RecordLine>();

  private constructor(reportsDir: string) {
    this.#reportsDir = reportsDir;
  }

  /** Indexes every journal in `reportsDir` (none: an empty index); unreadable journals are skipped. */
  static load(reportsDir: string): RecordIndex {
    const index = new RecordIndex(reportsDir);
    const dir = join(reportsDir, RECORDS_DIR);
    let files: string[];
    try {
      // Oldest first, so that a later run's record of a reference (--fresh, or a newer oci-scan
      // into the same directory: its report replaced the older one) is the one kept.
      files = readdirSync(dir)
        .filter((n) => JOURNAL.test(n))
        .map((n) => ({ file: join(dir, n), at: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
        .sort((a, b) => a.at - b.at || a.file.localeCompare(b.file))
        .map((f) => f.file);
    } catch {
      return index;
    }
    for (const file of files) {
      try {
        scanJournal(file, (key, offset, length) => index.#lines.set(key, { file, offset, length }));
      } catch {
        // Unreadable (gone meanwhile, no permission): its images are scanned again.
      }
    }
    return index;
  }

  /** How many records the journals hold (by reference and digest). */
  get size(): number {
    return this.#lines.size;
  }

  /**
   * The newest complete record of `reference` at `digest`, made under `verdict` when one is given
   * (a run reuses only those), else under any (`audit merge` reads what a shard recorded); or
   * undefined (none, made under another policy, checks, platform or version, unreadable,
   * damaged, or a report gone).
   */
  complete(reference: string, digest: string, verdict?: string): AuditRecord | undefined {
    const at = this.#lines.get(recordKey(reference, digest));
    if (!at) return undefined;
    try {
      const bytes = Buffer.alloc(at.length);
      const fd = openSync(at.file, 'r');
      try {
        if (readSync(fd, bytes, 0, at.length, at.offset) !== at.length) return undefined;
      } finally {
        closeSync(fd);
      }
      const doc: unknown = JSON.parse(bytes.toString('utf8'));
      if (!isRecordOf(doc, reference, digest, verdict)) return undefined;
      for (const image of doc.images) {
        if (!statSync(join(this.#reportsDir, image.entry.report ?? ''), { throwIfNoEntry: false })?.isFile()) return undefined;
      }
      return doc;
    } catch {
      return undefined;
    }
  }
}

/**
 * A recorded image as the report formats read it. Its layers cannot be opened: the formats
 * need their digests only.
 */
export function recordedScan(image: RecordedImage): ScannedImage {
  const stub: Image = {
    name: image.name,
    ...(image.manifestDigest !== undefined ? { manifestDigest: image.manifestDigest } : {}),
    ...(image.indexDigest !== undefined ? { indexDigest: image.indexDigest } : {}),
    configDigest: image.configDigest,
    ...(image.platform ? { platform: image.platform } : {}),
    config: {},
    layers: image.entry.layers.map((digest) => ({
      digest,
      mediaType: '',
      size: -1,
      open: () => Promise.reject(new Error(`layer ${digest} of a recorded image is not readable`)),
    })),
  };
  return { image: stub, results: image.results, highest: image.entry.highest ?? 'Informational' };
}

/** A recorded image as an image scan whose legacy report can be written again (a cached or attested verdict): results and report from the record, the image a stub. */
export function recordedImageScan(image: RecordedImage): ImageScan {
  return { ...recordedScan(image), results: [...image.results], report: { [image.name.display]: [...image.results] } };
}
