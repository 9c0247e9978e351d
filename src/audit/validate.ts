/**
 * Validation of the audit summary against schemas/audit-summary.schema.json: before it is
 * written (an invalid summary is a bug: INTERNAL), and when a summary or a resume record is
 * read back (`audit merge`, resume), where a file that does not match is the user's to fix.
 */
import type { Options } from 'ajv';
import { OciScanError } from '../errors.js';
import { lazyValidators, schemaUrl, type SchemaFiles } from '../schema/files.js';
import * as precompiled from '../schema/audit-summary.generated.js';
import type { AuditSummary, SummaryImage } from './summary.js';

/** Where the audit summary schema lives. */
export const AUDIT_SUMMARY_SCHEMA_URL = schemaUrl('audit-summary.schema.json');

/** The ajv options of the audit summary schema. */
export const AUDIT_AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const satisfies Options;

/** The audit summary's validators: the whole summary, and one image's entry. */
export const AUDIT_SUMMARY_SCHEMAS: SchemaFiles<'summary' | 'image'> = {
  files: ['audit-summary.schema.json'],
  options: AUDIT_AJV_OPTIONS,
  validators: { summary: { file: 'audit-summary.schema.json' }, image: { file: 'audit-summary.schema.json', pointer: '#/$defs/image' } },
  precompiled,
};

const compiled = lazyValidators(AUDIT_SUMMARY_SCHEMAS);

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
  if (problems !== undefined)
    throw new OciScanError(
      'INTERNAL',
      `internal error: the audit summary does not match schemas/audit-summary.schema.json (${problems}); this is a bug in oci-scan, please report it`,
    );
}
