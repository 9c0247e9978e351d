/**
 * The SARIF, JUnit and table formats (src/report/formats/sarif.ts, junit.ts, table.ts) over a
 * real scan of an image built in code: SARIF valid against the official SARIF 2.1.0 schema
 * (shipped by @microsoft/sarif-multitool-linux, checked with ajv and ajv-formats), rules with
 * their docs/checks.md help, accepted findings as suppressed results; JUnit that a real XML
 * parser reads back, whatever control characters the image's paths hold; the table's order
 * and summary line.
 */
import { DISABLED_DESCRIPTION } from '../../../src/checks/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { junitXml, xmlText } from '../../../src/report/formats/junit.js';
import { sarifLog } from '../../../src/report/formats/sarif.js';
import { summaryLine, tableText, totalLine } from '../../../src/report/formats/table.js';
import type { ImageOutcome, ReportResult, ScannedImage } from '../../../src/report/model.js';
import { sarifValidator } from '../../helpers/sarif.js';
import { scanSpec } from '../../helpers/scan.js';
import type { ImageSpec } from '../../helpers/image-builder.js';

const spec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'usr/bin/passwd', mode: 0o4755, content: 'x' },
        { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'x' },
        // A path with a control character and an XML-hostile character: still one valid document.
        { type: 'file', path: 'opt/evil\u001b[2J<&]]>.bin', mode: 0o4755, content: 'x' },
      ],
    },
    { entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'x' }] },
  ],
  config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'] },
};

/** A real scan, with /usr/bin/passwd moved from suid's Files to Accepted as a policy would. */
async function scanWithAccepted(): Promise<{ scan: ScannedImage; suidLayer: string }> {
  const { scan } = await scanSpec(spec);
  let suidLayer = '';
  const results = scan.results.map((r): ReportResult => {
    if (r.Id !== 'suid') return r;
    const [layer] = r.Files ?? [];
    const [digest, paths] = Object.entries(layer ?? {})[0] ?? ['', []];
    suidLayer = digest;
    return {
      ...r,
      Files: [{ [digest]: paths.filter((p) => p !== '/usr/bin/passwd') }],
      Accepted: [{ Layer: digest, Path: '/usr/bin/passwd', Reason: 'passwd must be setuid', Expires: '2027-06-30' }],
    };
  });
  return { scan: { image: scan.image, results, highest: scan.highest }, suidLayer };
}

test('SARIF: valid against the SARIF 2.1.0 schema; a rule per check with its docs help; a result per finding; accepted = suppressed', async () => {
  const { scan, suidLayer } = await scanWithAccepted();
  const outcomes: ImageOutcome[] = [
    { input: 'x', scans: [scan] },
    { input: 'missing:1', failure: { code: 'IMAGE_NOT_FOUND', message: 'no such image' } },
  ];
  const log = JSON.parse(JSON.stringify(sarifLog(outcomes))) as {
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string; help: { text: string }; properties: Record<string, unknown> }> } };
      results: Array<
        Record<string, unknown> & {
          ruleId: string;
          suppressions?: Array<{ kind: string; justification: string }>;
          locations: Array<{ logicalLocations: Array<{ kind: string; name: string }> }>;
        }
      >;
      invocations: Array<{ executionSuccessful: boolean }>;
    }>;
  };
  assert.equal(sarifValidator()(log), undefined);

  const [run] = log.runs;
  assert.ok(run);
  assert.equal(run.tool.driver.rules.length, 17);
  const suidRule = run.tool.driver.rules.find((r) => r.id === 'suid');
  assert.match(suidRule?.help.text ?? '', /chmod u-s/, 'the help is the Fix text of docs/checks.md');
  assert.equal(suidRule?.properties['security-severity'], '9.5');
  assert.equal(run.tool.driver.rules.find((r) => r.id === 'compilers')?.properties['security-severity'], '5.5');

  const suid = run.results.filter((r) => r.ruleId === 'suid');
  assert.equal(suid.length, 3, 'two findings and one accepted');
  const accepted = suid.filter((r) => r.suppressions);
  assert.equal(accepted.length, 1);
  assert.deepEqual(
    accepted[0]?.suppressions?.map((s) => s.kind),
    ['external'],
  );
  assert.match(accepted[0]?.suppressions?.[0]?.justification ?? '', /passwd must be setuid \(until 2027-06-30\)/);
  const su = suid.find((r) => !r.suppressions && JSON.stringify(r).includes('/usr/bin/su'));
  const kinds = su?.locations[0]?.logicalLocations.map((l) => [l.kind, l.name]);
  assert.deepEqual(kinds, [
    ['image', scan.image.name.display],
    ['layer', suidLayer],
    ['file', '/usr/bin/su'],
  ]);
  // A config check's failure (tag-latest passes here; layer-count fails) is one result about the image.
  assert.equal(run.results.filter((r) => r.ruleId === 'layer-count').length, 1);
  assert.equal(run.results.filter((r) => r.ruleId === 'tag-latest').length, 0, 'passed checks have no result');
  assert.equal(run.invocations[0]?.executionSuccessful, false, 'an IMAGE that failed is a tool notification');
});

test('SARIF schema validation catches what it must (the check can fail)', () => {
  const validate = sarifValidator();
  assert.notEqual(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] }), undefined, 'driver without name');
  assert.notEqual(
    validate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'fatal' }] }] }),
    undefined,
    'unknown level',
  );
});

test('JUnit: a real XML parser reads it back; a testsuite per image, a testcase per check, failures with severity and files', async () => {
  const { scan } = await scanWithAccepted();
  const xml = junitXml([
    { input: 'a', scans: [scan, scan] },
    { input: 'gone:1', failure: { code: 'IMAGE_NOT_FOUND', message: 'no <such> image\u0007' } },
  ]);
  assert.equal(XMLValidator.validate(xml), true);
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  }).parse(xml) as {
    testsuites: {
      tests: string;
      failures: string;
      errors: string;
      testsuite: Array<{
        name: string;
        tests: string;
        failures: string;
        testcase: Array<{ name: string; failure?: { type: string; '#text': string }; error?: { type: string }; 'system-out'?: string }>;
      }>;
    };
  };
  const suites = doc.testsuites.testsuite;
  assert.equal(suites.length, 3);
  assert.equal(suites[0]?.testcase.length, 17);
  const failed = scan.results.filter((r) => !r.Pass).length;
  assert.equal(Number(suites[0]?.failures), failed);
  assert.equal(Number(doc.testsuites.tests), 17 * 2 + 1);
  assert.equal(Number(doc.testsuites.errors), 1);
  const suid = suites[0]?.testcase.find((t) => t.name.startsWith('suid:'));
  assert.equal(suid?.failure?.type, 'Critical');
  assert.match(suid?.failure?.['#text'] ?? '', /\/usr\/bin\/su/);
  assert.match(
    suid?.failure?.['#text'] ?? '',
    /\/opt\/evil\\x1b\[2J<&\]\]>\.bin/,
    'the control character is a visible escape; markup survives the round trip',
  );
  assert.match(suid?.['system-out'] ?? '', /accepted: \/usr\/bin\/passwd .*passwd must be setuid \(until 2027-06-30\)/);
  assert.equal(suites[0]?.testcase.find((t) => t.name.startsWith('tag-latest:'))?.failure, undefined);
  assert.equal(suites[2]?.testcase[0]?.error?.type, 'IMAGE_NOT_FOUND');
});

test('JUnit: a check the policy disabled is skipped, not passed', async () => {
  const { scan } = await scanWithAccepted();
  const disabled = {
    ...scan,
    results: scan.results.map((r) =>
      r.Id === 'layer-count' ? { ...r, Pass: true, Severity: 'Informational' as const, Description: DISABLED_DESCRIPTION } : r,
    ),
  };
  const xml = junitXml([{ input: 'a', scans: [disabled] }]);
  assert.equal(XMLValidator.validate(xml), true);
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase'].includes(name),
  }).parse(xml) as {
    testsuites: { testsuite: Array<{ skipped: string; testcase: Array<{ name: string; skipped?: { message: string } }> }> };
  };
  const suite = doc.testsuites.testsuite[0];
  assert.equal(suite?.skipped, '1');
  assert.equal(suite?.testcase.find((t) => t.name.startsWith('layer-count:'))?.skipped?.message, 'Disabled by policy');
  assert.equal(suite?.testcase.filter((t) => t.skipped !== undefined).length, 1, 'only the disabled check');
});

test('summary lines name the platform of an image chosen from an index (--platform all); a total counts every image and the ones not scanned', async () => {
  const { scan } = await scanWithAccepted();
  const fromIndex = {
    ...scan,
    image: { ...scan.image, indexDigest: `sha256:${'9'.repeat(64)}`, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  };
  assert.match(summaryLine(fromIndex), / \[linux\/arm64\/v8\] — \d+ failed/);
  assert.doesNotMatch(summaryLine(scan), /\[linux/, 'a plain manifest: no platform to tell apart');
  const failed = scan.results.filter((r) => !r.Pass).length;
  assert.equal(
    totalLine([scan, fromIndex], 1),
    `Total: 2 images — ${failed * 2} failed (${2 * scan.results.filter((r) => !r.Pass && r.Severity === 'Critical').length} Critical, 2 Medium, 2 Low), ${(17 - failed) * 2} passed, 2 accepted; 1 not scanned\n`,
  );
});

test('xmlText: every character XML 1.0 cannot hold becomes an escape; the rest survives a parse', () => {
  const hostile = 'a\u0000b\u0008c\u000bd\u001be\ufffef\ud800g<&>"\'h\u{1F600}';
  const xml = `<x a="${xmlText(hostile)}">${xmlText(hostile)}</x>`;
  assert.equal(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', processEntities: true }).parse(xml) as {
    x: { a: string; '#text': string };
  };
  assert.equal(parsed.x['#text'], 'a\\x00b\\x08c\\x0bd\\x1be\\ufffef\\ud800g<&>"\'h\u{1F600}');
});

test('table: failures first by severity, one line per check, a summary line; quiet drops the passes', async () => {
  const { scan } = await scanWithAccepted();
  const lines = tableText(scan, { quiet: false }).trimEnd().split('\n');
  assert.equal(lines.length, 18);
  const verdicts = lines.slice(0, 17).map((l) => l.slice(0, 4));
  assert.deepEqual(
    verdicts,
    [...verdicts].sort((a, b) => (a === b ? 0 : a === 'FAIL' ? -1 : 1)),
    'FAIL lines before PASS lines',
  );
  assert.match(lines[0] ?? '', /^FAIL {2}Critical/);
  assert.match(lines.find((l) => / suid /.test(l)) ?? '', /\(1 accepted\)$/);
  assert.match(lines.find((l) => / suid /.test(l)) ?? '', /\\x1b\[2J/, 'escaped on the terminal');
  const failed = scan.results.filter((r) => !r.Pass).length;
  assert.equal(lines[17], summaryLine(scan).trimEnd());
  assert.match(lines[17] ?? '', new RegExp(` — ${failed} failed \\(\\d+ Critical, 1 Medium, 1 Low\\), ${17 - failed} passed, 1 accepted$`));
  // A result as the policy leaves it: its description says how many were accepted; the line says it once.
  const byPolicy = {
    ...scan,
    results: scan.results.map((r) => (r.Id === 'suid' ? { ...r, Description: 'Found file (1 accepted by policy)' } : r)),
  };
  const policyLine =
    tableText(byPolicy, { quiet: true })
      .split('\n')
      .find((l) => / suid /.test(l)) ?? '';
  assert.equal(policyLine.match(/accepted/g)?.length, 1, policyLine);
  const quiet = tableText(scan, { quiet: true }).trimEnd().split('\n');
  assert.equal(quiet.length, failed + 1);
  assert.ok(quiet.slice(0, -1).every((l) => l.startsWith('FAIL')));
});

test('SARIF: a check the docs do not list (a policy may add one) gets a rule of its own', async () => {
  const { scan } = await scanWithAccepted();
  const extra: ReportResult = {
    Id: 'forbidden-programs',
    Title: 'Checking for forbidden programs',
    Severity: 'Critical',
    Pass: false,
    Description: 'Found file',
    Mitigation: 'Remove telnet',
    Files: [{ 'sha256:ab': ['/usr/bin/telnet'] }],
  };
  const log = JSON.parse(JSON.stringify(sarifLog([{ input: 'x', scans: [{ ...scan, results: [...scan.results, extra] }] }]))) as {
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string; help: { text: string } }> } };
      results: Array<{ ruleId: string; ruleIndex: number }>;
    }>;
  };
  assert.equal(sarifValidator()(log), undefined);
  const [run] = log.runs;
  assert.equal(run?.tool.driver.rules.length, 18);
  assert.equal(run?.tool.driver.rules[17]?.id, 'forbidden-programs');
  assert.match(run?.tool.driver.rules[17]?.help.text ?? '', /Remove telnet/);
  assert.ok(run?.results.filter((r) => r.ruleId === 'forbidden-programs').every((r) => r.ruleIndex === 17));
});
