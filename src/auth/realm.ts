/**
 * The token-realm address policy (docs/security.md): a Bearer challenge's realm is chosen by
 * the server, so before any credential is sent there it must be https unless the registry
 * itself is spoken to over plain HTTP, and neither its name nor any address the name resolves
 * to may be loopback or private unless the registry is — otherwise a hostile registry could
 * make oci-scan send the user's password to an internal service. The connection is then
 * pinned to the address that was checked.
 */
import type { BlockList } from 'node:net';
import { OciScanError } from '../errors.js';

// node:net and node:dns are loaded on first use, by a registry run: a local scan needs neither
// (docs/architecture.md "Start-up").
const isIP = (input: string): number => process.getBuiltinModule('node:net').isIP(input);

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (replaceable in tests). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, as connections use it), every address in system order. */
export const systemResolver: HostResolver = async (hostname) => {
  const all = await process.getBuiltinModule('node:dns/promises').lookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

let privateRanges: BlockList | undefined;

/** The loopback, private, link-local and reserved ranges, made on first use. */
function ranges(): BlockList {
  if (privateRanges) return privateRanges;
  const r = new (process.getBuiltinModule('node:net').BlockList)();
  r.addSubnet('0.0.0.0', 8, 'ipv4');
  r.addSubnet('10.0.0.0', 8, 'ipv4');
  r.addSubnet('100.64.0.0', 10, 'ipv4');
  r.addSubnet('127.0.0.0', 8, 'ipv4');
  r.addSubnet('169.254.0.0', 16, 'ipv4');
  r.addSubnet('172.16.0.0', 12, 'ipv4');
  r.addSubnet('192.0.0.0', 24, 'ipv4');
  r.addSubnet('192.168.0.0', 16, 'ipv4');
  r.addSubnet('198.18.0.0', 15, 'ipv4');
  r.addAddress('::1', 'ipv6');
  r.addAddress('::', 'ipv6');
  r.addSubnet('fc00::', 7, 'ipv6');
  r.addSubnet('fe80::', 10, 'ipv6');
  r.addSubnet('fec0::', 10, 'ipv6');
  privateRanges = r;
  return r;
}

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
  const h = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.+$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 4) return ranges().check(h, 'ipv4');
  if (family === 6) {
    const nat64 = nat64Target(h);
    if (nat64) return ranges().check(nat64, 'ipv4');
    return ranges().check(h, 'ipv6');
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
  return new OciScanError(
    'REGISTRY_ERROR',
    `registry ${policy.registry} sent a token realm on a loopback/private address (${where}): refusing to send credentials there, as a public registry has no reason to`,
  );
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
    throw new OciScanError(
      'REGISTRY_ERROR',
      `registry ${policy.registry} sent a token realm that is not a URL: the registry is misconfigured`,
    );
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.plainHttp)) {
    throw new OciScanError(
      'REGISTRY_ERROR',
      `registry ${policy.registry} sent a token realm ${shown} that is not https: refusing to send credentials there (declare an insecure registry only for a registry you trust)`,
      { setting: 'insecureRegistries' },
    );
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
    throw new OciScanError(
      'NETWORK',
      `the token server ${url.host} of registry ${policy.registry} could not be resolved (${code}): check DNS or HTTPS_PROXY`,
    );
  }
  const first = addresses[0];
  if (!first)
    throw new OciScanError('NETWORK', `the token server ${url.host} of registry ${policy.registry} resolves to no address: check DNS`);
  const bad = addresses.find((a) => isLoopbackOrPrivate(a.address));
  if (bad && !(await policy.registryIsPrivate())) throw refusePrivate(policy, url.host, bad.address);
  return { url, pin: first };
}
