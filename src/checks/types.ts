/**
 * The shape every check has (docs/checks.md): a title and severity from the original tool, an
 * optional entry matcher (file checks) and watched paths, and a pure `run` over the image's
 * config and per-layer facts. Checks never touch the network or the disk.
 */
import type { ImageConfig } from '../image/config.js';
import type { Platform } from '../image/platform.js';
import type { ImageName } from '../image/types.js';
import type { FinalFs } from '../layer/final-fs.js';
import type { EntryMatcher, LayerFacts } from '../layer/inspect.js';

/** Result severities, highest first. */
export type Severity = 'Critical' | 'High' | 'Medium' | 'Low' | 'Informational';

/** Severities ordered from highest to lowest. */
export const SEVERITY_ORDER: readonly Severity[] = ['Critical', 'High', 'Medium', 'Low', 'Informational'];

/** Stable check identifiers (added to each result as `Id`). */
export type CheckId =
  | 'tag-latest'
  | 'exposed-ports'
  | 'default-user'
  | 'labels'
  | 'layer-count'
  | 'startup-command'
  | 'suid'
  | 'sgid'
  | 'sudo'
  | 'su'
  | 'sshd'
  | 'ssh'
  | 'nc'
  | 'netcat'
  | 'socat'
  | 'compilers'
  | 'os-type'
  /** Only with a policy that names forbidden programs (`data.forbiddenPrograms.add`). */
  | 'forbidden-programs'
  | ExtendedCheckId;

/**
 * Ids of the extended checks (docs/checks.md, "Extended checks"): run only when enabled
 * (`--checks extended`, a policy's `profile: extended` or `checks.<id>.enabled`).
 */
export type ExtendedCheckId =
  // Config and history checks.
  | 'healthcheck'
  | 'sensitive-volumes'
  | 'add-instruction'
  | 'build-history'
  | 'secrets-env'
  // Account file checks.
  | 'empty-password'
  | 'duplicate-ids'
  // Filesystem checks (src/checks/extended-files.ts; docs/checks.md, "Extended checks: the filesystem").
  | 'package-caches'
  | 'leftover-files'
  | 'world-writable'
  | 'secret-files';

/** One inspected layer as checks see it. */
export interface LayerView {
  readonly digest: string;
  readonly facts: LayerFacts;
}

/** Everything a check may look at. */
export interface CheckInput {
  readonly name: ImageName;
  readonly config: ImageConfig;
  /** Layers in image order. */
  readonly layers: readonly LayerView[];
  /** Layers that could not be inspected (foreign layers a registry does not serve), with why. */
  readonly notScanned: ReadonlyArray<{ readonly digest: string; readonly reason: string }>;
  /**
   * `--allow-unscanned-layers`: file checks pass with a note despite `notScanned` layers.
   * Without it a layer that was not scanned fails every file check as "not verified".
   */
  readonly allowUnscannedLayers?: boolean;
  /** The merged filesystem (both storage drivers' views): watched files, symlinks, hard links and executables. */
  readonly fs: FinalFs;
  /** Set when the image was chosen from a multi-platform index. */
  readonly platform?: Platform;
  /** The scan's signal: a check that works long yields to the event loop and stops once it aborts. */
  readonly signal?: AbortSignal;
}

/** Files found by a file check: layer digest → sorted paths, layers in image order. */
export type LayerFiles = Array<Record<string, string[]>>;

/** A finding a policy accepted (docs/ci.md, "Policy"): where it is, and why it is accepted. */
export interface AcceptedFinding {
  readonly Layer: string;
  readonly Path: string;
  readonly Reason: string;
  /** Last day the acceptance holds (YYYY-MM-DD). */
  readonly Expires?: string;
}

/** What a check concluded. */
export interface CheckOutcome {
  readonly pass: boolean;
  readonly description: string;
  readonly files?: LayerFiles;
  /** Layer digest → entries matched there in total, where that is more than `files` lists (the recorder keeps a bounded number of paths). */
  readonly counts?: Readonly<Record<string, number>>;
  /** Findings a policy accepted: moved out of `files`; a check whose findings were all accepted passes. */
  readonly accepted?: readonly AcceptedFinding[];
}

/** A compliance check. */
export interface Check {
  readonly id: CheckId;
  /** Exact title of the original tool (docs/checks.md): consumers match on it. */
  readonly title: string;
  /** Severity of a failure. */
  readonly severity: Severity;
  readonly mitigation: string;
  /** For file checks: which tar entries are findings. */
  readonly matcher?: EntryMatcher;
  /** More matchers, for a check that keeps several kinds of findings apart (`package-caches`: one per cache). */
  readonly matchers?: readonly EntryMatcher[];
  /** Paths of the final filesystem this check reads. */
  readonly watchPaths?: readonly string[];
  /** Pure; a check that may work long (file checks) returns a promise and yields while it works. */
  run(input: CheckInput): CheckOutcome | Promise<CheckOutcome>;
}

/** The description of a check's result when a policy disabled it (policy/apply.ts); JUnit reports such a check as skipped. */
export const DISABLED_DESCRIPTION = 'Disabled by policy';
