/**
 * Turning a registry's challenge into an `Authorization` header (Distribution token spec):
 * Basic → the user's basic credentials; Bearer → a token from the challenge's realm, fetched
 * with basic credentials (GET), with an identity token (OAuth2 refresh-token grant, POST), or
 * anonymously; a `registrytoken` is used as the bearer token as it is. Tokens are cached per
 * realm/service/scope until `expires_in`.
 *
 * The realm is chosen by the server, so it is checked first (./realm.ts).
 */
import type { Logger } from 'pino';
import { OciScanError, oneLine } from '../errors.js';
import { findChallenge, type Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { checkRealm, type RealmPolicy, type ResolvedAddress } from './realm.js';
import { SecretScrubber } from './scrub.js';

/** The HTTP call the authenticator needs (provided by the registry transport; bodies read with a bound). */
export type TokenHttp = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal | undefined },
  /** The checked address the connection must go to (undefined for an IP literal or through a proxy). */
  pin?: ResolvedAddress,
) => Promise<{ status: number; body: Buffer }>;

/** Everything the authenticator needs. */
export interface AuthenticatorInit {
  readonly policy: RealmPolicy;
  readonly credential?: Credential;
  readonly http: TokenHttp;
  readonly logger: Logger;
  /** Where the secrets of the scan are collected (the credential's, and every token received). */
  readonly scrubber?: SecretScrubber;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** The largest token response read. */
const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Distribution's token spec: a token without `expires_in` lasts 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;

/** The reason a token server gives in an error body (Docker `details`, OAuth2 `error_description`, Distribution `errors`). */
function tokenServerReason(body: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as { details?: unknown; error_description?: unknown; error?: unknown; message?: unknown; errors?: unknown };
  const first = Array.isArray(d.errors) ? (d.errors[0] as { message?: unknown } | undefined) : undefined;
  for (const v of [d.details, d.error_description, first?.message, d.message, d.error])
    if (typeof v === 'string' && v.trim() !== '') return oneLine(v);
  return undefined;
}

/** Produces `Authorization` header values for one registry and one credential (or none). */
export class Authenticator {
  readonly #init: AuthenticatorInit;
  readonly #cache = new Map<string, { header: string; expires: number }>();
  readonly #scrubber: SecretScrubber;

  constructor(init: AuthenticatorInit) {
    this.#init = init;
    this.#scrubber = init.scrubber ?? new SecretScrubber();
    if (init.credential) this.#scrubber.addCredential(init.credential);
  }

  /** The credential in use (for messages; never its secret). */
  get credential(): Credential | undefined {
    return this.#init.credential;
  }

  /** Replaces every secret this authenticator knows, in every encoding, with `***`. */
  scrub(text: string): string {
    return this.#scrubber.scrub(text);
  }

  /**
   * The `Authorization` value for requests under `challenges`, needing `scopes`
   * (`repository:NAME:pull`); undefined when nothing can be sent. `fresh` bypasses the token
   * cache (a request was challenged again). Errors quote no secret (the realm and the token
   * server's reason are server text, scrubbed).
   */
  async authorization(
    challenges: readonly Challenge[],
    scopes: readonly string[],
    fresh: boolean,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    try {
      return await this.#authorization(challenges, scopes, fresh, signal);
    } catch (err) {
      throw this.#scrubber.scrubError(err);
    }
  }

  async #authorization(
    challenges: readonly Challenge[],
    scopes: readonly string[],
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const credential = this.#init.credential;
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer) {
      if (credential?.kind === 'registry-token') return `Bearer ${credential.revealSecret()}`;
      return this.#bearer(bearer, { wanted: scopes, fresh, signal });
    }
    if (findChallenge(challenges, 'basic')) {
      if (credential?.kind === 'basic') return credential.basicAuthorization();
      if (credential?.kind === 'registry-token') return `Bearer ${credential.revealSecret()}`;
      if (credential?.kind === 'identity-token') {
        throw new OciScanError(
          'AUTH_FAILED',
          `registry ${this.#init.policy.registry} asks for basic authentication, but ${credential.describe()} is an identity token: store a user and password for it instead`,
        );
      }
    }
    return undefined;
  }

  async #bearer(
    challenge: Challenge,
    request: { wanted: readonly string[]; fresh: boolean; signal: AbortSignal | undefined },
  ): Promise<string> {
    const { wanted, fresh, signal } = request;
    const { policy, credential, logger } = this.#init;
    const scrub = (t: string | undefined): string | undefined => (t === undefined ? undefined : this.#scrubber.scrub(t));
    const realm = challenge.params.realm;
    if (!realm)
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${policy.registry} sent a Bearer challenge without a realm: the registry is misconfigured`,
      );
    const service = challenge.params.service;
    // A challenge may name the scope it wants (e.g. insufficient_scope): ask for it too.
    const scopes = [...new Set([...wanted, ...(challenge.params.scope ? challenge.params.scope.split(' ').filter(Boolean) : [])])];
    const key = JSON.stringify([realm, service ?? '', scopes]);
    const now = (this.#init.now ?? Date.now)();
    const cached = this.#cache.get(key);
    if (!fresh && cached && cached.expires > now) return cached.header;
    const { url, pin } = await checkRealm(realm, policy);
    const shownRealm = scrub(`${url.origin}${url.pathname}`);
    const tokenHost = scrub(url.host) ?? '';

    let res: { status: number; body: Buffer };
    if (credential?.kind === 'identity-token') {
      // OAuth2 refresh-token grant (Distribution "oauth" token spec), as Docker does with an identitytoken.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.revealSecret(), client_id: 'oci-scan' });
      if (service) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      logger.debug(
        { realm: shownRealm, service: scrub(service), scopes: scopes.map(scrub), pinned: pin?.address, grant: 'refresh_token' },
        'requesting registry token',
      );
      res = await this.#init.http(
        url,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal },
        pin,
      );
    } else {
      const tokenUrl = new URL(url.href);
      if (service) tokenUrl.searchParams.set('service', service);
      for (const s of scopes) tokenUrl.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      const basic = credential?.basicAuthorization();
      if (basic) headers.authorization = basic;
      logger.debug(
        { realm: shownRealm, service: scrub(service), scopes: scopes.map(scrub), pinned: pin?.address, anonymous: basic === undefined },
        'requesting registry token',
      );
      res = await this.#init.http(tokenUrl, { method: 'GET', headers, signal }, pin);
    }
    if (res.status < 200 || res.status > 299) {
      const reason = tokenServerReason(res.body);
      const because = reason ? `: "${reason}"` : '';
      if (res.status === 401 || res.status === 403) {
        throw new OciScanError(
          'AUTH_FAILED',
          credential
            ? `registry ${policy.registry} refused ${credential.describe()} (${res.status} from its token server ${tokenHost}${because}): check the user name and password / token`
            : `registry ${policy.registry} requires credentials (${res.status} from its token server ${tokenHost}${because}): add them to DOCKER_AUTH_CONFIG or ~/.docker/config.json`,
        );
      }
      throw new OciScanError(
        'REGISTRY_ERROR',
        `the token server ${tokenHost} of registry ${policy.registry} answered ${res.status}${because}: try again later or check the registry`,
      );
    }
    if (res.body.length > MAX_TOKEN_RESPONSE)
      throw new OciScanError('REGISTRY_ERROR', `the token server ${tokenHost} of registry ${policy.registry} sent an oversized response`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch {
      throw new OciScanError(
        'REGISTRY_ERROR',
        `the token server ${tokenHost} of registry ${policy.registry} did not answer with JSON: check the registry's auth set-up`,
      );
    }
    const token =
      typeof doc.token === 'string' && doc.token !== ''
        ? doc.token
        : typeof doc.access_token === 'string' && doc.access_token !== ''
          ? doc.access_token
          : undefined;
    if (!token)
      throw new OciScanError(
        'REGISTRY_ERROR',
        `the token server ${tokenHost} of registry ${policy.registry} sent no token: check the registry's auth set-up`,
      );
    this.#scrubber.addSecret(token);
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    // Renew a little early so that a token does not expire between check and use.
    this.#cache.set(key, { header, expires: now + Math.max(1, seconds - Math.min(10, seconds / 10)) * 1000 });
    return header;
  }
}
