/**
 * SecretScrubber: a secret is found in every form a server can echo it — as sent in the Basic
 * header (base64 of user:password, padded or not), URL-encoded (query strings), form-encoded
 * (the refresh-token grant), JSON-escaped (an echoed request body) — and in log records.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Credential } from '../../../src/auth/credentials.js';
import { SecretScrubber } from '../../../src/auth/scrub.js';
import { OciScanError } from '../../../src/errors.js';

const PASSWORD = 'p@ss w0rd/"+=';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('a user and password: every encoding of the password and of the pair is replaced', () => {
  const s = new SecretScrubber();
  s.addCredential(new Credential('basic', 'ci', PASSWORD, 'test'));
  const echoes = [
    PASSWORD,
    `ci:${PASSWORD}`,
    `Basic ${b64(`ci:${PASSWORD}`)}`,
    `Basic ${b64(`ci:${PASSWORD}`).replace(/=+$/, '')}`,
    Buffer.from(`ci:${PASSWORD}`).toString('base64url'),
    b64(PASSWORD),
    encodeURIComponent(PASSWORD),
    new URLSearchParams({ password: PASSWORD }).toString(),
    JSON.stringify({ password: PASSWORD }),
  ];
  for (const e of echoes) {
    const out = s.scrub(`server said: ${e} (end)`);
    assert.ok(out.includes('***'), e);
    for (const secret of [
      PASSWORD,
      b64(`ci:${PASSWORD}`).replace(/=+$/, ''),
      encodeURIComponent(PASSWORD),
      b64(PASSWORD).replace(/=+$/, ''),
    ])
      assert.ok(!out.includes(secret), `${e} → ${out}`);
  }
  assert.equal(s.scrub('user ci at registry.example.com'), 'user ci at registry.example.com', 'the user name is not a secret');
});

test('tokens added later are scrubbed too; records and errors', () => {
  const s = new SecretScrubber();
  s.addCredential(new Credential('identity-token', undefined, 'refresh-TOKEN-123', 'test'));
  s.addSecret('eyJhbGciOi.bearer-from-server');
  const record = s.scrubRecord({
    msg: 'x',
    nested: { list: ['refresh-TOKEN-123', 3, null] },
    to: 'https://h/p?t=eyJhbGciOi.bearer-from-server',
  });
  assert.deepEqual(record, { msg: 'x', nested: { list: ['***', 3, null] }, to: 'https://h/p?t=***' });
  const err = s.scrubError(new OciScanError('AUTH_FAILED', 'refused (401 UNAUTHORIZED: refresh-TOKEN-123)'));
  assert.ok(err instanceof OciScanError);
  assert.equal(err.code, 'AUTH_FAILED');
  assert.equal(err.message, 'refused (401 UNAUTHORIZED: ***)');
  const clean = new OciScanError('NETWORK', 'nothing secret');
  assert.equal(s.scrubError(clean), clean);
  // A scrubbed error keeps what holds no secret (the setting, the registry's status) and drops its cause.
  const rich = s.scrubError(
    new OciScanError('REGISTRY_ERROR', 'rate-limited (429): refresh-TOKEN-123', {
      status: 429,
      setting: 'insecureRegistries',
      cause: new Error('refresh-TOKEN-123'),
    }),
  );
  assert.ok(rich instanceof OciScanError);
  assert.deepEqual(
    { message: rich.message, status: rich.status, setting: rich.setting, cause: rich.cause },
    { message: 'rate-limited (429): ***', status: 429, setting: 'insecureRegistries', cause: undefined },
  );
});
