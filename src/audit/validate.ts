/**
 * Validation of the audit summary against schemas/audit-summary.schema.json: before it is
 * written (an invalid summary is a bug: INTERNAL), and when a summary or a resume record is
 * read back (`audit merge`, resume), where a file that does not match is the user's to fix.
 */
import { readFileSync } from 'node:fs';
import type { Options, ValidateFunction } from 'ajv';
import { OciScanError } from '../errors.js';
import { precompiledFor, runtimeAjv, schemaHash } from '../image/wire.js';
import * as precompiled from './schema-validators.generated.js';
import type { AuditSummary, SummaryImage } from './summary.js';

/** Where the audit summary schema lives (dist/src/audit → ../../../schemas). */
export const AUDIT_SUMMARY_SCHEMA_URL = new URL('../../../schemas/audit-summary.schema.json', import.meta.url);

/** The ajv options of the audit summary schema (scripts/validators.ts compiles with the same). */
export const AUDIT_AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const satisfies Options;

type Validate = Pick<ValidateFunction, 'errors'> & ((doc: unknown) => boolean);
let validators: { summary: Validate; image: Validate } | undefined;

/** The summary and image validators: compiled ahead of time when made from the schema the package holds, else now. */
function compiled(): { summary: Validate; image: Validate } {
  if (validators) return validators;
  const text = readFileSync(AUDIT_SUMMARY_SCHEMA_URL, 'utf8');
  const hash = schemaHash(text);
  const summary = precompiledFor(precompiled, 'summary', hash);
  const image = precompiledFor(precompiled, 'image', hash);
  if (summary && image) validators = { summary, image };
  else {
    const ajv = runtimeAjv(AUDIT_AJV_OPTIONS);
    const schema = JSON.parse(text) as { $id: string };
    ajv.addSchema(schema);
    validators = {
      summary: ajv.getSchema(schema.$id) as ValidateFunction,
      image: ajv.getSchema(`${schema.$id}#/$defs/image`) as ValidateFunction,
    };
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
  if (problems !== undefined)
    throw new OciScanError(
      'INTERNAL',
      `internal error: the audit summary does not match schemas/audit-summary.schema.json (${problems}); this is a bug in oci-scan, please report it`,
    );
}
