/**
 * The checks, in the order of docs/checks.md (the report keeps this order), what the layer
 * inspector must collect for them, and the checks built from a policy's data (docs/checks.md,
 * "Tunable data"): the policy changes the data the checks read, never their code.
 */
import type { EntryMatcher } from '../layer/inspect.js';
import { addInstructionCheck } from './add-instruction.js';
import { buildHistoryCheck } from './build-history.js';
import { compilersCheck, createCompilersCheck, type CompilerNames } from './compilers.js';
import { duplicateIdsCheck } from './duplicate-ids.js';
import { emptyPasswordCheck } from './empty-password.js';
import { healthcheckCheck } from './healthcheck.js';
import { createSecretsEnvCheck, secretsEnvCheck, type SecretEnvData } from './secrets-env.js';
import { sensitiveVolumesCheck } from './sensitive-volumes.js';
import { defaultUserCheck } from './default-user.js';
import { createExposedPortsCheck, exposedPortsCheck, type CriticalPort } from './exposed-ports.js';
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';
import { createLabelsCheck, labelsCheck } from './labels.js';
import { createLayerCountCheck, layerCountCheck } from './layer-count.js';
import { NC, ncCheck } from './nc.js';
import { NETCAT, netcatCheck } from './netcat.js';
import { osTypeCheck } from './os-type.js';
import { sgidCheck } from './sgid.js';
import { SOCAT, socatCheck } from './socat.js';
import { SSH, sshCheck } from './ssh.js';
import { SSHD, sshdCheck } from './sshd.js';
import { startupCommandCheck } from './startup-command.js';
import { SU, suCheck } from './su.js';
import { SUDO, sudoCheck } from './sudo.js';
import { type SecretFilesData } from './secret-scan.js';
import { createFileExtendedChecks, FILE_EXTENDED_CHECKS } from './extended-files.js';
import { suidCheck } from './suid.js';
import { tagLatestCheck } from './tag-latest.js';
import type { Check, CheckId } from './types.js';

/** All checks in report order. */
export const ALL_CHECKS: readonly Check[] = [
  tagLatestCheck,
  exposedPortsCheck,
  defaultUserCheck,
  labelsCheck,
  layerCountCheck,
  startupCommandCheck,
  suidCheck,
  sgidCheck,
  sudoCheck,
  suCheck,
  sshdCheck,
  sshCheck,
  ncCheck,
  netcatCheck,
  socatCheck,
  compilersCheck,
  osTypeCheck,
];

/**
 * The extended checks (docs/checks.md, "Extended checks"), in report order: off unless enabled,
 * and then after the others (the 17 keep their positions 0–16). What they collect goes into
 * the layer-facts key like any check's (matchers, watched paths), so facts collected without
 * them are never reused for them.
 */
export const EXTENDED_CHECKS: readonly Check[] = [
  healthcheckCheck,
  sensitiveVolumesCheck,
  addInstructionCheck,
  buildHistoryCheck,
  secretsEnvCheck,
  emptyPasswordCheck,
  duplicateIdsCheck,
  // The filesystem checks (docs/checks.md, "Extended checks: the filesystem").
  ...FILE_EXTENDED_CHECKS,
];

/** Which checks run: `default` the 17 (and forbidden-programs), `extended` (= `all`) the extended ones after them. */
export type CheckSet = 'default' | 'extended' | 'all';

/** The values of `--checks` and of a policy's `profile`. */
export const CHECK_SETS: readonly CheckSet[] = ['default', 'extended', 'all'];

/** The ids of the extended checks a set turns on. */
export function extendedIdsOf(set: CheckSet | undefined): CheckId[] {
  return set === 'extended' || set === 'all' ? EXTENDED_CHECKS.map((c) => c.id) : [];
}

/** Whether `id` names an extended check. */
export function isExtendedId(id: string): boolean {
  return EXTENDED_CHECKS.some((c) => c.id === id);
}

/** The entry matchers of `checks`, for the layer inspector. */
export function matchersOf(checks: readonly Check[]): EntryMatcher[] {
  return checks.flatMap((c) => [...(c.matcher ? [c.matcher] : []), ...(c.matchers ?? [])]);
}

/** The union of the paths `checks` read from the final filesystem. */
export function watchPathsOf(checks: readonly Check[]): Set<string> {
  return new Set(checks.flatMap((c) => c.watchPaths ?? []));
}

/** The forbidden-program checks whose names a policy may extend, by id. */
export const FORBIDDEN_PROGRAMS: Readonly<Record<string, ForbiddenProgram>> = {
  sudo: SUDO,
  su: SU,
  sshd: SSHD,
  ssh: SSH,
  nc: NC,
  netcat: NETCAT,
  socat: SOCAT,
};

/** The id of the check a policy adds for its own forbidden program names. */
export const POLICY_PROGRAMS_ID: CheckId = 'forbidden-programs';

/** The data of the checks a policy may tune; every field optional (the defaults are the original's). */
export interface CheckData {
  /** Names for the `forbidden-programs` check (absent when empty). */
  readonly forbiddenPrograms?: readonly string[];
  /** Names added to a forbidden-program check, by its id (`sudo`: `doas`). */
  readonly programsOf?: Readonly<Record<string, readonly string[]>>;
  /** Ports that fail `exposed-ports` besides the default ones. */
  readonly criticalPorts?: readonly CriticalPort[];
  readonly compilers?: CompilerNames;
  /** Layers allowed before `layer-count` fails (default 1). */
  readonly maxLayers?: number;
  /** Labels `labels` requires. */
  readonly requiredLabels?: readonly string[];
  /** Key words added to and removed from `secrets-env`'s, and names it never judges by name. */
  readonly secretEnv?: SecretEnvData;
  /** The rules of `secret-files` (an extended check: createFileExtendedChecks reads it). */
  readonly secretFiles?: SecretFilesData;
}

/**
 * The checks in report order, built from `data` (ALL_CHECKS for none), plus `forbidden-programs`
 * after the others when it has names, then the extended checks named in `extended` (in
 * EXTENDED_CHECKS order, whatever the order of `extended`).
 */
export function createChecks(data: CheckData = {}, extended: readonly CheckId[] = []): Check[] {
  const programs = (def: ForbiddenProgram): Check => {
    const extra = data.programsOf?.[def.id] ?? [];
    return forbiddenProgramCheck(extra.length === 0 ? def : { ...def, names: [...def.names, ...extra] });
  };
  const checks = ALL_CHECKS.map((check): Check => {
    switch (check.id) {
      case 'exposed-ports':
        return data.criticalPorts ? createExposedPortsCheck(data.criticalPorts) : check;
      case 'labels':
        return data.requiredLabels ? createLabelsCheck(data.requiredLabels) : check;
      case 'layer-count':
        return data.maxLayers !== undefined ? createLayerCountCheck(data.maxLayers) : check;
      case 'compilers':
        return data.compilers ? createCompilersCheck(data.compilers) : check;
      default: {
        const def = FORBIDDEN_PROGRAMS[check.id];
        return def && data.programsOf?.[check.id] ? programs(def) : check;
      }
    }
  });
  const names = data.forbiddenPrograms ?? [];
  if (names.length > 0) {
    checks.push(
      forbiddenProgramCheck({
        id: POLICY_PROGRAMS_ID,
        title: 'Checking for forbidden programs',
        label: 'forbidden by the policy',
        names,
        severity: 'Critical',
      }),
    );
  }
  // The filesystem checks read the policy's secret-file rules; built only when one of them runs.
  const files =
    FILE_EXTENDED_CHECKS.some((c) => extended.includes(c.id)) && data.secretFiles
      ? createFileExtendedChecks({ secretFiles: data.secretFiles })
      : undefined;
  for (const check of EXTENDED_CHECKS) {
    if (!extended.includes(check.id)) continue;
    if (check.id === 'secrets-env' && data.secretEnv) checks.push(createSecretsEnvCheck(data.secretEnv));
    else checks.push(files?.find((c) => c.id === check.id) ?? check);
  }
  return checks;
}
