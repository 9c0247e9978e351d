/**
 * Authorized requests: the registry's challenges (its ping), an `Authorization` from the
 * Authenticator of the credential in use, and one re-authentication when a request is
 * challenged again (token expired, new scope). A 401 without WWW-Authenticate reuses the
 * ping's challenges: some proxies strip the header (docs/registry.md).
 */
import { parseChallenges, type Challenge } from '../../auth/challenge.js';
import type { Authenticator } from '../../auth/token.js';
import type { RetryBudget } from '../retry.js';
import { withRetries } from './attempts.js';
import { discard, type Attempt, type Connection } from './connection.js';
import { send } from './send.js';

/** How requests to one registry are authorized. */
export interface Authorizer {
  /** The registry's challenges (one ping per session). */
  challenges(signal?: AbortSignal): Promise<Challenge[]>;
  /** Produces `Authorization` values for the credential in use (tokens cached per session). */
  readonly authenticator: Authenticator;
  /** What the requests need (`repository:team/app:pull`, `registry:catalog:*`). */
  readonly scopes: readonly string[];
}

/** An authorized request. */
export interface AuthorizedRequest {
  /** Path and query on the registry (`/v2/team/app/manifests/1.0`). */
  readonly path: string;
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  /** The body of a push (a blob, a manifest); sent again as it is when the request is retried. */
  readonly body?: string | Buffer;
  readonly what: string;
  readonly budget: RetryBudget;
  readonly document: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Sends `req` with authorization, retries, and one re-authentication on 401. */
export async function authorizedAttempt(conn: Connection, authorizer: Authorizer, req: AuthorizedRequest): Promise<Attempt> {
  let challenges = await authorizer.challenges(req.signal);
  let fresh = false;
  for (let reauth = 0; ; reauth++) {
    const authorization = await authorizer.authenticator.authorization(challenges, authorizer.scopes, fresh, req.signal);
    const attempt = await withRetries(conn, { what: req.what, budget: req.budget, document: req.document, signal: req.signal }, (s) =>
      send(
        conn,
        {
          url: new URL(req.path, conn.origin),
          method: req.method,
          headers: req.headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
          ...(authorization !== undefined ? { authorization } : {}),
          followRedirects: true,
        },
        s,
      ),
    );
    if (attempt.res.statusCode !== 401 || reauth >= 1) return attempt;
    const again = parseChallenges(attempt.res.headers['www-authenticate']);
    await discard(attempt.res);
    attempt.finish();
    if (again.length > 0) challenges = again;
    fresh = true;
    conn.log.debug({ what: req.what }, 'challenged again; re-authenticating once');
  }
}
