/**
 * Compiling JSON schemas (docs/architecture.md, "Memory and speed"): every schema oci-scan
 * checks at run time has a validator compiled ahead of time by scripts/validators.ts into a
 * `*.generated.ts` module of this folder, which carries the fingerprint of the schema it was
 * made from. A validator is taken from there while the fingerprints match; otherwise ajv is
 * loaded and compiles the schema at run time (slower, same answers).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';

/** A validator as ajv (and a generated module) gives it: true or false, and the errors of the last call. */
export type Validate = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null };

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
 * The precompiled validator `name` of a generated module when it was made from the schema of
 * fingerprint `hash`, else undefined (then the caller compiles at run time).
 */
export function precompiledFor(module: Readonly<Record<string, unknown>>, name: string, hash: string): Validate | undefined {
  const hashes = module['hashes'] as Readonly<Record<string, string>> | undefined;
  const fn = module[name];
  return hashes?.[name] === hash && typeof fn === 'function' ? (fn as Validate) : undefined;
}
