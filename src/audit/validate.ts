/**
 * Validation of the audit summary against schemas/audit-summary.schema.json: before it is
 * written (an invalid summary is a bug: INTERNAL), and when a summary or a resume record is
 * read back (`audit merge`, resume), where a file that does not match is the user's to fix.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { OciScanError } from '../errors.js';
import type { AuditSummary, SummaryImage } from './summary.js';

/** Where the audit summary schema lives (dist/src/audit → ../../../schemas). */
export const AUDIT_SUMMARY_SCHEMA_URL = new URL('../../../schemas/audit-summary.schema.json', import.meta.url);

let validators: { summary: ValidateFunction; image: ValidateFunction } | undefined;

function compiled(): { summary: ValidateFunction; image: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const schema = JSON.parse(readFileSync(AUDIT_SUMMARY_SCHEMA_URL, 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    validators = { summary: ajv.getSchema(schema.$id) as ValidateFunction, image: ajv.getSchema(`${schema.$id}#/$defs/image`) as ValidateFunction };
  }
  return validators;
}

/** The schema's complaints about `doc` (at most 2000 characters), or undefined when it is an audit summary. */
export function summaryProblems(doc: unknown): string | undefined {
  const validate = compiled().summary;
  return validate(doc) ? undefined : JSON.stringify(validate.errors).slice(0, 2000);
}

/** True when `doc` is a summary entry of one image. */
export function isSummaryImage(doc: unknown): doc is SummaryImage {
  return compiled().image(doc) === true;
}

/** Throws INTERNAL when `summary` does not match its schema. */
export function assertValidSummary(summary: AuditSummary): void {
  const problems = summaryProblems(summary);
  if (problems !== undefined) throw new OciScanError('INTERNAL', `internal error: the audit summary does not match schemas/audit-summary.schema.json (${problems}); this is a bug in oci-scan, please report it`);
}
