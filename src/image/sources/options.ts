/**
 * Options every image source receives. The registry part is filled from the CLI options and
 * the environment (SPEC §2, §4); local sources use only `platform` and `signal`.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Platform } from '../platform.js';

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

/** Options for opening an image from any source. */
export interface SourceOptions {
  /** One platform, or every platform of an index. */
  readonly platform: Platform | 'all';
  readonly registry: RegistryOptions;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /**
   * Called by sources that can read an archive only once — a gzip/zstd-compressed archive,
   * read in one streaming pass without extracting it — with every member that may be a layer,
   * as it streams past: `tar` is the member's uncompressed content, `id` names it. The pass
   * waits for the returned promise (backpressure); a rejection is the consumer's to keep (the
   * member may not belong to the image). Layers of the returned images whose `consumedAs` is
   * `id` were read through this call only. Without it, such layers stream the archive again
   * when opened.
   */
  readonly consumeLayer?: (tar: Readable, id: string, signal?: AbortSignal) => Promise<void>;
}
