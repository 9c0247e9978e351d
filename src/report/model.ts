/**
 * The report (SPEC §2): `{ "<image>": [result, …] }` in the original tool's shape, built from
 * the check outcomes, plus the exit-code rule (the highest severity among results).
 */
import { SEVERITY_ORDER, type Check, type CheckOutcome, type LayerFiles, type Severity } from '../checks/types.js';

/** One result, as written to the JSON report. */
export interface ReportResult {
  Id: string;
  Title: string;
  Severity: Severity;
  Pass: boolean;
  Description: string;
  Mitigation: string;
  Files?: LayerFiles;
  /**
   * Beside `Files`, only when some layer has more findings than `Files` lists (the layer
   * recorder keeps a bounded number of paths): per layer of `Files`, same order, how many
   * entries matched there in total.
   */
  FileCounts?: Array<Record<string, number>>;
}

/** The whole report: one key, the image as the user named it. */
export type Report = Record<string, ReportResult[]>;

/** `FileCounts` for `files`, or undefined when every layer's list is complete. */
function fileCounts(files: LayerFiles, counts: CheckOutcome['counts']): Array<Record<string, number>> | undefined {
  if (!counts) return undefined;
  let truncated = false;
  const out = files.map((layer) =>
    Object.fromEntries(
      Object.entries(layer).map(([digest, paths]) => {
        const total = Math.max(paths.length, counts[digest] ?? 0);
        if (total > paths.length) truncated = true;
        return [digest, total];
      }),
    ),
  );
  return truncated ? out : undefined;
}

/** A result from a check and its outcome (a pass is Informational). */
export function toResult(check: Check, outcome: CheckOutcome): ReportResult {
  const files = !outcome.pass && outcome.files && outcome.files.length > 0 ? outcome.files : undefined;
  const counts = files && fileCounts(files, outcome.counts);
  return {
    Id: check.id,
    Title: check.title,
    Severity: outcome.pass ? 'Informational' : check.severity,
    Pass: outcome.pass,
    Description: outcome.description,
    Mitigation: check.mitigation,
    ...(files ? { Files: files } : {}),
    ...(counts ? { FileCounts: counts } : {}),
  };
}

/** The highest severity among results (Informational when all passed). */
export function highestSeverity(results: readonly ReportResult[]): Severity {
  let best = SEVERITY_ORDER.length - 1;
  for (const r of results) best = Math.min(best, SEVERITY_ORDER.indexOf(r.Severity));
  return SEVERITY_ORDER[best] ?? 'Informational';
}
