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
  await assert.rejects(
    scan(`oci:${demo}-missing:1.0`),
    (err: unknown) => err instanceof OciScanError && err.code === 'SOURCE_NOT_FOUND' && exitCodeFor(err.code) === 20,
  );
  await assert.rejects(scan(''), (err: unknown) => err instanceof OciScanError && err.code === 'NO_IMAGE');
});

test('scan() takes the platform as users write it, and refuses a wrong option type with an OciScanError naming it, never a TypeError', async () => {
  const [arm] = await scan(`oci:${demo}:1.0`, { platform: 'linux/amd64' });
  assert.equal(arm?.highest, 'Critical', 'the string form of the platform');
  const usage =
    (name: RegExp) =>
    (err: unknown): boolean =>
      err instanceof OciScanError && err.code === 'USAGE' && name.test(err.message);
  await assert.rejects(scan(`oci:${demo}:1.0`, { platform: 'linux' }), usage(/platform "linux" is not os\/arch/));
  const wrong: Array<[object, RegExp]> = [
    [{ platform: 42 }, /option platform must be/],
    [{ allowUnscannedLayers: 'yes' }, /option allowUnscannedLayers must be a boolean, not a string/],
    [{ base: 42 }, /option base must be an image reference string .*, not a number/],
    [{ layerConcurrency: 0 }, /option layerConcurrency must be a whole number/],
    [{ limits: { maxLayerBytes: '1g' } }, /option limits\.maxLayerBytes must be a positive number/],
    [{ registry: { insecureRegistries: 'r.lan:5000' } }, /option registry\.insecureRegistries must be an array/],
    [{ registry: { mirrors: ['x'] } }, /option registry\.mirrors must be an object/],
    [{ signal: {} }, /option signal must be an AbortSignal/],
    [{ checks: 'all' }, /option checks must be an array/],
    [{ store: {} }, /option store must be a FactsStore/],
    [{ logger: console.log }, /option logger must be a pino logger/],
  ];
  for (const [options, message] of wrong)
    await assert.rejects(scan(`oci:${demo}:1.0`, options as never), usage(message), JSON.stringify(options));
  await assert.rejects(scan(42 as never), usage(/input \(the image\) must be a string/));
});
