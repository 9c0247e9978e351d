/**
 * The HTTP layer under the registry client: one undici Dispatcher per scan (timeouts, extra
 * CAs, proxies from the environment), the plain-HTTP rule, retry timing, and the mapping of
 * socket/TLS/timeout errors to OciScanErrors with a hint of what to do.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { OciScanError } from '../errors.js';
import type { RegistryOptions } from '../image/sources/options.js';

/** Timing and retry settings, with the defaults used when RegistryOptions leaves them out. */
export interface TransportSettings {
  /** TCP + TLS connect timeout. */
  readonly connectTimeoutMs: number;
  /** Longest wait for response headers, or between two chunks of a body. */
  readonly stallTimeoutMs: number;
  /** Retries after the first attempt, for 429/5xx/connection errors and broken bodies. */
  readonly retries: number;
  /** First backoff delay; doubles per retry (with jitter). */
  readonly retryDelayMs: number;
  /** Cap on one backoff delay, `Retry-After` included. */
  readonly maxRetryDelayMs: number;
  /** How long one request may keep failing before it gives up, backoff and attempts included. */
  readonly retryWindowMs: number;
  /** Whole-attempt deadline (headers and body) for small documents: ping, token, manifest, config, HEAD. */
  readonly requestDeadlineMs: number;
  /** Slowest blob body accepted, averaged over `throughputWindowMs` (0: no minimum). */
  readonly minBytesPerSecond: number;
  /** The window the blob rate is averaged over; the first window is free (slow start). */
  readonly throughputWindowMs: number;
  /** Redirects followed for one request. */
  readonly maxRedirects: number;
}

/**
 * Defaults: generous enough for a slow CDN, small enough that a dead registry fails in about a
 * minute (docs/security.md "Limits" gives the worst cases).
 */
export const DEFAULT_TRANSPORT: TransportSettings = {
  connectTimeoutMs: 10_000,
  stallTimeoutMs: 30_000,
  retries: 4,
  retryDelayMs: 500,
  maxRetryDelayMs: 30_000,
  retryWindowMs: 60_000,
  requestDeadlineMs: 30_000,
  minBytesPerSecond: 16 * 1024,
  throughputWindowMs: 30_000,
  maxRedirects: 10,
};

/** The settings in force for `options`. */
export function transportSettings(options: RegistryOptions): TransportSettings {
  const d = DEFAULT_TRANSPORT;
  return {
    connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
    stallTimeoutMs: options.stallTimeoutMs ?? d.stallTimeoutMs,
    retries: options.retries ?? d.retries,
    retryDelayMs: options.retryDelayMs ?? d.retryDelayMs,
    maxRetryDelayMs: options.maxRetryDelayMs ?? d.maxRetryDelayMs,
    retryWindowMs: options.retryWindowMs ?? d.retryWindowMs,
    requestDeadlineMs: options.requestDeadlineMs ?? d.requestDeadlineMs,
    minBytesPerSecond: options.minBytesPerSecond ?? d.minBytesPerSecond,
    throughputWindowMs: options.throughputWindowMs ?? d.throughputWindowMs,
    maxRedirects: options.maxRedirects ?? d.maxRedirects,
  };
}

/** Splits `host[:port]` / `[v6]:port` into hostname (no brackets) and port text. */
export function splitHostPort(host: string): { hostname: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (v6) return v6[2] ? { hostname: v6[1] ?? '', port: v6[2] } : { hostname: v6[1] ?? '' };
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(':') === colon) return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
  return { hostname: host };
}

/** Hosts always spoken to over plain HTTP (Docker's rule for the local machine). */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * True when `host` (`host[:port]`) is spoken to over plain HTTP: the local machine, or a host
 * named by --insecure-registry (`host:port` exactly, or `host` for any port).
 */
export function usesPlainHttp(host: string, insecureRegistries: readonly string[]): boolean {
  const { hostname } = splitHostPort(host.toLowerCase());
  if (LOCAL_HOSTS.has(hostname)) return true;
  return insecureRegistries.some((entry) => {
    const e = entry.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return e === host.toLowerCase() || e === hostname;
  });
}

function readCa(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OciScanError('USAGE', `cannot read the CA file ${path} (${what}): ${String((err as { code?: unknown }).code ?? err)}`);
  }
}

/**
 * Host name → the one address connections to it must use. Token realms are resolved and
 * checked before credentials go there (../auth/token.ts `checkRealm`); pinning the connection
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
      dnsLookup(hostname, options, callback);
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
    ca = [...rootCertificates];
    const extra = options.env.NODE_EXTRA_CA_CERTS;
    if (extra) ca.push(readCa(extra, 'NODE_EXTRA_CA_CERTS'));
    ca.push(readCa(options.caFile, '--ca-file'));
  }
  const agentOptions = {
    connect: { timeout: settings.connectTimeoutMs, lookup: pins.lookup, ...(ca ? { ca } : {}) },
    headersTimeout: settings.stallTimeoutMs,
    bodyTimeout: settings.stallTimeoutMs,
  };
  const proxy = proxyOf(options.env);
  if (proxy) {
    // '' (not undefined) so that EnvHttpProxyAgent does not fall back to process.env.
    return new EnvHttpProxyAgent({
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
  return new Agent(agentOptions);
}

/** The proxies `env` configures, or undefined when there are none. */
export function proxyOf(env: Readonly<Record<string, string | undefined>>): { http?: string; https?: string; noProxy: string } | undefined {
  const http = env.http_proxy ?? env.HTTP_PROXY;
  const https = env.https_proxy ?? env.HTTPS_PROXY;
  if (!http && !https) return undefined;
  return { ...(http ? { http } : {}), ...(https ? { https } : {}), noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}

/** Error codes of socket-level failures worth retrying (the connection, not the request, failed). */
const RETRYABLE_NETWORK = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // ./retry.ts: a document past its deadline, a blob below the minimum rate
  'OCI_SCAN_DEADLINE',
  'OCI_SCAN_TOO_SLOW',
]);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when a request that failed with `err` may be tried again. */
export function isRetryableNetworkError(err: unknown): boolean {
  if (err instanceof OciScanError) return false;
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_NETWORK.has(code);
}

/** True for HTTP statuses worth retrying (429, 408 and 5xx; 501 and 505 mean "never"). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before retry number `attempt` (0-based): exponential with jitter, or `Retry-After`, capped. */
export function retryDelay(attempt: number, settings: TransportSettings, retryAfterMs?: number, random: number = Math.random()): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, settings.maxRetryDelayMs);
  const base = settings.retryDelayMs * 2 ** attempt;
  return Math.min(settings.maxRetryDelayMs, Math.round(base * (0.75 + random * 0.5)));
}

/** Sleeps, waking early (with an error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `16 KiB/s`, `512 B/s`. */
function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond >= 1024 ? `${Math.round((bytesPerSecond / 1024) * 10) / 10} KiB/s` : `${bytesPerSecond} B/s`;
}

/** Certificate chains that do not lead to a trusted root: a private CA, or a self-signed certificate. */
const CERT_TRUST_CODES = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_UNTRUSTED)$/;
/** Certificates that are trusted but wrong: expired, not yet valid, for another name. */
const CERT_OTHER_CODES = /^(CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|CERT_REVOKED)$/;
const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|ERR_OSSL_|HOSTNAME_MISMATCH)/;

/**
 * An OciScanError for a failed connection to `host` while doing `what`
 * ("fetching the manifest of team/app"), with a hint of what to do. `subject` names the peer
 * (default `registry HOST`; a token server is named as such).
 */
export function networkError(err: unknown, host: string, what: string, settings: TransportSettings, attempts: number, subject = `registry ${host}`): OciScanError {
  if (err instanceof OciScanError) return err;
  const code = errorCode(err) ?? 'unknown error';
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OciScanError('NETWORK', `${subject} could not be resolved (${code}) while ${what}: check the registry name, DNS, or HTTPS_PROXY`, { cause: err });
    case 'ECONNREFUSED':
      return new OciScanError('NETWORK', `${subject} refused the connection while ${what}: check that it is running and the port is right`, { cause: err });
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new OciScanError('TIMEOUT', `could not connect to ${subject} within ${settings.connectTimeoutMs / 1000}s while ${what}${tries}: check the network, firewall or HTTPS_PROXY`, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new OciScanError('TIMEOUT', `${subject} sent no response for ${settings.stallTimeoutMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck; try again later`, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new OciScanError('TIMEOUT', `${subject} stopped sending data for ${settings.stallTimeoutMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck; try again later`, { cause: err });
    case 'OCI_SCAN_DEADLINE':
      return new OciScanError('TIMEOUT', `${subject} did not send a complete answer within ${settings.requestDeadlineMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck or trickling; try again later`, { cause: err });
    case 'OCI_SCAN_TOO_SLOW':
      return new OciScanError('TIMEOUT', `${subject} sent less than ${formatRate(settings.minBytesPerSecond)} for ${settings.throughputWindowMs / 1000}s while ${what}${tries}: the registry, a proxy or the network is too slow; try again later`, { cause: err });
    case 'OCI_SCAN_RETRY_WINDOW':
      return new OciScanError('TIMEOUT', `${subject} gave no answer within ${settings.retryWindowMs / 1000}s of retrying while ${what}${tries}: it is down or unreachable; try again later`, { cause: err });
    default:
      break;
  }
  if (CERT_TRUST_CODES.test(code)) {
    return new OciScanError('NETWORK', `the TLS certificate of ${subject} is not trusted (${code}) while ${what}: if it is signed by a private CA, trust that CA with --ca-file ca.pem or NODE_EXTRA_CA_CERTS=ca.pem`, { cause: err });
  }
  if (CERT_OTHER_CODES.test(code)) {
    return new OciScanError('NETWORK', `the TLS certificate of ${subject} was rejected (${code}) while ${what}: check that it is valid and names ${splitHostPort(host).hostname}`, { cause: err });
  }
  if (TLS_CODES.test(code)) {
    return new OciScanError('NETWORK', `TLS connection to ${subject} failed (${code}) while ${what}: trust its CA with --ca-file or NODE_EXTRA_CA_CERTS, or for a plain-HTTP registry use --insecure-registry ${host}`, { cause: err });
  }
  return new OciScanError('NETWORK', `connection to ${subject} failed (${code}) while ${what}${tries}: check the network and try again`, { cause: err });
}
