/**
 * The attestation options on the command line (src/cli/attest-options.ts, the verify command):
 * `verify` is a command word, a key is required where one is read, and the ways to get the
 * options wrong are usage errors (exit 2) that never quote a key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandLine, resolveCommand } from '../../../src/cli/commands/index.js';
import { parseScanArgs } from '../../../src/cli/commands/scan.js';
import { parseMaxAge, verdictTime } from '../../../src/cli/attest-options.js';
import { isOciScanError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/scan.js';

const usage = (pattern: RegExp) => (err: unknown) => isOciScanError(err, 'USAGE') && pattern.test(err.message);

test('verify is a command word; an image named verify is scanned as oci-scan scan verify', async () => {
  assert.equal((await resolveCommand(['verify', 'app:1.0'])).command.name, 'verify');
  assert.equal((await resolveCommand(['scan', 'verify'])).command.name, 'scan');
});

test('--max-age and SOURCE_DATE_EPOCH read as documented', () => {
  assert.equal(parseMaxAge('7d'), 7 * 86400);
  assert.equal(parseMaxAge('36h'), 36 * 3600);
  assert.equal(parseMaxAge('0'), 0);
  assert.throws(() => parseMaxAge('a week'), usage(/--max-age "a week" is not a duration/));
  assert.equal(verdictTime({ SOURCE_DATE_EPOCH: '1900000000' }).toISOString(), '2030-03-17T17:46:40.000Z');
  assert.throws(() => verdictTime({ SOURCE_DATE_EPOCH: 'yesterday' }), usage(/SOURCE_DATE_EPOCH/));
});

test('usage errors: a key without --attach, verify without --key, a public key to sign with, --key without --reuse-attestations', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = join(dir, 'k.pem');
    const pub = join(dir, 'k.pub');
    await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    await assert.rejects(
      parseScanArgs(['r.local/app:1', '--sign-key', priv], {}),
      usage(/--sign-key signs the verdicts --attach pushes: add --attach/),
    );
    await assert.rejects(parseScanArgs(['r.local/app:1', '--attach', '--sign-key', pub], {}), usage(/holds no PEM private key/));
    await assert.rejects(parseScanArgs(['r.local/app:1', '--attach', '--sign-key', join(dir, 'missing')], {}), usage(/no such file/));
    const config = await parseScanArgs(['r.local/app:1', '--attach', '--sign-key', priv], {});
    assert.ok(config && 'attach' in config && config.attach?.key);
    const unsigned = await parseScanArgs(['r.local/app:1', '--attach'], {});
    assert.ok(unsigned && 'attach' in unsigned && unsigned.attach && unsigned.attach.key === undefined);
    await assert.rejects(parseCommandLine(['verify', 'r.local/app:1'], {}), usage(/needs --key FILE/));
    await assert.rejects(parseCommandLine(['verify', 'r.local/app:1', '--key', priv, '--max-age', 'soon'], {}), usage(/--max-age/));
    await assert.rejects(parseCommandLine(['audit', 'r.local/team', '--key', pub], {}), usage(/add --reuse-attestations/));
    await assert.rejects(
      parseCommandLine(['audit', 'r.local/team', '--reuse-attestations'], {}),
      usage(/--reuse-attestations needs --key FILE/),
    );
    assert.ok(await parseCommandLine(['verify', 'r.local/app:1', '--key', pub, '--max-age', '1d'], {}));
  } finally {
    await cleanup();
  }
});
