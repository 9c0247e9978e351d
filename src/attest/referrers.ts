/**
 * OCI 1.1 referrers as oci-scan writes and reads them (docs/attest.md, "In the registry"):
 * an artifact manifest whose `subject` is the scanned manifest, found through the referrers
 * API (`GET /v2/NAME/referrers/DIGEST`) or, on a registry without it, through the referrers
 * tag schema of the distribution spec: an index tagged `sha256-HEX` that lists them.
 */
import { OciScanError } from '../errors.js';
import { MediaType } from '../image/manifest.js';
import { sha256Digest } from '../image/verify.js';
import type { Repository } from '../registry/repository.js';

/** The media type and digest of the empty config (`{}`) of an artifact without one. */
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/** A descriptor as manifests and indexes carry it. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Annotation: the sha256 of the attested statement, so that the same verdict is recognised whatever its signature. */
export const STATEMENT_DIGEST_ANNOTATION = 'dev.oci-scan.statement.digest';
/** Annotation: the predicate type of a bundle, as cosign writes it for its own bundles. */
export const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
/** Annotation: when the verdict was made. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** An artifact manifest (OCI image manifest with `artifactType` and `subject`) holding `blob` as its one layer. */
export function artifactManifest(
  artifactType: string,
  blob: Buffer,
  subject: Descriptor,
  annotations: Readonly<Record<string, string>>,
): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [{ mediaType: artifactType, digest: sha256Digest(blob), size: blob.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The string values of an annotations object (others dropped). */
function stringsOf(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** A descriptor read from untrusted JSON, or undefined when it is not one. */
export function readDescriptor(value: unknown): Descriptor | undefined {
  if (
    !isRecord(value) ||
    typeof value['mediaType'] !== 'string' ||
    typeof value['digest'] !== 'string' ||
    !/^sha256:[0-9a-f]{64}$/.test(value['digest']) ||
    typeof value['size'] !== 'number'
  )
    return undefined;
  const annotations = stringsOf(value['annotations']);
  return {
    mediaType: value['mediaType'],
    digest: value['digest'],
    size: value['size'],
    ...(typeof value['artifactType'] === 'string' ? { artifactType: value['artifactType'] } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/** The descriptors an index lists (entries that are no descriptor are dropped); INVALID_MANIFEST when it is not an index. */
function indexEntries(bytes: Buffer, what: string): Descriptor[] {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new OciScanError('INVALID_MANIFEST', `${what} is not JSON: remove or repair it`);
  }
  if (!isRecord(value) || !Array.isArray(value['manifests']))
    throw new OciScanError('INVALID_MANIFEST', `${what} is not an image index: remove or repair it`);
  return value['manifests'].flatMap((m: unknown) => readDescriptor(m) ?? []);
}

/** The tag of the referrers tag schema for `digest`: `sha256-HEX`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** The referrers of a manifest, and whether they came from the referrers API. */
export interface Referrers {
  readonly api: boolean;
  readonly descriptors: readonly Descriptor[];
}

/** True for a registry's 404 (an absent tag of the tag schema). */
function isNotFound(err: unknown): boolean {
  return err instanceof OciScanError && err.status === 404;
}

/** The tag schema's index of `digest`: its descriptors, or none when the tag is absent. */
async function tagIndex(repo: Repository, digest: string, signal: AbortSignal | undefined): Promise<Descriptor[]> {
  try {
    const fetched = await repo.manifest(referrersTag(digest), signal);
    return indexEntries(fetched.bytes, `the referrers index ${referrersTag(digest)} of ${repo.name}`);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** The referrers of `digest` in `repo`: through the API when the registry has it, else the tag schema's index. */
export async function listReferrers(repo: Repository, digest: string, signal?: AbortSignal): Promise<Referrers> {
  const answer = await repo.referrers(digest, signal);
  if (answer) return { api: true, descriptors: indexEntries(answer, `the referrers of ${digest} in ${repo.name}`) };
  return { api: false, descriptors: await tagIndex(repo, digest, signal) };
}

/** How often the tag schema's index is read, updated and pushed again when another writer changed it meanwhile. */
const TAG_INDEX_TRIES = 5;

/**
 * Adds `entry` to the tag schema's index of `digest` (deduplicated by digest). Registries have
 * no compare-and-swap for tags: after each push the index is read again, and when another
 * writer's push replaced ours the update is made again on top of theirs. The race that remains
 * (docs/attest.md, "Concurrent writers"): a writer whose push lands after our re-read removes
 * our entry; attaching the same verdict again puts it back.
 */
export async function addToTagIndex(repo: Repository, digest: string, entry: Descriptor, signal?: AbortSignal): Promise<void> {
  const tag = referrersTag(digest);
  for (let attempt = 1; attempt <= TAG_INDEX_TRIES; attempt++) {
    const entries = await tagIndex(repo, digest, signal);
    if (entries.some((e) => e.digest === entry.digest)) return;
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...entries, entry] };
    await repo.pushManifest(tag, Buffer.from(JSON.stringify(index), 'utf8'), MediaType.ociIndex, signal);
    const after = await tagIndex(repo, digest, signal);
    if (after.some((e) => e.digest === entry.digest)) return;
  }
  throw new OciScanError(
    'REGISTRY_ERROR',
    `the referrers index ${tag} of ${repo.name} kept changing under ${TAG_INDEX_TRIES} updates (other writers): attach again`,
  );
}
