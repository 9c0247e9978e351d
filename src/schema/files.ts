/**
 * Validators of the schema files in `schemas/` (reports, policy, audit summary), made once, on
 * first use: the precompiled ones of a generated module when they were made from the files
 * the package holds, else all compiled together by ajv at run time. Nothing is read or
 * compiled at start-up.
 */
import { readFileSync } from 'node:fs';
import type { Options } from 'ajv';
import { precompiledFor, runtimeAjv, schemaHash, type Validate } from './compile.js';

/** The package's `schemas/` folder (dist/src/schema → ../../../schemas). */
const SCHEMAS = new URL('../../../schemas/', import.meta.url);

/** Where schema file `name` (`report.schema.json`) lives. */
export function schemaUrl(name: string): URL {
  return new URL(name, SCHEMAS);
}

/** Validators made from a few schema files together (a later file may refer to an earlier one by `$id`). */
export interface SchemaFiles<N extends string> {
  /** The files of `schemas/`, in the order their fingerprint is taken. */
  readonly files: readonly string[];
  /** The ajv options (the generator compiles with the same). */
  readonly options: Options;
  /** Each validator by name (its export in the generated module): the file it checks, and a JSON pointer into it (`#/$defs/image`) for a part. */
  readonly validators: Readonly<Record<N, { readonly file: string; readonly pointer?: string }>>;
  /** The module scripts/validators.ts generated from these files. */
  readonly precompiled: Readonly<Record<string, unknown>>;
}

/** The texts of a set's files, as the package holds them. */
export function schemaTexts(set: Pick<SchemaFiles<string>, 'files'>): ReadonlyMap<string, string> {
  return new Map(set.files.map((file) => [file, readFileSync(schemaUrl(file), 'utf8')]));
}

/** One fingerprint of a set's files (of the one file's text, for a set of one). */
export function schemaFilesHash(texts: ReadonlyMap<string, string>): string {
  return schemaHash([...texts.values()].join('\n'));
}

/** The set's validators, made on the first call and kept. */
export function lazyValidators<N extends string>(set: SchemaFiles<N>): () => Readonly<Record<N, Validate>> {
  let made: Record<N, Validate> | undefined;
  return () => (made ??= makeValidators(set));
}

function makeValidators<N extends string>(set: SchemaFiles<N>): Record<N, Validate> {
  const texts = schemaTexts(set);
  const hash = schemaFilesHash(texts);
  const names = Object.keys(set.validators) as N[];
  const ready = names.map((name) => precompiledFor(set.precompiled, name, hash));
  if (ready.every((v) => v !== undefined)) return Object.fromEntries(names.map((name, i) => [name, ready[i]])) as Record<N, Validate>;
  const ajv = runtimeAjv(set.options);
  const ids = new Map<string, string>();
  for (const [file, text] of texts) {
    const schema = JSON.parse(text) as { $id: string };
    ajv.addSchema(schema);
    ids.set(file, schema.$id);
  }
  const get = (name: N): Validate => {
    const { file, pointer } = set.validators[name];
    return ajv.getSchema(`${ids.get(file) ?? ''}${pointer ?? ''}`) as Validate;
  };
  return Object.fromEntries(names.map((name) => [name, get(name)])) as Record<N, Validate>;
}
