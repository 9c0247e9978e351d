/**
 * Validation of the report against schemas/report.schema.json before anything is written: an
 * invalid report is a bug in oci-scan and fails loudly (SPEC §2).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OciScanError } from '../errors.js';
import type { Report } from './model.js';

/** Where the schema lives: the package's `schemas/` folder (dist/src/report → ../../../schemas). */
export const REPORT_SCHEMA_URL = new URL('../../../schemas/report.schema.json', import.meta.url);

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

function compiled(): NonNullable<typeof validator> {
  if (!validator) {
    const schema = JSON.parse(readFileSync(REPORT_SCHEMA_URL, 'utf8')) as object;
    validator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

/** Throws INTERNAL when `report` does not match the schema. */
export function assertValidReport(report: Report): void {
  const validate = compiled();
  if (!validate(report)) {
    throw new OciScanError('INTERNAL', `internal error: the report does not match schemas/report.schema.json (${JSON.stringify(validate.errors)}); this is a bug in oci-scan, please report it`);
  }
}
