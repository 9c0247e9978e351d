/**
 * Attaching a verdict to its image (docs/attest.md, "Attach"): the statement (signed into a
 * Sigstore bundle when a key is given) pushed as an OCI 1.1 artifact whose `subject` is the
 * scanned manifest. Blobs first, the artifact manifest next, the referrers tag schema's index
 * (on a registry without the referrers API) last, so that nothing half-pushed is ever listed.
 * The same verdict (the same statement) is never attached twice.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { OciScanError } from '../errors.js';
import { MediaType } from '../image/manifest.js';
import type { Image } from '../image/types.js';
import { sha256Digest } from '../image/verify.js';
import { parseReference } from '../reference/reference.js';
import type { Repository } from '../registry/repository.js';
import type { Session } from '../registry/session.js';
import { scanDocument } from '../report/formats/json.js';
import type { ToolInfo } from '../report/tool.js';
import type { ScannedImage } from '../report/model.js';
import {
  addToTagIndex,
  artifactManifest,
  CREATED_ANNOTATION,
  EMPTY_CONFIG,
  listReferrers,
  PREDICATE_TYPE_ANNOTATION,
  STATEMENT_DIGEST_ANNOTATION,
  type Descriptor,
} from './referrers.js';
import { BUNDLE_MEDIA_TYPE, signStatement } from './sign.js';
import { PREDICATE_TYPE, statementBytes, verdictStatement } from './statement.js';

/** The artifactType of an unsigned verdict: the statement itself as the artifact's one blob. */
export const VERDICT_ARTIFACT_TYPE = 'application/vnd.oci-scan.verdict.v1+json';

/** What attaching needs besides the scan. */
export interface AttachOptions {
  readonly session: Session;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  /** Signs the verdict (a Sigstore bundle); without it the statement is attached unsigned. */
  readonly key?: KeyObject;
  readonly tool: ToolInfo;
  readonly policyFingerprint: string;
  /** The time the verdict states (SOURCE_DATE_EPOCH, else the end of the scan). */
  readonly scannedAt: Date;
}

/** What was attached. */
export interface Attached {
  /** The artifact manifest's digest. */
  readonly digest: string;
  readonly artifactType: string;
  /** True when the same verdict was attached already (nothing pushed). */
  readonly existed: boolean;
  /** How the registry lists it: through the referrers API, or the referrers tag schema. */
  readonly listing: 'referrers-api' | 'tag-schema';
}

/** The registry repository and manifest digest of an image, or `code` (ATTACH_FAILED, USAGE for verify) for a local one. */
export function registryImage(
  image: Image,
  code: 'ATTACH_FAILED' | 'USAGE' = 'ATTACH_FAILED',
): { readonly registry: string; readonly repository: string; readonly digest: string } {
  const display = image.name.display;
  let ref;
  try {
    ref = /^(oci|oci-archive|docker-archive):|^[./]/.test(display) ? undefined : parseReference(display);
  } catch {
    ref = undefined;
  }
  if (!ref || image.manifestDigest === undefined || !image.manifestDigest.startsWith('sha256:')) {
    throw new OciScanError(
      code,
      `${display}: only an image in a registry, read by its manifest, carries attestations; name it by its registry reference`,
    );
  }
  return { registry: ref.registry, repository: ref.repository, digest: image.manifestDigest };
}

/** The one-line ATTACH_FAILED for `err` while attaching to `where`, saying what to do. */
function attachFailure(err: unknown, where: string): OciScanError {
  if (err instanceof OciScanError && err.code === 'INTERRUPTED') return err;
  const reason = err instanceof OciScanError ? err.message : String(err);
  if (err instanceof OciScanError && (err.status === 401 || err.status === 403)) {
    return new OciScanError(
      'ATTACH_FAILED',
      `cannot attach the verdict to ${where}: the registry refused the push (${err.status}): use credentials that may push to that repository (the scan's reports were written)`,
      { status: err.status },
    );
  }
  return new OciScanError('ATTACH_FAILED', `cannot attach the verdict to ${where}: ${reason}`, {
    ...(err instanceof OciScanError && err.status !== undefined ? { status: err.status } : {}),
  });
}

/** The subject descriptor of the scanned manifest: fetched again by digest, for its media type and size. */
async function subjectOf(repo: Repository, digest: string, signal: AbortSignal | undefined): Promise<Descriptor> {
  const fetched = await repo.manifest(digest, signal);
  let mediaType = fetched.contentType;
  if (mediaType === undefined || mediaType === 'application/octet-stream') {
    const field = (JSON.parse(fetched.bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    mediaType = typeof field === 'string' ? field : MediaType.ociManifest;
  }
  return { mediaType, digest, size: fetched.bytes.length };
}

/** Attaches the verdict of `scan` to its image; ATTACH_FAILED with one line when it cannot. */
export async function attachVerdict(scan: ScannedImage, options: AttachOptions): Promise<Attached> {
  const target = registryImage(scan.image);
  const where = `${target.registry}/${target.repository}@${target.digest}`;
  const { signal } = options;
  try {
    const repo = await options.session
      .registry(target.registry)
      .repository(target.repository, { logger: options.logger, signal, push: true });
    const statement = statementBytes(
      verdictStatement({
        repository: `${target.registry}/${target.repository}`,
        document: scanDocument([{ input: scan.image.name.display, scans: [scan] }], options.tool),
        policyFingerprint: options.policyFingerprint,
        scannedAt: options.scannedAt,
      }),
    );
    const statementDigest = sha256Digest(statement);
    const artifactType = options.key ? BUNDLE_MEDIA_TYPE : VERDICT_ARTIFACT_TYPE;
    const referrers = await listReferrers(repo, target.digest, signal);
    const listing = referrers.api ? 'referrers-api' : 'tag-schema';
    const same = referrers.descriptors.find(
      (d) => d.artifactType === artifactType && d.annotations?.[STATEMENT_DIGEST_ANNOTATION] === statementDigest,
    );
    if (same) {
      options.logger.info({ image: where, artifact: same.digest }, 'the same verdict is attached already');
      return { digest: same.digest, artifactType, existed: true, listing };
    }
    const blob = options.key ? signStatement(statement, options.key) : statement;
    const annotations: Record<string, string> = {
      [CREATED_ANNOTATION]: options.scannedAt.toISOString(),
      [STATEMENT_DIGEST_ANNOTATION]: statementDigest,
      ...(options.key ? { [PREDICATE_TYPE_ANNOTATION]: PREDICATE_TYPE } : {}),
    };
    const manifest = artifactManifest(artifactType, blob, await subjectOf(repo, target.digest, signal), annotations);
    const digest = sha256Digest(manifest);
    // Blobs, then the manifest, then the index: a reader never meets a listed artifact whose parts are missing.
    await repo.pushBlob(EMPTY_CONFIG.digest, Buffer.from('{}'), signal);
    await repo.pushBlob(sha256Digest(blob), blob, signal);
    const answer = await repo.pushManifest(digest, manifest, MediaType.ociManifest, signal);
    if (!referrers.api)
      await addToTagIndex(
        repo,
        target.digest,
        { mediaType: MediaType.ociManifest, digest, size: manifest.length, artifactType, annotations },
        signal,
      );
    options.logger.info(
      { image: where, artifact: digest, artifactType, listing, indexedByRegistry: answer['oci-subject'] !== undefined },
      'verdict attached',
    );
    return { digest, artifactType, existed: false, listing };
  } catch (err) {
    throw attachFailure(options.session.scrubber.scrubError(err), where);
  }
}
