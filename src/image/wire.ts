/**
 * Reading outside JSON (manifests, indexes, configs, archive metadata): bounded size, strict
 * parse, schema check — one place, so that every wire format fails the same clear way. The
 * schemas themselves are compiled by src/schema/wire.ts.
 */
import { OciScanError, type ErrorCode } from '../errors.js';
import type { WireValidator } from '../schema/wire.js';

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
