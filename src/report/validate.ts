/**
 * Validation of every document oci-scan writes against its schema in `schemas/`, before it is
 * written: the legacy report file (report.schema.json), the `--json-stdout` object of a run
 * (report-set.schema.json) and the `--format json` document (scan-document.schema.json). An
 * invalid document is a bug in oci-scan and fails loudly (INTERNAL) instead of being written.
 */
import type { Options } from 'ajv';
import { OciScanError } from '../errors.js';
import { lazyValidators, schemaUrl, type SchemaFiles } from '../schema/files.js';
import * as precompiled from '../schema/report.generated.js';

/** Where the legacy report schema lives. */
export const REPORT_SCHEMA_URL = schemaUrl('report.schema.json');
/** Where the schema of the `--json-stdout` object lives. */
export const REPORT_SET_SCHEMA_URL = schemaUrl('report-set.schema.json');
/** Where the schema of the `--format json` document lives. */
export const SCAN_DOCUMENT_SCHEMA_URL = schemaUrl('scan-document.schema.json');

/** The documents oci-scan writes, by schema. */
export type DocumentKind = 'report' | 'report-set' | 'scan-document';

/** The name of each kind's validator (its export in the generated module). */
const VALIDATOR_NAMES = { report: 'report', 'report-set': 'reportSet', 'scan-document': 'scanDocument' } as const satisfies Readonly<
  Record<DocumentKind, string>
>;

/** The ajv options of the report schemas. */
export const REPORT_AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const satisfies Options;

/** The validators of the three documents, compiled together: the later schemas refer to report.schema.json. */
export const REPORT_SCHEMAS: SchemaFiles<(typeof VALIDATOR_NAMES)[DocumentKind]> = {
  files: ['report.schema.json', 'report-set.schema.json', 'scan-document.schema.json'],
  options: REPORT_AJV_OPTIONS,
  validators: {
    report: { file: 'report.schema.json' },
    reportSet: { file: 'report-set.schema.json' },
    scanDocument: { file: 'scan-document.schema.json' },
  },
  precompiled,
};

const compiled = lazyValidators(REPORT_SCHEMAS);

/** Throws INTERNAL when `doc` does not match the schema of `kind`. */
export function assertValidDocument(kind: DocumentKind, doc: unknown): void {
  const validate = compiled()[VALIDATOR_NAMES[kind]];
  if (!validate(doc)) {
    throw new OciScanError(
      'INTERNAL',
      `internal error: the document does not match schemas/${kind}.schema.json (${JSON.stringify(validate.errors).slice(0, 2000)}); this is a bug in oci-scan, please report it`,
    );
  }
}

/** Throws INTERNAL when `report` (one legacy report file) does not match report.schema.json. */
export function assertValidReport(report: unknown): void {
  assertValidDocument('report', report);
}
