/**
 * Applying a policy to one image (docs/ci.md, "Policy"): the checks built from its data, with
 * the rules of the image's checks (disabled, severity) applied; and, after the checks ran, the
 * findings it accepts moved out of each outcome. Rules and acceptances with `images` apply
 * only to images whose reference matches one of the globs.
 */
import { ALL_CHECKS, createChecks, extendedIdsOf, isExtendedId, type CheckData, type CheckSet } from '../checks/index.js';
import type { CriticalPort } from '../checks/exposed-ports.js';
import {
  DISABLED_DESCRIPTION,
  type AcceptedFinding,
  type Check,
  type CheckId,
  type CheckInput,
  type CheckOutcome,
  type LayerFiles,
} from '../checks/types.js';
import { matchesAny } from './glob.js';
import { PROGRAM_CHECK_IDS, type Acceptance, type Policy } from './types.js';

/** Whether a rule with `images` applies to the image `reference`. */
function appliesTo(rule: { readonly images?: readonly string[] }, reference: string): boolean {
  return rule.images === undefined || matchesAny(rule.images, reference);
}

/** `8080/tcp` → a critical port (tcp when no protocol is given, as EXPOSE reads it). */
function criticalPort(text: string): CriticalPort {
  const [port = '', protocol = 'tcp'] = text.split('/');
  return { port: Number(port), protocol, service: 'policy' };
}

/** The check data a policy sets (the defaults for what it does not set). */
/** What a disabled check's result says (re-exported: it is defined beside the check types). */
export { DISABLED_DESCRIPTION };

export function checkDataOf(policy: Policy | undefined): CheckData {
  const data = policy?.data;
  if (!data) return {};
  const programsOf = Object.fromEntries(
    PROGRAM_CHECK_IDS.flatMap((id) => {
      const add = data.forbiddenPrograms?.[id]?.add ?? [];
      return add.length > 0 ? [[id, add]] : [];
    }),
  );
  return {
    ...(data.forbiddenPrograms?.add ? { forbiddenPrograms: data.forbiddenPrograms.add } : {}),
    ...(Object.keys(programsOf).length > 0 ? { programsOf } : {}),
    ...(data.criticalPorts?.add ? { criticalPorts: data.criticalPorts.add.map(criticalPort) } : {}),
    ...(data.compilers ? { compilers: data.compilers } : {}),
    ...(data.maxLayers !== undefined ? { maxLayers: data.maxLayers } : {}),
    ...(data.requiredLabels ? { requiredLabels: data.requiredLabels } : {}),
    ...(data.secretEnv ? { secretEnv: data.secretEnv } : {}),
    ...(data.secretFiles ? { secretFiles: data.secretFiles } : {}),
  };
}

/**
 * The extended checks that run for the image `reference`: those of the set (`set`, the
 * command line's `--checks`, else the policy's `profile`, else none), plus those a rule
 * enables, minus those a rule leaves out (`enabled: false`).
 */
export function enabledExtended(policy: Policy | undefined, reference: string, set?: CheckSet): CheckId[] {
  const ids = new Set(extendedIdsOf(set ?? policy?.profile));
  for (const [id, rule] of Object.entries(policy?.checks ?? {}) as Array<[CheckId, NonNullable<Policy['checks']>[CheckId]]>) {
    if (rule?.enabled === undefined || !isExtendedId(id) || !appliesTo(rule, reference)) continue;
    if (rule.enabled) ids.add(id);
    else ids.delete(id);
  }
  return [...ids];
}

/**
 * The checks of the image `reference` for a scan: the caller's (`base`) or those of the set and
 * the policy's data and rules; with neither a policy nor extended checks, ALL_CHECKS itself.
 */
export function scanChecks(
  policy: Policy | undefined,
  reference: string,
  base: readonly Check[] | undefined,
  set: CheckSet | undefined,
): readonly Check[] {
  if (policy) return policyChecks(policy, reference, base, set);
  if (base) return base;
  const extended = extendedIdsOf(set);
  return extended.length > 0 ? createChecks({}, extended) : ALL_CHECKS;
}

/**
 * The checks for the image `reference`: `base` (default: built from the policy's data, with
 * the extended checks that run for it: enabledExtended), each with the policy's rule for this image. A disabled check stays in its place and passes with
 * DISABLED_DESCRIPTION, reading nothing (no matcher, no watched paths).
 */
export function policyChecks(policy: Policy | undefined, reference: string, base?: readonly Check[], set?: CheckSet): Check[] {
  const checks = base
    ? [...base]
    : policy || set
      ? createChecks(checkDataOf(policy), enabledExtended(policy, reference, set))
      : [...ALL_CHECKS];
  if (!policy?.checks) return checks;
  return checks.map((check): Check => {
    const rule = policy.checks?.[check.id];
    if (!rule || !appliesTo(rule, reference)) return check;
    if (rule.disabled === true)
      return {
        id: check.id,
        title: check.title,
        severity: check.severity,
        mitigation: check.mitigation,
        run: () => ({ pass: true, description: DISABLED_DESCRIPTION }),
      };
    return rule.severity ? { ...check, severity: rule.severity } : check;
  });
}

/** The UTC day of `now`, `YYYY-MM-DD`. */
function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** Acceptances already warned about as expired (one warning per acceptance per process). */
const warned = new WeakSet<Acceptance>();

/**
 * The acceptances of `policy` that hold for the image `reference` on `now`'s day. An expired
 * one is left out and `warn` is called once for it, whichever image asks first.
 */
export function activeAcceptances(
  policy: Policy | undefined,
  reference: string,
  now: Date,
  warn: (rule: Acceptance) => void,
): Acceptance[] {
  const day = today(now);
  return (policy?.accept ?? []).filter((rule) => {
    if (rule.expires !== undefined && rule.expires < day) {
      if (!warned.has(rule)) {
        warned.add(rule);
        warn(rule);
      }
      return false;
    }
    return appliesTo(rule, reference);
  });
}

/**
 * `outcome` of `check` with the findings that `rules` accept moved to `accepted`. The check
 * passes when no finding is left — unless some findings were not listed (a layer with more
 * than the recorder keeps: those cannot be accepted path by path, so such a layer is left
 * as it is) or layers were not scanned and not allowed to be.
 */
export function acceptFindings(
  check: Check,
  outcome: CheckOutcome,
  input: Pick<CheckInput, 'notScanned' | 'allowUnscannedLayers'>,
  rules: readonly Acceptance[],
): CheckOutcome {
  const mine = rules.filter((r) => r.check === check.id);
  if (outcome.pass || !outcome.files || mine.length === 0) return outcome;
  const accepted: AcceptedFinding[] = [];
  const files: LayerFiles = [];
  for (const layer of outcome.files) {
    for (const [digest, paths] of Object.entries(layer)) {
      const truncated = (outcome.counts?.[digest] ?? 0) > paths.length;
      const kept: string[] = [];
      for (const path of paths) {
        const rule = truncated ? undefined : mine.find((r) => matchesAny(r.paths, path));
        if (rule)
          accepted.push({
            Layer: digest,
            Path: path,
            Reason: rule.reason,
            ...(rule.expires !== undefined ? { Expires: rule.expires } : {}),
          });
        else kept.push(path);
      }
      if (kept.length > 0) files.push({ [digest]: kept });
    }
  }
  if (accepted.length === 0) return outcome;
  const unverified = input.notScanned.length > 0 && input.allowUnscannedLayers !== true;
  const note = `${accepted.length} accepted by policy`;
  if (files.length === 0 && !unverified) {
    return { pass: true, description: `All findings accepted by policy (${accepted.length} accepted)`, accepted };
  }
  const { files: _files, ...rest } = outcome;
  return { ...rest, description: `${outcome.description} (${note})`, ...(files.length > 0 ? { files } : {}), accepted };
}
