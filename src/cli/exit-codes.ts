/**
 * The exit-code policy of the CLI (docs/errors.md "Exit codes"): a thrown value → its exit
 * status (an error code's own is `exitCodeFor` in src/errors.ts); the highest severity among the results → its code, which the
 * `*_EXIT_CODE` variables of the original tool override; the failure threshold of `--fail-on`
 * and `--exit-code`; and a run of several images → one code.
 */
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import { exitCodeFor, INTERNAL_ERROR_EXIT, OciScanError } from '../errors.js';

/** Default code per highest severity. */
export const DEFAULT_SEVERITY_CODES: Readonly<Record<Severity, number>> = { Informational: 0, Low: 15, Medium: 14, High: 13, Critical: 12 };

const VARIABLES: Readonly<Record<Severity, string>> = {
  Informational: 'INFORMATIONAL_EXIT_CODE',
  Low: 'LOW_EXIT_CODE',
  Medium: 'MEDIUM_EXIT_CODE',
  High: 'HIGH_EXIT_CODE',
  Critical: 'CRITICAL_EXIT_CODE',
};

/** The exit code of any thrown value: an OciScanError's, else 1 (a bug). */
export function exitCodeOfError(err: unknown): number {
  return err instanceof OciScanError ? exitCodeFor(err.code) : INTERNAL_ERROR_EXIT;
}

/** The severity → exit code table from the environment; throws USAGE on a value that is not 0–255. */
export function severityCodes(env: Readonly<Record<string, string | undefined>>): Record<Severity, number> {
  const out = { ...DEFAULT_SEVERITY_CODES };
  for (const [severity, variable] of Object.entries(VARIABLES) as Array<[Severity, string]>) {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    if (!/^\d{1,3}$/.test(raw.trim()) || Number(raw) > 255) {
      throw new OciScanError('USAGE', `${variable}=${JSON.stringify(raw)} is not an exit code: use a whole number from 0 to 255`);
    }
    out[severity] = Number(raw);
  }
  return out;
}

/**
 * The exit code of a run that attempted every image: when an image could not be scanned, the
 * code of the first such failure in argument order, whatever the others found — a failure
 * means that an image's compliance is unknown, and a severity code (which the environment may
 * set to anything, 0 included) must not hide it; otherwise the code of the highest severity
 * over every image scanned.
 */
export function runExitCode(
  failures: readonly unknown[],
  highest: Severity,
  codes: Readonly<Record<Severity, number>>,
  threshold?: FailThreshold,
): number {
  const [first] = failures;
  if (failures.length > 0) return exitCodeOfError(first);
  if (!threshold) return codes[highest];
  return meetsThreshold(highest, threshold.failOn) ? (threshold.exitCode ?? codes[highest]) : 0;
}

/** The severities `--fail-on` takes, and `none` (never fail on findings). */
export const FAIL_ON_VALUES = ['Critical', 'High', 'Medium', 'Low', 'none'] as const;

/** A `--fail-on` value. */
export type FailOn = (typeof FAIL_ON_VALUES)[number];

/**
 * `--fail-on` and `--exit-code` (docs/errors.md, "Failure threshold"): the exit code is 0
 * unless a finding that was not accepted is at or above `failOn`; when it is, `exitCode`, else
 * the highest severity's code as without a threshold (so scripts reading 12–15 keep working).
 */
export interface FailThreshold {
  readonly failOn: FailOn;
  readonly exitCode?: number;
}

/** True when a run whose highest severity is `highest` meets `failOn` (an all-passed run never does). */
export function meetsThreshold(highest: Severity, failOn: FailOn): boolean {
  if (failOn === 'none' || highest === 'Informational') return false;
  return SEVERITY_ORDER.indexOf(highest) <= SEVERITY_ORDER.indexOf(failOn);
}

/**
 * The threshold of `--fail-on` (any case) and `--exit-code`, undefined when neither is given;
 * `--exit-code` alone fails on any failure (as Trivy's). Throws USAGE on a value it cannot read.
 */
export function failThreshold(failOn: string | undefined, exitCode: string | number | undefined): FailThreshold | undefined {
  if (failOn === undefined && exitCode === undefined) return undefined;
  const level = failOn === undefined ? 'Low' : FAIL_ON_VALUES.find((v) => v.toLowerCase() === failOn.trim().toLowerCase());
  if (level === undefined)
    throw new OciScanError('USAGE', `--fail-on ${JSON.stringify(failOn)} is not a severity: use ${FAIL_ON_VALUES.join(', ')}`);
  if (exitCode === undefined) return { failOn: level };
  const text = String(exitCode).trim();
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255)
    throw new OciScanError(
      'USAGE',
      `--exit-code ${JSON.stringify(String(exitCode))} is not an exit code: use a whole number from 0 to 255`,
    );
  return { failOn: level, exitCode: Number(text) };
}
