/** The library face: `import { scan } from 'oci-scan'` works with defaults and rejects with OciScanError. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { scan, OciScanError, exitCodeFor, ALL_CHECKS } from 'oci-scan';

const demo = fileURLToPath(new URL('../../../fixtures/demo', import.meta.url));

test('scan() of the demo image through the package entry point, with defaults', async () => {
  const [result, ...more] = await scan(`oci:${demo}:1.0`);
  assert.equal(more.length, 0);
  assert.ok(result);
  assert.equal(result.highest, 'Critical');
  assert.equal(result.results.length, ALL_CHECKS.length);
  assert.deepEqual(Object.keys(result.report), [`oci:${demo}:1.0`]);
});

test('scan() rejects with a typed error carrying the documented exit code', async () => {
  await assert.rejects(scan(`oci:${demo}-missing:1.0`), (err: unknown) => err instanceof OciScanError && err.code === 'SOURCE_NOT_FOUND' && exitCodeFor(err.code) === 20);
  await assert.rejects(scan(''), (err: unknown) => err instanceof OciScanError && err.code === 'NO_IMAGE');
});
