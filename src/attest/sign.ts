/**
 * Signing and opening verdicts (docs/attest.md, "Formats"): a DSSE envelope over the
 * statement (PAE, ECDSA P-256 with SHA-256, DER signatures), carried in a Sigstore bundle v0.3
 * whose verification material is a public-key hint — the form sigstore-js's `@sigstore/verify`
 * checks offline with a public key and no transparency log. Keys stay in node:crypto KeyObjects;
 * no message quotes a key or a file's content.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { OciScanError } from '../errors.js';
import { PAYLOAD_TYPE } from './statement.js';

/** The media type of a Sigstore bundle v0.3 (also the artifactType of a signed verdict). */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** DSSE's Pre-Authentication Encoding: `DSSEv1 LEN(type) type LEN(body) body`. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

/** A key's id: `sha256:HEX` of its public key's SubjectPublicKeyInfo (the bundle's public-key hint). */
export function keyId(key: KeyObject): string {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** True when `key` is an EC key on P-256. */
function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** The signing key in `pem` (`where` names where it came from, never its content); USAGE when it is no unencrypted ECDSA P-256 private key. */
export function signingKey(pem: string, where: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new OciScanError(
      'USAGE',
      `${where} holds no PEM private key: give an ECDSA P-256 private key in PEM form (openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt)`,
    );
  if (/ENCRYPTED/.test(pem))
    throw new OciScanError(
      'USAGE',
      `${where} holds an encrypted private key: give it unencrypted, kept in a masked CI variable or a file only the job reads`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new OciScanError('USAGE', `${where} holds a private key that does not parse: give an ECDSA P-256 private key in PEM form`);
  }
  if (!isP256(key))
    throw new OciScanError(
      'USAGE',
      `${where} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not an ECDSA P-256 one: oci-scan signs with ECDSA P-256 (docs/attest.md)`,
    );
  return key;
}

/** The verifying key in `pem`: a PEM public key (or a private key, whose public half is used); USAGE otherwise. */
export function verifyingKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new OciScanError(
      'USAGE',
      `${where} holds no PEM public key: give the ECDSA P-256 public key the attestations were signed for (openssl ec -pubout)`,
    );
  }
  if (!isP256(key))
    throw new OciScanError(
      'USAGE',
      `${where} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not an ECDSA P-256 one: oci-scan signs with ECDSA P-256 (docs/attest.md)`,
    );
  return key;
}

/** A Sigstore bundle v0.3 in its JSON form (protobuf-specs `Bundle`), as far as oci-scan writes and reads it. */
interface BundleJson {
  readonly mediaType: string;
  readonly verificationMaterial: {
    readonly publicKey: { readonly hint: string };
    readonly tlogEntries: readonly unknown[];
    readonly timestampVerificationData: { readonly rfc3161Timestamps: readonly unknown[] };
  };
  readonly dsseEnvelope: {
    readonly payload: string;
    readonly payloadType: string;
    readonly signatures: ReadonlyArray<{ readonly sig: string; readonly keyid: string }>;
  };
}

/** The bundle of `statement` signed with `key` (ECDSA's signatures are randomised: two bundles of one statement differ). */
export function signStatement(statement: Buffer, key: KeyObject): Buffer {
  const hint = keyId(key);
  const sig = sign('sha256', preAuthEncoding(PAYLOAD_TYPE, statement), { key, dsaEncoding: 'der' });
  const bundle: BundleJson = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString('base64'), keyid: hint }],
    },
  };
  return Buffer.from(JSON.stringify(bundle), 'utf8');
}

/** What opening a bundle gave: the statement's bytes, or why the bundle is not valid for the key (`other-key`: signed by another key; `bad-signature`: anything else). */
export type OpenedBundle = { readonly statement: Buffer } | { readonly reason: 'bad-signature' | 'other-key'; readonly problem: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Opens a bundle with `key`: its shape, its payload type, its one signature over the PAE. */
export function openBundle(bytes: Buffer, key: KeyObject): OpenedBundle {
  let bundle: Partial<BundleJson>;
  try {
    bundle = JSON.parse(bytes.toString('utf8')) as Partial<BundleJson>;
  } catch {
    return { reason: 'bad-signature', problem: 'its bundle is not JSON' };
  }
  const envelope = bundle?.dsseEnvelope;
  const [signature, ...more] = Array.isArray(envelope?.signatures) ? envelope.signatures : [];
  if (
    bundle?.mediaType !== BUNDLE_MEDIA_TYPE ||
    !envelope ||
    typeof envelope.payload !== 'string' ||
    !BASE64.test(envelope.payload) ||
    !signature ||
    more.length > 0 ||
    typeof signature.sig !== 'string' ||
    !BASE64.test(signature.sig)
  ) {
    return { reason: 'bad-signature', problem: 'its bundle is not a Sigstore bundle v0.3 with one DSSE signature' };
  }
  if (envelope.payloadType !== PAYLOAD_TYPE)
    return { reason: 'bad-signature', problem: `its envelope's payload type is not ${PAYLOAD_TYPE}` };
  const payload = Buffer.from(envelope.payload, 'base64');
  if (verify('sha256', preAuthEncoding(PAYLOAD_TYPE, payload), { key, dsaEncoding: 'der' }, Buffer.from(signature.sig, 'base64')))
    return { statement: payload };
  const hint = bundle.verificationMaterial?.publicKey?.hint;
  if (typeof hint === 'string' && hint !== keyId(key))
    return { reason: 'other-key', problem: `it was signed with another key (${hint.slice(0, 80)})` };
  return { reason: 'bad-signature', problem: 'its signature does not verify: the envelope was altered' };
}
