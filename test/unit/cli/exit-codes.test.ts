/**
 * The exit-code policy (src/cli/exit-codes.ts) and the failure lines (src/cli/output.ts): a
 * run's code when images fail, the flags the CLI adds to library messages, and library
 * messages that never name a CLI flag or variable themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SEVERITY_CODES, runExitCode, severityCodes } from '../../../src/cli/exit-codes.js';
import { describeFailure, emit } from '../../../src/cli/output.js';
import { exitCodeFor, OciScanError } from '../../../src/errors.js';
import { imagesToScan } from '../../../src/scan.js';

test('runExitCode: the highest severity without failures; with failures the first one in argument order, whatever the severities', () => {
  const codes = severityCodes({ CRITICAL_EXIT_CODE: '99', INFORMATIONAL_EXIT_CODE: '0' });
  assert.equal(runExitCode([], 'Critical', codes), 99);
  assert.equal(runExitCode([], 'Informational', codes), 0);
  assert.equal(runExitCode([], 'Medium', DEFAULT_SEVERITY_CODES), 14);
  const notFound = new OciScanError('IMAGE_NOT_FOUND', 'x');
  const badManifest = new OciScanError('INVALID_MANIFEST', 'y');
  assert.equal(runExitCode([notFound, badManifest], 'Critical', codes), 20);
  assert.equal(runExitCode([badManifest, notFound], 'Informational', codes), 21);
  assert.equal(runExitCode([new Error('a bug')], 'Critical', codes), 1);
  assert.equal(exitCodeFor('NO_IMAGE'), 22);
});

test('NO_IMAGE is checked in one place (imagesToScan); the library says "no image given", the CLI adds how to give one', () => {
  assert.deepEqual(imagesToScan(['a', ' ', 'b', 'a']), ['a', 'b']);
  assert.throws(
    () => imagesToScan(['', '  ']),
    (err: unknown) => {
      assert.ok(err instanceof OciScanError && err.code === 'NO_IMAGE');
      assert.equal(err.message, 'no image given');
      assert.equal(
        describeFailure(err).message,
        'no image given: pass IMAGE (e.g. oci-scan ghcr.io/org/app:1.2) or set COMPLIANCE_IMAGE_FULL_REF',
      );
      return true;
    },
  );
  assert.deepEqual(describeFailure(new OciScanError('USAGE', 'platform "x" is not os/arch', { setting: 'platform' })), {
    code: 'USAGE',
    message: 'platform "x" is not os/arch (--platform)',
  });
  assert.deepEqual(describeFailure(new TypeError('boom\nat x')), {
    code: 'INTERNAL',
    message: 'internal error: boom at x (a bug in oci-scan; run with --log-level debug and report it)',
  });
});

test('messages of the library (src/ outside cli/) never name a CLI flag or a COMPLIANCE_ variable', () => {
  const root = fileURLToPath(new URL('../../../../src/', import.meta.url));
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) files.push(path.slice(root.length));
    }
  };
  walk(root);
  assert.ok(files.includes('scan.ts'), 'src/ found');
  for (const file of files.filter((f) => !f.startsWith('cli/'))) {
    const text = readFileSync(join(root, file), 'utf8');
    // The first argument after the code of every OciScanError: a template or a quoted string.
    for (const m of text.matchAll(/new OciScanError\(\s*'[A-Z_]+',\s*(`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*')/g)) {
      const message = m[1] ?? '';
      assert.doesNotMatch(message, /COMPLIANCE_/, `${file}: ${message}`);
      assert.doesNotMatch(message, /(^|[\s(`'])--[a-z]/, `${file}: ${message}`);
    }
  }
});

test('a failing write to an output another stream pipes into (the layer worker into stdout) rejects as REPORT_WRITE, and nothing is thrown', async () => {
  // A Writable like Node's SyncWriteStream on /dev/full: the write fails, and the stream emits 'error'.
  const out = new Writable({
    write(_chunk, _enc, done) {
      done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    },
  }) as unknown as NodeJS.WriteStream;
  // Readable.pipe listens for 'error' on its destination and, on one, removes itself and
  // emits it again: with no other listener left that would be an uncaught exception.
  const source = new Readable({ read() {} });
  // eslint-disable-next-line no-restricted-syntax -- the listener .pipe() adds is what this test is about
  source.pipe(out);
  assert.ok(out.listenerCount('error') > 0);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.prependListener('uncaughtException', onUncaught);
  try {
    await assert.rejects(
      emit(out, 'x'),
      (e: unknown) => e instanceof OciScanError && e.code === 'REPORT_WRITE' && /ENOSPC/.test(e.message),
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(uncaught, []);
  } finally {
    process.removeListener('uncaughtException', onUncaught);
  }
});
