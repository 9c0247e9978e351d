/** The CLI's logger: credentials are redacted whatever shape a module logs them in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/cli/logger.js';

test('authorization headers, passwords and tokens are redacted from log lines', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('debug', sink);
  logger.debug({ headers: { authorization: 'Bearer tok-SECRET-1' } }, 'request');
  logger.debug({ req: { headers: { authorization: 'Basic dXNlcjpTRUNSRVQy' } } }, 'request');
  logger.debug({ password: 'pw-SECRET-3', token: 'tok-SECRET-4', auth: 'YXV0aC1TRUNSRVQ1' }, 'credential');
  logger.debug({ credential: { password: 'pw-SECRET-6', identitytoken: 'id-SECRET-7' } }, 'nested');
  const text = lines.join('');
  assert.equal(lines.length, 4);
  for (const secret of ['tok-SECRET-1', 'dXNlcjpTRUNSRVQy', 'pw-SECRET-3', 'tok-SECRET-4', 'YXV0aC1TRUNSRVQ1', 'pw-SECRET-6', 'id-SECRET-7']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.match(text, /\[redacted\]/);
});
