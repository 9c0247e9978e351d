/**
 * JUnit XML (docs/reports.md "JUnit"), for GitLab and Jenkins test reports: a testsuite per
 * image, a testcase per check, a failure per failed check with its severity and files, the
 * accepted findings in the testcase's system-out; an IMAGE that could not be scanned is a
 * testsuite with one errored testcase. Text from the image (paths, labels, messages) is made
 * valid XML 1.0: characters XML cannot hold are written as visible escapes (`\x1b`).
 */
import { DISABLED_DESCRIPTION } from '../../checks/types.js';
import { formatPlatform } from '../../image/platform.js';
import { detailsByDigest, layerDetails, type LayerDetail } from '../layers.js';
import { scannedImages, type ImageOutcome, type ReportResult, type ScannedImage } from '../model.js';
import { summarise } from '../summary.js';
import { visibleEscape } from './terminal.js';

/**
 * Characters XML 1.0 cannot hold at all (its `Char` production): C0 controls but tab, line
 * feed and carriage return; lone surrogates; U+FFFE and U+FFFF. Carriage return is escaped
 * too, since parsers normalise it away.
 */
const NOT_XML =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` as XML character data or an attribute value: markup escaped, impossible characters as `\xNN` / `\uNNNN`. */
export function xmlText(text: string): string {
  return text
    .replace(NOT_XML, visibleEscape)
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${xmlText(String(v)).replace(/\n/g, '&#10;').replace(/\t/g, '&#9;')}"`)
    .join('');
}

/** ` (RUN apk add …; introduced)` after a layer: its build step and origin, when known. */
function layerNote(detail: LayerDetail | undefined): string {
  const parts = [detail?.createdBy ? `created by: ${detail.createdBy}` : undefined, detail?.origin ?? undefined].filter(
    (p): p is string => p !== undefined,
  );
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** The files of a failed result, one `layer` line (with its build step and origin) then its paths indented. */
function filesText(r: ReportResult, details: ReadonlyMap<string, LayerDetail>): string {
  const lines: string[] = [];
  for (const [i, layer] of (r.Files ?? []).entries()) {
    for (const [digest, paths] of Object.entries(layer)) {
      lines.push(`layer ${digest}${layerNote(details.get(digest))}`, ...paths.map((p) => `    ${p}`));
      const total = r.FileCounts?.[i]?.[digest] ?? paths.length;
      if (total > paths.length) lines.push(`    … and ${total - paths.length} more`);
    }
  }
  return lines.join('\n');
}

/** True for the result of a check the policy disabled. */
function isDisabled(r: ReportResult): boolean {
  return r.Pass && r.Description === DISABLED_DESCRIPTION;
}

function testcase(suite: string, r: ReportResult, details: ReadonlyMap<string, LayerDetail>): string {
  const open = `    <testcase${attrs({ classname: suite, name: `${r.Id}: ${r.Title}` })}>\n`;
  const body: string[] = [];
  // A check the policy disabled did not run: skipped, not passed.
  if (isDisabled(r)) body.push(`      <skipped${attrs({ message: DISABLED_DESCRIPTION })}/>\n`);
  if (!r.Pass) {
    const files = filesText(r, details);
    body.push(
      `      <failure${attrs({ type: r.Severity, message: `${r.Severity}: ${r.Description}` })}>${xmlText(`Severity: ${r.Severity}\n${r.Description}\nMitigation: ${r.Mitigation}${files ? `\n${files}` : ''}`)}</failure>\n`,
    );
  }
  if (r.Accepted && r.Accepted.length > 0) {
    const lines = r.Accepted.map(
      (a) =>
        `accepted: ${a.Path} in layer ${a.Layer}${layerNote(details.get(a.Layer))}: ${a.Reason}${a.Expires ? ` (until ${a.Expires})` : ''}`,
    );
    body.push(`      <system-out>${xmlText(lines.join('\n'))}</system-out>\n`);
  }
  return body.length === 0 ? `${open.slice(0, -2)}/>\n` : `${open}${body.join('')}    </testcase>\n`;
}

function suiteName(scan: ScannedImage): string {
  return scan.image.platform ? `${scan.image.name.display} (${formatPlatform(scan.image.platform)})` : scan.image.name.display;
}

function imageSuite(scan: ScannedImage): string {
  const name = suiteName(scan);
  const s = summarise(scan.results);
  const details = detailsByDigest(layerDetails(scan));
  const props = [
    ['image', scan.image.name.display],
    ['digest', scan.image.manifestDigest ?? ''],
    ['config', scan.image.configDigest],
    ['highest', scan.highest],
  ] as const;
  return [
    `  <testsuite${attrs({ name, tests: scan.results.length, failures: s.failed, errors: 0, skipped: scan.results.filter(isDisabled).length })}>\n`,
    '    <properties>\n',
    ...props.filter(([, v]) => v !== '').map(([k, v]) => `      <property${attrs({ name: k, value: v })}/>\n`),
    '    </properties>\n',
    ...scan.results.map((r) => testcase(name, r, details)),
    '  </testsuite>\n',
  ].join('');
}

/** The JUnit XML document of a run, images in argument order. */
export function junitXml(outcomes: readonly ImageOutcome[]): string {
  const scans = scannedImages(outcomes);
  const errors = outcomes.flatMap((o) => ('failure' in o ? [o] : []));
  const tests = scans.reduce((n, s) => n + s.results.length, 0) + errors.length;
  const failures = scans.reduce((n, s) => n + summarise(s.results).failed, 0);
  const errored = errors.map(
    (o) =>
      `  <testsuite${attrs({ name: o.input, tests: 1, failures: 0, errors: 1, skipped: 0 })}>\n    <testcase${attrs({ classname: o.input, name: 'scan' })}>\n      <error${attrs({ type: o.failure.code, message: o.failure.message })}>${xmlText(o.failure.message)}</error>\n    </testcase>\n  </testsuite>\n`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: 'oci-scan', tests, failures, errors: errors.length })}>\n${scans.map(imageSuite).join('')}${errored.join('')}</testsuites>\n`;
}
