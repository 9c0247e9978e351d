/**
 * The undici Dispatcher of one registry session (docs/registry.md "Sessions"): connect and
 * stall timeouts, extra CAs, proxies from the environment, and connections to checked token
 * realms pinned to the address that was checked.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import { undici } from './undici.js';
import { OciScanError } from '../errors.js';
import type { RegistryOptions, TransportSettings } from './options.js';

function readCa(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OciScanError('USAGE', `cannot read the CA file ${path} (${what}): ${String((err as { code?: unknown }).code ?? err)}`);
  }
}

/**
 * Host name → the one address connections to it must use. Token realms are resolved and
 * checked before credentials go there (../auth/realm.ts `checkRealm`); pinning the connection
 * to the checked address means a second DNS answer cannot send them elsewhere.
 */
export class AddressPins {
  readonly #pins = new Map<string, LookupAddress>();

  /** Pins `hostname` to `address` for the rest of the run (the first pin wins). */
  pin(hostname: string, address: { address: string; family: number }): void {
    const key = hostname.toLowerCase();
    if (!this.#pins.has(key)) this.#pins.set(key, { address: address.address, family: address.family });
  }

  /** The pinned address of `hostname`, if any. */
  get(hostname: string): LookupAddress | undefined {
    return this.#pins.get(hostname.toLowerCase());
  }

  /** A `net.connect` lookup: the pinned address for pinned names, the system resolver for the rest. */
  readonly lookup: LookupFunction = (hostname, options: LookupOptions, callback) => {
    const pinned = this.get(hostname);
    if (!pinned) {
      process.getBuiltinModule('node:dns').lookup(hostname, options, callback);
      return;
    }
    // Node asks for every address (`all`) when it may try several (autoSelectFamily).
    if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

/**
 * A Dispatcher for the registry options: connect/stall timeouts, `caFile` added to the
 * trusted roots (with NODE_EXTRA_CA_CERTS kept: passing `ca` replaces Node's defaults),
 * HTTP(S)_PROXY / NO_PROXY from `options.env` through undici's EnvHttpProxyAgent, and
 * direct connections resolved through `pins`.
 */
export function createDispatcher(options: RegistryOptions, settings: TransportSettings, pins: AddressPins = new AddressPins()): Dispatcher {
  let ca: string[] | undefined;
  if (options.caFile) {
    ca = [...process.getBuiltinModule('node:tls').rootCertificates];
    const extra = options.env.NODE_EXTRA_CA_CERTS;
    if (extra) ca.push(readCa(extra, 'NODE_EXTRA_CA_CERTS'));
    ca.push(readCa(options.caFile, 'the registry CA file'));
  }
  const agentOptions = {
    connect: { timeout: settings.connectTimeoutMs, lookup: pins.lookup, ...(ca ? { ca } : {}) },
    headersTimeout: settings.stallTimeoutMs,
    bodyTimeout: settings.stallTimeoutMs,
  };
  const proxy = proxyOf(options.env);
  if (proxy) {
    // '' (not undefined) so that EnvHttpProxyAgent does not fall back to process.env.
    return new (undici().EnvHttpProxyAgent)({
      ...agentOptions,
      // Plain-HTTP registries are fetched through an HTTP proxy in absolute form
      // (`GET http://host/v2/…`), as curl and Docker do; undici's default would tunnel them
      // with CONNECT, which proxies commonly refuse for ports other than 443. HTTPS is
      // tunnelled with CONNECT either way.
      proxyTunnel: false,
      httpProxy: proxy.http ?? '',
      httpsProxy: proxy.https ?? '',
      noProxy: proxy.noProxy,
      ...(ca ? { requestTls: { ca } } : {}),
    });
  }
  return new (undici().Agent)(agentOptions);
}

/** The proxies `env` configures, or undefined when there are none. */
export function proxyOf(env: Readonly<Record<string, string | undefined>>): { http?: string; https?: string; noProxy: string } | undefined {
  const http = env.http_proxy ?? env.HTTP_PROXY;
  const https = env.https_proxy ?? env.HTTPS_PROXY;
  if (!http && !https) return undefined;
  return { ...(http ? { http } : {}), ...(https ? { https } : {}), noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}
