/**
 * The schemas of wire formats (manifests, indexes, catalog pages, archive metadata), written
 * next to their types in src/image, src/registry and src/sources: each defined once by name,
 * validated by its precompiled validator (`wire.generated.ts`) or compiled on first use.
 */
import type { ErrorObject, Options } from 'ajv';
import { precompiledFor, runtimeAjv, schemaHash, type Validate } from './compile.js';
import * as precompiled from './wire.generated.js';

/** The ajv options of every wire schema (the generator compiles with the same). */
export const WIRE_AJV_OPTIONS = { allErrors: false, strict: true, allowUnionTypes: true } as const satisfies Options;

/** A validator for wire format T. */
export interface WireValidator<T> {
  (doc: unknown): doc is T;
  errors?: ErrorObject[] | null;
}

const registered = new Map<string, object>();

/** Every wire schema defined so far, by name (what scripts/validators.ts compiles ahead of time). */
export function wireSchemas(): ReadonlyMap<string, object> {
  return registered;
}

/**
 * A validator for type T from a JSON schema. It is the validator compiled ahead of time when
 * that was made from this very schema, else compiled on first use.
 */
export function compileWire<T>(name: string, schema: object): WireValidator<T> {
  if (registered.has(name)) throw new Error(`wire schema ${name} defined twice`);
  registered.set(name, schema);
  let compiled: Validate | undefined = precompiledFor(precompiled, name, schemaHash(schema));
  const validate = ((doc: unknown): doc is T => {
    compiled ??= runtimeAjv(WIRE_AJV_OPTIONS).compile<T>(schema);
    const ok = compiled(doc);
    validate.errors = compiled.errors ?? null;
    return ok;
  }) as WireValidator<T>;
  return validate;
}
