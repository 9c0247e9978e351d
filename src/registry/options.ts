/**
 * How to reach registries: what the caller sets (`RegistryOptions`, from the CLI options and the
 * environment) and the timing and retry settings in force (`TransportSettings`, with defaults).
 */

/** How to reach registries. */
export interface RegistryOptions {
  /** `host[:port]` names to talk to over plain HTTP (besides localhost / 127.0.0.1 / ::1). */
  readonly insecureRegistries: readonly string[];
  /** Extra PEM CA bundle to trust (besides NODE_EXTRA_CA_CERTS, which Node reads itself). */
  readonly caFile?: string;
  /** Registry host → mirror `host[:port]` (`docker.io` → `mirror.local:5000`). */
  readonly mirrors: Readonly<Record<string, string>>;
  /** The environment to read credentials and proxies from (DOCKER_AUTH_CONFIG, DOCKER_CONFIG, HOME, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** TCP + TLS connect timeout in ms (default 10 000). */
  readonly connectTimeoutMs?: number;
  /** Longest wait for response headers or between two body chunks, in ms (default 30 000). */
  readonly stallTimeoutMs?: number;
  /** Retries after a 429/5xx/connection error or a broken blob transfer (default 4). */
  readonly retries?: number;
  /** First backoff delay in ms, doubled per retry (default 500). */
  readonly retryDelayMs?: number;
  /** Cap on one backoff delay, `Retry-After` included, in ms (default 30 000). */
  readonly maxRetryDelayMs?: number;
  /** How long one request may keep failing, attempts and backoff included, in ms (default 60 000). */
  readonly retryWindowMs?: number;
  /** Deadline of one attempt at a small document (ping, token, manifest, config), in ms (default 30 000). */
  readonly requestDeadlineMs?: number;
  /** Slowest blob body accepted, in bytes per second averaged over `throughputWindowMs` (default 16 KiB/s; 0: none). */
  readonly minBytesPerSecond?: number;
  /** The window the blob rate is averaged over, in ms (default 30 000). */
  readonly throughputWindowMs?: number;
  /** Redirects followed for one request (default 10). */
  readonly maxRedirects?: number;
}

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
