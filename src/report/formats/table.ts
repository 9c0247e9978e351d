/**
 * The table (docs/reports.md "Table"): a compact human view per image — failed checks first
 * (highest severity first), one line per check, then one summary line
 * (`tools:1.0 — 9 failed (7 Critical, 1 Medium, 1 Low), 8 passed, 2 accepted`). Quiet drops
 * the passed checks. Text from the image is escaped as on the terminal.
 */
import { SEVERITY_ORDER } from '../../checks/types.js';
import { formatPlatform } from '../../image/platform.js';
import { detailsByDigest, layerDetails, originCounts, type LayerDetail } from '../layers.js';
import type { ReportResult, ScannedImage } from '../model.js';
import { summarise, summaryText } from '../summary.js';
import { escapeForTerminal, layerSuffix, terminalText } from './terminal.js';

/** Options of the table. */
export interface TableOptions {
  /** Only the failed checks and the summary line. */
  readonly quiet: boolean;
}

/** Characters of a build step in a table line. */
const TABLE_STEP_CHARS = 60;

/** `; layer 3 RUN apk add sudo (introduced)` for the first layer of a failed file check's findings, when something is known of it. */
function layerNote(r: ReportResult, layers: ReadonlyMap<string, LayerDetail>, order: readonly string[]): string {
  const digests = (r.Files ?? []).flatMap((layer) => Object.keys(layer));
  const first = digests[0];
  const suffix = first === undefined ? '' : layerSuffix(layers.get(first), TABLE_STEP_CHARS);
  if (suffix === '') return '';
  const more = new Set(digests).size - 1;
  return `; layer ${order.indexOf(first ?? '') + 1}${suffix}${more > 0 ? ` and ${more} more layer${more === 1 ? '' : 's'}` : ''}`;
}

/** `3 files: /usr/bin/su, /bin/mount, …` for a failed file check; empty otherwise. */
function filesNote(r: ReportResult, note = ''): string {
  const paths = (r.Files ?? []).flatMap((layer) => Object.values(layer).flat());
  const total = (r.Files ?? []).reduce(
    (n, layer, i) => n + Object.entries(layer).reduce((m, [digest, p]) => m + Math.max(p.length, r.FileCounts?.[i]?.[digest] ?? 0), 0),
    0,
  );
  if (total === 0) return '';
  const shown = paths.slice(0, 3).map((p) => terminalText(p, 200));
  return ` [${total} file${total === 1 ? '' : 's'}: ${shown.join(', ')}${total > shown.length ? ', …' : ''}${note}]`;
}

function line(r: ReportResult, idWidth: number, note = ''): string {
  // A policy's description already says how many it accepted (`(2 accepted by policy)`): said once.
  const accepted =
    r.Accepted && r.Accepted.length > 0 && !/accepted by policy/.test(r.Description) ? ` (${r.Accepted.length} accepted)` : '';
  return `${r.Pass ? 'PASS' : 'FAIL'}  ${r.Severity.padEnd(13)} ${r.Id.padEnd(idWidth)}  ${escapeForTerminal(r.Title)}: ${terminalText(r.Description, 300)}${filesNote(r, note)}${accepted}\n`;
}

/** How an image is named in a summary line: with its platform when it was chosen from an index (`--platform all` scans several). */
function summaryName(scan: ScannedImage): string {
  const { image } = scan;
  const platform = image.indexDigest !== undefined && image.platform ? ` [${terminalText(formatPlatform(image.platform), 100)}]` : '';
  return `${terminalText(image.name.display, 1000)}${platform}`;
}

/**
 * `; base alpine:3.20: findings 4 introduced, 12 inherited` when a base is named: the findings
 * (paths, accepted ones too) per origin, or why there are no origins.
 */
function baseNote(scan: ScannedImage): string {
  if (!scan.base) return '';
  const name = terminalText(scan.base.reference, 200);
  if (scan.base.status !== 'prefix') return `; base ${name}: ${scan.base.status}`;
  const counts = originCounts(scan.results, detailsByDigest(layerDetails(scan)));
  return `; base ${name}: findings ${counts.introduced} introduced, ${counts.inherited} inherited`;
}

/** The summary line of one image: `app:1.2 [linux/arm64] — 13 failed (10 Critical, …), 4 passed`. */
export function summaryLine(scan: ScannedImage): string {
  return `${summaryName(scan)} — ${summaryText(summarise(scan.results))}${baseNote(scan)}\n`;
}

/** The total over a run of several images: `Total: 3 images — 20 failed (…), 31 passed; 1 not scanned`. */
export function totalLine(scans: readonly ScannedImage[], notScanned: number): string {
  const total = summaryText(summarise(scans.flatMap((s) => s.results)));
  return `Total: ${scans.length} image${scans.length === 1 ? '' : 's'} — ${total}${notScanned > 0 ? `; ${notScanned} not scanned` : ''}\n`;
}

/** The table of one image: failures first, then passes (unless quiet), then the summary line. */
export function tableText(scan: ScannedImage, options: TableOptions): string {
  const rank = (r: ReportResult): number => (r.Pass ? SEVERITY_ORDER.length : SEVERITY_ORDER.indexOf(r.Severity));
  const ordered = scan.results.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i);
  const shown = ordered.filter(({ r }) => !options.quiet || !r.Pass);
  const idWidth = Math.max(0, ...scan.results.map((r) => r.Id.length));
  const layers = detailsByDigest(layerDetails(scan));
  const order = scan.image.layers.map((l) => l.digest);
  return shown.map(({ r }) => line(r, idWidth, layerNote(r, layers, order))).join('') + summaryLine(scan);
}
