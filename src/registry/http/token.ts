/**
 * The token server calls of ../../auth/token.ts's Authenticator, made by the lower layers of
 * this pipeline (send, attempts): the session's dispatcher, the connection pinned to the realm
 * address the Authenticator checked, a bounded body, no redirects.
 */
import type { ResolvedAddress } from '../../auth/realm.js';
import type { TokenHttp } from '../../auth/token.js';
import { OciScanError } from '../../errors.js';
import { readBounded } from '../../image/verify.js';
import type { AddressPins } from '../dispatcher.js';
import { RetryBudget } from '../retry.js';
import { withRetries } from './attempts.js';
import type { Connection } from './connection.js';
import { networkError } from './network.js';
import { send } from './send.js';
import { MAX_ERROR_BODY } from './status.js';

/** Token responses are read up to this size. */
const MAX_TOKEN_BODY = 1024 * 1024;

/** The TokenHttp of a registry session. */
export function tokenHttp(conn: Connection, pins: AddressPins): TokenHttp {
  return async (url, init, pin?: ResolvedAddress) => {
    const host = conn.scrubber.scrub(url.host);
    const what = 'getting a token';
    if (pin) pins.pin(url.hostname, pin);
    const peer = { host, subject: `the token server ${host} of registry ${conn.label}` };
    const attempt = await withRetries(
      conn,
      { what, budget: new RetryBudget(conn.settings, conn.clock), document: true, signal: init.signal, peer },
      (s) =>
        send(
          conn,
          {
            url,
            method: init.method,
            headers: init.headers,
            ...(init.body !== undefined ? { body: init.body } : {}),
            followRedirects: false,
          },
          s,
        ),
    );
    const { res } = attempt;
    try {
      const limit = res.statusCode >= 200 && res.statusCode <= 299 ? MAX_TOKEN_BODY : MAX_ERROR_BODY;
      const body = await readBounded(
        res.body,
        limit,
        () => new OciScanError('REGISTRY_ERROR', `the token server ${host} of registry ${conn.label} sent an oversized response`),
      );
      return { status: res.statusCode, body };
    } catch (err) {
      res.body.destroy();
      throw networkError(err, { host, subject: peer.subject, what, settings: conn.settings, attempts: 1 });
    } finally {
      attempt.finish();
    }
  };
}
