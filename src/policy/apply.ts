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
  if (mine.length === 0) return outcome;
  return moveFindings(outcome, input, (_digest, path) => mine.find((r) => matchesAny(r.paths, path)), {
    all: 'All findings accepted by policy',
    note: 'accepted by policy',
  });
}

/** The reason an inherited finding carries when the policy says `inherited: accept`. */
export const INHERITED_REASON = 'inherited from base';

/**
 * With the policy's `inherited: accept` (docs/ci.md, "Policy"): `outcome` with the findings in
 * the base image's layers (`inherited`, layer digests) moved to `accepted`, reason
 * INHERITED_REASON plus the base, as the policy's own acceptances are; a check whose findings
 * are all inherited passes with that note. Checks without files (the config's) are the final
 * image's: untouched.
 */
export function acceptInherited(
  outcome: CheckOutcome,
  input: Pick<CheckInput, 'notScanned' | 'allowUnscannedLayers'>,
  inherited: ReadonlySet<string>,
  base: string,
): CheckOutcome {
  if (inherited.size === 0) return outcome;
  const rule = { reason: `${INHERITED_REASON} ${base}` };
  return moveFindings(outcome, input, (digest) => (inherited.has(digest) ? rule : undefined), {
    all: 'All findings inherited from the base image',
    note: 'inherited from base',
    wholeLayers: true,
  });
}

/**
 * `outcome` with the findings `pick` gives a rule for moved to `accepted`. A layer with more
 * findings than listed is moved only with `wholeLayers` (a rule about the layer, not its paths).
 */
function moveFindings(
  outcome: CheckOutcome,
  input: Pick<CheckInput, 'notScanned' | 'allowUnscannedLayers'>,
  pick: (digest: string, path: string) => { readonly reason: string; readonly expires?: string | undefined } | undefined,
  words: { readonly all: string; readonly note: string; readonly wholeLayers?: boolean },
): CheckOutcome {
  if (outcome.pass || !outcome.files) return outcome;
  const accepted: AcceptedFinding[] = [...(outcome.accepted ?? [])];
  const before = accepted.length;
  const files: LayerFiles = [];
  const counts: Record<string, number> = {};
  for (const layer of outcome.files) {
    for (const [digest, paths] of Object.entries(layer)) {
      const total = outcome.counts?.[digest] ?? 0;
      const truncated = total > paths.length;
      const kept: string[] = [];
      for (const path of paths) {
        const rule = truncated && words.wholeLayers !== true ? undefined : pick(digest, path);
        if (rule)
          accepted.push({
            Layer: digest,
            Path: path,
            Reason: rule.reason,
            ...(rule.expires !== undefined ? { Expires: rule.expires } : {}),
          });
        else kept.push(path);
      }
      if (kept.length > 0) {
        files.push({ [digest]: kept });
        if (total > 0) counts[digest] = total;
      }
    }
  }
  const moved = accepted.length - before;
  if (moved === 0) return outcome;
  const unverified = input.notScanned.length > 0 && input.allowUnscannedLayers !== true;
  if (files.length === 0 && !unverified) {
    return { pass: true, description: `${words.all} (${moved} ${words.note.split(' ')[0]})`, accepted };
  }
  const { files: _files, counts: _counts, ...rest } = outcome;
  return {
    ...rest,
    description: `${outcome.description} (${moved} ${words.note})`,
    ...(files.length > 0 ? { files } : {}),
    ...(Object.keys(counts).length > 0 ? { counts } : {}),
    accepted,
  };
}
