/**
 * The counts a human summary gives for one image (docs/reports.md "Table"): failed checks by
 * severity, passed checks, accepted findings.
 */
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import type { ReportResult } from './model.js';

/** One image's counts. */
export interface ResultSummary {
  readonly failed: number;
  /** Failed checks per severity, highest first, only the severities that occur. */
  readonly bySeverity: ReadonlyArray<readonly [Severity, number]>;
  readonly passed: number;
  /** Findings a policy accepted, over every check. */
  readonly accepted: number;
}

/** The counts of `results`. */
export function summarise(results: readonly ReportResult[]): ResultSummary {
  const failed = results.filter((r) => !r.Pass);
  return {
    failed: failed.length,
    bySeverity: SEVERITY_ORDER.map((s) => [s, failed.filter((r) => r.Severity === s).length] as const).filter(([, n]) => n > 0),
    passed: results.length - failed.length,
    accepted: results.reduce((n, r) => n + (r.Accepted?.length ?? 0), 0),
  };
}

/** `9 failed (7 Critical, 1 Medium, 1 Low), 8 passed, 2 accepted` (the accepted part only when there are some). */
export function summaryText(s: ResultSummary): string {
  const severities = s.bySeverity.length > 0 ? ` (${s.bySeverity.map(([sev, n]) => `${n} ${sev}`).join(', ')})` : '';
  return `${s.failed} failed${severities}, ${s.passed} passed${s.accepted > 0 ? `, ${s.accepted} accepted` : ''}`;
}
