/**
 * Reading outside JSON (manifests, indexes, configs, archive metadata): bounded size, strict
 * parse, schema check — one place, so that every wire format fails the same clear way.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { OciScanError, type ErrorCode } from '../errors.js';

const ajv = new Ajv2020({ allErrors: false, strict: true, allowUnionTypes: true });

/** A validator for wire format T. */
export interface WireValidator<T> {
  (doc: unknown): doc is T;
  errors?: ErrorObject[] | null;
}

/**
 * A validator for type T from a JSON schema (schemas are written next to their types),
 * compiled on first use so that `--help` and usage errors do not pay for it.
 */
export function compileWire<T>(schema: object): WireValidator<T> {
  let compiled: ValidateFunction<T> | undefined;
  const validate = ((doc: unknown): doc is T => {
    compiled ??= ajv.compile<T>(schema);
    const ok = compiled(doc);
    validate.errors = compiled.errors ?? null;
    return ok;
  }) as WireValidator<T>;
  return validate;
}

/**
 * Parses `bytes` as JSON and checks it against `validate`.
 * @param what what the document is, for the message ("manifest of 127.0.0.1:5000/app:1.0")
 * @param code the error code to throw on failure
 */
export function parseWire<T>(bytes: Uint8Array | string, validate: WireValidator<T>, what: string, code: ErrorCode): T {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new OciScanError(code, `${what} is not valid JSON: the image is damaged or not an OCI/Docker image`);
  }
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    const where = first ? `${first.instancePath || '/'} ${first.message ?? 'is invalid'}` : 'does not match the schema';
    throw new OciScanError(code, `${what} is invalid: ${where}`);
  }
  return doc;
}

/** Size caps for documents read whole (docs/security.md "Limits": manifests 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Config blobs can carry long histories; 8 MiB is far above any real one. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
