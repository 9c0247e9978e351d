/**
 * `oci-scan audit oci:DIR` on a layout whose ref.name annotations are full image names
 * (docs/checks.md, check 1): each name's tag is read as containerd's import and podman's load
 * read it, also when two names share one manifest (scanned once, reported under each name).
 *
 * Provenance: one image written by image-builder.ts's writeOciLayout under three names.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSummary, runAudit } from '../helpers/audit.js';
import { buildImage, writeOciLayout } from '../helpers/image-builder.js';
import { tempDir } from '../helpers/scan.js';

describe('oci-scan audit oci:DIR with full image names', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  const image = buildImage({
    config: { Cmd: ['/app'] },
    layers: [{ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'x' }] }],
  });
  const names = ['localhost/app:latest', 'example.com:5000/team/app:2.0', 'name:latest'];

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-audit-names-'));
    await writeOciLayout(
      join(dir, 'layout'),
      names.map((tag) => ({ image, tag })),
    );
  });
  after(() => cleanup());

  test('tag-latest fails for the names that read latest and passes for the other', async () => {
    const reports = join(dir, 'reports');
    await runAudit([`oci:${join(dir, 'layout')}`, '--reports-dir', reports, '-q'], join(dir, 'cache'));
    const summary = readSummary(reports);
    const verdicts = Object.fromEntries(
      names.map((name) => {
        const entry = summary.images.find((i) => i.tag === name);
        assert.ok(entry?.report, `${name} audited`);
        const report = JSON.parse(readFileSync(join(reports, entry.report), 'utf8')) as Record<
          string,
          Array<{ Id: string; Pass: boolean; Description: string }>
        >;
        const result = Object.values(report)[0]?.find((r) => r.Id === 'tag-latest');
        return [name, result?.Description.replace(join(dir, 'layout'), 'DIR')];
      }),
    );
    assert.deepEqual(verdicts, {
      'localhost/app:latest': 'Image oci:DIR:localhost/app:latest has tag: latest',
      'example.com:5000/team/app:2.0': 'Image oci:DIR:example.com:5000/team/app:2.0 has tag: 2.0',
      'name:latest': 'Image oci:DIR:name:latest has tag: latest',
    });
  });
});
