/**
 * `oci-scan audit oci:DIR`: every tagged image of an OCI layout that holds many (as
 * `skopeo sync --dest oci`, oc-mirror and Zarf write them), filtered by `--include` and `--tags`,
 * each scanned as `oci-scan oci:DIR:TAG` would scan it.
 *
 * Provenance: test/helpers/audit-mirror.ts images written by image-builder.ts's writeOciLayout.
 */
import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SEVERITY_CODES } from '../../src/cli/exit-codes.js';
import { readSummary, runAudit } from '../helpers/audit.js';
import { mirrorImages } from '../helpers/audit-mirror.js';
import { writeOciLayout, type BuiltImage } from '../helpers/image-builder.js';
import { runCli, tempDir } from '../helpers/scan.js';

const IMAGES = 40;

describe('oci-scan audit oci:DIR', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let layout: string;
  const tagged: Array<{ image: BuiltImage; tag: string }> = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-audit-layout-'));
    layout = join(dir, 'mirror');
    for (let n = 0; n < IMAGES / 2; n++) {
      const images = mirrorImages(n);
      tagged.push({ image: images['1.0'], tag: `app-${n}-1.0` }, { image: images['1.1'], tag: `app-${n}-1.1` });
    }
    // Two tags of one image, as a mirror of `:1.1` and `:latest` holds it.
    tagged.push({ image: mirrorImages(0)['1.1'], tag: 'app-0-latest' });
    await writeOciLayout(layout, tagged);
  });

  after(async () => {
    await cleanup?.();
  });

  test('every tagged image is audited, with the report oci-scan oci:DIR:TAG writes', async () => {
    const reports = join(dir, 'reports');
    const run = await runAudit([`oci:${layout}`, '--reports-dir', reports, '-q'], join(dir, 'cache'));
    const summary = readSummary(reports);
    assert.deepEqual(summary.images.map((i) => i.tag).sort(), tagged.map((t) => t.tag).sort());
    for (const { image, tag } of tagged) assert.equal(summary.images.find((i) => i.tag === tag)?.digest, image.manifestDigest, tag);
    assert.equal(summary.totals.distinctManifests, IMAGES);
    // Two tags of one manifest: scanned once, reported under each tag.
    for (const tag of ['app-0-1.1', 'app-0-latest']) {
      const entry = summary.images.find((i) => i.tag === tag);
      const report = JSON.parse(readFileSync(join(reports, entry?.report ?? ''), 'utf8')) as object;
      assert.deepEqual(Object.keys(report), [`oci:${layout}:${tag}`]);
    }
    assert.equal(summary.totals.errors, 0);

    const sample = summary.images.find((i) => i.tag === 'app-3-1.0');
    const single = await runCli([`oci:${layout}:app-3-1.0`, '--reports-dir', join(dir, 'single')]);
    assert.equal(
      single.code,
      DEFAULT_SEVERITY_CODES[sample?.highest ?? 'Informational'],
      'the scan of the tag finds the severity the audit recorded',
    );
    const direct = readFileSync(join(dir, 'single', sample?.report ?? ''), 'utf8');
    assert.equal(readFileSync(join(reports, sample?.report ?? ''), 'utf8'), direct, 'the audit writes the report a scan writes');
    const worst = summary.images.map((i) => i.highest);
    assert.ok(worst.includes('Critical'));
    assert.equal(run.code, 12);
  });

  test("--include and --tags choose among the layout's tags", async () => {
    const reports = join(dir, 'filtered');
    await runAudit([`oci:${layout}`, '--include', 'app-1*', '--tags', '1\\.1$', '--reports-dir', reports, '-q'], join(dir, 'cache'));
    const tags = readSummary(reports)
      .images.map((i) => i.tag)
      .sort();
    assert.deepEqual(
      tags,
      tagged
        .map((t) => t.tag)
        .filter((t) => /^app-1/.test(t) && /1\.1$/.test(t))
        .sort(),
    );
    assert.ok(tags.length > 1);
  });
});
