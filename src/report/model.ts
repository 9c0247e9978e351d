/**
 * The result model every report format is built from (docs/reports.md): one result per check,
 * an image's results with their highest severity, and what became of each IMAGE of a run.
 */
import { SEVERITY_ORDER, type AcceptedFinding, type Check, type CheckOutcome, type LayerFiles, type Severity } from '../checks/types.js';
import type { Image } from '../image/types.js';

/** One result, as written to the JSON report. */
export interface ReportResult {
  Id: string;
  Title: string;
  Severity: Severity;
  Pass: boolean;
  Description: string;
  Mitigation: string;
  Files?: LayerFiles;
  /**
   * Beside `Files`, only when some layer has more findings than `Files` lists (the layer
   * recorder keeps a bounded number of paths): per layer of `Files`, same order, how many
   * entries matched there in total.
   */
  FileCounts?: Array<Record<string, number>>;
  /** Findings a policy accepted (moved out of `Files`), with the reason; present only when there are some. */
  Accepted?: AcceptedFinding[];
  /** Only in the `--format json` document: the check's own severity, also when it passed. */
  CheckSeverity?: Severity;
}

/** The legacy report: one key per image, the image as the user named it (one key in a report file). */
export type Report = Record<string, ReportResult[]>;

/** The base image of a scanned image and how the image relates to it. */
export interface BaseSplit {
  /** The base as given (`--base`) or as the annotation names it. */
  readonly reference: string;
  /** `option`: `--base`; `annotation`: the image's `org.opencontainers.image.base.*` manifest annotations. */
  readonly source: 'option' | 'annotation';
  /**
   * `prefix`: the base's layers are the image's first `inheritedLayers`; `not-prefix`: they are
   * not (another base, or a rebuilt one); `unresolved`: the base could not be read (`note` says why).
   */
  readonly status: 'prefix' | 'not-prefix' | 'unresolved';
  /** The base's manifest digest, when it was read and has one. */
  readonly digest?: string;
  /** With `prefix`: how many of the image's first layers are the base's. */
  readonly inheritedLayers?: number;
  /** One line for people: what was compared, or why nothing could be. */
  readonly note: string;
}

/** One image's results, as every report format reads them. */
export interface ScannedImage {
  readonly image: Image;
  /** Results in check order. */
  readonly results: readonly ReportResult[];
  readonly highest: Severity;
  /** Each check's own severity (the policy's, when it re-rated one), also for the checks that passed: the JSON document gives it beside each result. */
  readonly checkSeverities?: Readonly<Record<string, Severity>>;
  /** The base image (`--base`, or the manifest's base annotations) and how the image's layers relate to it; absent when none is named. */
  readonly base?: BaseSplit;
}

/** Why an IMAGE of a run could not be scanned. */
export interface ScanFailure {
  /** The error code (docs/errors.md); INTERNAL for a bug. */
  readonly code: string;
  /** The one-line message the user was shown. */
  readonly message: string;
}

/** What became of one IMAGE of a run: the images it resolved to (one per platform scanned), or its failure. */
export type ImageOutcome =
  { readonly input: string; readonly scans: readonly ScannedImage[] } | { readonly input: string; readonly failure: ScanFailure };

/** `FileCounts` for `files`, or undefined when every layer's list is complete. */
function fileCounts(files: LayerFiles, counts: CheckOutcome['counts']): Array<Record<string, number>> | undefined {
  if (!counts) return undefined;
  let truncated = false;
  const out = files.map((layer) =>
    Object.fromEntries(
      Object.entries(layer).map(([digest, paths]) => {
        const total = Math.max(paths.length, counts[digest] ?? 0);
        if (total > paths.length) truncated = true;
        return [digest, total];
      }),
    ),
  );
  return truncated ? out : undefined;
}

/** A result from a check and its outcome (a pass is Informational). */
export function toResult(check: Check, outcome: CheckOutcome): ReportResult {
  const files = !outcome.pass && outcome.files && outcome.files.length > 0 ? outcome.files : undefined;
  const counts = files && fileCounts(files, outcome.counts);
  return {
    Id: check.id,
    Title: check.title,
    Severity: outcome.pass ? 'Informational' : check.severity,
    Pass: outcome.pass,
    Description: outcome.description,
    Mitigation: check.mitigation,
    ...(files ? { Files: files } : {}),
    ...(counts ? { FileCounts: counts } : {}),
    ...(outcome.accepted && outcome.accepted.length > 0 ? { Accepted: [...outcome.accepted] } : {}),
  };
}

/** The highest severity among results (Informational when all passed). */
export function highestSeverity(results: readonly ReportResult[]): Severity {
  return highestOf(results.map((r) => r.Severity));
}

/** The highest of `severities` (Informational for none). */
export function highestOf(severities: Iterable<Severity>): Severity {
  let best = SEVERITY_ORDER.length - 1;
  for (const s of severities) best = Math.min(best, SEVERITY_ORDER.indexOf(s));
  return SEVERITY_ORDER[best] ?? 'Informational';
}

/** The images scanned in a run, in argument order (several per IMAGE with every platform). */
export function scannedImages(outcomes: readonly ImageOutcome[]): ScannedImage[] {
  return outcomes.flatMap((o) => ('scans' in o ? o.scans : []));
}
