/**
 * Validation of a policy against schemas/policy.schema.json, plus what a schema cannot say
 * (an `expires` that is no calendar date). The first problem found is returned with where it
 * is (a path into the policy) and what is wrong, in words a user can act on.
 */
import type { ErrorObject, Options } from 'ajv';
import { isExtendedId } from '../checks/index.js';
import { secretRuleProblem } from '../checks/secret-scan.js';
import { lazyValidators, schemaUrl, type SchemaFiles } from '../schema/files.js';
import * as precompiled from '../schema/policy.generated.js';

/** Where the policy schema lives. */
export const POLICY_SCHEMA_URL = schemaUrl('policy.schema.json');

/** A problem in a policy: the path to the offending value (keys and indexes) and what is wrong. */
export interface PolicyProblem {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** The ajv options of the policy schema. */
export const POLICY_AJV_OPTIONS = { allErrors: false, strict: true } as const satisfies Options;

/** The policy's validator. */
export const POLICY_SCHEMAS: SchemaFiles<'policy'> = {
  files: ['policy.schema.json'],
  options: POLICY_AJV_OPTIONS,
  validators: { policy: { file: 'policy.schema.json' } },
  precompiled,
};

const compiled = lazyValidators(POLICY_SCHEMAS);

/** `accept[0].reason` for the path `["accept", 0, "reason"]`; `the policy` for the root. */
export function pathText(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return 'the policy';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The path of an ajv error (its instancePath, JSON pointer), indexes as numbers. */
function errorPath(error: ErrorObject, value: unknown): Array<string | number> {
  const out: Array<string | number> = [];
  let here: unknown = value;
  for (const raw of error.instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const index = Array.isArray(here) ? Number(key) : undefined;
    out.push(index ?? key);
    here = here !== null && typeof here === 'object' ? (here as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

/** What an ajv error means, in words. */
function explain(error: ErrorObject, where: string): { message: string; extraKey?: string } {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return {
        message: `${where} needs "${String(p['missingProperty'])}"${p['missingProperty'] === 'reason' ? ' (every accepted finding says why)' : ''}`,
      };
    case 'additionalProperties':
      return { message: `${where} has an unknown key "${String(p['additionalProperty'])}"`, extraKey: String(p['additionalProperty']) };
    case 'propertyNames':
      return {
        message: `${where} has a key "${String(p['propertyName'])}" that is not a check id (see docs/checks.md)`,
        extraKey: String(p['propertyName']),
      };
    case 'enum':
      return { message: `${where} must be one of ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { message: `${where} must be ${JSON.stringify(p['allowedValue'])}` };
    case 'pattern':
      return {
        message: where.endsWith('.expires')
          ? `${where} must be a date YYYY-MM-DD`
          : where.endsWith('.reason')
            ? `${where} must not be blank`
            : `${where} is not valid (must match ${String(p['pattern'])})`,
      };
    default:
      return { message: `${where} ${error.message ?? 'is not valid'}` };
  }
}

/** True for a real calendar day `YYYY-MM-DD`. */
function isCalendarDate(text: string): boolean {
  const time = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(time) && new Date(time).toISOString().slice(0, 10) === text;
}

/** The first problem of `value` as a policy, or undefined when it is a valid policy. */
export function policyProblem(value: unknown): PolicyProblem | undefined {
  const validate = compiled().policy;
  if (!validate(value)) {
    const error = validate.errors?.[0];
    if (!error) return { path: [], message: 'the policy is not valid' };
    const path = errorPath(error, value);
    // A key that fails propertyNames: ajv reports the key's own error, naming it in `propertyName`.
    const named =
      error.propertyName === undefined ? error : { ...error, keyword: 'propertyNames', params: { propertyName: error.propertyName } };
    const { message, extraKey } = explain(named, pathText(path));
    return { path: extraKey === undefined ? path : [...path, extraKey], message };
  }
  // The 17 (and forbidden-programs) always hold their places in the report: only disabled.
  const rules = (value as { checks?: Record<string, { enabled?: boolean }> }).checks ?? {};
  for (const [id, rule] of Object.entries(rules)) {
    if (rule.enabled === false && !isExtendedId(id))
      return {
        path: ['checks', id, 'enabled'],
        message: `checks.${id}.enabled: false is for extended checks only; ${id} always runs: use disabled: true`,
      };
  }
  const secretRules =
    (value as { data?: { secretFiles?: { addRules?: Array<{ id: string; regex: string }> } } }).data?.secretFiles?.addRules ?? [];
  for (const [i, rule] of secretRules.entries()) {
    const problem = secretRuleProblem(rule);
    if (problem !== undefined)
      return { path: ['data', 'secretFiles', 'addRules', i, 'regex'], message: `data.secretFiles.addRules[${i}].regex ${problem}` };
  }
  const accept = (value as { accept?: Array<{ expires?: string }> }).accept ?? [];
  for (const [i, rule] of accept.entries()) {
    if (rule.expires !== undefined && !isCalendarDate(rule.expires))
      return { path: ['accept', i, 'expires'], message: `accept[${i}].expires "${rule.expires}" is not a calendar date` };
  }
  return undefined;
}
