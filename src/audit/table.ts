/**
 * The audit's table on the terminal or in a CI log (docs/audit.md, "Output"): images by
 * highest severity, the checks that fail most often, the repositories worst off, and what could
 * not be scanned. Names from the registry are escaped as on the terminal.
 */
import { ALL_CHECKS, EXTENDED_CHECKS } from '../checks/index.js';
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import { terminalText } from '../report/formats/terminal.js';
import type { AuditSummary, SummaryImage } from './summary.js';

/** `1 image`, `2 images`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Rows listed per section at most. */
const TOP = 10;

const TITLES = new Map<string, string>([...ALL_CHECKS, ...EXTENDED_CHECKS].map((c) => [c.id, c.title]));

function rank(severity: Severity | null): number {
  return severity === null ? SEVERITY_ORDER.length : SEVERITY_ORDER.indexOf(severity);
}

/** The repositories of `images` ranked worst first: highest severity, then images at it, then name. */
function worstRepositories(
  images: readonly SummaryImage[],
): Array<{ repository: string; highest: Severity; atHighest: number; images: number }> {
  const byRepo = new Map<string, SummaryImage[]>();
  for (const i of images) if (i.highest !== null) byRepo.set(i.repository, [...(byRepo.get(i.repository) ?? []), i]);
  return [...byRepo]
    .map(([repository, list]) => {
      const highest = SEVERITY_ORDER[Math.min(...list.map((i) => rank(i.highest)))] ?? 'Informational';
      return { repository, highest, atHighest: list.filter((i) => i.highest === highest).length, images: list.length };
    })
    .filter((r) => r.highest !== 'Informational')
    .sort((a, b) => rank(a.highest) - rank(b.highest) || b.atHighest - a.atHighest || (a.repository < b.repository ? -1 : 1))
    .slice(0, TOP);
}

/** The checks failed by the most images, most first. */
function frequentFailures(images: readonly SummaryImage[]): Array<{ id: string; images: number }> {
  const counts = new Map<string, number>();
  for (const i of images) for (const id of new Set(i.failedChecks)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .slice(0, TOP)
    .map(([id, n]) => ({ id, images: n }));
}

/** The table of an audit summary, as lines of text. */
export function auditTable(summary: AuditSummary): string {
  const { totals } = summary;
  const out: string[] = [];
  const state = summary.listingError
    ? 'listing failed'
    : summary.complete
      ? 'complete'
      : `INCOMPLETE${summary.pending > 0 ? `, ${summary.pending} pending` : ''}${summary.missingShards && summary.missingShards.length > 0 ? `, shards missing: ${summary.missingShards.join(', ')}` : ''}`;
  const shard = summary.shard ? ` (shard ${summary.shard.index}/${summary.shard.count})` : '';
  // What has results, and where they came from: scanned now, or reused from an earlier run's records.
  const { run } = summary;
  out.push(
    `Audit of ${terminalText(summary.source, 300)}${shard}: ${count(totals.images, 'image')}, ${totals.scanned} with results, ${totals.errors} not scanned, ${count(totals.distinctManifests, 'distinct manifest')}, ${count(totals.distinctLayers, 'distinct layer')} — ${state}`,
  );
  if (summary.listingError) out.push(`Listing failed: ${terminalText(summary.listingError.message, 500)}`);
  out.push(
    `This run: ${count(run.scanned, 'reference')} scanned, ${run.resumed} reused from an earlier run's records (same digest, policy, checks, platform and version)${run.attested !== undefined ? `, ${run.attested} from signed attestations` : ''}`,
  );
  out.push('', 'Images by highest severity:');
  for (const s of SEVERITY_ORDER) out.push(`  ${s.padEnd(14)} ${String(totals.bySeverity[s]).padStart(6)}`);
  out.push(`  ${'not scanned'.padEnd(14)} ${String(totals.errors).padStart(6)}`);
  const failures = frequentFailures(summary.images);
  if (failures.length > 0) {
    out.push('', 'Most frequent failures:');
    for (const f of failures) out.push(`  ${String(f.images).padStart(6)}  ${f.id.padEnd(20)} ${TITLES.get(f.id) ?? ''}`.trimEnd());
  }
  const worst = worstRepositories(summary.images);
  if (worst.length > 0) {
    out.push('', 'Worst repositories:');
    for (const r of worst)
      out.push(
        `  ${r.highest.padEnd(9)} ${String(r.atHighest).padStart(4)}/${String(r.images).padEnd(4)} ${terminalText(r.repository, 300)}`,
      );
  }
  const errors = summary.images.filter((i) => i.error);
  if (errors.length > 0) {
    out.push('', 'Not scanned:');
    for (const i of errors.slice(0, TOP)) out.push(`  ${terminalText(i.reference, 300)}: ${terminalText(i.error?.message ?? '', 300)}`);
    if (errors.length > TOP) out.push(`  … and ${errors.length - TOP} more (audit-summary.json lists them all)`);
  }
  return `${out.join('\n')}\n`;
}
