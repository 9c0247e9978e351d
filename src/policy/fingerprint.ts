/**
 * The fingerprint of a policy (docs/attest.md, "Predicate"): the sha256 of its canonical JSON —
 * keys sorted, no white space — so that the same policy written as YAML or JSON, in any key
 * order or with other comments, has one fingerprint, and any change of a rule, a severity, a
 * datum or an acceptance gives another. No policy is the empty policy `{}`.
 */
import { createHash } from 'node:crypto';
import type { Policy } from './types.js';

/** `value` as JSON with every object's keys sorted and no white space. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:HEX` of the policy's canonical JSON (of `{}` when there is none). */
export function policyFingerprint(policy: Policy | undefined): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(policy ?? {}))
    .digest('hex')}`;
}
