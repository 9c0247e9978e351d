/**
 * The fixture catalogue (fixtures/images.ts): each image fails exactly the checks it is
 * described to fail, and the demo reads the same as an OCI layout and as docker archives in
 * both layouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, demoImage } from '../../fixtures/images.js';
import { scan } from '../../src/scan.js';
import { buildImage, writeDockerArchive } from '../helpers/image-builder.js';
import { scanSpec, tempDir, testScanOptions } from '../helpers/scan.js';

for (const fixture of FIXTURES) {
  test(`fixture ${fixture.name} (${fixture.about}) fails exactly: ${fixture.fails.join(', ') || 'nothing'}`, async () => {
    const { scan: result } = await scanSpec(fixture.spec);
    const failed = result.results.filter((r) => !r.Pass).map((r) => r.Id);
    assert.deepEqual(failed.sort(), [...fixture.fails].sort());
  });
}

test('the demo reads the same from an OCI layout and from docker archives in both layouts', async () => {
  const { scan: fromLayout } = await scanSpec(demoImage);
  const { dir, cleanup } = await tempDir();
  try {
    for (const layout of ['classic', 'oci'] as const) {
      const file = join(dir, `${layout}.tar`);
      await writeDockerArchive(file, buildImage(demoImage), ['demo:1.0'], layout);
      const [fromArchive] = await scan(`docker-archive:${file}`, testScanOptions());
      assert.ok(fromArchive);
      // Same verdicts and descriptions (the image name differs); file findings keyed by the
      // archive's (uncompressed) layer digests, so compare the paths.
      const strip = (results: typeof fromLayout.results): unknown =>
        results.map((r) => ({ id: r.Id, pass: r.Pass, files: (r.Files ?? []).map((l) => Object.values(l)[0]) }));
      assert.deepEqual(strip(fromArchive.results), strip(fromLayout.results), layout);
    }
  } finally {
    await cleanup();
  }
});
