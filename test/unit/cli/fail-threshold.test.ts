/** The failure threshold of --fail-on / --exit-code (src/cli/exit-codes.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEVERITY_CODES, failThreshold, meetsThreshold, runExitCode } from '../../../src/cli/exit-codes.js';
import { OciScanError } from '../../../src/errors.js';

test('meetsThreshold: at or above; an all-passed run and none never meet it', () => {
  assert.ok(meetsThreshold('Critical', 'High'));
  assert.ok(meetsThreshold('High', 'High'));
  assert.ok(!meetsThreshold('Medium', 'High'));
  assert.ok(meetsThreshold('Low', 'Low'));
  assert.ok(!meetsThreshold('Informational', 'Low'));
  assert.ok(!meetsThreshold('Critical', 'none'));
});

test('failThreshold: parses the flags; --exit-code alone fails on any failure; bad values are usage errors', () => {
  assert.equal(failThreshold(undefined, undefined), undefined);
  assert.deepEqual(failThreshold('medium', undefined), { failOn: 'Medium' });
  assert.deepEqual(failThreshold(undefined, '7'), { failOn: 'Low', exitCode: 7 });
  assert.deepEqual(failThreshold('NONE', 0), { failOn: 'none', exitCode: 0 });
  for (const [failOn, code] of [
    ['Severe', undefined],
    ['Informational', undefined],
    [undefined, '256'],
    [undefined, '-1'],
    [undefined, '1.5'],
    [undefined, ''],
  ] as const) {
    assert.throws(
      () => failThreshold(failOn, code),
      (err: unknown) => err instanceof OciScanError && err.code === 'USAGE',
      `${String(failOn)} ${String(code)}`,
    );
  }
});

test('runExitCode with a threshold: 0 below, the severity code or --exit-code at or above; a failed image still wins', () => {
  const codes = { ...DEFAULT_SEVERITY_CODES, High: 99 };
  assert.equal(runExitCode([], 'High', codes, { failOn: 'Critical' }), 0);
  assert.equal(runExitCode([], 'High', codes, { failOn: 'High' }), 99);
  assert.equal(runExitCode([], 'High', codes, { failOn: 'Medium', exitCode: 1 }), 1);
  assert.equal(runExitCode([], 'High', codes), 99, 'no threshold: as before');
  assert.equal(runExitCode([new OciScanError('IMAGE_NOT_FOUND', 'x')], 'Low', codes, { failOn: 'none' }), 20);
});
