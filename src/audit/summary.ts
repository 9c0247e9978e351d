/**
 * The audit summary (docs/audit.md, "Output"; schemas/audit-summary.schema.json):
 * one entry per image of the audit — reference, manifest digest, platform, highest severity,
 * failed checks, the error when it could not be scanned — with totals and the layers the most
 * images share; and the merge of the summaries of a sharded audit into the one an unsharded
 * run would have written.
 */
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import { highestOf } from '../report/model.js';
import type { ToolInfo } from '../report/tool.js';
import type { Shard } from './shard.js';

/** The `format` of an audit summary. */
export const SUMMARY_FORMAT = 'oci-scan-audit-summary/1';

/** How many shared layers a summary lists. */
export const SHARED_LAYERS_LISTED = 20;

/** Why an image, a repository or the listing could not be audited. */
export interface AuditError {
  readonly code: string;
  readonly message: string;
}

/** One image of the audit (one per platform scanned of a reference), or a reference that could not be scanned. */
export interface SummaryImage {
  /** `REGISTRY/REPOSITORY:TAG`, or `oci:DIR:TAG`. */
  readonly reference: string;
  /** `REGISTRY/REPOSITORY` (the layout's `oci:DIR` for a layout entry without a repository). */
  readonly repository: string;
  readonly tag: string | null;
  /** The digest the tag resolved to (an index's for a multi-platform image); null when it did not resolve. */
  readonly digest: string | null;
  /** The platform scanned (`os/arch[/variant]`), null when unknown or not scanned. */
  readonly platform: string | null;
  /** Null when the image was not scanned. */
  readonly highest: Severity | null;
  /** Ids of the failed checks, in check order. */
  readonly failedChecks: readonly string[];
  /** Layer digests in manifest order. */
  readonly layers: readonly string[];
  /** The legacy report's file name in the reports directory. */
  readonly report: string | null;
  readonly error?: AuditError;
}

/** Counts over the images of a summary. */
export interface SummaryTotals {
  readonly images: number;
  readonly scanned: number;
  readonly errors: number;
  /** Scanned images per highest severity. */
  readonly bySeverity: Readonly<Record<Severity, number>>;
  readonly distinctManifests: number;
  readonly distinctLayers: number;
}

/** A layer and how many images hold it. */
export interface SharedLayer {
  readonly digest: string;
  readonly images: number;
}

/** What this run (or, merged, these runs) did: not part of the audit's result, so two summaries of one audit may differ here. */
export interface RunStats {
  /** Images scanned by this run. */
  readonly scanned: number;
  /** Images whose complete report a previous run left (resumed). */
  readonly resumed: number;
  /** With `--reuse-attestations`: images not scanned because a valid attestation of their verdict was found (docs/attest.md). */
  readonly attested?: number;
}

/** The fields of a summary that are not derived from its images. */
export interface SummaryHeader {
  readonly tool: ToolInfo;
  /** What was audited, as given (`REGISTRY/PREFIX`, `oci:DIR`, `--repos FILE`). */
  readonly source: string;
  readonly shard: Shard | null;
  /** False when the run was stopped, the listing failed, or (merged) a shard is missing or incomplete. */
  readonly complete: boolean;
  /** Images planned but not done (stopped run). */
  readonly pending: number;
  /** The listing's failure: nothing could be planned past it. */
  readonly listingError?: AuditError;
  /** Shards absent from a merge (1-based). */
  readonly missingShards?: readonly number[];
  readonly run: RunStats;
}

/** The whole summary. */
export interface AuditSummary extends SummaryHeader {
  readonly format: typeof SUMMARY_FORMAT;
  readonly images: readonly SummaryImage[];
  readonly totals: SummaryTotals;
  readonly sharedLayers: readonly SharedLayer[];
}

/** Orders images by reference, then platform: the same set gives the same summary. */
function compareImages(a: SummaryImage, b: SummaryImage): number {
  return a.reference < b.reference
    ? -1
    : a.reference > b.reference
      ? 1
      : (a.platform ?? '') < (b.platform ?? '')
        ? -1
        : (a.platform ?? '') > (b.platform ?? '')
          ? 1
          : 0;
}

/** The totals of `images`. */
export function totalsOf(images: readonly SummaryImage[]): SummaryTotals {
  const scanned = images.filter((i) => i.highest !== null);
  const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, scanned.filter((i) => i.highest === s).length])) as Record<
    Severity,
    number
  >;
  return {
    images: images.length,
    scanned: scanned.length,
    errors: images.length - scanned.length,
    bySeverity,
    distinctManifests: new Set(scanned.flatMap((i) => (i.digest ? [i.digest] : []))).size,
    distinctLayers: new Set(scanned.flatMap((i) => i.layers)).size,
  };
}

/** The layers held by the most images (at least two), most shared first, then by digest. */
export function sharedLayersOf(images: readonly SummaryImage[], limit = SHARED_LAYERS_LISTED): SharedLayer[] {
  const counts = new Map<string, number>();
  for (const image of images) for (const digest of new Set(image.layers)) counts.set(digest, (counts.get(digest) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n > 1)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .slice(0, limit)
    .map(([digest, n]) => ({ digest, images: n }));
}

/** A summary of `images` (in any order) under `header`. */
export function buildSummary(header: SummaryHeader, images: readonly SummaryImage[]): AuditSummary {
  const sorted = [...images].sort(compareImages);
  return {
    format: SUMMARY_FORMAT,
    tool: header.tool,
    source: header.source,
    shard: header.shard,
    complete: header.complete,
    pending: header.pending,
    ...(header.listingError ? { listingError: header.listingError } : {}),
    ...(header.missingShards && header.missingShards.length > 0 ? { missingShards: header.missingShards } : {}),
    images: sorted,
    totals: totalsOf(sorted),
    sharedLayers: sharedLayersOf(sorted),
    run: header.run,
  };
}

/** The highest severity over the scanned images of `summary` (Informational when none failed a check). */
export function summaryHighest(summary: Pick<AuditSummary, 'images'>): Severity {
  return highestOf(summary.images.flatMap((i) => (i.highest === null ? [] : [i.highest])));
}

/**
 * Merges the summaries of the shards of one audit into the summary an unsharded run would have
 * written. Shards are told apart by their `shard.index`; a shard given twice counts once (the
 * later copy wins), a summary without a shard is the whole audit. `missingShards` names the
 * shards of 1..N that are absent; the result is complete only when every shard is there and
 * complete.
 */
export function mergeSummaries(summaries: readonly AuditSummary[], tool: ToolInfo): AuditSummary {
  const [first] = summaries;
  const count = Math.max(1, ...summaries.map((s) => s.shard?.count ?? 1));
  const byIndex = new Map<number, AuditSummary>();
  for (const s of summaries) byIndex.set(s.shard?.index ?? 1, s);
  const present = [...byIndex.values()];
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  const listingError = present.find((s) => s.listingError)?.listingError;
  // One reference scanned by two shards (a shard run twice with different N) is kept once.
  const images = new Map<string, SummaryImage>();
  for (const s of present) for (const image of s.images) images.set(`${image.reference}\n${image.platform ?? ''}`, image);
  return buildSummary(
    {
      tool,
      source: first?.source ?? '',
      shard: null,
      complete: missing.length === 0 && present.every((s) => s.complete),
      pending: present.reduce((n, s) => n + s.pending, 0),
      ...(listingError ? { listingError } : {}),
      missingShards: missing,
      run: {
        scanned: present.reduce((n, s) => n + s.run.scanned, 0),
        resumed: present.reduce((n, s) => n + s.run.resumed, 0),
        ...(present.some((s) => s.run.attested !== undefined) ? { attested: present.reduce((n, s) => n + (s.run.attested ?? 0), 0) } : {}),
      },
    },
    [...images.values()],
  );
}
