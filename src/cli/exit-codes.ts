/**
 * Exit codes (SPEC §2): the highest severity among results picks the code, and the
 * `*_EXIT_CODE` variables of the original tool override each one.
 */
import type { Severity } from '../checks/types.js';
import { OciScanError } from '../errors.js';

/** Default code per highest severity. */
export const DEFAULT_SEVERITY_CODES: Readonly<Record<Severity, number>> = { Informational: 0, Low: 15, Medium: 14, High: 13, Critical: 12 };

const VARIABLES: Readonly<Record<Severity, string>> = {
  Informational: 'INFORMATIONAL_EXIT_CODE',
  Low: 'LOW_EXIT_CODE',
  Medium: 'MEDIUM_EXIT_CODE',
  High: 'HIGH_EXIT_CODE',
  Critical: 'CRITICAL_EXIT_CODE',
};

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
