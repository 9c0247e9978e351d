/**
 * Validation of every document oci-scan writes against its schema in `schemas/`, before it is
 * written: the legacy report file (report.schema.json), the `--json-stdout` object of a run
 * (report-set.schema.json) and the `--format json` document (scan-document.schema.json). An
 * invalid document is a bug in oci-scan and fails loudly (INTERNAL) instead of being written.
 */
import { readFileSync } from 'node:fs';
import type { Options, ValidateFunction } from 'ajv';
import { OciScanError } from '../errors.js';
import { precompiledFor, runtimeAjv, schemaHash } from '../image/wire.js';
import * as precompiled from './schema-validators.generated.js';

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

const URLS: Readonly<Record<DocumentKind, URL>> = {
  report: REPORT_SCHEMA_URL,
  'report-set': REPORT_SET_SCHEMA_URL,
  'scan-document': SCAN_DOCUMENT_SCHEMA_URL,
};

/** The ajv options of the report schemas (the generator compiles with the same). */
export const REPORT_AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const satisfies Options;

/** The name of each kind's validator in the generated module. */
export const VALIDATOR_NAMES: Readonly<Record<DocumentKind, string>> = {
  report: 'report',
  'report-set': 'reportSet',
  'scan-document': 'scanDocument',
};

/** The schema texts by kind, as the package holds them. */
export function reportSchemaTexts(): Record<DocumentKind, string> {
  return Object.fromEntries(Object.entries(URLS).map(([kind, url]) => [kind, readFileSync(url, 'utf8')])) as Record<DocumentKind, string>;
}

/** One fingerprint of the three schemas: the later ones refer to report.schema.json. */
export function reportSchemasHash(texts: Readonly<Record<DocumentKind, string>>): string {
  return schemaHash(Object.values(texts).join('\n'));
}

type Validate = Pick<ValidateFunction, 'errors'> & ((doc: unknown) => boolean);
let validators: Record<DocumentKind, Validate> | undefined;

/**
 * The three validators: compiled ahead of time when made from the schemas the package holds
 * (docs/architecture.md "Memory and speed"), else compiled together on first use.
 */
function compiled(): Record<DocumentKind, Validate> {
  if (validators) return validators;
  const texts = reportSchemaTexts();
  const hash = reportSchemasHash(texts);
  const kinds = Object.keys(URLS) as DocumentKind[];
  const ready = kinds.map((kind) => precompiledFor(precompiled, VALIDATOR_NAMES[kind], hash));
  if (ready.every((v) => v !== undefined)) {
    validators = Object.fromEntries(kinds.map((kind, i) => [kind, ready[i]])) as Record<DocumentKind, Validate>;
    return validators;
  }
  const ajv = runtimeAjv(REPORT_AJV_OPTIONS);
  const schemas = Object.fromEntries(kinds.map((kind) => [kind, JSON.parse(texts[kind]) as { $id: string }])) as Record<
    DocumentKind,
    { $id: string }
  >;
  for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  const get = (kind: DocumentKind): ValidateFunction => ajv.getSchema(schemas[kind].$id) as ValidateFunction;
  validators = { report: get('report'), 'report-set': get('report-set'), 'scan-document': get('scan-document') };
  return validators;
}

/** Throws INTERNAL when `doc` does not match the schema of `kind`. */
export function assertValidDocument(kind: DocumentKind, doc: unknown): void {
  const validate = compiled()[kind];
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
