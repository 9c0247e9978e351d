/**
 * Finding an image's valid attestation (docs/attest.md, "Verify"): the signed verdicts among
 * the referrers of its manifest, each checked — its signature with the given key, its subject
 * (the artifact's and the statement's) against the image, the oci-scan version that made it,
 * the policy it was judged by, its age — and the newest valid one taken. When none is valid,
 * why the newest was refused.
 */
import type { KeyObject } from 'node:crypto';
import type { Repository } from '../registry/repository.js';
import type { ImageDocument } from '../report/formats/json.js';
import type { ToolInfo } from '../report/tool.js';
import { MAX_MANIFEST_BYTES } from '../image/wire.js';
import { OciScanError } from '../errors.js';
import { CREATED_ANNOTATION, listReferrers, PREDICATE_TYPE_ANNOTATION, readDescriptor, type Descriptor } from './referrers.js';
import { BUNDLE_MEDIA_TYPE, keyId, openBundle } from './sign.js';
import { parseStatement, PREDICATE_TYPE, type Statement } from './statement.js';

/** Why an attestation is not valid (`none`: the image has no signed verdict at all). */
export type Rejection =
  'none' | 'unreadable' | 'bad-signature' | 'other-key' | 'other-image' | 'other-version' | 'other-policy' | 'too-old';

/** What a valid attestation must match. */
export interface Expectations {
  readonly key: KeyObject;
  /** The manifest digest of the image (`sha256:…`). */
  readonly digest: string;
  readonly policyFingerprint: string;
  /** This oci-scan's version: an attestation must come from the same major.minor. */
  readonly toolVersion: string;
  /** Oldest accepted, in seconds (0: any age). */
  readonly maxAgeSeconds: number;
  readonly now: Date;
}

/** A valid attestation. */
export interface VerifiedAttestation {
  /** The artifact manifest's digest. */
  readonly artifact: string;
  readonly statement: Statement;
  /** The attested scan of the image. */
  readonly image: ImageDocument;
  readonly tool: ToolInfo;
  readonly scannedAt: Date;
  readonly keyId: string;
}

/** One attestation refused, and why. */
export interface Refused {
  readonly artifact: string;
  readonly reason: Rejection;
  /** What is wrong, as the end of a sentence ("was made under another policy …"). */
  readonly problem: string;
}

/** The outcome: the newest valid attestation, or the reason of the newest refused (`none` when there was nothing to refuse). */
export type Found =
  | { readonly verified: VerifiedAttestation; readonly refused: readonly Refused[] }
  | { readonly reason: Rejection; readonly problem: string; readonly refused: readonly Refused[] };

/** At most this many signed verdicts (the newest by their annotation) are checked per image. */
const MAX_CANDIDATES = 20;

/** Tolerated clock skew between the scanning and the verifying machine. */
const SKEW_MS = 5 * 60 * 1000;

/** `major.minor` of a version. */
function minorOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** Seconds as the largest whole unit (`7d`, `36h`, `90s`). */
export function formatAge(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${Math.round(seconds)}s`;
}

/** The artifact's bundle (its one layer), after its manifest names `expect.digest` as its subject. */
async function bundleOf(
  repo: Repository,
  candidate: Descriptor,
  expect: Expectations,
  signal: AbortSignal | undefined,
): Promise<Buffer | Refused> {
  const artifact = candidate.digest;
  const fetched = await repo.manifest(artifact, signal);
  let manifest: { subject?: unknown; layers?: unknown };
  try {
    manifest = JSON.parse(fetched.bytes.toString('utf8')) as typeof manifest;
  } catch {
    return { artifact, reason: 'unreadable', problem: 'is not a JSON manifest' };
  }
  const subject = readDescriptor(manifest.subject);
  if (subject?.digest !== expect.digest)
    return { artifact, reason: 'other-image', problem: `is attached to another image (${subject?.digest ?? 'no subject'})` };
  const layer = Array.isArray(manifest.layers) && manifest.layers.length === 1 ? readDescriptor(manifest.layers[0]) : undefined;
  if (!layer || layer.mediaType !== BUNDLE_MEDIA_TYPE)
    return { artifact, reason: 'unreadable', problem: 'does not hold one Sigstore bundle' };
  const what = `the attestation ${artifact} of ${repo.name}`;
  return repo.readBlob(layer, {
    limit: MAX_MANIFEST_BYTES,
    what,
    onTooLarge: () => new OciScanError('INVALID_MANIFEST', `${what} is larger than 4 MiB: not an oci-scan attestation`),
    signal,
  });
}

/** Checks one signed verdict against `expect`. */
async function check(
  repo: Repository,
  candidate: Descriptor,
  expect: Expectations,
  signal: AbortSignal | undefined,
): Promise<VerifiedAttestation | Refused> {
  const artifact = candidate.digest;
  const bundle = await bundleOf(repo, candidate, expect, signal);
  if (!Buffer.isBuffer(bundle)) return bundle;
  const opened = openBundle(bundle, expect.key);
  if ('reason' in opened) return { artifact, reason: opened.reason, problem: opened.problem };
  const parsed = parseStatement(opened.statement);
  if ('problem' in parsed) return { artifact, reason: 'unreadable', problem: parsed.problem };
  const { statement, image, tool } = parsed;
  const hex = expect.digest.replace(/^sha256:/, '');
  const subject = statement.subject[0]?.digest.sha256;
  if (subject !== hex || image.digest !== expect.digest)
    return { artifact, reason: 'other-image', problem: `attests another image (sha256:${subject ?? '?'}): it was moved onto this one` };
  if (minorOf(tool.version) !== minorOf(expect.toolVersion))
    return {
      artifact,
      reason: 'other-version',
      problem: `was made by oci-scan ${tool.version}, whose checks may differ from ${expect.toolVersion}'s (the same major.minor is needed)`,
    };
  const fingerprint = statement.predicate.policy.fingerprint;
  if (fingerprint !== expect.policyFingerprint)
    return { artifact, reason: 'other-policy', problem: `was made under another policy (${fingerprint}, not ${expect.policyFingerprint})` };
  const scannedAt = new Date(statement.predicate.scannedAt);
  const age = expect.now.getTime() - scannedAt.getTime();
  if (age < -SKEW_MS)
    return { artifact, reason: 'too-old', problem: `claims a scan time in the future (${statement.predicate.scannedAt})` };
  if (expect.maxAgeSeconds > 0 && age > expect.maxAgeSeconds * 1000)
    return {
      artifact,
      reason: 'too-old',
      problem: `is older than ${formatAge(expect.maxAgeSeconds)} (made ${statement.predicate.scannedAt})`,
    };
  return { artifact, statement, image, tool, scannedAt, keyId: keyId(expect.key) };
}

/** The newest valid attestation of `expect.digest` in `repo`, or why there is none. */
export async function findAttestation(repo: Repository, expect: Expectations, signal?: AbortSignal): Promise<Found> {
  const { descriptors } = await listReferrers(repo, expect.digest, signal);
  const created = (d: Descriptor): string => d.annotations?.[CREATED_ANNOTATION] ?? '';
  const candidates = descriptors
    .filter(
      (d) => d.artifactType === BUNDLE_MEDIA_TYPE && (d.annotations?.[PREDICATE_TYPE_ANNOTATION] ?? PREDICATE_TYPE) === PREDICATE_TYPE,
    )
    .sort((a, b) => (created(a) < created(b) ? 1 : created(a) > created(b) ? -1 : 0))
    .slice(0, MAX_CANDIDATES);
  const refused: Refused[] = [];
  let best: VerifiedAttestation | undefined;
  for (const candidate of candidates) {
    let result: VerifiedAttestation | Refused;
    try {
      result = await check(repo, candidate, expect, signal);
    } catch (err) {
      if (signal?.aborted || (err instanceof OciScanError && err.code === 'INTERRUPTED')) throw err;
      result = {
        artifact: candidate.digest,
        reason: 'unreadable',
        problem: `cannot be read (${err instanceof Error ? err.message : String(err)})`,
      };
    }
    if ('reason' in result) refused.push(result);
    else if (!best || result.scannedAt > best.scannedAt) best = result;
  }
  if (best) return { verified: best, refused };
  const [newest] = refused;
  if (!newest) return { reason: 'none', problem: 'has no signed oci-scan attestation', refused };
  return { reason: newest.reason, problem: newest.problem, refused };
}
