/** The CLI's logger: credentials are redacted whatever shape a module logs them in; text a terminal would act on is escaped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/cli/logger.js';

/** A debug logger whose lines are collected. */
function captured(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('debug', sink) };
}

test('authorization headers, passwords and tokens are redacted from log lines', () => {
  const { lines, logger } = captured();
  logger.debug({ headers: { authorization: 'Bearer tok-SECRET-1' } }, 'request');
  logger.debug({ req: { headers: { authorization: 'Basic dXNlcjpTRUNSRVQy' } } }, 'request');
  logger.debug({ password: 'pw-SECRET-3', token: 'tok-SECRET-4', auth: 'YXV0aC1TRUNSRVQ1' }, 'credential');
  logger.debug({ credential: { password: 'pw-SECRET-6', identitytoken: 'id-SECRET-7' } }, 'nested');
  const text = lines.join('');
  assert.equal(lines.length, 4);
  for (const secret of [
    'tok-SECRET-1',
    'dXNlcjpTRUNSRVQy',
    'pw-SECRET-3',
    'tok-SECRET-4',
    'YXV0aC1TRUNSRVQ1',
    'pw-SECRET-6',
    'id-SECRET-7',
  ]) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.match(text, /\[redacted\]/);
});

test('C1 controls, DEL and bidi/format characters from an image or a registry reach the log escaped, and the line is the same JSON', () => {
  const { lines, logger } = captured();
  const hostile = 'usr/bin/\u202esu\u2066x\u2069 \u009b31m red \u007f\u2028\u061c\u200f end';
  logger.warn({ path: hostile, nested: { registry: `msg \u0085 \u202d` } }, `layer entry ${hostile}`);
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  assert.doesNotMatch(line, /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/);
  assert.match(line, /\\u202e/);
  assert.match(line, /\\u009b/);
  const parsed = JSON.parse(line) as { msg: string; path: string; nested: { registry: string } };
  assert.equal(parsed.msg, `layer entry ${hostile}`);
  assert.equal(parsed.path, hostile);
  assert.equal(parsed.nested.registry, 'msg \u0085 \u202d');
});

test('the human format: one line "oci-scan: warning: …" with its fields, redacted and escaped as the JSON line is', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('warn', sink, undefined, 'human');
  logger.warn({ check: 'su', paths: ['/**'], expires: '2020-01-01' }, 'policy: acceptance expired, ignored');
  logger.warn({ password: 'pw-SECRET', path: 'a\u001b[2Jb\u202ec' }, 'hostile');
  logger.info({ x: 1 }, 'below the level');
  assert.deepEqual(lines[0], 'oci-scan: warning: policy: acceptance expired, ignored (check: su; paths: /**; expires: 2020-01-01)\n');
  assert.equal(lines.length, 2);
  assert.ok(!(lines[1] ?? '').includes('pw-SECRET'), lines[1]);
  // eslint-disable-next-line no-control-regex -- the controls are what must not be there
  assert.doesNotMatch((lines[1] ?? '').trimEnd(), /[\u0000-\u001f\u202e]/u, 'no raw control or bidi character');
  assert.match(lines[1] ?? '', /^oci-scan: warning: hostile \(password: \[redacted\]; path: a\\x1b\[2Jb\\u202ec\)\n$/);
});
