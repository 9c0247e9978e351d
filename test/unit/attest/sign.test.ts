/**
 * Signing and opening verdicts (src/attest/sign.ts) held to independent code: DSSE's PAE to the
 * spec's own example, and every bundle we sign verified — or refused when altered — by
 * sigstore-js's `@sigstore/verify` offline with the public key (no transparency log, no
 * timestamp), as by our own `openBundle`.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { keyId, openBundle, preAuthEncoding, signStatement, signingKey, verifyingKey } from '../../../src/attest/sign.js';
import { parseStatement, statementBytes, verdictStatement } from '../../../src/attest/statement.js';
import { policyFingerprint } from '../../../src/policy/fingerprint.js';
import { OciScanError } from '../../../src/errors.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const document = {
  tool: { name: 'oci-scan', version: '0.1.0' },
  images: [
    {
      reference: 'r.local/team/app:1.0',
      digest: DIGEST,
      configDigest: `sha256:${'cd'.repeat(32)}`,
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [],
      results: [],
      highest: 'Informational' as const,
    },
  ],
  errors: [],
  highest: 'Informational' as const,
  highestScanned: 'Informational' as const,
};
const statement = statementBytes(
  verdictStatement({
    repository: 'r.local/team/app',
    document,
    policyFingerprint: policyFingerprint(undefined),
    scannedAt: new Date('2030-01-02T03:04:05Z'),
  }),
);

function keys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** sigstore-js's verdict, offline with `publicKey`. */
function sigstoreAccepts(bundle: Buffer, publicKey: KeyObject): boolean {
  const hint = keyId(publicKey);
  const trust = toTrustMaterial(
    { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] } as never,
    { [hint]: { rawBytes: publicKey.export({ type: 'spki', format: 'der' }), keyDetails: 'PKIX_ECDSA_P256_SHA_256' } } as never,
  );
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
      toSignedEntity(bundleFromJSON(JSON.parse(bundle.toString('utf8')))),
    );
    return true;
  } catch {
    return false;
  }
}

/** `bundle` with its JSON changed by `edit`. */
function altered(
  bundle: Buffer,
  edit: (b: { dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string }> } }) => void,
): Buffer {
  const doc = JSON.parse(bundle.toString('utf8')) as Parameters<typeof edit>[0];
  edit(doc);
  return Buffer.from(JSON.stringify(doc));
}

test('PAE is the DSSE spec example', () => {
  assert.equal(
    preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
    'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  );
});

test('a signed verdict is accepted by sigstore-js and by openBundle, and reads back as the statement', () => {
  const { privateKey, publicKey } = keys();
  const bundle = signStatement(statement, privateKey);
  assert.equal(sigstoreAccepts(bundle, publicKey), true);
  const opened = openBundle(bundle, publicKey);
  assert.ok('statement' in opened);
  assert.deepEqual(opened.statement, statement);
  const parsed = parseStatement(opened.statement);
  assert.ok('statement' in parsed);
  assert.equal(parsed.statement.subject[0]?.digest.sha256, 'ab'.repeat(32));
  assert.equal(parsed.statement.predicateType, 'https://oci-scan.dev/attestation/compliance/v1');
  assert.equal(parsed.statement.predicate.scannedAt, '2030-01-02T03:04:05.000Z');
});

test('altered bundles and another key are refused by both verifiers', () => {
  const { privateKey, publicKey } = keys();
  const bundle = signStatement(statement, privateKey);
  const variants: Array<[string, Buffer, KeyObject, string]> = [
    [
      'payload changed',
      altered(
        bundle,
        (b) => (b.dsseEnvelope.payload = Buffer.from(statement.toString().replace('Informational', 'Critical')).toString('base64')),
      ),
      publicKey,
      'bad-signature',
    ],
    ['payload type changed', altered(bundle, (b) => (b.dsseEnvelope.payloadType = 'application/json')), publicKey, 'bad-signature'],
    [
      'signature flipped',
      altered(bundle, (b) => {
        const sig = Buffer.from(b.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
        sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
        if (b.dsseEnvelope.signatures[0]) b.dsseEnvelope.signatures[0].sig = sig.toString('base64');
      }),
      publicKey,
      'bad-signature',
    ],
    ['another key', bundle, keys().publicKey, 'other-key'],
  ];
  for (const [name, variant, key, reason] of variants) {
    assert.equal(sigstoreAccepts(variant, key), false, `sigstore-js refuses: ${name}`);
    const opened = openBundle(variant, key);
    assert.ok('reason' in opened, name);
    assert.equal(opened.reason, reason, name);
  }
});

test('keys: only unencrypted ECDSA P-256; errors never quote the key', () => {
  const { privateKey, publicKey } = keys();
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.equal(signingKey(pem, 'K').asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(keyId(verifyingKey(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'P')), keyId(publicKey));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
  for (const [text, pattern] of [
    [rsa, /holds a rsa key, not an ECDSA P-256 one/],
    [encrypted, /encrypted private key/],
    [`${pem.slice(0, 80)}junk\n-----END PRIVATE KEY-----`, /does not parse/],
    ['no pem here', /holds no PEM private key/],
  ] as const) {
    assert.throws(
      () => signingKey(text, 'K'),
      (err: unknown) => {
        assert.ok(err instanceof OciScanError && err.code === 'USAGE');
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes(pem.split('\n')[1] ?? 'x'), 'the key is not quoted');
        return true;
      },
    );
  }
});

test('policy fingerprint: same policy in any key order is one fingerprint, any change another', () => {
  const a = policyFingerprint({ version: 1, checks: { compilers: { severity: 'Low' }, 'layer-count': { disabled: true } } } as never);
  const b = policyFingerprint({ checks: { 'layer-count': { disabled: true }, compilers: { severity: 'Low' } }, version: 1 } as never);
  const c = policyFingerprint({ version: 1, checks: { compilers: { severity: 'Medium' }, 'layer-count': { disabled: true } } } as never);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(a, policyFingerprint(undefined));
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
});
