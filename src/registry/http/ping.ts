/**
 * `GET /v2/` without credentials: whether the registry speaks the Distribution API and which
 * challenges it wants (none when it answers 200). A session pings each registry once.
 */
import { parseChallenges, type Challenge } from '../../auth/challenge.js';
import { OciScanError } from '../../errors.js';
import { RetryBudget } from '../retry.js';
import { withRetries } from './attempts.js';
import { discard, type Connection } from './connection.js';
import { send } from './send.js';
import { statusError } from './status.js';

/** Pings the registry; resolves its challenges. */
export async function ping(conn: Connection, signal?: AbortSignal): Promise<Challenge[]> {
  const what = 'checking the registry API (/v2/)';
  const budget = new RetryBudget(conn.settings, conn.clock);
  const attempt = await withRetries(conn, { what, budget, document: true, signal }, (s) =>
    send(conn, { url: new URL('/v2/', conn.origin), method: 'GET', headers: {}, followRedirects: true }, s),
  );
  const { res } = attempt;
  try {
    if (res.statusCode === 200) {
      await discard(res);
      return [];
    }
    if (res.statusCode === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      await discard(res);
      conn.log.debug({ schemes: challenges.map((c) => c.scheme) }, 'registry wants authentication');
      return challenges;
    }
    if (res.statusCode === 404) {
      await discard(res);
      throw new OciScanError(
        'REGISTRY_ERROR',
        `${conn.label} does not serve the registry API at /v2/ (404): check that it is an OCI/Docker registry and the host and port are right`,
      );
    }
    throw await statusError(conn, res, { what, kind: 'ping', attempts: budget.attempts });
  } finally {
    attempt.finish();
  }
}
