/**
 * Resume records (src/audit/records.ts): only a whole record, of the same reference and
 * digest, whose report is there, is complete; journals of several processes are all read, a
 * line cut short by a kill is no record, and a record may be any size up to the limit.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { appendFile, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  makeRecord,
  RecordIndex,
  RecordJournal,
  recordedScan,
  recordKey,
  RECORDS_DIR,
  verdictKey,
  type RecordedImage,
  type VerdictInputs,
} from '../../../src/audit/records.js';
import { ensureReportsDir } from '../../../src/report/write.js';
import { tempDir } from '../../helpers/scan.js';

const REF = 'registry.lan/team/app:1.0';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const LAYER = `sha256:${'b'.repeat(64)}`;
const INPUTS: VerdictInputs = {
  toolVersion: '0.1.0',
  checks: [{ id: 'sudo', severity: 'Critical' }],
  platform: 'linux/amd64',
  allowUnscannedLayers: false,
  expiredAcceptances: [],
};
const VERDICT = verdictKey(INPUTS);
const RESULT = {
  Id: 'sudo',
  Title: 'Checking for a sudo file',
  Severity: 'Critical' as const,
  Pass: false,
  Description: 'Found file',
  Mitigation: 'Remove sudo',
  Files: [{ [LAYER]: ['/usr/bin/sudo'] }],
};
const IMAGE: RecordedImage = {
  entry: {
    reference: REF,
    repository: 'registry.lan/team/app',
    tag: '1.0',
    digest: DIGEST,
    platform: 'linux/amd64',
    highest: 'Critical',
    failedChecks: ['sudo'],
    layers: [LAYER],
    report: 'team_app_1.0-compliance.json',
  },
  name: { display: REF, name: 'app', repository: 'team/app', tag: '1.0', tagOrigin: 'reference' },
  manifestDigest: DIGEST,
  configDigest: `sha256:${'c'.repeat(64)}`,
  platform: { os: 'linux', architecture: 'amd64' },
  results: [RESULT],
};

test('a record is complete only when whole, of this reference and digest, and its report exists', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureReportsDir(join(dir, RECORDS_DIR));
    const journal = new RecordJournal(dir);
    journal.append(makeRecord(REF, DIGEST, VERDICT, [IMAGE]));
    journal.close();
    assert.equal(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT), undefined, 'the report is missing');
    await writeFile(join(dir, 'team_app_1.0-compliance.json'), JSON.stringify({ [REF]: [RESULT] }));
    assert.deepEqual(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT)?.images, [IMAGE]);
    assert.equal(
      RecordIndex.load(dir).complete(REF, `sha256:${'d'.repeat(64)}`, VERDICT),
      undefined,
      'another digest (the tag moved) has no record',
    );
    const [name = ''] = await readdir(join(dir, RECORDS_DIR));
    assert.match(name, /^records-\d+-[0-9a-f]{12}\.jsonl$/);
    const file = join(dir, RECORDS_DIR, name);
    const line = (doc: unknown): string => `${recordKey(REF, DIGEST)} ${typeof doc === 'string' ? doc : JSON.stringify(doc)}\n`;
    // Lines written as a damaged or foreign journal would hold them; the last line of a key counts.
    for (const [what, doc] of [
      ['a truncated record', JSON.stringify(makeRecord(REF, DIGEST, VERDICT, [IMAGE])).slice(0, 100)],
      ['a record of another reference under this key', makeRecord('registry.lan/team/other:1.0', DIGEST, VERDICT, [IMAGE])],
      [
        'results that are not a report',
        { ...makeRecord(REF, DIGEST, VERDICT, [IMAGE]), images: [{ ...IMAGE, results: [{ ...RESULT, Severity: 'Severe' }] }] },
      ],
    ] as const) {
      await writeFile(file, line(makeRecord(REF, DIGEST, VERDICT, [IMAGE])) + line(doc));
      assert.equal(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT), undefined, what);
    }
    await writeFile(file, line(makeRecord(REF, DIGEST, VERDICT, [IMAGE])) + line(makeRecord(REF, DIGEST, VERDICT, [IMAGE])).slice(0, 200));
    assert.deepEqual(
      RecordIndex.load(dir).complete(REF, DIGEST, VERDICT)?.images,
      [IMAGE],
      'a last line cut short (a kill mid-write) is no record: the one before counts',
    );
    await writeFile(file, 'garbage\n\n' + '0'.repeat(64) + '\n' + line(makeRecord(REF, DIGEST, VERDICT, [IMAGE])));
    assert.deepEqual(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT)?.images, [IMAGE], 'lines that are no records are skipped');
    await rm(file);
    assert.equal(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT), undefined);
    assert.equal(RecordIndex.load(join(dir, 'missing')).size, 0, 'no directory: no records');
  } finally {
    await cleanup();
  }
});

test('journals of several processes are all indexed; records of any size are found, across the pieces the journals are read in', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureReportsDir(join(dir, RECORDS_DIR));
    const refs = Array.from({ length: 300 }, (_, n) => `registry.lan/team/app-${n}:1.0`);
    const reports = refs.map((_, n) => `app-${n}-compliance.json`);
    // Records of growing size: some lines end exactly where a 1 MiB piece does, or cross it.
    const imageOf = (n: number): RecordedImage => ({
      ...IMAGE,
      entry: { ...IMAGE.entry, reference: refs[n] ?? '', report: reports[n] ?? '' },
      results: [{ ...RESULT, Files: [{ [LAYER]: Array.from({ length: 1 + n * 3 }, (_, i) => `/usr/lib/file-${n}-${i}`) }] }],
    });
    const journals = [new RecordJournal(dir), new RecordJournal(dir)];
    for (const [n, ref] of refs.entries()) {
      await writeFile(join(dir, reports[n] ?? ''), '{}');
      journals[n % 2]?.append(makeRecord(ref, DIGEST, VERDICT, [imageOf(n)]));
    }
    for (const j of journals) j.close();
    const files = await readdir(join(dir, RECORDS_DIR));
    assert.equal(files.length, 2, 'one journal per process');
    const sizes = await Promise.all(files.map(async (f) => (await readFile(join(dir, RECORDS_DIR, f))).length));
    assert.ok(
      sizes.every((size) => size > 1024 * 1024),
      `each journal spans several read pieces (${sizes.join(', ')})`,
    );
    const index = RecordIndex.load(dir);
    assert.equal(index.size, refs.length);
    for (const [n, ref] of refs.entries()) assert.deepEqual(index.complete(ref, DIGEST, VERDICT)?.images, [imageOf(n)], ref);
    // Appending to a journal a later run left (a process of the same pid): lines are added, none lost.
    await appendFile(join(dir, RECORDS_DIR, files[0] ?? ''), `${recordKey('x', DIGEST)} {}\n`);
    assert.equal(RecordIndex.load(dir).size, refs.length + 1);
  } finally {
    await cleanup();
  }
});

test("the same reference recorded by two runs (--fresh into the same directory): the later run's record counts, whatever the file names", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureReportsDir(join(dir, RECORDS_DIR));
    await writeFile(join(dir, 'team_app_1.0-compliance.json'), JSON.stringify({ [REF]: [RESULT] }));
    const older = { ...IMAGE, entry: { ...IMAGE.entry, failedChecks: ['sudo', 'su'] } };
    for (const [name, image, at] of [
      ['records-2-ffffffffffff.jsonl', older, 1_000],
      ['records-1-000000000000.jsonl', IMAGE, 2_000],
    ] as const) {
      const file = join(dir, RECORDS_DIR, name);
      await writeFile(file, `${recordKey(REF, DIGEST)} ${JSON.stringify(makeRecord(REF, DIGEST, VERDICT, [image]))}\n`);
      await utimes(file, at, at);
    }
    assert.deepEqual(
      RecordIndex.load(dir).complete(REF, DIGEST, VERDICT)?.images,
      [IMAGE],
      'the newer journal wins though its name sorts first',
    );
  } finally {
    await cleanup();
  }
});

test('a record is reused only under the verdict key it was made under: policy, checks, version, platform, expiries', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureReportsDir(join(dir, RECORDS_DIR));
    await writeFile(join(dir, 'team_app_1.0-compliance.json'), JSON.stringify({ [REF]: [RESULT] }));
    const journal = new RecordJournal(dir);
    journal.append(makeRecord(REF, DIGEST, VERDICT, [IMAGE]));
    journal.close();
    assert.deepEqual(RecordIndex.load(dir).complete(REF, DIGEST, VERDICT)?.images, [IMAGE]);
    const policy = { version: 1, checks: { sudo: { disabled: true } } };
    for (const [what, inputs] of [
      ['a policy', { ...INPUTS, policy }],
      ['another severity', { ...INPUTS, checks: [{ id: 'sudo', severity: 'High' }] }],
      ['another check set', { ...INPUTS, checks: [...INPUTS.checks, { id: 'su', severity: 'Critical' }] }],
      ['another version', { ...INPUTS, toolVersion: '0.2.0' }],
      ['another platform', { ...INPUTS, platform: 'all' }],
      ['--allow-unscanned-layers', { ...INPUTS, allowUnscannedLayers: true }],
      ['an acceptance expired since', { ...INPUTS, expiredAcceptances: [0] }],
    ] as const) {
      const other = verdictKey(inputs);
      assert.notEqual(other, VERDICT, what);
      assert.equal(RecordIndex.load(dir).complete(REF, DIGEST, other), undefined, `${what}: the record is not reused`);
    }
    assert.deepEqual(
      RecordIndex.load(dir).complete(REF, DIGEST)?.images,
      [IMAGE],
      'without a verdict key (audit merge): the newest record, whatever it was made under',
    );
    assert.equal(
      verdictKey({ ...INPUTS, policy: { checks: { sudo: { disabled: true } }, version: 1 } }),
      verdictKey({ ...INPUTS, policy }),
      'key order in the policy does not matter',
    );
  } finally {
    await cleanup();
  }
});

test('a recorded image reads as a scanned image for the report formats; its layers cannot be opened', async () => {
  const scan = recordedScan(IMAGE);
  assert.equal(scan.image.name.display, REF);
  assert.equal(scan.image.manifestDigest, DIGEST);
  assert.deepEqual(
    scan.image.layers.map((l) => l.digest),
    [LAYER],
  );
  assert.equal(scan.highest, 'Critical');
  await assert.rejects(scan.image.layers[0]?.open() ?? Promise.resolve(), /not readable/);
});
