/**
 * Why a layer is there (src/report/layers.ts): history entries matched to layers only when the
 * non-empty entries are one per layer, the base split by diff_id prefix, the short step the
 * terminal shows, and the origins as the formats (table, SARIF, JUnit, terminal) show them.
 * Also the policy's `inherited: accept` (src/policy/apply.ts acceptInherited).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import type { CheckOutcome } from '../../../src/checks/types.js';
import { parseConfig } from '../../../src/image/config.js';
import type { Image } from '../../../src/image/types.js';
import { acceptInherited } from '../../../src/policy/apply.js';
import { junitXml } from '../../../src/report/formats/junit.js';
import { sarifLog } from '../../../src/report/formats/sarif.js';
import { summaryLine, tableText } from '../../../src/report/formats/table.js';
import { terminalChunks } from '../../../src/report/formats/terminal.js';
import {
  detailsByDigest,
  layerDetails,
  layerHistory,
  originCounts,
  redactStep,
  shortStep,
  splitByBase,
} from '../../../src/report/layers.js';
import { highestSeverity, toResult, type ScannedImage } from '../../../src/report/model.js';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const diff = (c: string): string => `sha256:${c.repeat(63)}f`;

function image(history: object[], layers: string[], diffIds: string[] = layers.map(diff)): Image {
  const config = parseConfig(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, history }),
    'test config',
  );
  const layer = (c: string): Image['layers'][number] => ({
    digest: digest(c),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: 1,
    open: () => Promise.reject(new Error('not opened')),
  });
  return {
    name: { display: 'app:1', name: 'app', repository: 'app', tagOrigin: 'reference' },
    configDigest: digest('c'),
    config,
    layers: layers.map(layer),
  };
}

const HISTORY = [
  { created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
  { created: '2024-01-02T03:04:06Z', created_by: '/bin/sh -c #(nop)  ENV A=b', empty_layer: true },
  { created: '2024-01-02T03:04:07Z', created_by: '/bin/sh -c apk add sudo', comment: 'buildkit' },
  { created_by: '/bin/sh -c #(nop) LABEL x=y', empty_layer: true },
];

test('layerHistory: the non-empty entries in order are the layers; a count that does not add up is unknown', () => {
  assert.deepEqual(
    layerHistory(image(HISTORY, ['1', '2']).config, 2)?.map((h) => h.created_by),
    ['/bin/sh -c #(nop) ADD file:abc in / ', '/bin/sh -c apk add sudo'],
  );
  assert.equal(layerHistory(image(HISTORY, ['1', '2', '3']).config, 3), undefined, 'three layers, two non-empty entries');
  assert.equal(layerHistory(image(HISTORY.slice(0, 2), ['1', '2']).config, 2), undefined, 'two layers, one non-empty entry');
  assert.equal(layerHistory(image([], ['1']).config, 1), undefined, 'no history');
  const details = layerDetails({ image: image(HISTORY, ['1', '2']) });
  assert.deepEqual(details[1], {
    digest: digest('2'),
    diffId: diff('2'),
    createdBy: '/bin/sh -c apk add sudo',
    created: '2024-01-02T03:04:07Z',
    comment: 'buildkit',
    origin: null,
  });
  assert.equal(details[0]?.comment, null, 'an empty comment is null');
  assert.ok(
    layerDetails({ image: image(HISTORY, ['1', '2', '3']) }).every((d) => d.createdBy === null && d.created === null),
    'unknown, not guessed',
  );
});

test('splitByBase: a diff_id prefix is inherited; another base or an empty one', () => {
  const app = image(HISTORY, ['1', '2']);
  const base = { reference: 'base:1', source: 'option' as const };
  const split = splitByBase(app, [diff('1')], base);
  assert.deepEqual([split.status, split.inheritedLayers], ['prefix', 1]);
  assert.deepEqual(
    layerDetails({ image: app, base: split }).map((d) => d.origin),
    ['inherited', 'introduced'],
  );
  const other = splitByBase(app, [diff('9')], base);
  assert.equal(other.status, 'not-prefix');
  assert.match(other.note, /from layer 1 on/);
  assert.ok(
    layerDetails({ image: app, base: other }).every((d) => d.origin === null),
    'not a prefix: no origin claimed',
  );
  assert.equal(splitByBase(app, [diff('1'), diff('2'), diff('3')], base).status, 'not-prefix', 'a base longer than the image');
  assert.deepEqual(splitByBase(app, [], base).inheritedLayers, 0, 'FROM scratch: nothing inherited');
  assert.equal(
    splitByBase(image(HISTORY, ['1', '2'], [diff('1')]), [diff('1')], base).status,
    'unresolved',
    'diff_ids do not match the layers',
  );
});

test('detailsByDigest: a blob named at an inherited and an introduced place is introduced', () => {
  const app = image([], ['1', '2', '1'], [diff('1'), diff('2'), diff('1')]);
  const split = splitByBase(app, [diff('1')], { reference: 'b', source: 'option' });
  assert.equal(detailsByDigest(layerDetails({ image: app, base: split })).get(digest('1'))?.origin, 'introduced');
});

test("shortStep: the builders' shell and build-argument prefixes dropped", () => {
  assert.equal(shortStep('/bin/sh -c #(nop)  ENV A=b'), 'ENV A=b');
  assert.equal(shortStep('/bin/sh -c apk add\n\tsudo'), 'RUN apk add sudo');
  assert.equal(shortStep('|2 A=1 B=2 /bin/sh -c make'), 'RUN make');
  assert.equal(shortStep('RUN /bin/sh -c echo # buildkit'), 'RUN /bin/sh -c echo # buildkit');
});

/** A scan of `app` where suid found files in both layers. */
function scanOf(app: Image, split?: ReturnType<typeof splitByBase>, outcome?: CheckOutcome): ScannedImage {
  const found: CheckOutcome = outcome ?? {
    pass: false,
    description: 'Found setuid files',
    files: [{ [digest('1')]: ['/bin/su'] }, { [digest('2')]: ['/usr/bin/sudo', '/usr/bin/x'] }],
  };
  const results = ALL_CHECKS.map((c) =>
    toResult(
      c,
      c.id === 'suid' ? found : c.id === 'default-user' ? { pass: false, description: 'root' } : { pass: true, description: 'ok' },
    ),
  );
  return { image: app, results, highest: highestSeverity(results), ...(split ? { base: split } : {}) };
}

test("formats: each finding's layer with its step and origin; the table and summary count both; the image's text is escaped", () => {
  const hostile = [
    { created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
    { created_by: `/bin/sh -c echo \u001b[2J\u202e ${'x'.repeat(500)}` },
  ];
  const app = image(hostile, ['1', '2']);
  const split = splitByBase(app, [diff('1')], { reference: 'base:1', source: 'option' });
  const scan = scanOf(app, split);
  assert.deepEqual(originCounts(scan.results, detailsByDigest(layerDetails(scan))), { inherited: 1, introduced: 2, unknown: 0 });
  assert.match(summaryLine(scan), /; base base:1: findings 2 introduced, 1 inherited\n$/);
  const table = tableText(scan, { quiet: true });
  assert.match(table, /; layer 1 ADD file:abc in \/ \(inherited\) and 1 more layer\]/);
  const lines = [...terminalChunks(scan.results, { colour: false, layers: detailsByDigest(layerDetails(scan)) })].join('');
  assert.match(lines, new RegExp(`layer ${digest('2')} RUN echo \\\\x1b\\[2J\\\\u202e x+… \\(introduced\\)\\n`));
  assert.ok(!(lines + table).includes('\u001b') && !(lines + table).includes('\u202e'), 'control and bidi characters escaped');
  assert.ok(
    lines.split('\n').every((l) => l.length < 260),
    'a long step is shortened on the terminal',
  );
  const sarif = JSON.stringify(sarifLog([{ input: 'app:1', scans: [scan] }]));
  assert.match(sarif, /"origin":"inherited"/);
  assert.match(sarif, /"origin":"introduced"/);
  assert.ok(sarif.includes('x'.repeat(500)), 'SARIF keeps the whole step');
  const junit = junitXml([{ input: 'app:1', scans: [scan] }]);
  assert.match(junit, /layer sha256:1+ \(created by: \/bin\/sh -c #\(nop\) ADD file:abc in \/ ; inherited\)/);
  assert.ok(!junit.includes('\u001b'));
});

test('acceptInherited: inherited findings accepted with the reason; all inherited passes; config checks untouched', () => {
  const inherited = new Set([digest('1')]);
  const mixed: CheckOutcome = {
    pass: false,
    description: 'Found setuid files',
    files: [{ [digest('1')]: ['/bin/su'] }, { [digest('2')]: ['/usr/bin/sudo'] }],
  };
  const some = acceptInherited(mixed, { notScanned: [] }, inherited, 'base:1');
  assert.equal(some.pass, false);
  assert.deepEqual(some.files, [{ [digest('2')]: ['/usr/bin/sudo'] }]);
  assert.deepEqual(some.accepted, [{ Layer: digest('1'), Path: '/bin/su', Reason: 'inherited from base base:1' }]);
  assert.match(some.description, /\(1 inherited from base\)$/);
  const all = acceptInherited(
    { ...mixed, files: [{ [digest('1')]: ['/bin/su'] }], counts: { [digest('1')]: 5000 } },
    { notScanned: [] },
    inherited,
    'base:1',
  );
  assert.deepEqual(
    [all.pass, all.description],
    [true, 'All findings inherited from the base image (1 inherited)'],
    'a whole layer is inherited, listed or not',
  );
  const unverified = acceptInherited(
    { ...mixed, files: [{ [digest('1')]: ['/bin/su'] }] },
    { notScanned: [{ digest: digest('9'), reason: 'foreign' }] },
    inherited,
    'base:1',
  );
  assert.equal(unverified.pass, false, 'layers not scanned keep the check failing');
  const config: CheckOutcome = { pass: false, description: 'root' };
  assert.equal(acceptInherited(config, { notScanned: [] }, inherited, 'base:1'), config);
});

test("redactStep: a build argument, an assignment with a secret's name and a known token shape never reach a report", () => {
  const token = `ghp_${'a1B2'.repeat(9)}`;
  const step = redactStep(`|2 GH_TOKEN=${token} DB_PASSWORD=hunter2hunter2 /bin/sh -c export API_KEY=s3cr3tv4lue && make`);
  assert.ok(!step.includes(token) && !step.includes('hunter2hunter2') && !step.includes('s3cr3tv4lue'), step);
  assert.match(step, /GH_TOKEN="ghp_…" \(40 chars, sha256:[0-9a-f]{8}\)/);
  assert.equal(redactStep('/bin/sh -c apk add sudo'), '/bin/sh -c apk add sudo');
});
