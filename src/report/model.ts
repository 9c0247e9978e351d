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
}

/** The whole report: one key, the image as the user named it. */
export type Report = Record<string, ReportResult[]>;

/** A result from a check and its outcome (a pass is Informational). */
export function toResult(check: Check, outcome: CheckOutcome): ReportResult {
  return {
    Id: check.id,
    Title: check.title,
    Severity: outcome.pass ? 'Informational' : check.severity,
    Pass: outcome.pass,
    Description: outcome.description,
    Mitigation: check.mitigation,
    ...(!outcome.pass && outcome.files && outcome.files.length > 0 ? { Files: outcome.files } : {}),
  };
}

/** The highest severity among results (Informational when all passed). */
export function highestSeverity(results: readonly ReportResult[]): Severity {
  let best = SEVERITY_ORDER.length - 1;
  for (const r of results) best = Math.min(best, SEVERITY_ORDER.indexOf(r.Severity));
  return SEVERITY_ORDER[best] ?? 'Informational';
}
