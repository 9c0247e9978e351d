/**
 * Writing reports (src/report/json-stream.ts, src/report/write.ts): JSON in pieces that add up
 * to exactly JSON.stringify's text, the reports directory created one level at a time (ending
 * where Node's recursive mkdir loops forever, under /proc), and report batches that are
 * either committed whole or leave nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { isOciScanError } from '../../../src/errors.js';
import { jsonChunks } from '../../../src/report/json-stream.js';
import type { Report } from '../../../src/report/model.js';
import { ensureReportsDir, ReportBatch } from '../../../src/report/write.js';
import { tempDir } from '../../helpers/scan.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 7);

/** A small valid report with `n` paths in one layer. */
function reportWith(n: number): Report {
  return {
    'app:1.0': [
      {
        Id: 'suid',
        Title: 'Checking for a suid bit file',
        Severity: 'Critical',
        Pass: false,
        Description: 'Found file',
        Mitigation: 'm',
        Files: [{ [`sha256:${'a'.repeat(64)}`]: Array.from({ length: n }, (_, i) => `/s/${i}`) }],
      },
    ],
  };
}

test('jsonChunks: the pieces join to exactly JSON.stringify(value, null, indent), for any JSON value and chunk size', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(0, 2, 4), fc.integer({ min: 1, max: 64 }), (value, indent, size) => {
      assert.equal([...jsonChunks(value, indent, size)].join(''), JSON.stringify(value, null, indent));
    }),
    { seed: SEED, numRuns: 1000 },
  );
  const withUndefined = { a: undefined, b: [undefined, 1], c: { d: undefined } };
  assert.equal([...jsonChunks(withUndefined, 4)].join(''), JSON.stringify(withUndefined, null, 4));
});

test('jsonChunks: a document that surely fits one piece is one piece, however its strings escape; a larger one is several, none past the size', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(0, 2, 4), fc.integer({ min: 16, max: 4096 }), (value, indent, size) => {
      const chunks = [...jsonChunks(value, indent, size)];
      const text = JSON.stringify(value, null, indent);
      assert.equal(chunks.join(''), text);
      // The bound counts a character of output as at most 24 (a one-digit number).
      if (text.length * 24 <= size && typeof value === 'object') assert.equal(chunks.length, 1, 'small: one piece');
    }),
    { seed: SEED, numRuns: 500 },
  );
  // Control characters escape to six characters each: the bound counts them so.
  const escaped = { paths: Array.from({ length: 40 }, () => '\u0001'.repeat(50)) };
  const text = JSON.stringify(escaped, null, 4);
  for (const size of [text.length - 1, text.length, text.length * 2]) {
    const chunks = [...jsonChunks(escaped, 4, size)];
    assert.equal(chunks.join(''), text);
    assert.ok(
      chunks.every((c) => c.length <= size + 400),
      `size ${size}: pieces ${chunks.map((c) => c.length).join(',')}`,
    );
  }
});

test('jsonChunks: a large report comes in bounded pieces', () => {
  const report = reportWith(50_000);
  const chunks = [...jsonChunks(report, 4, 16 * 1024)];
  assert.ok(chunks.length > 10);
  for (const c of chunks) assert.ok(c.length < 16 * 1024 + 4096, `chunk of ${c.length}`);
  assert.equal(chunks.join(''), JSON.stringify(report, null, 4));
});

test('ensureReportsDir: creates missing levels, accepts an existing directory and a symlink to one', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureReportsDir(join(dir, 'a', 'b', 'c'));
    await ensureReportsDir(join(dir, 'a', 'b', 'c'));
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['c']);
    await symlink(join(dir, 'a'), join(dir, 'link'));
    await ensureReportsDir(join(dir, 'link', 'b', 'd'));
    assert.deepEqual((await readdir(join(dir, 'a', 'b'))).sort(), ['c', 'd']);
    // Relative paths are walked as written: `link/..` is the link target's parent, as for the kernel.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await symlink(join(dir, 'a', 'b'), join(dir, 'deep'));
      await ensureReportsDir('rel/x');
      await ensureReportsDir('deep/../viaParent');
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(await readdir(join(dir, 'rel')), ['x']);
    assert.deepEqual((await readdir(join(dir, 'a'))).sort(), ['b', 'viaParent']);
    // Concurrent runs creating the same directory both succeed.
    await Promise.all(Array.from({ length: 8 }, () => ensureReportsDir(join(dir, 'race', 'x', 'y'))));
    assert.deepEqual(await readdir(join(dir, 'race', 'x')), ['y']);
  } finally {
    await cleanup();
  }
});

test('ensureReportsDir: under /proc, below a regular file, through a dangling symlink → REPORT_WRITE naming the cause, never a hang', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, 'file'), 'x');
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
    const cases: Array<[string, RegExp]> = [
      [
        '/proc/oci-scan-test/reports',
        /cannot create the reports directory \/proc\/oci-scan-test\/reports: ENOENT \(at \/proc\/oci-scan-test\)/,
      ],
      [join(dir, 'file', 'sub', 'deeper'), /: ENOTDIR \(at .*\/file\)/],
      [join(dir, 'dangling', 'sub'), /: EEXIST \(at .*\/dangling\)/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(ensureReportsDir(path), (err: unknown) => {
        assert.ok(isOciScanError(err, 'REPORT_WRITE'), String(err));
        assert.match(err.message, message);
        // The library names the setting; the CLI adds its flag and variable (src/cli/output.ts).
        assert.equal(err.setting, 'reportsDir');
        assert.doesNotMatch(err.message, /COMPLIANCE_|--reports-dir/);
        return true;
      });
    }
  } finally {
    await cleanup();
  }
});

test('ReportBatch: nothing is visible until commit; commit renames all; discard leaves nothing', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const batch = new ReportBatch(dir);
    await batch.write('a-compliance.json', reportWith(3));
    await batch.write('b-compliance.json', reportWith(1));
    assert.ok(
      (await readdir(dir)).every((f) => f.startsWith('.') && f.endsWith('.tmp')),
      'only temporary files before commit',
    );
    const paths = batch.commit();
    assert.deepEqual(paths, [join(dir, 'a-compliance.json'), join(dir, 'b-compliance.json')]);
    assert.deepEqual((await readdir(dir)).sort(), ['a-compliance.json', 'b-compliance.json']);
    assert.equal(await readFile(join(dir, 'a-compliance.json'), 'utf8'), JSON.stringify(reportWith(3), null, 4) + '\n');

    const dropped = new ReportBatch(join(dir, 'sub'));
    await mkdir(join(dir, 'sub'));
    await dropped.write('c-compliance.json', reportWith(2));
    dropped.discard();
    assert.deepEqual(await readdir(join(dir, 'sub')), []);
  } finally {
    await cleanup();
  }
});

test('ReportBatch: a small report is written in one call, a large one streamed in pieces: either file is exactly the JSON text', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const batch = new ReportBatch(dir);
    // 30,000 paths make about 900,000 characters: past the one-call size, so streamed.
    for (const [name, n] of [
      ['small-compliance.json', 5],
      ['large-compliance.json', 30_000],
    ] as const)
      await batch.write(name, reportWith(n));
    batch.commit();
    for (const [name, n] of [
      ['small-compliance.json', 5],
      ['large-compliance.json', 30_000],
    ] as const) {
      assert.equal(await readFile(join(dir, name), 'utf8'), JSON.stringify(reportWith(n), null, 4) + '\n', name);
    }
    // Pieces of a document given to writeFile, whatever their number, are joined in order.
    const pieces = Array.from({ length: 5000 }, (_, i) => `${String(i).padStart(100, '.')}\n`);
    const many = new ReportBatch(dir);
    await many.writeFile(join(dir, 'pieces.txt'), pieces);
    many.commit();
    assert.equal(await readFile(join(dir, 'pieces.txt'), 'utf8'), pieces.join(''));
  } finally {
    await cleanup();
  }
});

test('ReportBatch.writeFile: a document at any path joins the batch and is renamed with the reports, or discarded with them', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await mkdir(join(dir, 'reports'));
    await mkdir(join(dir, 'out'));
    const batch = new ReportBatch(join(dir, 'reports'));
    await batch.write('a-compliance.json', reportWith(1));
    await batch.writeFile(join(dir, 'out', 'scan.json'), ['{"a":', '1}\n']);
    assert.deepEqual(
      (await readdir(join(dir, 'out'))).filter((f) => !f.endsWith('.tmp')),
      [],
      'nothing visible before commit',
    );
    assert.deepEqual(batch.commit(), [join(dir, 'reports', 'a-compliance.json'), join(dir, 'out', 'scan.json')]);
    assert.equal(await readFile(join(dir, 'out', 'scan.json'), 'utf8'), '{"a":1}\n');

    const dropped = new ReportBatch(join(dir, 'reports'));
    await dropped.writeFile(join(dir, 'out', 'other.json'), ['{}']);
    dropped.discard();
    assert.deepEqual(await readdir(join(dir, 'out')), ['scan.json']);
    await assert.rejects(
      dropped.writeFile(join(dir, 'missing', 'x.json'), ['{}']),
      (err: unknown) => isOciScanError(err, 'REPORT_WRITE') && /check that the directory .*missing is writable/.test(err.message),
    );
  } finally {
    await cleanup();
  }
});

test('ReportBatch: a stopped run (signal aborted) commits nothing and throws the reason; an invalid report is INTERNAL and writes nothing', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const controller = new AbortController();
    const batch = new ReportBatch(dir);
    await batch.write('a-compliance.json', reportWith(2), controller.signal);
    const reason = new Error('stopped');
    controller.abort(reason);
    assert.throws(
      () => batch.commit(controller.signal),
      (err) => err === reason,
    );
    assert.deepEqual(await readdir(dir), [], 'commit discarded the temporary file');
    await assert.rejects(batch.write('b-compliance.json', reportWith(2), controller.signal), (err) => err === reason);
    assert.deepEqual(await readdir(dir), []);

    const invalid = { 'app:1.0': [{ Title: '', Severity: 'Awful', Pass: false, Description: 'x', Mitigation: 'y' }] } as unknown as Report;
    await assert.rejects(new ReportBatch(dir).write('x-compliance.json', invalid), (err: unknown) => isOciScanError(err, 'INTERNAL'));
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});
