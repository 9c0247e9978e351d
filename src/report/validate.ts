/**
 * Validation of every document oci-scan writes against its schema in `schemas/`, before it is
 * written: the legacy report file (report.schema.json), the `--json-stdout` object of a run
 * (report-set.schema.json) and the `--format json` document (scan-document.schema.json). An
 * invalid document is a bug in oci-scan and fails loudly (INTERNAL) instead of being written.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { OciScanError } from '../errors.js';

/** The package's `schemas/` folder (dist/src/report → ../../../schemas). */
const SCHEMAS = new URL('../../../schemas/', import.meta.url);

/** Where the legacy report schema lives. */
export const REPORT_SCHEMA_URL = new URL('report.schema.json', SCHEMAS);
/** Where the schema of the `--json-stdout` object lives. */
export const REPORT_SET_SCHEMA_URL = new URL('report-set.schema.json', SCHEMAS);
/** Where the schema of the `--format json` document lives. */
export const SCAN_DOCUMENT_SCHEMA_URL = new URL('scan-document.schema.json', SCHEMAS);

/** The documents oci-scan writes, by schema. */
export type DocumentKind = 'report' | 'report-set' | 'scan-document';

const URLS: Readonly<Record<DocumentKind, URL>> = { report: REPORT_SCHEMA_URL, 'report-set': REPORT_SET_SCHEMA_URL, 'scan-document': SCAN_DOCUMENT_SCHEMA_URL };

let validators: Record<DocumentKind, ValidateFunction> | undefined;

/** The three validators, compiled together on first use (the later schemas refer to report.schema.json). */
function compiled(): Record<DocumentKind, ValidateFunction> {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const schemas = Object.fromEntries(Object.entries(URLS).map(([kind, url]) => [kind, JSON.parse(readFileSync(url, 'utf8')) as { $id: string }])) as Record<DocumentKind, { $id: string }>;
    for (const schema of Object.values(schemas)) ajv.addSchema(schema);
    const get = (kind: DocumentKind): ValidateFunction => ajv.getSchema(schemas[kind].$id) as ValidateFunction;
    validators = { report: get('report'), 'report-set': get('report-set'), 'scan-document': get('scan-document') };
  }
  return validators;
}

/** Throws INTERNAL when `doc` does not match the schema of `kind`. */
export function assertValidDocument(kind: DocumentKind, doc: unknown): void {
  const validate = compiled()[kind];
  if (!validate(doc)) {
    throw new OciScanError('INTERNAL', `internal error: the document does not match schemas/${kind}.schema.json (${JSON.stringify(validate.errors).slice(0, 2000)}); this is a bug in oci-scan, please report it`);
  }
}

/** Throws INTERNAL when `report` (one legacy report file) does not match report.schema.json. */
export function assertValidReport(report: unknown): void {
  assertValidDocument('report', report);
}
