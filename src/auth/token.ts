/**
 * Turning a registry's challenge into an `Authorization` header (Distribution token spec):
 * Basic → the user's basic credentials; Bearer → a token from the challenge's realm, fetched
 * with basic credentials (GET), with an identity token (OAuth2 refresh-token grant, POST), or
 * anonymously; a `registrytoken` is used as the bearer token as it is. Tokens are cached per
 * realm/service/scope until `expires_in`.
 *
 * The realm is chosen by the server, so it is checked first (SPEC §4 "hostile servers"): it
 * must be https unless the registry itself is spoken to over plain HTTP, and it must not be a
 * loopback or private address unless the registry is one — otherwise a hostile registry could
 * make oci-scan send the user's password to an internal service.
 */
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import { OciScanError } from '../errors.js';
import { findChallenge, type Challenge } from './challenge.js';
import type { Credential } from './credentials.js';

/** The HTTP call the authenticator needs (provided by the registry transport; bodies read with a bound). */
export type TokenHttp = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; body: Buffer }>;

const privateRanges = new BlockList();
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('169.254.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4');
privateRanges.addSubnet('0.0.0.0', 8, 'ipv4');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addAddress('::', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6');
privateRanges.addSubnet('fe80::', 10, 'ipv6');

/** True for `localhost`, `*.localhost` and literal loopback / private / link-local addresses. */
export function isLoopbackOrPrivate(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 4) return privateRanges.check(h, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped?.[1]) return privateRanges.check(mapped[1], 'ipv4');
    return privateRanges.check(h, 'ipv6');
  }
  return false;
}

/** What the realm check needs to know about the registry. */
export interface RealmPolicy {
  /** The registry (for messages). */
  readonly registry: string;
  /** The registry is spoken to over plain HTTP (localhost or --insecure-registry). */
  readonly plainHttp: boolean;
  /** The registry itself is on a loopback / private address. */
  readonly registryIsPrivate: boolean;
}

/** Parses and checks a token realm; throws REGISTRY_ERROR when the registry may not send us there. */
export function checkRealm(realm: string, policy: RealmPolicy): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm that is not a URL: the registry is misconfigured`);
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.plainHttp)) {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm ${shown} that is not https: refusing to send credentials there (use --insecure-registry only for a registry you trust)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm with user info: refusing it`);
  }
  if (isLoopbackOrPrivate(url.hostname) && !policy.registryIsPrivate) {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm on a loopback/private address (${url.host}): refusing to follow it, as a public registry has no reason to`);
  }
  return url;
}

/** Everything the authenticator needs. */
export interface AuthenticatorInit {
  readonly policy: RealmPolicy;
  readonly credential?: Credential;
  readonly http: TokenHttp;
  readonly logger: Logger;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** The largest token response read. */
const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Distribution's token spec: a token without `expires_in` lasts 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;

/** Produces `Authorization` header values for one registry and one credential (or none). */
export class Authenticator {
  readonly #init: AuthenticatorInit;
  readonly #cache = new Map<string, { header: string; expires: number }>();
  /** Tokens handed out, so that error messages can be scrubbed of them. */
  readonly #issued = new Set<string>();

  constructor(init: AuthenticatorInit) {
    this.#init = init;
  }

  /** The credential in use (for messages; never its secret). */
  get credential(): Credential | undefined {
    return this.#init.credential;
  }

  /** Replaces every secret this authenticator knows with `***` (a last line of defence for messages). */
  scrub(text: string): string {
    let out = text;
    const secrets = [...this.#issued];
    const c = this.#init.credential;
    if (c) secrets.push(c.revealSecret());
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
    return out;
  }

  /**
   * The `Authorization` value for requests under `challenges`, needing `scopes`
   * (`repository:NAME:pull`); undefined when nothing can be sent. `fresh` bypasses the token
   * cache (a request was challenged again).
   */
  async authorization(challenges: readonly Challenge[], scopes: readonly string[], fresh: boolean): Promise<string | undefined> {
    const credential = this.#init.credential;
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer) {
      if (credential?.kind === 'registry-token') return `Bearer ${credential.revealSecret()}`;
      return this.#bearer(bearer, scopes, fresh);
    }
    if (findChallenge(challenges, 'basic')) {
      if (credential?.kind === 'basic') return credential.basicAuthorization();
      if (credential?.kind === 'registry-token') return `Bearer ${credential.revealSecret()}`;
      if (credential?.kind === 'identity-token') {
        throw new OciScanError('AUTH_FAILED', `registry ${this.#init.policy.registry} asks for basic authentication, but ${credential.describe()} is an identity token: store a user and password for it instead`);
      }
    }
    return undefined;
  }

  async #bearer(challenge: Challenge, wanted: readonly string[], fresh: boolean): Promise<string> {
    const { policy, credential, logger } = this.#init;
    const realm = challenge.params.realm;
    if (!realm) throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a Bearer challenge without a realm: the registry is misconfigured`);
    const url = checkRealm(realm, policy);
    const service = challenge.params.service;
    // A challenge may name the scope it wants (e.g. insufficient_scope): ask for it too.
    const scopes = [...new Set([...wanted, ...(challenge.params.scope ? challenge.params.scope.split(' ').filter(Boolean) : [])])];
    const key = JSON.stringify([url.href, service ?? '', scopes]);
    const now = (this.#init.now ?? Date.now)();
    const cached = this.#cache.get(key);
    if (!fresh && cached && cached.expires > now) return cached.header;

    let res: { status: number; body: Buffer };
    if (credential?.kind === 'identity-token') {
      // OAuth2 refresh-token grant (Distribution "oauth" token spec), as Docker does with an identitytoken.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.revealSecret(), client_id: 'oci-scan' });
      if (service) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      logger.debug({ realm: `${url.origin}${url.pathname}`, service, scopes, grant: 'refresh_token' }, 'requesting registry token');
      res = await this.#init.http(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      const tokenUrl = new URL(url.href);
      if (service) tokenUrl.searchParams.set('service', service);
      for (const s of scopes) tokenUrl.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      const basic = credential?.basicAuthorization();
      if (basic) headers.authorization = basic;
      logger.debug({ realm: `${url.origin}${url.pathname}`, service, scopes, anonymous: basic === undefined }, 'requesting registry token');
      res = await this.#init.http(tokenUrl, { method: 'GET', headers });
    }
    if (res.status === 401 || res.status === 403) {
      throw new OciScanError(
        'AUTH_FAILED',
        credential
          ? `registry ${policy.registry} refused ${credential.describe()} (${res.status} from its token server ${url.host}): check the user name and password / token`
          : `registry ${policy.registry} requires credentials (${res.status} from its token server ${url.host}): add them to DOCKER_AUTH_CONFIG or ~/.docker/config.json`,
      );
    }
    if (res.status < 200 || res.status > 299) {
      throw new OciScanError('REGISTRY_ERROR', `the token server ${url.host} of registry ${policy.registry} answered ${res.status}: try again later or check the registry`);
    }
    if (res.body.length > MAX_TOKEN_RESPONSE) throw new OciScanError('REGISTRY_ERROR', `the token server ${url.host} of registry ${policy.registry} sent an oversized response`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch {
      throw new OciScanError('REGISTRY_ERROR', `the token server ${url.host} of registry ${policy.registry} did not answer with JSON: check the registry's auth set-up`);
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' && doc.access_token !== '' ? doc.access_token : undefined;
    if (!token) throw new OciScanError('REGISTRY_ERROR', `the token server ${url.host} of registry ${policy.registry} sent no token: check the registry's auth set-up`);
    this.#issued.add(token);
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    // Renew a little early so that a token does not expire between check and use.
    this.#cache.set(key, { header, expires: now + Math.max(1, seconds - Math.min(10, seconds / 10)) * 1000 });
    return header;
  }
}
