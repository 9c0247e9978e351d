/**
 * The scan document of `--format json` (docs/reports.md, "Scan document"): one document per
 * run, always the same shape — the tool, every image scanned with its digests, platform,
 * layers and results, every IMAGE that could not be scanned, and the highest severity —
 * validated against schemas/scan-document.schema.json before it is written.
 */
import type { Severity } from '../../checks/types.js';
import type { Platform } from '../../image/platform.js';
import { layerDetails, type BaseSplit, type LayerDetail } from '../layers.js';
import { highestOf, scannedImages, type ImageOutcome, type ReportResult, type ScanFailure, type ScannedImage } from '../model.js';
import { toolInfo, type ToolInfo } from '../tool.js';
import { assertValidDocument } from '../validate.js';

/** One image scanned. */
export interface ImageDocument {
  /** The image as the user named it (the key of its legacy report). */
  readonly reference: string;
  /** The manifest digest; null for a docker archive, which records no manifest. */
  readonly digest: string | null;
  /** The digest of the index the manifest was chosen from, when there was one. */
  readonly indexDigest?: string;
  readonly configDigest: string;
  /** The manifest's artifactType, when the image carries one (it is scanned as the image it is). */
  readonly artifactType?: string;
  readonly platform: Platform | null;
  /** Layer digests in manifest order. */
  readonly layers: readonly string[];
  /** Per layer, same order: its history entry and whether the base image holds it (nulls where not known). */
  readonly layerDetails?: readonly LayerDetail[];
  /** The base image named by --base or the manifest's annotations, and how the image relates to it. */
  readonly base?: BaseSplit;
  readonly results: readonly ReportResult[];
  readonly highest: Severity;
}

/** An IMAGE that could not be scanned. */
export interface ErrorDocument extends ScanFailure {
  /** The IMAGE argument as given. */
  readonly reference: string;
}

/** The whole document. */
export interface ScanDocument {
  readonly tool: ToolInfo;
  readonly images: readonly ImageDocument[];
  readonly errors: readonly ErrorDocument[];
  /**
   * The run's highest severity: over every image scanned, and null when an IMAGE could not be
   * scanned (the verdict is not known: a consumer must not read a clean run into it) or none was.
   */
  readonly highest: Severity | null;
  /** Over the images scanned, whatever failed; null when none was. */
  readonly highestScanned: Severity | null;
}

/** `r` with `CheckSeverity`, the check's own severity, when it is known. */
function withCheckSeverity(r: ReportResult, severities: Readonly<Record<string, Severity>> | undefined): ReportResult {
  const severity = r.Id !== undefined ? severities?.[r.Id] : undefined;
  return severity ? { ...r, CheckSeverity: severity } : r;
}

function imageDocument(scan: ScannedImage): ImageDocument {
  const { image } = scan;
  const platform: Platform | null = image.platform
    ? {
        os: image.platform.os,
        architecture: image.platform.architecture,
        ...(image.platform.variant ? { variant: image.platform.variant } : {}),
      }
    : null;
  return {
    reference: image.name.display,
    digest: image.manifestDigest ?? null,
    ...(image.indexDigest !== undefined ? { indexDigest: image.indexDigest } : {}),
    configDigest: image.configDigest,
    ...(image.artifactType !== undefined ? { artifactType: image.artifactType } : {}),
    platform,
    layers: image.layers.map((l) => l.digest),
    layerDetails: layerDetails(scan),
    ...(scan.base ? { base: scan.base } : {}),
    // A passed check's Severity is Informational (the legacy shape); CheckSeverity keeps the check's own.
    results: scan.checkSeverities ? scan.results.map((r) => withCheckSeverity(r, scan.checkSeverities)) : scan.results,
    highest: scan.highest,
  };
}

/** The scan document of a run, `outcomes` in argument order; throws INTERNAL when it does not match its schema. */
export function scanDocument(outcomes: readonly ImageOutcome[], info: ToolInfo = toolInfo()): ScanDocument {
  const scans = scannedImages(outcomes);
  const errors = outcomes.flatMap((o) =>
    'failure' in o ? [{ reference: o.input, code: o.failure.code, message: o.failure.message }] : [],
  );
  const highestScanned = scans.length === 0 ? null : highestOf(scans.map((s) => s.highest));
  const doc: ScanDocument = {
    tool: info,
    images: scans.map(imageDocument),
    errors,
    highest: errors.length > 0 ? null : highestScanned,
    highestScanned,
  };
  assertValidDocument('scan-document', doc);
  return doc;
}
