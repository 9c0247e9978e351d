/**
 * The HTML report of an audit (docs/audit.md, "Output"; docs/reports.md, "HTML"), from its
 * summary: an overview first — images by highest severity, the checks that fail most often, the
 * worst repositories, what was reused or not done — then every repository, worst first, with
 * its tags (each linking to its image), then one row per image. Built for large mirrors:
 * repositories are closed `<details>` and images rows of one table, so a 5,000-image audit
 * stays a few MiB; everything is plain HTML (src/report/formats/html.ts has the page and the
 * escaping).
 */
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import { html, htmlPage, numberCell, severityCell } from '../report/formats/html.js';
import type { AuditSummary, SummaryImage } from './summary.js';

/** How many checks and repositories the overview lists. */
const OVERVIEW_ROWS = 15;
/** Up to this many images, their table starts open. */
const OPEN_IMAGES = 200;

/** Rank of a highest severity: Critical 0 … Informational 4, not scanned 5. */
function rank(severity: Severity | null): number {
  return severity === null ? SEVERITY_ORDER.length : SEVERITY_ORDER.indexOf(severity);
}

interface Repository {
  readonly name: string;
  readonly images: Array<{ readonly image: SummaryImage; readonly id: string }>;
  /** The worst image's rank (a failure to scan counts as worst: the compliance is not known). */
  readonly worst: number;
  readonly failing: number;
}

/** Repositories, worst first: worst highest severity, then most images failing a check, then name. */
function repositoriesOf(images: readonly SummaryImage[], ids: readonly string[]): Repository[] {
  const groups = new Map<string, Array<{ image: SummaryImage; id: string }>>();
  images.forEach((image, i) => {
    const list = groups.get(image.repository) ?? [];
    list.push({ image, id: ids[i] ?? '' });
    groups.set(image.repository, list);
  });
  const worstOf = (i: SummaryImage): number => (i.error ? -1 : rank(i.highest));
  return [...groups]
    .map(([name, list]) => ({
      name,
      images: list.sort((a, b) => worstOf(a.image) - worstOf(b.image) || (a.image.reference < b.image.reference ? -1 : 1)),
      worst: Math.min(...list.map((x) => worstOf(x.image))),
      failing: list.filter((x) => x.image.failedChecks.length > 0).length,
    }))
    .sort((a, b) => a.worst - b.worst || b.failing - a.failing || (a.name < b.name ? -1 : 1));
}

function worstLabel(worst: number): string {
  return worst < 0 ? '<td class="flag" data-key="-1">not scanned</td>' : severityCell(SEVERITY_ORDER[worst] ?? 'Informational');
}

function imageLabel(image: SummaryImage): string {
  return `${image.tag ?? image.reference}${image.platform ? ` [${image.platform}]` : ''}`;
}

/** The HTML report of an audit's summary. */
export function auditHtml(summary: AuditSummary): string[] {
  const ids = summary.images.map((_, i) => `image-${i + 1}`);
  const repos = repositoriesOf(summary.images, ids);
  const t = summary.totals;
  const out: string[] = [];
  out.push(`<h1>oci-scan audit of ${html(summary.source)}</h1>\n`);
  out.push(
    `<p class="muted">${html(summary.tool.name)} ${html(summary.tool.version)}${summary.shard ? `, shard ${summary.shard.index} of ${summary.shard.count}` : ''}.</p>\n`,
  );
  if (!summary.complete)
    out.push(
      `<p class="flag">⚠ Incomplete audit${summary.pending > 0 ? `: ${summary.pending} images not done` : ''}${summary.missingShards && summary.missingShards.length > 0 ? `; shards ${summary.missingShards.join(', ')} missing` : ''}${summary.listingError ? `; listing failed: ${html(summary.listingError.message)}` : ''}.</p>\n`,
    );
  out.push('<h2>Overview</h2>\n<table><thead><tr><th>Images</th><th>Scanned</th><th>Not scanned (errors)</th>');
  for (const s of SEVERITY_ORDER) out.push(`<th class="sev-${s}">${s}</th>`);
  out.push(
    '<th>Scanned by this run</th><th>Reused (resumed)</th><th>Pending</th><th>Distinct manifests</th><th>Distinct layers</th></tr></thead><tbody><tr>',
  );
  out.push(`${numberCell(t.images)}${numberCell(t.scanned)}${numberCell(t.errors)}`);
  for (const s of SEVERITY_ORDER) out.push(numberCell(t.bySeverity[s]));
  out.push(
    `${numberCell(summary.run.scanned)}${numberCell(summary.run.resumed)}${numberCell(summary.pending)}${numberCell(t.distinctManifests)}${numberCell(t.distinctLayers)}</tr></tbody></table>\n`,
  );
  const checkCounts = new Map<string, number>();
  for (const image of summary.images) for (const id of image.failedChecks) checkCounts.set(id, (checkCounts.get(id) ?? 0) + 1);
  const frequent = [...checkCounts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  out.push(`<h3>Most frequent failing checks</h3>\n${frequent.length === 0 ? '<p class="pass">No check failed.</p>\n' : ''}`);
  if (frequent.length > 0) {
    out.push('<table class="sortable"><thead><tr><th>Check</th><th>Images failing it</th></tr></thead><tbody>\n');
    for (const [id, n] of frequent.slice(0, OVERVIEW_ROWS)) out.push(`<tr><td><code>${html(id)}</code></td>${numberCell(n)}</tr>\n`);
    out.push('</tbody></table>\n');
  }
  out.push(
    '<h3>Worst repositories</h3>\n<table class="sortable"><thead><tr><th>Repository</th><th>Worst</th><th>Images failing a check</th><th>Images</th></tr></thead><tbody>\n',
  );
  repos
    .slice(0, OVERVIEW_ROWS)
    .forEach((r, i) =>
      out.push(
        `<tr><td><a href="#repo-${i + 1}">${html(r.name)}</a></td>${worstLabel(r.worst)}${numberCell(r.failing)}${numberCell(r.images.length)}</tr>\n`,
      ),
    );
  out.push('</tbody></table>\n');

  out.push(`<h2>Repositories (${repos.length}), worst first</h2>\n`);
  repos.forEach((r, i) => {
    out.push(
      `<details id="repo-${i + 1}" data-item="${html(r.name)}"><summary><code>${html(r.name)}</code> — ${r.worst < 0 ? '<span class="flag">not scanned</span>' : `<span class="sev-${SEVERITY_ORDER[r.worst] ?? 'Informational'}">${SEVERITY_ORDER[r.worst] ?? ''}</span>`}, ${r.images.length} image${r.images.length === 1 ? '' : 's'}</summary>\n<table class="sortable" data-filter><thead><tr><th>Tag</th><th>Highest</th><th>Failed checks</th></tr></thead><tbody>\n`,
    );
    for (const { image, id } of r.images)
      out.push(
        `<tr><td><a href="#${id}">${html(imageLabel(image))}</a></td>${severityCell(image.highest)}<td>${image.error ? `<span class="flag">${html(image.error.code)}</span>` : image.failedChecks.map((c) => `<code>${html(c)}</code>`).join(' ')}</td></tr>\n`,
      );
    out.push('</tbody></table></details>\n');
  });

  // One row per image (a row is the image's section: the repositories link to it): a table is
  // the lightest markup for thousands of images, and sorts and filters like the others. Closed,
  // the browser lays none of it out until it is opened (following a link to a row opens it).
  out.push(
    `<h2>Images (${summary.images.length})</h2>\n<details id="all-images"${summary.images.length <= OPEN_IMAGES ? ' open' : ''}><summary>Every image, one row each</summary>\n<table id="images" class="sortable" data-filter><thead><tr><th>Image</th><th>Platform</th><th>Highest</th><th>Failed checks</th><th>Layers</th><th>Digest</th><th>Report</th></tr></thead><tbody>\n`,
  );
  summary.images.forEach((image, i) => {
    const checks = image.error
      ? `<span class="flag">${html(image.error.code)}: ${html(image.error.message)}</span>`
      : image.failedChecks.map((c) => `<code>${html(c)}</code>`).join(' ');
    out.push(
      `<tr id="${ids[i]}"><td><code>${html(image.reference)}</code></td><td>${html(image.platform ?? '')}</td>${severityCell(image.highest)}<td>${checks}</td>${numberCell(image.layers.length)}<td class="digest">${html(image.digest ?? 'not resolved')}</td><td>${image.report ? `<code>${html(image.report)}</code>` : ''}</td></tr>\n`,
    );
  });
  out.push('</tbody></table></details>\n');
  return htmlPage(`oci-scan audit: ${summary.source}`, out);
}
