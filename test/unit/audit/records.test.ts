/** Resume records (src/audit/records.ts): only a whole record, of the same reference and digest, whose report is there, is complete. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { completeRecord, makeRecord, recordedScan, recordPath, type RecordedImage } from '../../../src/audit/records.js';
import { tempDir } from '../../helpers/scan.js';

const REF = 'registry.lan/team/app:1.0';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const LAYER = `sha256:${'b'.repeat(64)}`;
const RESULT = { Id: 'sudo', Title: 'Checking for a sudo file', Severity: 'Critical' as const, Pass: false, Description: 'Found file', Mitigation: 'Remove sudo', Files: [{ [LAYER]: ['/usr/bin/sudo'] }] };
const IMAGE: RecordedImage = {
  entry: { reference: REF, repository: 'registry.lan/team/app', tag: '1.0', digest: DIGEST, platform: 'linux/amd64', highest: 'Critical', failedChecks: ['sudo'], layers: [LAYER], report: 'team_app_1.0-compliance.json' },
  name: { display: REF, name: 'app', repository: 'team/app', tag: '1.0', tagOrigin: 'reference' },
  manifestDigest: DIGEST,
  configDigest: `sha256:${'c'.repeat(64)}`,
  platform: { os: 'linux', architecture: 'amd64' },
  results: [RESULT],
};

test('a record is complete only when whole, of this reference and digest, and its report exists', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = join(dir, recordPath(REF, DIGEST));
    await mkdir(dirname(file), { recursive: true });
    const write = (doc: unknown): Promise<void> => writeFile(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
    await write(makeRecord(REF, DIGEST, [IMAGE]));
    assert.equal(await completeRecord(dir, REF, DIGEST), undefined, 'the report is missing');
    await writeFile(join(dir, 'team_app_1.0-compliance.json'), JSON.stringify({ [REF]: [RESULT] }));
    assert.deepEqual((await completeRecord(dir, REF, DIGEST))?.images, [IMAGE]);
    assert.equal(await completeRecord(dir, REF, `sha256:${'d'.repeat(64)}`), undefined, 'another digest (the tag moved) has no record');
    await write(JSON.stringify(makeRecord(REF, DIGEST, [IMAGE])).slice(0, 100));
    assert.equal(await completeRecord(dir, REF, DIGEST), undefined, 'a truncated record');
    await write(makeRecord('registry.lan/team/other:1.0', DIGEST, [IMAGE]));
    assert.equal(await completeRecord(dir, REF, DIGEST), undefined, 'a record of another reference under this name');
    await write({ ...makeRecord(REF, DIGEST, [IMAGE]), images: [{ ...IMAGE, results: [{ ...RESULT, Severity: 'Severe' }] }] });
    assert.equal(await completeRecord(dir, REF, DIGEST), undefined, 'results that are not a report');
    await rm(file);
    assert.equal(await completeRecord(dir, REF, DIGEST), undefined);
  } finally {
    await cleanup();
  }
});

test('a recorded image reads as a scanned image for the report formats; its layers cannot be opened', async () => {
  const scan = recordedScan(IMAGE);
  assert.equal(scan.image.name.display, REF);
  assert.equal(scan.image.manifestDigest, DIGEST);
  assert.deepEqual(scan.image.layers.map((l) => l.digest), [LAYER]);
  assert.equal(scan.highest, 'Critical');
  await assert.rejects(scan.image.layers[0]?.open() ?? Promise.resolve(), /not readable/);
});
