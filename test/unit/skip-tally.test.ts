/**
 * Skipped suites count in the test runner's closing tally (test/helpers/skip.ts): a plain
 * `describe(…, { skip })` is counted as neither a test nor a skip by node:test, so a run
 * missing a tool would say `# skipped 0` while whole suites did not run.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/scan.js';

const HELPER = pathToFileURL(fileURLToPath(new URL('../helpers/skip.js', import.meta.url))).href;

/** Runs `node --test` on a file with `body`; returns its output (the runner exits 0: nothing fails). */
async function runTests(dir: string, name: string, body: string): Promise<string> {
  const file = join(dir, `${name}.test.mjs`);
  await writeFile(file, body);
  // Without the parent runner's NODE_TEST_CONTEXT, the child reports on its own stdout.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: dir, env });
  return stdout;
}

test('a suite skipped for a missing tool is one skipped test, with its reason, in the closing tally', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const plain = await runTests(
      dir,
      'plain',
      `import { describe, it } from 'node:test';\ndescribe('needs a tool', { skip: 'tool missing' }, () => { it('a', () => {}); it('b', () => {}); });\n`,
    );
    assert.match(plain, /^# skipped 0$/m, 'node:test does not count a skipped describe: why the helper exists');
    const helped = await runTests(
      dir,
      'helped',
      `import { it } from 'node:test';\nimport { describeOrSkip } from ${JSON.stringify(HELPER)};\ndescribeOrSkip('needs a tool', { skip: 'docker-registry missing' }, () => { it('a', () => {}); });\ndescribeOrSkip('has its tool', { skip: undefined }, () => { it('runs', () => {}); });\n`,
    );
    assert.match(helped, /^# skipped 1$/m);
    assert.match(helped, /^# pass 1$/m, 'a suite that is not skipped runs');
    assert.match(helped, /needs a tool # SKIP docker-registry missing/);
  } finally {
    await cleanup();
  }
});

test('no suite of the tests is skipped with a plain describe (it would not be counted): they use describeOrSkip', async () => {
  const root = fileURLToPath(new URL('../../../test/', import.meta.url));
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const plain = [];
  for (const f of files) {
    const text = await readFile(join(root, f), 'utf8');
    for (const line of text.split('\n')) if (/^\s*(void\s+)?describe\(.*\{[^}]*\bskip\b/.test(line)) plain.push(`${f}: ${line.trim()}`);
  }
  assert.ok(files.length > 50, `the test sources were found (${files.length})`);
  assert.deepEqual(plain, []);
});
