/**
 * Resume records (docs/audit.md, "Resuming"): after an image's legacy report is in place, a
 * record of it goes to `<reports-dir>/.oci-scan-audit/`, one file per reference and manifest
 * digest, renamed into place after the report (so a record never names a report that is not
 * there). A later run with the same reports directory skips a reference whose record for the
 * digest its tag resolves to now is complete: it parses, matches its schema, names that
 * reference and digest, and its reports exist. Anything else is not complete, and the image is
 * scanned again. A record is what the reports directory already says, not a secret: it is
 * written with the report's mode.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from '../image/platform.js';
import type { Image, ImageName } from '../image/types.js';
import type { ReportResult, ScannedImage } from '../report/model.js';
import { assertValidDocument } from '../report/validate.js';
import type { SummaryImage } from './summary.js';
import { isSummaryImage } from './validate.js';

/** The folder of the records inside the reports directory. */
export const RECORDS_DIR = '.oci-scan-audit';
const RECORD_FORMAT = 'oci-scan-audit-record/1';
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
  readonly images: readonly RecordedImage[];
}

/** The record file of `reference` at `digest`, relative to the reports directory. */
export function recordPath(reference: string, digest: string): string {
  return join(RECORDS_DIR, `${createHash('sha256').update(`${reference}\n${digest}`).digest('hex')}.json`);
}

/** A record of `reference` at `digest` for its scanned images. */
export function makeRecord(reference: string, digest: string, images: readonly RecordedImage[]): AuditRecord {
  return { format: RECORD_FORMAT, reference, digest, images };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `doc` is a record of `reference` at `digest` whose parts match their schemas. */
function isRecordOf(doc: unknown, reference: string, digest: string): doc is AuditRecord {
  if (!isObject(doc) || doc['format'] !== RECORD_FORMAT || doc['reference'] !== reference || doc['digest'] !== digest) return false;
  const images = doc['images'];
  if (!Array.isArray(images) || images.length === 0) return false;
  return images.every((i: unknown) => {
    if (!isObject(i) || !isSummaryImage(i['entry']) || !isObject(i['name']) || typeof i['configDigest'] !== 'string' || !Array.isArray(i['results'])) return false;
    if (i['entry'].reference !== reference || i['entry'].report === null) return false;
    try {
      assertValidDocument('report', { [reference]: i['results'] });
      return true;
    } catch {
      return false;
    }
  });
}

/** The complete record of `reference` at `digest` in `reportsDir`, or undefined (missing, unreadable, damaged, or a report gone). */
export async function completeRecord(reportsDir: string, reference: string, digest: string): Promise<AuditRecord | undefined> {
  const file = join(reportsDir, recordPath(reference, digest));
  try {
    // Synchronous: a record is small, and a fresh reports directory has none (one failed
    // lookup per reference, cheaper than a round trip through the thread pool).
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile() || st.size > MAX_RECORD_BYTES) return undefined;
    const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isRecordOf(doc, reference, digest)) return undefined;
    for (const image of doc.images) {
      if (!statSync(join(reportsDir, image.entry.report ?? ''), { throwIfNoEntry: false })?.isFile()) return undefined;
    }
    return doc;
  } catch {
    return undefined;
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
