/**
 * Reading outside JSON (manifests, indexes, configs, archive metadata): bounded size, strict
 * parse, schema check — one place, so that every wire format fails the same clear way.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { OciScanError, type ErrorCode } from '../errors.js';
import * as precompiled from './wire-validators.generated.js';

/** The ajv options of every wire schema (the generator compiles with the same). */
export const WIRE_AJV_OPTIONS = { allErrors: false, strict: true, allowUnionTypes: true } as const satisfies Options;

/** A validator for wire format T. */
export interface WireValidator<T> {
  (doc: unknown): doc is T;
  errors?: ErrorObject[] | null;
}

/** A precompiled validator as the generated module exports it. */
type Compiled = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null };

const registered = new Map<string, object>();

/** Every wire schema defined so far, by name (what scripts/validators.ts compiles ahead of time). */
export function wireSchemas(): ReadonlyMap<string, object> {
  return registered;
}

/** The fingerprint of a schema: a precompiled validator is used only for the schema it was made from. */
export function schemaHash(schema: unknown): string {
  return createHash('sha256')
    .update(typeof schema === 'string' ? schema : JSON.stringify(schema))
    .digest('hex');
}

/**
 * An ajv instance for compiling at run time, loaded only when a schema has no current
 * precompiled validator (ajv's code generation costs tens of milliseconds per scan).
 */
export function runtimeAjv(options: Options): {
  compile<T>(schema: object): ValidateFunction<T>;
  addSchema(schema: object): unknown;
  getSchema(id: string): ValidateFunction | undefined;
} {
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new Ajv2020(options);
}

/**
 * The precompiled validator `name` of a generated module when it was made from `schema`,
 * else undefined (then the caller compiles at run time: slower, same answers).
 */
export function precompiledFor(module: Readonly<Record<string, unknown>>, name: string, hash: string): Compiled | undefined {
  const hashes = module['hashes'] as Readonly<Record<string, string>> | undefined;
  const fn = module[name];
  return hashes?.[name] === hash && typeof fn === 'function' ? (fn as Compiled) : undefined;
}

/**
 * A validator for type T from a JSON schema (schemas are written next to their types). It is
 * the validator compiled ahead of time (docs/architecture.md "Memory and speed") when that was
 * made from this very schema, else compiled on first use.
 */
export function compileWire<T>(name: string, schema: object): WireValidator<T> {
  if (registered.has(name)) throw new Error(`wire schema ${name} defined twice`);
  registered.set(name, schema);
  let compiled: Compiled | undefined = precompiledFor(precompiled, name, schemaHash(schema));
  const validate = ((doc: unknown): doc is T => {
    compiled ??= runtimeAjv(WIRE_AJV_OPTIONS).compile<T>(schema);
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
