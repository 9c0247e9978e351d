/**
 * SARIF 2.1.0 (docs/reports.md "SARIF"), for code-scanning dashboards: one run for the whole
 * scan, one rule per check (its docs/checks.md section as help, `security-severity` for
 * GitHub's severity buckets), one result per finding — a file in a layer, or the image itself
 * for a check that looks at the config — and the findings a policy accepted as suppressed
 * results with the policy's reason.
 */
import { formatPlatform } from '../../image/platform.js';
import type { Severity } from '../../checks/types.js';
import { checkDocs, extendedCheckDocs, type CheckDoc } from '../check-docs.js';
import { detailsByDigest, layerDetails, type LayerDetail } from '../layers.js';
import { scannedImages, type ImageOutcome, type ReportResult, type ScannedImage } from '../model.js';
import { toolInfo, type ToolInfo } from '../tool.js';

/** The schema URI SARIF consumers expect in `$schema`. */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/**
 * GitHub code scanning buckets `security-severity`: ≥ 9.0 critical, 7.0–8.9 high, 4.0–6.9
 * medium, 0.1–3.9 low (GitHub docs, "SARIF support for code scanning").
 */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  Critical: '9.5',
  High: '8.0',
  Medium: '5.5',
  Low: '2.0',
  Informational: '0.0',
};
const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note' | 'none'>> = {
  Critical: 'error',
  High: 'error',
  Medium: 'warning',
  Low: 'note',
  Informational: 'none',
};

/** A SARIF log, as far as oci-scan writes one. */
export interface SarifLog {
  readonly $schema: string;
  readonly version: '2.1.0';
  readonly runs: readonly object[];
}

/** One finding of a result: a file in a layer, or (no layer) the image itself. */
interface Finding {
  readonly layer?: string;
  readonly path?: string;
  readonly accepted?: { readonly reason: string; readonly expires?: string };
}

function findingsOf(r: ReportResult): Finding[] {
  const files: Finding[] = (r.Files ?? []).flatMap((layer) =>
    Object.entries(layer).flatMap(([digest, paths]) => paths.map((path) => ({ layer: digest, path }))),
  );
  const accepted: Finding[] = (r.Accepted ?? []).map((a) => ({
    layer: a.Layer,
    path: a.Path,
    accepted: { reason: a.Reason, ...(a.Expires !== undefined ? { expires: a.Expires } : {}) },
  }));
  // A failed check without files (tag, user, ports…) is one finding about the image.
  const image: Finding[] = !r.Pass && files.length === 0 ? [{}] : [];
  return [...files, ...image, ...accepted];
}

/** `library/alpine` for `alpine:3.20`: a URI-safe name for the image as an artifact. */
function imageUri(scan: ScannedImage): string {
  return encodeURI(scan.image.name.repository || scan.image.name.name);
}

/** ` (RUN apk add …, introduced)`: what a finding's layer says about why it is there; empty when nothing is known. */
function layerNote(detail: LayerDetail | undefined): string {
  const parts = [detail?.createdBy ?? undefined, detail?.origin ?? undefined].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function result(scan: ScannedImage, r: ReportResult, ruleIndex: number, f: Finding, details: ReadonlyMap<string, LayerDetail>): object {
  const ref = scan.image.name.display;
  const detail = f.layer !== undefined ? details.get(f.layer) : undefined;
  const where = f.path !== undefined && f.layer !== undefined ? `${f.path} in layer ${f.layer}${layerNote(detail)} of ${ref}` : ref;
  const imageFqn = scan.image.manifestDigest ? `${ref}@${scan.image.manifestDigest}` : ref;
  return {
    ruleId: r.Id,
    ruleIndex,
    level: LEVEL[r.Severity === 'Informational' ? 'Low' : r.Severity],
    message: { text: `${r.Title}: ${where}. ${r.Description}` },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: f.path !== undefined ? encodeURI(f.path.replace(/^\/+/, '')) : imageUri(scan) } },
        logicalLocations: [
          { kind: 'image', name: ref, fullyQualifiedName: imageFqn },
          ...(f.layer !== undefined ? [{ kind: 'layer', name: f.layer, fullyQualifiedName: `${imageFqn}/${f.layer}` }] : []),
          ...(f.layer !== undefined && f.path !== undefined
            ? [{ kind: 'file', name: f.path, fullyQualifiedName: `${imageFqn}/${f.layer}${f.path.startsWith('/') ? '' : '/'}${f.path}` }]
            : []),
        ],
      },
    ],
    // Stable per image, check and file, so that dashboards follow a finding across scans.
    partialFingerprints: { 'ociScanFinding/v1': [scan.image.name.repository, r.Id, f.layer ?? '', f.path ?? ''].join('|') },
    ...(f.accepted
      ? {
          suppressions: [
            {
              kind: 'external',
              status: 'accepted',
              justification: f.accepted.expires ? `${f.accepted.reason} (until ${f.accepted.expires})` : f.accepted.reason,
            },
          ],
        }
      : {}),
    properties: {
      image: ref,
      ...(scan.image.manifestDigest ? { imageDigest: scan.image.manifestDigest } : {}),
      ...(scan.image.platform ? { platform: formatPlatform(scan.image.platform) } : {}),
      ...(f.layer !== undefined ? { layer: f.layer } : {}),
      ...(f.path !== undefined ? { path: f.path } : {}),
      ...(detail?.createdBy ? { createdBy: detail.createdBy } : {}),
      // Config checks judge the final image: what it introduces (docs/reports.md).
      ...(f.layer === undefined
        ? scan.base?.status === 'prefix'
          ? { origin: 'introduced' }
          : {}
        : detail?.origin
          ? { origin: detail.origin }
          : {}),
      severity: r.Severity,
    },
  };
}

/** The SARIF log of a run (images in argument order; IMAGEs that could not be scanned become tool notifications). */
export function sarifLog(outcomes: readonly ImageOutcome[], info: ToolInfo = toolInfo()): SarifLog {
  const scans = scannedImages(outcomes);
  // The documented checks, then the extended checks and any other check a result names (a policy may add one).
  const docs: CheckDoc[] = [...checkDocs()];
  const extended = extendedCheckDocs();
  for (const r of scans.flatMap((scan) => scan.results)) {
    if (docs.some((d) => d.id === r.Id)) continue;
    const known = extended.find((d) => d.id === r.Id);
    if (known) docs.push(known);
    else
      docs.push({
        id: r.Id,
        title: r.Title,
        severity: r.Pass ? 'Low' : r.Severity,
        looksAt: r.Title,
        help: `${r.Title}\n\n**Fix**: ${r.Mitigation}`,
      });
  }
  const rules = docs.map((d) => ({
    id: d.id,
    name: d.title,
    shortDescription: { text: d.title },
    fullDescription: { text: d.looksAt },
    help: { text: d.help.replace(/\*\*|`/g, ''), markdown: d.help },
    defaultConfiguration: { level: LEVEL[d.severity] },
    properties: { 'security-severity': SECURITY_SEVERITY[d.severity], tags: ['security', 'container'], precision: 'very-high' },
  }));
  const index = new Map(docs.map((d, i) => [d.id, i]));
  const results = scans.flatMap((scan) => {
    const details = detailsByDigest(layerDetails(scan));
    return scan.results.flatMap((r) => findingsOf(r).map((f) => result(scan, r, index.get(r.Id) ?? -1, f, details)));
  });
  const failures = outcomes.flatMap((o) =>
    'failure' in o ? [{ level: 'error', message: { text: `${o.input}: ${o.failure.message}` }, descriptor: { id: o.failure.code } }] : [],
  );
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: info.name, version: info.version, semanticVersion: info.version, rules } },
        invocations: [
          { executionSuccessful: failures.length === 0, ...(failures.length > 0 ? { toolExecutionNotifications: failures } : {}) },
        ],
        results,
      },
    ],
  };
}
