/**
 * The HTML report (docs/reports.md, "HTML"): one self-contained file — inline CSS, one inline
 * script allowed by its hash in a Content-Security-Policy that forbids everything else (no
 * network request, no font, no image) — readable with JavaScript off: every table is plain
 * HTML and details are `<details>` elements; the script only adds a filter box, sorting by a
 * column header and expand/collapse-all buttons. Every string from an image or a registry goes
 * through `html()`: markup escaped, control and bidi characters shown as visible escapes.
 *
 * `scanHtml` renders a scan (one or many images); `htmlPage` is the page the audit's report
 * (src/audit/html.ts) uses too.
 */
import { createHash } from 'node:crypto';
import { SEVERITY_ORDER, type Severity } from '../../checks/types.js';
import { formatPlatform } from '../../image/platform.js';
import { detailsByDigest, layerDetails, originCounts, shortStep, type LayerDetail } from '../layers.js';
import { scannedImages, type ImageOutcome, type ReportResult, type ScannedImage } from '../model.js';
import { summarise } from '../summary.js';
import { toolInfo, type ToolInfo } from '../tool.js';
import { escapeForTerminal } from './terminal.js';

/** Text from outside (an image, a registry, a policy) as HTML text or a quoted attribute value. */
export function html(text: string): string {
  return escapeForTerminal(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The progressive enhancements: filter rows, sort by a header, expand/collapse every details. */
const SCRIPT = `(function () {
  'use strict';
  var filter = document.getElementById('filter');
  var rows = function () { return document.querySelectorAll('[data-filter] > tbody > tr'); };
  var sections = function () { return document.querySelectorAll('[data-item]'); };
  if (filter) {
    document.getElementById('tools').hidden = false;
    filter.addEventListener('input', function () {
      var q = filter.value.toLowerCase();
      rows().forEach(function (tr) { tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0; });
      // A section stays when its name matches or one of its rows does.
      sections().forEach(function (s) { s.hidden = q !== '' && s.getAttribute('data-item').toLowerCase().indexOf(q) < 0 && !s.querySelector('[data-filter] > tbody > tr:not([hidden])'); });
    });
  }
  document.querySelectorAll('table.sortable th').forEach(function (th, _i) {
    th.tabIndex = 0;
    th.title = 'sort';
    var sort = function () {
      var table = th.closest('table');
      var body = table.tBodies[0];
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      var key = function (tr) { var c = tr.children[col]; if (!c) return ''; var k = c.getAttribute('data-key'); return k !== null ? Number(k) : c.textContent.toLowerCase(); };
      var list = Array.prototype.slice.call(body.rows);
      list.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir; });
      list.forEach(function (tr) { body.appendChild(tr); });
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
  });
  var all = function (open) { document.querySelectorAll('details').forEach(function (d) { d.open = open; }); };
  var expand = document.getElementById('expand');
  var collapse = document.getElementById('collapse');
  if (expand) expand.addEventListener('click', function () { all(true); });
  if (collapse) collapse.addEventListener('click', function () { all(false); });
})();`;

const STYLE = `
:root { color-scheme: light dark; --bad: #b3261e; --warn: #8a5a00; --ok: #1e6b2e; --muted: #666; --line: #ccc; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; max-width: 110rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: left; vertical-align: top; }
th { background: rgba(127,127,127,.12); }
table.sortable th { cursor: pointer; }
th[aria-sort=ascending]::after { content: ' \\25B2'; } th[aria-sort=descending]::after { content: ' \\25BC'; }
code, .digest { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
.sev-Critical, .sev-High { color: var(--bad); font-weight: 600; } .sev-Medium { color: var(--warn); font-weight: 600; }
.sev-Low { color: var(--warn); } .sev-Informational, .pass { color: var(--ok); }
.flag { color: var(--bad); } .muted { color: var(--muted); }
.matrix td { text-align: center; min-width: 1.6rem; } .matrix th code { overflow-wrap: normal; white-space: nowrap; }
details { margin: .3rem 0; } summary { cursor: pointer; }
section, details, tr { scroll-margin-top: 3.5rem; }
#tools { position: sticky; top: 0; background: Canvas; padding: .4rem 0; border-bottom: 1px solid var(--line); }
#filter { width: 24rem; }
`;

/** The page's Content-Security-Policy: nothing but the inline style and this script. */
export function contentSecurityPolicy(): string {
  const hash = createHash('sha256').update(SCRIPT).digest('base64');
  return `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src 'none'; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'`;
}

/** A whole page around `body` (already HTML): CSP, style, the tools bar (shown by the script), the script. */
export function htmlPage(title: string, body: Iterable<string>): string[] {
  return [
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy()}">\n`,
    '<meta name="referrer" content="no-referrer">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    `<title>${html(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n`,
    '<div id="tools" hidden><label>Filter <input id="filter" type="search" placeholder="image, check, path…"></label> <button id="expand" type="button">Expand all</button> <button id="collapse" type="button">Collapse all</button></div>\n',
    ...body,
    `<script>${SCRIPT}</script>\n</body>\n</html>\n`,
  ];
}

/** `<td class="sev-High">High</td>`, with a sort key (Critical first). */
export function severityCell(severity: Severity | null): string {
  if (severity === null) return '<td class="muted" data-key="9">not scanned</td>';
  return `<td class="sev-${severity}" data-key="${SEVERITY_ORDER.indexOf(severity)}">${severity}</td>`;
}

/** A number cell that sorts as a number. */
export function numberCell(n: number): string {
  return `<td data-key="${n}">${n}</td>`;
}

/** Layer position (1-based), for people. */
function layerLabel(digest: string, scan: ScannedImage): string {
  const index = scan.image.layers.findIndex((l) => l.digest === digest);
  return `${index < 0 ? '?' : index + 1}`;
}

/** The cells of a finding's layer: position, digest, step (whole, in `title` the raw text), origin. */
function layerCells(digest: string, scan: ScannedImage, details: ReadonlyMap<string, LayerDetail>): string {
  const d = details.get(digest);
  const step = d?.createdBy
    ? `<code title="${html(d.createdBy)}">${html(shortStep(d.createdBy))}</code>`
    : '<span class="muted">unknown</span>';
  return `<td>${layerLabel(digest, scan)} <span class="digest">${html(digest.slice(0, 19))}…</span></td><td>${step}</td><td>${d?.origin ?? '<span class="muted">unknown</span>'}</td>`;
}

/** Why an image is flagged: no OS information, layers not scanned. */
function imageFlags(scan: ScannedImage): string[] {
  const flags: string[] = [];
  const os = scan.results.find((r) => r.Id === 'os-type');
  if (os && /has no OS release information|cannot be read/.test(os.Description)) flags.push('no OS information');
  const unscanned = scan.image.layers.filter((l) => l.notScanned !== undefined).length;
  if (unscanned > 0) flags.push(`${unscanned} layer${unscanned === 1 ? '' : 's'} not scanned`);
  if (scan.base && scan.base.status !== 'prefix') flags.push(`base ${scan.base.status}`);
  return flags;
}

function imageName(scan: ScannedImage): string {
  const platform = scan.image.platform ? ` [${formatPlatform(scan.image.platform)}]` : '';
  return `${scan.image.name.display}${platform}`;
}

/** The failed check `r` of `scan`: description, mitigation, its paths with layer, step and origin; accepted findings. */
function checkSection(r: ReportResult, scan: ScannedImage, details: ReadonlyMap<string, LayerDetail>): string {
  const out: string[] = [];
  const paths = (r.Files ?? []).flatMap((layer, i) =>
    Object.entries(layer).map(([digest, list]) => ({ digest, list, total: Math.max(list.length, r.FileCounts?.[i]?.[digest] ?? 0) })),
  );
  const count = paths.reduce((n, p) => n + p.total, 0);
  out.push(
    `<details${r.Pass ? '' : ' open'}><summary><span class="sev-${r.Severity}">${r.Pass ? 'PASS' : r.Severity}</span> <code>${html(r.Id)}</code> ${html(r.Title)}${count > 0 ? ` — ${count} path${count === 1 ? '' : 's'}` : ''}</summary>\n`,
  );
  out.push(`<p>${html(r.Description)}</p>\n${r.Pass ? '' : `<p><b>Fix:</b> ${html(r.Mitigation)}</p>\n`}`);
  if (paths.length > 0) {
    out.push(
      '<table class="sortable" data-filter><thead><tr><th>Path</th><th>Layer</th><th>Step (history)</th><th>Origin</th></tr></thead><tbody>\n',
    );
    for (const p of paths) {
      const cells = layerCells(p.digest, scan, details);
      for (const path of p.list) out.push(`<tr><td><code>${html(path)}</code></td>${cells}</tr>\n`);
      if (p.total > p.list.length)
        out.push(
          `<tr><td class="muted">… and ${p.total - p.list.length} more (the report lists the first ${p.list.length})</td>${cells}</tr>\n`,
        );
    }
    out.push('</tbody></table>\n');
  }
  if (r.Accepted && r.Accepted.length > 0) {
    out.push(
      '<table class="sortable" data-filter><thead><tr><th>Accepted path</th><th>Layer</th><th>Step (history)</th><th>Origin</th><th>Reason</th><th>Expires</th></tr></thead><tbody>\n',
    );
    for (const a of r.Accepted)
      out.push(
        `<tr><td><code>${html(a.Path)}</code></td>${layerCells(a.Layer, scan, details)}<td>${html(a.Reason)}</td><td>${a.Expires ? html(a.Expires) : '<span class="muted">never</span>'}</td></tr>\n`,
      );
    out.push('</tbody></table>\n');
  }
  out.push('</details>\n');
  return out.join('');
}

/** One image's section: identity, flags, base, failed checks with paths, accepted findings, layers. */
function imageSection(scan: ScannedImage, id: string): string {
  const { image } = scan;
  const details = layerDetails(scan);
  const byDigest = detailsByDigest(details);
  const flags = imageFlags(scan);
  const out: string[] = [];
  out.push(`<section id="${id}" data-item="${html(imageName(scan))}">\n<h2>${html(imageName(scan))}</h2>\n`);
  out.push(
    `<p>Highest: <span class="sev-${scan.highest}">${scan.highest}</span>. Manifest <span class="digest">${html(image.manifestDigest ?? 'none (docker archive)')}</span>, config <span class="digest">${html(image.configDigest)}</span>.</p>\n`,
  );
  if (flags.length > 0) out.push(`<p class="flag">⚠ ${flags.map(html).join('; ')}</p>\n`);
  if (scan.base)
    out.push(
      `<p>Base <code>${html(scan.base.reference)}</code> (${scan.base.source === 'option' ? '--base' : "from the manifest's annotations"}): ${html(scan.base.status)} — ${html(scan.base.note)}.</p>\n`,
    );
  const shown = scan.results.filter((r) => !r.Pass || (r.Accepted?.length ?? 0) > 0);
  out.push(shown.length === 0 ? '<p class="pass">Every check passed.</p>\n' : shown.map((r) => checkSection(r, scan, byDigest)).join(''));
  out.push(
    `<details><summary>Layers (${details.length})</summary>\n<table><thead><tr><th>#</th><th>Digest</th><th>Step (history)</th><th>Created</th><th>Origin</th></tr></thead><tbody>\n`,
  );
  for (const [i, d] of details.entries()) {
    const notScanned = image.layers[i]?.notScanned;
    out.push(
      `<tr><td>${i + 1}</td><td class="digest">${html(d.digest)}${notScanned !== undefined ? ` <span class="flag">not scanned: ${html(notScanned)}</span>` : ''}</td><td>${d.createdBy !== null ? `<code>${html(d.createdBy)}</code>` : '<span class="muted">unknown</span>'}${d.comment !== null ? ` <span class="muted">${html(d.comment)}</span>` : ''}</td><td>${d.created !== null ? html(d.created) : ''}</td><td>${d.origin ?? '<span class="muted">unknown</span>'}</td></tr>\n`,
    );
  }
  out.push('</tbody></table></details>\n</section>\n');
  return out.join('');
}

/** The counts of a summary row: failed per severity, passed, accepted. */
function countCells(results: readonly ReportResult[]): string {
  const s = summarise(results);
  const failed = SEVERITY_ORDER.slice(0, 4).map((sev) => numberCell(results.filter((r) => !r.Pass && r.Severity === sev).length));
  return `${numberCell(s.failed)}${failed.join('')}${numberCell(s.passed)}${numberCell(s.accepted)}`;
}

/** The HTML report of a scan: a summary line per image, the checks × images matrix, then each image. */
export function scanHtml(outcomes: readonly ImageOutcome[], info: ToolInfo = toolInfo()): string[] {
  const scans = scannedImages(outcomes);
  const failures = outcomes.flatMap((o) => ('failure' in o ? [o] : []));
  const ids = scans.map((_, i) => `image-${i + 1}`);
  const out: string[] = [];
  out.push(
    `<h1>oci-scan report</h1>\n<p class="muted">${html(info.name)} ${html(info.version)}: ${scans.length} image${scans.length === 1 ? '' : 's'} scanned${failures.length > 0 ? `, <span class="flag">${failures.length} could not be scanned</span>` : ''}.</p>\n`,
  );
  out.push(
    '<h2>Images</h2>\n<table id="images" class="sortable" data-filter><thead><tr><th>Image</th><th>Highest</th><th>Failed</th><th>Critical</th><th>High</th><th>Medium</th><th>Low</th><th>Passed</th><th>Accepted</th><th>Findings introduced / inherited</th><th>Flags</th></tr></thead><tbody>\n',
  );
  for (const [i, scan] of scans.entries()) {
    const counts = scan.base?.status === 'prefix' ? originCounts(scan.results, detailsByDigest(layerDetails(scan))) : undefined;
    out.push(
      `<tr><td><a href="#${ids[i]}">${html(imageName(scan))}</a></td>${severityCell(scan.highest)}${countCells(scan.results)}<td>${counts ? `${counts.introduced} / ${counts.inherited}` : '<span class="muted">no base</span>'}</td><td class="flag">${imageFlags(scan).map(html).join('; ')}</td></tr>\n`,
    );
  }
  for (const f of failures)
    out.push(
      `<tr><td>${html(f.input)}</td>${severityCell(null)}<td colspan="8" class="flag">${html(f.failure.code)}: ${html(f.failure.message)}</td><td class="flag">not scanned</td></tr>\n`,
    );
  out.push('</tbody></table>\n');
  const checks = [...new Map(scans.flatMap((s) => s.results.map((r) => [r.Id, r.Title] as const))).entries()];
  if (scans.length > 0) {
    out.push('<h2>Checks × images</h2>\n<table class="sortable matrix" data-filter><thead><tr><th>Image</th>');
    for (const [id, title] of checks) out.push(`<th title="${html(title)}"><code>${html(id)}</code></th>`);
    out.push('</tr></thead><tbody>\n');
    for (const [i, scan] of scans.entries()) {
      const byId = new Map(scan.results.map((r) => [r.Id, r]));
      const cells = checks.map(([id]) => {
        const r = byId.get(id);
        if (!r) return '<td class="muted" data-key="9">–</td>';
        if (r.Pass) return `<td class="pass" data-key="5" title="passed">✓${r.Accepted?.length ? '*' : ''}</td>`;
        return `<td class="sev-${r.Severity}" data-key="${SEVERITY_ORDER.indexOf(r.Severity)}" title="${r.Severity}">${r.Severity.slice(0, 1)}</td>`;
      });
      out.push(`<tr><td><a href="#${ids[i]}">${html(imageName(scan))}</a></td>${cells.join('')}</tr>\n`);
    }
    out.push('</tbody></table>\n<p class="muted">C, H, M, L: failed with that severity; ✓ passed; ✓* passed with accepted findings.</p>\n');
  }
  for (const [i, scan] of scans.entries()) out.push(imageSection(scan, ids[i] ?? ''));
  return htmlPage(scans.length === 1 && scans[0] ? `oci-scan: ${imageName(scans[0])}` : `oci-scan: ${scans.length} images`, out);
}
