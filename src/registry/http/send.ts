/**
 * One request, with the registry's redirects followed by hand (at most `maxRedirects`) so that
 * `Authorization` goes only to the registry's own origin, never to the CDN or object storage a
 * blob redirects to (docs/registry.md "Integrity and resilience").
 */
import { undici } from '../undici.js';
import { OciScanError, oneLine } from '../../errors.js';
import { discard, header, USER_AGENT, type Connection, type Response } from './connection.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** A request to send. */
export interface Outgoing {
  readonly url: URL;
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  /** Sent to the registry's origin only (dropped on a redirect that leaves it). */
  readonly authorization?: string;
  readonly body?: string | Buffer;
  /** Follow redirects (registry requests); false returns the redirect itself (token requests). */
  readonly followRedirects: boolean;
}

/** Sends `out` once (following redirects when asked); the caller owns the response body. */
export async function send(conn: Connection, out: Outgoing, signal: AbortSignal): Promise<Response> {
  let current = out.url;
  for (let hops = 0; ; hops++) {
    const headers: Record<string, string> = { ...out.headers, 'user-agent': USER_AGENT };
    if (out.authorization !== undefined && current.origin === conn.origin) headers.authorization = out.authorization;
    const res = await undici().request(conn.dispatcher, current, {
      method: out.method,
      headers,
      ...(out.body !== undefined ? { body: out.body } : {}),
      signal,
    });
    if (!out.followRedirects || !REDIRECT_STATUSES.has(res.statusCode)) return res;
    const location = header(res, 'location');
    await discard(res);
    const path = out.url.pathname;
    if (!location)
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} sent a redirect (${res.statusCode}) without a location for ${path}: the registry is misconfigured`,
      );
    if (hops + 1 > conn.settings.maxRedirects) {
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} redirected ${path} more than ${conn.settings.maxRedirects} times (a redirect loop?): the registry or its storage/CDN is misconfigured`,
      );
    }
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} redirected ${path} to an invalid location: the registry is misconfigured`,
      );
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} redirected ${path} to a ${oneLine(next.protocol, 20)} URL: refusing it`,
      );
    }
    // Query strings of storage redirects carry signatures: log the origin and path only.
    conn.log.debug({ from: current.pathname, to: `${next.origin}${next.pathname}`, status: res.statusCode }, 'following redirect');
    current = next;
  }
}
