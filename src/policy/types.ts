/**
 * A policy as written in `.oci-scan.yaml` (or passed to `scan()` as an object), the shape of
 * schemas/policy.schema.json (docs/ci.md, "Policy").
 */
import type { CheckSet } from '../checks/index.js';
import type { CheckId } from '../checks/types.js';

/** A check's rule: enabled (extended checks), disabled, or another severity for its failure; `images` limits it to some images. */
export interface CheckRule {
  /** Extended checks only: true runs the check whatever the profile, false leaves it out. */
  readonly enabled?: boolean;
  readonly disabled?: boolean;
  readonly severity?: 'Critical' | 'High' | 'Medium' | 'Low';
  /** Reference globs (`registry.local/team/*`); absent: every image. */
  readonly images?: readonly string[];
}

/** An accepted finding: the paths of a check that are known and accepted, with why and until when. */
export interface Acceptance {
  readonly check: CheckId;
  /** Path globs: `*` and `?` stay within a directory, `**` crosses directories. */
  readonly paths: readonly string[];
  readonly reason: string;
  /** Last day it holds, `YYYY-MM-DD` (UTC); after it the acceptance is ignored with a warning. */
  readonly expires?: string;
  readonly images?: readonly string[];
}

/** Names added to a list. */
export interface AddNames {
  readonly add?: readonly string[];
}

/** The forbidden-program checks whose names a policy extends (`data.forbiddenPrograms.sudo.add`). */
export const PROGRAM_CHECK_IDS = ['sudo', 'su', 'sshd', 'ssh', 'nc', 'netcat', 'socat'] as const satisfies readonly CheckId[];

/** The data the checks read (docs/checks.md, "Tunable data"). */
export interface PolicyData {
  /** `add`: names for the `forbidden-programs` check; per check id (`sudo`): names added to it. */
  readonly forbiddenPrograms?: AddNames & { readonly [check in (typeof PROGRAM_CHECK_IDS)[number]]?: AddNames };
  /** `PORT[/PROTOCOL]`, tcp by default. */
  readonly criticalPorts?: AddNames;
  readonly compilers?: AddNames & { readonly remove?: readonly string[] };
  readonly maxLayers?: number;
  readonly requiredLabels?: readonly string[];
  /** `secrets-env`: key words added and removed, and variable names never judged by name. */
  readonly secretEnv?: {
    readonly addKeys?: readonly string[];
    readonly removeKeys?: readonly string[];
    readonly ignoreNames?: readonly string[];
  };
  /** The rules of `secret-files` (docs/checks.md, "Tunable data"). */
  readonly secretFiles?: {
    readonly addNames?: readonly string[];
    readonly removeNames?: readonly string[];
    readonly addRules?: ReadonlyArray<{ readonly id: string; readonly regex: string }>;
    readonly removeRules?: readonly string[];
  };
}

/** A policy, version 1. */
export interface Policy {
  readonly version: 1;
  /** Which checks run (docs/checks.md, "Extended checks"); `--checks` overrides it. Default: `default`. */
  readonly profile?: CheckSet;
  readonly checks?: Readonly<Partial<Record<CheckId, CheckRule>>>;
  readonly accept?: readonly Acceptance[];
  /**
   * `accept`: findings in the base image's layers are accepted (reason "inherited from base"),
   * so only what the image introduces fails; `fail` (the default): every finding counts.
   */
  readonly inherited?: 'accept' | 'fail';
  readonly data?: PolicyData;
}
