/**
 * Reading a shard's reports directory back for `audit merge`: its `audit-summary.json`
 * (bounded, checked against its schema) and, for the whole-audit documents, the results its
 * resume records (./records.ts) hold.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OciScanError } from '../errors.js';
import type { ImageOutcome, ScannedImage } from '../report/model.js';
import { RecordIndex, recordedScan } from './records.js';
import type { AuditSummary } from './summary.js';
import { summaryProblems } from './validate.js';

/** The summary's file name in the reports directory. */
export const SUMMARY_FILE = 'audit-summary.json';

/** A summary lists every image of a mirror; refuse one beyond this size. */
const MAX_SUMMARY_BYTES = 512 * 1024 * 1024;

/** What a shard's reports directory holds. */
export interface ShardReports {
  readonly summary: AuditSummary;
  /** Every reference of the summary: its recorded images, or its failure (none without `withResults`). */
  readonly outcomes: readonly ImageOutcome[];
}

/** Reads `dir`'s summary and, with `withResults`, its records; USAGE when the summary is missing or is not one. */
export async function readSummaryDir(dir: string, withResults: boolean): Promise<ShardReports> {
  const file = join(dir, SUMMARY_FILE);
  let doc: unknown;
  try {
    const st = await stat(file);
    if (!st.isFile() || st.size > MAX_SUMMARY_BYTES) throw new Error(st.isFile() ? 'larger than 512 MiB' : 'not a file');
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new OciScanError(
      'USAGE',
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the reports directories the audit's shards wrote`,
    );
  }
  const problems = summaryProblems(doc);
  if (problems !== undefined)
    throw new OciScanError(
      'USAGE',
      `${file} is not an oci-scan audit summary (${problems.slice(0, 300)}): give the reports directories the audit's shards wrote`,
    );
  const summary = doc as AuditSummary;
  if (!withResults) return { summary, outcomes: [] };
  const byReference = new Map<string, { scans: ScannedImage[]; failure?: { code: string; message: string } }>();
  const records = RecordIndex.load(dir);
  for (const image of summary.images) {
    const entry = byReference.get(image.reference) ?? { scans: [] };
    byReference.set(image.reference, entry);
    if (image.error || image.digest === null) {
      entry.failure = image.error ?? { code: 'INTERNAL', message: 'not scanned' };
      continue;
    }
    const record = records.complete(image.reference, image.digest);
    const recorded = record?.images.find((i) => i.entry.platform === image.platform);
    if (recorded) entry.scans.push(recordedScan(recorded));
  }
  const outcomes = [...byReference].flatMap(([input, { scans, failure }]): ImageOutcome[] =>
    failure ? [{ input, failure }] : scans.length > 0 ? [{ input, scans }] : [],
  );
  return { summary, outcomes };
}
