/**
 * The terminal lines (src/report/formats/terminal.ts) and the report model's `FileCounts`
 * (src/report/model.ts): findings capped per layer with "… and N more" counted from the
 * layer's total, and text from the image escaped wherever it is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Check } from '../../../src/checks/types.js';
import { toResult, type ReportResult } from '../../../src/report/model.js';
import { escapeForTerminal, terminalChunks, terminalText } from '../../../src/report/formats/terminal.js';

const L1 = `sha256:${'1'.repeat(64)}`;
const L2 = `sha256:${'2'.repeat(64)}`;
const SUID: Check = {
  id: 'suid',
  title: 'Checking for a suid bit file',
  severity: 'Critical',
  mitigation: 'm',
  run: () => ({ pass: true, description: '' }),
};

const paths = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${String(i).padStart(7, '0')}`);

test('toResult: FileCounts only when a layer has more findings than Files lists, per layer in Files order', () => {
  const files = [{ [L1]: paths(1000, '/a') }, { [L2]: ['/b/x'] }];
  const truncated = toResult(SUID, { pass: false, description: 'Found file', files, counts: { [L1]: 1_000_000, [L2]: 1 } });
  assert.deepEqual(truncated.FileCounts, [{ [L1]: 1_000_000 }, { [L2]: 1 }]);
  const complete = toResult(SUID, { pass: false, description: 'Found file', files, counts: { [L1]: 1000 } });
  assert.equal(complete.FileCounts, undefined);
  assert.equal(toResult(SUID, { pass: false, description: 'Found file', files }).FileCounts, undefined);
  assert.equal(
    toResult(SUID, { pass: true, description: 'none', files, counts: { [L1]: 5000 } }).FileCounts,
    undefined,
    'a pass has neither Files nor FileCounts',
  );
});

test('terminalChunks: at most N paths per layer, then "… and M more" from the layer total', () => {
  const result: ReportResult = toResult(SUID, {
    pass: false,
    description: 'Found file',
    files: [{ [L1]: paths(1000, '/a') }, { [L2]: paths(30, '/b') }],
    counts: { [L1]: 1_000_000 },
  });
  const text = [...terminalChunks([result], { colour: false })].join('');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'FAIL. Severity: Critical. Checking for a suid bit file. Found file.');
  assert.equal(lines.filter((l) => l.startsWith('        /a/')).length, 1000);
  assert.ok(lines.includes('        … and 999000 more'), 'the remainder of layer 1 is counted');
  assert.equal(lines.filter((l) => l.startsWith('        /b/')).length, 30);
  assert.equal(lines.filter((l) => l.includes('more')).length, 1, 'layer 2 is complete');

  const small = [...terminalChunks([result], { colour: false, pathsPerLayer: 10 })].join('').trimEnd().split('\n');
  assert.equal(small.filter((l) => l.startsWith('        /a/')).length, 10);
  assert.ok(small.includes('        … and 999990 more'));
  assert.ok(small.includes('        … and 20 more'), 'a cap below the listed paths counts them too');
});

test('terminalChunks: title, description, digest and paths from the image are escaped; colours only when asked', () => {
  const evil = '/bin/\u001b[2J\u001b]0;pwned\u0007\r\nFAIL. forged\u202eexe.txt\u009b';
  const result: ReportResult = {
    Id: 'x',
    Title: 'T\u001b[31m',
    Severity: 'Critical',
    Pass: false,
    Description: `D ${evil}`,
    Mitigation: 'm',
    Files: [{ [`${L1}\u001b`]: [evil] }],
  };
  const plain = [...terminalChunks([result], { colour: false })].join('');
  // eslint-disable-next-line no-control-regex -- the point of the check
  assert.doesNotMatch(plain.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u202e]/);
  assert.equal(plain.trimEnd().split('\n').length, 3, 'no forged line');
  assert.match(plain, /\\x1b\[2J\\x1b\]0;pwned\\x07\\x0d\\x0aFAIL\. forged\\u202eexe\.txt\\x9b/);
  const coloured = [...terminalChunks([result], { colour: true })].join('');
  assert.ok(coloured.startsWith('\u001b[31mFAIL\u001b[0m. '));
});

test('escapeForTerminal and terminalText: controls, lone surrogates and bidi overrides escaped; long text cut', () => {
  assert.equal(escapeForTerminal('a\u0000b\u007fc\ud800d\u2066e'), 'a\\x00b\\x7fc\\ud800d\\u2066e');
  assert.equal(escapeForTerminal('naïve ☃ 😀'), 'naïve ☃ 😀', 'printable text, surrogate pairs included, is kept');
  assert.equal(terminalText('x'.repeat(20), 5), 'xxxxx…');
});
