/**
 * Turning a registry's challenge into an `Authorization` header (Distribution token spec):
 * Basic → the user's basic credentials; Bearer → a token from the challenge's realm, fetched
 * with basic credentials (GET), with an identity token (OAuth2 refresh-token grant, POST), or
 * anonymously; a `registrytoken` is used as the bearer token as it is. Tokens are cached per
 * realm/service/scope until `expires_in`.
 *
 * The realm is chosen by the server, so it is checked first (docs/security.md): it must be
 * https unless the registry itself is spoken to over plain HTTP, and neither its name nor any
 * address the name resolves to may be loopback or private unless the registry is — otherwise
 * a hostile registry could make oci-scan send the user's password to an internal service.
 * The connection is then pinned to the address that was checked.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import { OciScanError, oneLine } from '../errors.js';
import { findChallenge, type Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { SecretScrubber } from './scrub.js';

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (replaceable in tests). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, as connections use it), every address in system order. */
export const systemResolver: HostResolver = async (hostname) => {
  const all = await lookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** The HTTP call the authenticator needs (provided by the registry transport; bodies read with a bound). */
export type TokenHttp = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal | undefined },
  /** The checked address the connection must go to (undefined for an IP literal or through a proxy). */
  pin?: ResolvedAddress,
) => Promise<{ status: number; body: Buffer }>;

const privateRanges = new BlockList();
privateRanges.addSubnet('0.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4');
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('169.254.0.0', 16, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.0.0.0', 24, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('198.18.0.0', 15, 'ipv4');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addAddress('::', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6');
privateRanges.addSubnet('fe80::', 10, 'ipv6');
privateRanges.addSubnet('fec0::', 10, 'ipv6');

/** The IPv4 address a NAT64 address (64:ff9b::/96) stands for, or undefined. */
function nat64Target(v6: string): string | undefined {
  const m = /^64:ff9b::([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!m?.[1] || !m[2]) return undefined;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * True for `localhost` and `*.localhost` (trailing dots ignored: `localhost.` is the same
 * name) and for literal loopback / private / link-local addresses (IPv4-mapped and NAT64
 * IPv6 forms included). Host names are not resolved here: see `checkRealm`.
 */
export function isLoopbackOrPrivate(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 4) return privateRanges.check(h, 'ipv4');
  if (family === 6) {
    const nat64 = nat64Target(h);
    if (nat64) return privateRanges.check(nat64, 'ipv4');
    return privateRanges.check(h, 'ipv6');
  }
  return false;
}

/** Whether a registry host is on a loopback/private address: by its name, else by every address it resolves to. */
export async function hostIsPrivate(hostname: string, resolve: HostResolver = systemResolver): Promise<boolean> {
  if (isLoopbackOrPrivate(hostname)) return true;
  if (isIP(hostname) !== 0) return false;
  try {
    const addresses = await resolve(hostname);
    return addresses.some((a) => isLoopbackOrPrivate(a.address));
  } catch {
    return false;
  }
}

/** What the realm check needs to know about the registry. */
export interface RealmPolicy {
  /** The registry (for messages). */
  readonly registry: string;
  /** The registry is spoken to over plain HTTP (localhost or --insecure-registry). */
  readonly plainHttp: boolean;
  /** Whether the registry itself is on a loopback / private address (asked only when a realm is). */
  readonly registryIsPrivate: () => Promise<boolean>;
  /** Resolves host names (default: the system resolver). */
  readonly resolve?: HostResolver;
  /** Requests may go through an HTTP(S) proxy, which resolves names itself. */
  readonly viaProxy?: boolean;
}

/** A realm that passed the check, and the address its connection must use. */
export interface CheckedRealm {
  readonly url: URL;
  /** Set when the realm names a host: the checked address to connect to (no second resolution). */
  readonly pin?: ResolvedAddress;
}

function refusePrivate(policy: RealmPolicy, host: string, address?: string): OciScanError {
  const where = address ? `${host}, which resolves to ${address}` : host;
  return new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm on a loopback/private address (${where}): refusing to send credentials there, as a public registry has no reason to`);
}

/**
 * Parses and checks a token realm; throws REGISTRY_ERROR when the registry may not send us
 * there. A host name is resolved and every address it has must pass, so that a name cannot
 * smuggle a private address past the rule; the first address is returned to pin the
 * connection to, so that a second resolution cannot change it (docs/security.md).
 */
export async function checkRealm(realm: string, policy: RealmPolicy): Promise<CheckedRealm> {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm that is not a URL: the registry is misconfigured`);
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.plainHttp)) {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm ${shown} that is not https: refusing to send credentials there (declare an insecure registry only for a registry you trust)`, { setting: 'insecureRegistries' });
  }
  if (url.username !== '' || url.password !== '') {
    throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a token realm with user info: refusing it`);
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (isLoopbackOrPrivate(hostname)) {
    if (await policy.registryIsPrivate()) return { url };
    throw refusePrivate(policy, url.host);
  }
  if (isIP(hostname) !== 0) return { url };
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await (policy.resolve ?? systemResolver)(hostname);
  } catch (err) {
    // Through a proxy the proxy resolves the name; a name only it can resolve is normal there.
    if (policy.viaProxy) return { url };
    const code = String((err as { code?: unknown }).code ?? 'error');
    throw new OciScanError('NETWORK', `the token server ${url.host} of registry ${policy.registry} could not be resolved (${code}): check DNS or HTTPS_PROXY`);
  }
  const first = addresses[0];
  if (!first) throw new OciScanError('NETWORK', `the token server ${url.host} of registry ${policy.registry} resolves to no address: check DNS`);
  const bad = addresses.find((a) => isLoopbackOrPrivate(a.address));
  if (bad && !(await policy.registryIsPrivate())) throw refusePrivate(policy, url.host, bad.address);
  return { url, pin: first };
}

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
  for (const v of [d.details, d.error_description, first?.message, d.message, d.error]) if (typeof v === 'string' && v.trim() !== '') return oneLine(v);
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
  async authorization(challenges: readonly Challenge[], scopes: readonly string[], fresh: boolean, signal?: AbortSignal): Promise<string | undefined> {
    try {
      return await this.#authorization(challenges, scopes, fresh, signal);
    } catch (err) {
      throw this.#scrubber.scrubError(err);
    }
  }

  async #authorization(challenges: readonly Challenge[], scopes: readonly string[], fresh: boolean, signal: AbortSignal | undefined): Promise<string | undefined> {
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
        throw new OciScanError('AUTH_FAILED', `registry ${this.#init.policy.registry} asks for basic authentication, but ${credential.describe()} is an identity token: store a user and password for it instead`);
      }
    }
    return undefined;
  }

  async #bearer(challenge: Challenge, request: { wanted: readonly string[]; fresh: boolean; signal: AbortSignal | undefined }): Promise<string> {
    const { wanted, fresh, signal } = request;
    const { policy, credential, logger } = this.#init;
    const scrub = (t: string | undefined): string | undefined => (t === undefined ? undefined : this.#scrubber.scrub(t));
    const realm = challenge.params.realm;
    if (!realm) throw new OciScanError('REGISTRY_ERROR', `registry ${policy.registry} sent a Bearer challenge without a realm: the registry is misconfigured`);
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
      logger.debug({ realm: shownRealm, service: scrub(service), scopes: scopes.map(scrub), pinned: pin?.address, grant: 'refresh_token' }, 'requesting registry token');
      res = await this.#init.http(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal }, pin);
    } else {
      const tokenUrl = new URL(url.href);
      if (service) tokenUrl.searchParams.set('service', service);
      for (const s of scopes) tokenUrl.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      const basic = credential?.basicAuthorization();
      if (basic) headers.authorization = basic;
      logger.debug({ realm: shownRealm, service: scrub(service), scopes: scopes.map(scrub), pinned: pin?.address, anonymous: basic === undefined }, 'requesting registry token');
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
      throw new OciScanError('REGISTRY_ERROR', `the token server ${tokenHost} of registry ${policy.registry} answered ${res.status}${because}: try again later or check the registry`);
    }
    if (res.body.length > MAX_TOKEN_RESPONSE) throw new OciScanError('REGISTRY_ERROR', `the token server ${tokenHost} of registry ${policy.registry} sent an oversized response`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch {
      throw new OciScanError('REGISTRY_ERROR', `the token server ${tokenHost} of registry ${policy.registry} did not answer with JSON: check the registry's auth set-up`);
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' && doc.access_token !== '' ? doc.access_token : undefined;
    if (!token) throw new OciScanError('REGISTRY_ERROR', `the token server ${tokenHost} of registry ${policy.registry} sent no token: check the registry's auth set-up`);
    this.#scrubber.addSecret(token);
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    // Renew a little early so that a token does not expire between check and use.
    this.#cache.set(key, { header, expires: now + Math.max(1, seconds - Math.min(10, seconds / 10)) * 1000 });
    return header;
  }
}
