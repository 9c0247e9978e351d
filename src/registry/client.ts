/**
 * A Distribution API client for one repository of one registry: `/v2/` ping, Basic / Bearer
 * auth with one re-authentication on a new challenge, manifests under a size cap with digest
 * verification, and blobs streamed through sha256 verification, resumed with `Range` when a
 * transfer breaks. Redirects are followed by hand so that the registry's `Authorization` never
 * reaches another origin (S3/CDN blob redirects). See README.md in this folder.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { parseChallenges, type Challenge } from '../auth/challenge.js';
import type { Credential } from '../auth/credentials.js';
import { SecretScrubber } from '../auth/scrub.js';
import { Authenticator, isLoopbackOrPrivate, oneLine, systemResolver, type HostResolver, type ResolvedAddress } from '../auth/token.js';
import { OciScanError } from '../errors.js';
import { MANIFEST_ACCEPT } from '../image/manifest.js';
import { parseDigest, readBounded, VerifyingStream } from '../image/verify.js';
import { MAX_MANIFEST_BYTES } from '../image/wire.js';
import { AttemptLimits, LimitError, RetryBudget, systemClock, ThroughputGuard, type Clock } from './retry.js';
import { AddressPins, isRetryableNetworkError, isRetryableStatus, networkError, parseRetryAfter, splitHostPort, type TransportSettings } from './transport.js';

/** Sent with every request. */
const USER_AGENT = 'oci-scan/0.1';
/** Error bodies are read up to this size, for the registry's error code and message. */
const MAX_ERROR_BODY = 16 * 1024;
/** Token responses are read up to this size. */
const MAX_TOKEN_BODY = 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** What a client needs to know. */
export interface RegistryClientInit {
  /** Registry as the reference names it (`docker.io`), for messages. */
  readonly registry: string;
  /** `host[:port]` actually spoken to (`registry-1.docker.io`, a mirror). */
  readonly host: string;
  /** Repository path (`library/alpine`). */
  readonly repository: string;
  /** Plain HTTP instead of HTTPS. */
  readonly plainHttp: boolean;
  /** Set when `host` is a mirror of `registry`. */
  readonly mirrorOf?: string;
  readonly credential?: Credential;
  readonly dispatcher: Dispatcher;
  readonly settings: TransportSettings;
  readonly logger: Logger;
  /** Cancels everything the client does. */
  readonly signal?: AbortSignal;
  /** The secrets of the scan, scrubbed from every server text shown or logged (default: a new one). */
  readonly scrubber?: SecretScrubber;
  /** The address pins of `dispatcher` (checked token realms are pinned there). */
  readonly pins?: AddressPins;
  /** Resolves host names for the token-realm check (default: the system resolver). */
  readonly resolve?: HostResolver;
  /** Requests may go through an HTTP(S) proxy. */
  readonly viaProxy?: boolean;
  /** Time, sleeps and jitter (default: the real ones). */
  readonly clock?: Clock;
}

/** A manifest as fetched: bytes (verified when pulled by digest), Content-Type, digest. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly contentType?: string;
  readonly digest: string;
}

type Response = Dispatcher.ResponseData;

/** A response and the attempt it came from: `finish` clears the attempt's timers once its body is done with. */
interface Attempt {
  readonly res: Response;
  /** When the attempt started (clock time). */
  readonly startedAt: number;
  finish(): void;
}

/** What `#stream` fetches: a small document (whole-attempt deadline) or a blob (minimum throughput). */
interface StreamOptions {
  readonly kind: 'document' | 'blob';
  /** The manifest reference (tag or digest) for a manifest; undefined for a blob. */
  readonly manifestRef?: string;
  readonly onFirstResponse?: (res: Response) => void;
}

/** Drains (small) or destroys a response body we do not need; never throws. */
async function discard(res: Response): Promise<void> {
  try {
    await res.body.dump({ limit: 64 * 1024 });
  } catch {
    res.body.destroy();
  }
}

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function digestOfBytes(algorithm: string, bytes: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** The Distribution API client for one repository. */
export class RegistryClient {
  readonly #init: RegistryClientInit;
  readonly #origin: string;
  readonly #auth: Authenticator;
  readonly #scope: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #scrubber: SecretScrubber;
  readonly #pins: AddressPins | undefined;
  #ping: Promise<Challenge[]> | undefined;
  #privateRegistry: Promise<boolean> | undefined;

  constructor(init: RegistryClientInit) {
    this.#init = init;
    this.#origin = `${init.plainHttp ? 'http' : 'https'}://${init.host}`;
    this.#scope = `repository:${init.repository}:pull`;
    this.#clock = init.clock ?? systemClock;
    this.#scrubber = init.scrubber ?? new SecretScrubber();
    this.#pins = init.pins;
    // Every record this client logs may quote server text: scrub it (docs/security.md).
    this.#log = init.logger.child({ registry: init.host, repository: init.repository }, { formatters: { log: (record) => this.#scrubber.scrubRecord(record) } });
    const { hostname } = splitHostPort(init.host);
    this.#auth = new Authenticator({
      policy: {
        registry: init.host,
        plainHttp: init.plainHttp,
        registryIsPrivate: () => this.#registryIsPrivate(hostname),
        ...(init.resolve ? { resolve: init.resolve } : {}),
        viaProxy: init.viaProxy ?? false,
      },
      ...(init.credential ? { credential: init.credential } : {}),
      http: (url, req, pin) => this.#tokenRequest(url, req, pin),
      logger: this.#log,
      scrubber: this.#scrubber,
    });
  }

  /** `registry/repository` as messages name it (with the mirror, when there is one). */
  get label(): string {
    const mirror = this.#init.mirrorOf ? ` (mirror of ${this.#init.mirrorOf})` : '';
    return `${this.#init.host}${mirror}`;
  }

  /** Fetches a manifest or index by tag or digest (≤ 4 MiB; verified when `reference` is a digest). */
  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const byDigest = reference.includes(':');
    const expected = byDigest ? parseDigest(reference) : undefined;
    const what = `the manifest ${reference} of ${this.#init.repository}`;
    let contentType: string | undefined;
    const onFirstResponse = (res: Response): void => {
      contentType = header(res, 'content-type')?.split(';')[0]?.trim();
      const length = Number(header(res, 'content-length') ?? '-1');
      if (length > MAX_MANIFEST_BYTES) throw this.#tooLarge(what);
    };
    const stream = this.#stream(`/v2/${this.#init.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT }, -1, what, { kind: 'document', manifestRef: reference, onFirstResponse }, signal);
    const bytes = await readBounded(stream, MAX_MANIFEST_BYTES, () => this.#tooLarge(what));
    const digest = digestOfBytes(expected?.algorithm ?? 'sha256', bytes);
    if (expected && digest !== reference) {
      throw new OciScanError('DIGEST_MISMATCH', `registry ${this.label} sent a manifest for ${this.#init.repository}@${reference} whose digest is ${digest}: the registry or a proxy altered it; do not trust this registry`);
    }
    this.#log.debug({ reference, digest, contentType, bytes: bytes.length }, 'fetched manifest');
    return { bytes, digest, ...(contentType ? { contentType: this.#scrubber.scrub(contentType) } : {}) };
  }

  /** Reads a whole (small) blob, verified against `digest` and `size`, refusing more than `limit` bytes. */
  async readBlob(digest: string, size: number, limit: number, what: string, onTooLarge: () => Error, signal?: AbortSignal): Promise<Buffer> {
    if (size > limit) throw onTooLarge();
    const verified = this.#openBlob(digest, size, what, 'document', signal);
    return readBounded(verified, limit, onTooLarge);
  }

  /**
   * Opens a blob as a stream that errors with DIGEST_MISMATCH before its end when the bytes
   * are not `digest` (or not `size` long); broken transfers are resumed with `Range`.
   */
  openBlob(digest: string, size: number, what: string, signal?: AbortSignal): Readable {
    return this.#openBlob(digest, size, what, 'blob', signal);
  }

  #openBlob(digest: string, size: number, what: string, kind: StreamOptions['kind'], signal?: AbortSignal): Readable {
    parseDigest(digest);
    const verifier = new VerifyingStream(digest, size, `${what} (from registry ${this.label})`);
    const source = Readable.from(this.#stream(`/v2/${this.#init.repository}/blobs/${digest}`, {}, size, what, { kind }, signal));
    // Errors of the source reach the consumer through `verifier` (pipeline destroys it with them).
    pipeline(source, verifier).catch(() => undefined);
    return verifier;
  }

  /**
   * True when the registry serves the blob, false when it does not (404). HEAD first; a HEAD
   * 404 is asked again with a one-byte GET, because some registries answer HEAD 404 for
   * foreign layers they do serve on GET.
   */
  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const what = `checking for blob ${digest} of ${this.#init.repository}`;
    const path = `/v2/${this.#init.repository}/blobs/${digest}`;
    const s = this.#signal(signal);
    for (const [method, headers] of [['HEAD', {}], ['GET', { range: 'bytes=0-0' }]] as const) {
      const attempt = await this.#request(path, method, headers, what, s, this.#budget(), true);
      try {
        const status = attempt.res.statusCode;
        // 416: the blob exists but is empty, so byte 0 is out of range.
        if ((status >= 200 && status <= 299) || (method === 'GET' && status === 416)) {
          await discard(attempt.res);
          return true;
        }
        if (status !== 404) throw await this.#statusError(attempt.res, what, 'blob');
        await discard(attempt.res);
      } finally {
        attempt.finish();
      }
      this.#log.debug({ digest, method }, 'registry answered 404 for the blob');
    }
    return false;
  }

  #tooLarge(what: string): OciScanError {
    return new OciScanError('INVALID_MANIFEST', `${what} on registry ${this.label} is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB: refusing it (not a real image manifest)`);
  }

  #signal(signal?: AbortSignal): AbortSignal | undefined {
    const signals = [this.#init.signal, signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length === 0) return undefined;
    return signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  }

  #budget(): RetryBudget {
    return new RetryBudget(this.#init.settings, this.#clock);
  }

  /** Whether the registry is on a loopback/private address: by its name, else by every address it resolves to. */
  #registryIsPrivate(hostname: string): Promise<boolean> {
    this.#privateRegistry ??= (async () => {
      if (isLoopbackOrPrivate(hostname)) return true;
      if (isIP(hostname) !== 0) return false;
      try {
        const addresses = await (this.#init.resolve ?? systemResolver)(hostname);
        return addresses.some((a) => isLoopbackOrPrivate(a.address));
      } catch {
        return false;
      }
    })();
    return this.#privateRegistry;
  }

  /**
   * The bytes of `path`, as an async generator: retried on 429/5xx/connection errors before
   * the body starts, and resumed with `Range` from the last byte received when the body
   * breaks off (a server that ignores `Range` and sends 200 has its first bytes skipped).
   * One retry budget covers every attempt and resume (./retry.ts); documents have a deadline
   * per attempt, blob bodies a minimum throughput. Errors quote no secret.
   */
  async *#stream(path: string, headers: Record<string, string>, size: number, what: string, options: StreamOptions, callerSignal: AbortSignal | undefined): AsyncGenerator<Buffer, void, undefined> {
    try {
      yield* this.#streamAttempts(path, headers, size, what, options, callerSignal);
    } catch (err) {
      throw this.#scrubber.scrubError(err);
    }
  }

  async *#streamAttempts(path: string, headers: Record<string, string>, size: number, what: string, options: StreamOptions, callerSignal: AbortSignal | undefined): AsyncGenerator<Buffer, void, undefined> {
    const signal = this.#signal(callerSignal);
    const { settings } = this.#init;
    const budget = this.#budget();
    const document = options.kind === 'document';
    let offset = 0;
    for (;;) {
      const rangeHeaders = offset > 0 ? { ...headers, range: `bytes=${offset}-` } : headers;
      const attempt = await this.#request(path, 'GET', rangeHeaders, `fetching ${what}`, signal, budget, document);
      const { res } = attempt;
      let done = false;
      // The last moment the body was known healthy: a break after it fails from there, not from the attempt's start.
      let healthyAt: number | undefined;
      const failingSince = (): number => healthyAt ?? attempt.startedAt;
      const guard = document
        ? undefined
        : new ThroughputGuard(
            settings.minBytesPerSecond,
            settings.throughputWindowMs,
            () => res.body.destroy(new LimitError('OCI_SCAN_TOO_SLOW')),
            () => {
              healthyAt = this.#clock.now();
              budget.progress();
            },
          );
      try {
        if (res.statusCode !== 200 && res.statusCode !== 206) throw await this.#statusError(res, `fetching ${what}`, options.manifestRef === undefined ? 'blob' : 'manifest', options.manifestRef, budget.attempts);
        let skip = 0;
        if (offset === 0) {
          if (res.statusCode === 206) throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} sent a partial response to a full request for ${what}: the registry or a proxy is broken`);
          options.onFirstResponse?.(res);
        } else if (res.statusCode === 206) {
          const start = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '')?.[1];
          if (start === undefined || Number(start) !== offset) {
            throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} answered a resume of ${what} at byte ${offset} with the wrong range: try again`);
          }
        } else {
          skip = offset;
        }
        for await (const raw of res.body) {
          let chunk = raw as Buffer;
          guard?.add(chunk.length);
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          offset += chunk.length;
          // While the consumer holds the chunk, the server is not to blame for the wait.
          guard?.pause();
          yield chunk;
          guard?.resume();
        }
        done = true;
        // A clean end before the declared size is a broken transfer too (no Content-Length).
        if (size >= 0 && offset < size && skip === 0) {
          const delay = budget.failed(failingSince());
          if (delay !== undefined) {
            this.#log.warn({ what, offset, size, delayMs: delay }, 'blob transfer ended early; resuming with Range');
            await this.#clock.sleep(delay, signal);
            continue;
          }
        }
        return;
      } catch (err) {
        if (err instanceof OciScanError || signal?.aborted) throw err;
        if (!isRetryableNetworkError(err)) throw networkError(err, this.label, `fetching ${what}`, settings, budget.attempts);
        const delay = budget.failed(failingSince());
        if (delay === undefined) throw networkError(err, this.label, `fetching ${what}`, settings, budget.attempts);
        this.#log.warn({ what, offset, code: (err as { code?: unknown }).code, attempt: budget.attempts, delayMs: delay }, 'transfer broke off; resuming with Range');
        await this.#clock.sleep(delay, signal);
      } finally {
        guard?.stop();
        attempt.finish();
        if (!done) res.body.destroy();
      }
    }
  }

  /** `GET /v2/` without credentials: the challenges the registry wants (none when it answers 200). */
  #pingOnce(signal?: AbortSignal): Promise<Challenge[]> {
    this.#ping ??= (async () => {
      const what = 'checking the registry API (/v2/)';
      const budget = this.#budget();
      const attempt = await this.#withRetries(what, signal, budget, true, (s) => this.#send(new URL('/v2/', this.#origin), 'GET', {}, undefined, s));
      const { res } = attempt;
      try {
        if (res.statusCode === 200) {
          await discard(res);
          return [];
        }
        if (res.statusCode === 401) {
          const challenges = parseChallenges(res.headers['www-authenticate']);
          await discard(res);
          this.#log.debug({ schemes: challenges.map((c) => c.scheme) }, 'registry wants authentication');
          return challenges;
        }
        if (res.statusCode === 404) {
          await discard(res);
          throw new OciScanError('REGISTRY_ERROR', `${this.label} does not serve the registry API at /v2/ (404): check that it is an OCI/Docker registry and the host and port are right`);
        }
        throw await this.#statusError(res, what, 'ping', undefined, budget.attempts);
      } finally {
        attempt.finish();
      }
    })();
    this.#ping.catch(() => undefined);
    return this.#ping;
  }

  /**
   * Sends until an answer that is not worth retrying, within `budget`: connection errors,
   * 429/408/5xx (honouring `Retry-After`). Each attempt gets the limits of ./retry.ts: the
   * end of the retry window while it waits for an answer, and the deadline of a document.
   */
  async #withRetries(what: string, signal: AbortSignal | undefined, budget: RetryBudget, document: boolean, send: (signal: AbortSignal) => Promise<Response>, peer = { host: this.label, subject: `registry ${this.label}` }): Promise<Attempt> {
    const { settings } = this.#init;
    for (;;) {
      const startedAt = this.#clock.now();
      const limits = new AttemptLimits(signal, budget.remainingMs(), document ? settings.requestDeadlineMs : undefined);
      let res: Response;
      try {
        res = await send(limits.signal);
      } catch (err) {
        limits.finish();
        if (err instanceof OciScanError) throw this.#scrubber.scrubError(err);
        if (signal?.aborted) throw new OciScanError('INTERRUPTED', `stopped while ${what} on registry ${this.label}`, { cause: err });
        const delay = isRetryableNetworkError(err) ? budget.failed(startedAt) : undefined;
        if (delay === undefined) throw networkError(err, peer.host, what, settings, budget.attempts, peer.subject);
        this.#log.warn({ what, code: (err as { code?: unknown }).code, attempt: budget.attempts, delayMs: delay }, 'request failed; retrying');
        await this.#clock.sleep(delay, signal);
        continue;
      }
      limits.answered();
      const attempt: Attempt = { res, startedAt, finish: () => limits.finish() };
      if (!isRetryableStatus(res.statusCode)) return attempt;
      const delay = budget.failed(startedAt, parseRetryAfter(res.headers['retry-after'], this.#clock.now()));
      if (delay === undefined) return attempt;
      this.#log.warn({ what, status: res.statusCode, attempt: budget.attempts, delayMs: delay }, 'registry busy or failing; retrying');
      await discard(res);
      limits.finish();
      await this.#clock.sleep(delay, signal);
    }
  }

  /** An authenticated request: ping first, then auth, retries, and one re-authentication on 401. */
  async #request(path: string, method: 'GET' | 'HEAD', headers: Readonly<Record<string, string>>, what: string, signal: AbortSignal | undefined, budget: RetryBudget, document: boolean): Promise<Attempt> {
    let challenges = await this.#pingOnce(signal);
    let fresh = false;
    for (let reauth = 0; ; reauth++) {
      const authorization = await this.#auth.authorization(challenges, [this.#scope], fresh);
      const attempt = await this.#withRetries(what, signal, budget, document, (s) => this.#send(new URL(path, this.#origin), method, headers, authorization, s));
      if (attempt.res.statusCode !== 401 || reauth >= 1) return attempt;
      // Challenged again (token expired, new scope): re-authenticate once. A 401 without
      // WWW-Authenticate reuses the ping's challenge (docs/registry.md).
      const again = parseChallenges(attempt.res.headers['www-authenticate']);
      await discard(attempt.res);
      attempt.finish();
      if (again.length > 0) challenges = again;
      fresh = true;
      this.#log.debug({ what }, 'challenged again; re-authenticating once');
    }
  }

  /**
   * One request, following redirects by hand (at most `maxRedirects`). `authorization` goes
   * only to the registry's own origin, never to the CDN / storage a blob redirects to.
   */
  async #send(url: URL, method: 'GET' | 'HEAD', headers: Readonly<Record<string, string>>, authorization: string | undefined, signal: AbortSignal): Promise<Response> {
    let current = url;
    for (let hops = 0; ; hops++) {
      const h: Record<string, string> = { ...headers, 'user-agent': USER_AGENT };
      if (authorization !== undefined && current.origin === this.#origin) h.authorization = authorization;
      const res = await request(current, { dispatcher: this.#init.dispatcher, method, headers: h, signal });
      if (!REDIRECT_STATUSES.has(res.statusCode)) return res;
      const location = header(res, 'location');
      await discard(res);
      if (!location) throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} sent a redirect (${res.statusCode}) without a location for ${url.pathname}: the registry is misconfigured`);
      if (hops + 1 > this.#init.settings.maxRedirects) {
        throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} redirected ${url.pathname} more than ${this.#init.settings.maxRedirects} times (a redirect loop?): the registry or its storage/CDN is misconfigured`);
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} redirected ${url.pathname} to an invalid location: the registry is misconfigured`);
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new OciScanError('REGISTRY_ERROR', `registry ${this.label} redirected ${url.pathname} to a ${oneLine(next.protocol, 20)} URL: refusing it`);
      }
      // Query strings of storage redirects carry signatures: log the origin and path only.
      this.#log.debug({ from: current.pathname, to: `${next.origin}${next.pathname}`, status: res.statusCode }, 'following redirect');
      current = next;
    }
  }

  /** The token server call for the Authenticator: same dispatcher, pinned to the checked address, bounded body, no redirects. */
  async #tokenRequest(url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, pin: ResolvedAddress | undefined): Promise<{ status: number; body: Buffer }> {
    const host = this.#scrubber.scrub(url.host);
    const what = 'getting a token';
    if (pin) this.#pins?.pin(url.hostname, pin);
    const signal = this.#signal();
    const peer = { host, subject: `the token server ${host} of registry ${this.label}` };
    const attempt = await this.#withRetries(
      what,
      signal,
      this.#budget(),
      true,
      (s) => request(url, { dispatcher: this.#init.dispatcher, method: init.method, headers: { ...init.headers, 'user-agent': USER_AGENT }, ...(init.body !== undefined ? { body: init.body } : {}), signal: s }),
      peer,
    );
    const { res } = attempt;
    try {
      const limit = res.statusCode >= 200 && res.statusCode <= 299 ? MAX_TOKEN_BODY : MAX_ERROR_BODY;
      const body = await readBounded(res.body, limit, () => new OciScanError('REGISTRY_ERROR', `the token server ${host} of registry ${this.label} sent an oversized response`));
      return { status: res.statusCode, body };
    } catch (err) {
      res.body.destroy();
      throw networkError(err, host, what, this.#init.settings, 1, peer.subject);
    } finally {
      attempt.finish();
    }
  }

  /** An OciScanError for a non-success response (the body is read with a bound, then released); server text is scrubbed. */
  async #statusError(res: Response, what: string, kind: 'manifest' | 'blob' | 'ping', manifestRef?: string, attempts = 1): Promise<OciScanError> {
    let code: string | undefined;
    let detail: string | undefined;
    try {
      const body = await readBounded(res.body, MAX_ERROR_BODY, () => new Error('too large'));
      const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
      const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
      if (typeof first?.code === 'string') code = oneLine(first.code, 40);
      if (typeof first?.message === 'string') detail = oneLine(first.message);
    } catch {
      res.body.destroy();
    }
    return this.#scrubber.scrubError(this.#statusMessage(res.statusCode, code, detail, what, kind, manifestRef, attempts)) as OciScanError;
  }

  #statusMessage(status: number, code: string | undefined, detail: string | undefined, what: string, kind: 'manifest' | 'blob' | 'ping', manifestRef: string | undefined, attempts: number): OciScanError {
    const because = code ? ` (${status} ${code}${detail ? `: ${detail}` : ''})` : ` (${status})`;
    const repo = this.#init.repository;
    const credential = this.#auth.credential;
    const tries = attempts > 1 ? `, after ${attempts} attempts` : '';
    if (status === 401) {
      return new OciScanError(
        'AUTH_FAILED',
        credential
          ? `registry ${this.label} refused ${credential.describe()} for repository ${repo}${because}: check the credentials and that they may pull ${repo}`
          : `registry ${this.label} requires authentication to pull ${repo}${because}, or the repository does not exist: add credentials to DOCKER_AUTH_CONFIG or ~/.docker/config.json`,
      );
    }
    if (status === 403) {
      return new OciScanError('AUTH_FAILED', `registry ${this.label} denied access to repository ${repo}${because}${credential ? ` for ${credential.describe()}` : ''}: ask for pull access or use other credentials`);
    }
    if (status === 404) {
      if (kind === 'blob') return new OciScanError('REGISTRY_ERROR', `registry ${this.label} does not have ${what.replace(/^fetching /, '')}${because}: the image in ${repo} is incomplete; push it again`);
      if (code === 'NAME_UNKNOWN') return new OciScanError('IMAGE_NOT_FOUND', `repository ${repo} not found on registry ${this.label}${because}: check the image name`);
      const ref = manifestRef ?? '';
      const image = `${this.#init.host}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
      const mirror = this.#init.mirrorOf ? ` (mirror of ${this.#init.mirrorOf})` : '';
      return new OciScanError('IMAGE_NOT_FOUND', `image ${image} not found${mirror}${because}: check the repository name and the ${ref.includes(':') ? 'digest' : 'tag'}`);
    }
    if (status === 429) {
      return new OciScanError('REGISTRY_ERROR', `registry ${this.label} is rate-limiting us (429) while ${what}${tries}: try again later or log in (anonymous pull limits are lower)`);
    }
    if (status >= 500) {
      return new OciScanError('REGISTRY_ERROR', `registry ${this.label} failed with ${status} while ${what}${code ? because : ''}${tries}: try again later`);
    }
    return new OciScanError('REGISTRY_ERROR', `registry ${this.label} answered ${status} while ${what} of ${repo}${because}: check the registry`);
  }
}
