/**
 * A registry's refusal → one OciScanError: the status decides the code, the registry's
 * `errors[0]` (read up to 16 KiB, scrubbed) goes into the message, and the message says what
 * to do. Distribution answers an unknown repository with MANIFEST_UNKNOWN, not NAME_UNKNOWN,
 * and Docker Hub answers 401 for a repository that does not exist (README.md in this folder, "Quirks").
 */
import type { Credential } from '../../auth/credentials.js';
import { OciScanError, oneLine } from '../../errors.js';
import { readBounded } from '../../image/verify.js';
import type { Connection, Response } from './connection.js';

/** Error bodies are read up to this size, for the registry's error code and message. */
export const MAX_ERROR_BODY = 16 * 1024;

/** The request that was refused. */
export interface Refused {
  /** What was being done ("fetching the manifest 1.0 of team/app"). */
  readonly what: string;
  /** What was asked for: a manifest (by `manifestRef`), a blob, the API root, or a listing. */
  readonly kind: 'manifest' | 'blob' | 'ping' | 'list';
  readonly manifestRef?: string | undefined;
  /** The repository, when the request was for one. */
  readonly repository?: string | undefined;
  /** The credential sent, for messages (never its secret). */
  readonly credential?: Credential | undefined;
  /** Attempts made, the last included. */
  readonly attempts: number;
}

/** The error for a non-success response; its body is read with a bound, then released. */
export async function statusError(conn: Connection, res: Response, refused: Refused): Promise<OciScanError> {
  let code: string | undefined;
  let detail: string | undefined;
  try {
    const body = await readBounded(res.body, MAX_ERROR_BODY, () => new Error('too large'));
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    if (typeof first?.code === 'string') code = oneLine(first.code, 40);
    if (typeof first?.message === 'string') detail = oneLine(first.message);
  } catch {
    res.body.destroy();
  }
  const refusal = statusMessage(conn, { status: res.statusCode, code, detail }, refused);
  return conn.scrubber.scrubError(new OciScanError(refusal.code, refusal.message, { status: res.statusCode })) as OciScanError;
}

/** What the registry answered. */
interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;
}

function statusMessage(conn: Connection, answer: Answer, refused: Refused): OciScanError {
  const { status, code, detail } = answer;
  const { what, credential } = refused;
  const because = code ? ` (${status} ${code}${detail ? `: ${detail}` : ''})` : ` (${status})`;
  const repo = refused.repository ?? 'the registry';
  const tries = refused.attempts > 1 ? `, after ${refused.attempts} attempts` : '';
  const label = conn.label;
  if (status === 401) {
    return new OciScanError(
      'AUTH_FAILED',
      credential
        ? `registry ${label} refused ${credential.describe()} for ${refused.repository ? `repository ${repo}` : 'listing its repositories'}${because}: check the credentials and that they may ${refused.repository ? `pull ${repo}` : 'list the catalog'}`
        : `registry ${label} requires authentication to ${refused.repository ? `pull ${repo}` : 'list its repositories'}${because}${refused.repository ? ', or the repository does not exist' : ''}: add credentials to DOCKER_AUTH_CONFIG or ~/.docker/config.json`,
    );
  }
  if (status === 403) {
    return new OciScanError(
      'AUTH_FAILED',
      `registry ${label} denied access to ${refused.repository ? `repository ${repo}` : 'its catalog'}${because}${credential ? ` for ${credential.describe()}` : ''}: ask for ${refused.repository ? 'pull' : 'catalog'} access or use other credentials`,
    );
  }
  if (status === 404) {
    if (refused.kind === 'blob')
      return new OciScanError(
        'REGISTRY_ERROR',
        `registry ${label} does not have ${what.replace(/^fetching /, '')}${because}: the image in ${repo} is incomplete; push it again`,
      );
    if (refused.kind === 'list' && !refused.repository)
      return new OciScanError(
        'REGISTRY_ERROR',
        `registry ${label} does not serve its catalog${because}: it does not allow listing repositories; name them instead`,
      );
    if (code === 'NAME_UNKNOWN' || refused.kind === 'list')
      return new OciScanError('IMAGE_NOT_FOUND', `repository ${repo} not found on registry ${label}${because}: check the image name`);
    const ref = refused.manifestRef ?? '';
    const image = `${conn.host}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    const mirror = conn.mirrorOf ? ` (mirror of ${conn.mirrorOf})` : '';
    return new OciScanError(
      'IMAGE_NOT_FOUND',
      `image ${image} not found${mirror}${because}: check the repository name and the ${ref.includes(':') ? 'digest' : 'tag'}`,
    );
  }
  if (status === 429) {
    return new OciScanError(
      'REGISTRY_ERROR',
      `registry ${label} is rate-limiting us (429) while ${what}${tries}: try again later or log in (anonymous pull limits are lower)`,
    );
  }
  if (status >= 500) {
    return new OciScanError(
      'REGISTRY_ERROR',
      `registry ${label} failed with ${status} while ${what}${code ? because : ''}${tries}: try again later`,
    );
  }
  return new OciScanError(
    'REGISTRY_ERROR',
    `registry ${label} answered ${status} while ${what}${refused.repository ? ` of ${repo}` : ''}${because}: check the registry`,
  );
}
