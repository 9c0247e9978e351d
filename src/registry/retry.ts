/**
 * How long a request may take, and how long it may keep failing. Three limits bound what a
 * dead or hostile server can cost (docs/security.md "Limits"):
 *
 * - a retry window: one request (with its resumes) stops retrying once it has been failing
 *   for `retryWindowMs`, counted from the start of the first attempt that failed, and an
 *   attempt still waiting for an answer at the end of the window is abandoned;
 * - a deadline for small documents (ping, token, manifest, config, HEAD): headers and body
 *   within `requestDeadlineMs`, whatever the server trickles;
 * - a minimum throughput for blob bodies: after the first `throughputWindowMs`, every window
 *   of that length must bring `minBytesPerSecond` on average.
 */
import type { TransportSettings } from './options.js';

/** Time and randomness, replaceable in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** In [0, 1): the jitter of the backoff. */
  random(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now(), sleep, random: () => Math.random() };

/** Codes of the errors the limits raise (mapped to TIMEOUT by `networkError`). */
export type LimitCode = 'OCI_SCAN_DEADLINE' | 'OCI_SCAN_TOO_SLOW' | 'OCI_SCAN_RETRY_WINDOW';

/** An attempt ended by one of the limits (an abort reason or a body error, never shown as is). */
export class LimitError extends Error {
  /** Which limit. */
  readonly code: LimitCode;

  constructor(code: LimitCode) {
    super(code);
    this.name = 'LimitError';
    this.code = code;
  }
}

/** The retries of one request: a count (`retries`) and a window of time (`retryWindowMs`). */
export class RetryBudget {
  readonly #settings: TransportSettings;
  readonly #clock: Clock;
  #retries = 0;
  #failingSince: number | undefined;
  #plannedMs = 0;

  constructor(settings: TransportSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /** Attempts made so far that failed and were retried, plus the current one. */
  get attempts(): number {
    return this.#retries + 1;
  }

  /** The sum of the backoff delays handed out. */
  get plannedBackoffMs(): number {
    return this.#plannedMs;
  }

  /** The request made real progress (a healthy stretch of body): a later failure opens a new window. */
  progress(): void {
    this.#failingSince = undefined;
  }

  /**
   * An attempt failed; it had been failing since `since` (its start, or for a body that
   * broke off, its last healthy moment). Returns the delay before the next attempt, or
   * undefined when the retries are used up or the next attempt would start after the window.
   */
  failed(since: number, retryAfterMs?: number): number | undefined {
    this.#failingSince ??= since;
    if (this.#retries >= this.#settings.retries) return undefined;
    const delay = retryDelay(this.#retries, this.#settings, retryAfterMs, this.#clock.random());
    if (this.#clock.now() + delay - this.#failingSince >= this.#settings.retryWindowMs) return undefined;
    this.#retries++;
    this.#plannedMs += delay;
    return delay;
  }

  /** How long an attempt starting now may wait for an answer before the window closes (undefined: not failing). */
  remainingMs(): number | undefined {
    if (this.#failingSince === undefined) return undefined;
    return Math.max(0, this.#failingSince + this.#settings.retryWindowMs - this.#clock.now());
  }
}

/**
 * The limits of one attempt, as an AbortSignal for undici: the caller's signal, the end of the
 * retry window (only until the answer's headers arrive), and the document deadline (until
 * `finish`). Aborts carry a LimitError as reason, which undici passes on as the error.
 */
export class AttemptLimits {
  readonly #controller = new AbortController();
  readonly signal: AbortSignal;
  #window: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(caller: AbortSignal | undefined, windowMs: number | undefined, deadlineMs: number | undefined) {
    this.signal = caller ? AbortSignal.any([caller, this.#controller.signal]) : this.#controller.signal;
    const abort = (code: LimitCode): void => this.#controller.abort(new LimitError(code));
    if (windowMs !== undefined) this.#window = setTimeout(() => abort('OCI_SCAN_RETRY_WINDOW'), windowMs).unref();
    if (deadlineMs !== undefined) this.#deadline = setTimeout(() => abort('OCI_SCAN_DEADLINE'), deadlineMs).unref();
  }

  /** The answer's headers arrived: the retry window no longer applies to this attempt. */
  answered(): void {
    clearTimeout(this.#window);
  }

  /** The attempt is over (body read or abandoned): clears every timer. */
  finish(): void {
    clearTimeout(this.#window);
    clearTimeout(this.#deadline);
  }
}

/**
 * Watches a body's rate: after the first `windowMs`, when the last `windowMs` brought fewer
 * than `minBytesPerSecond × windowMs / 1000` bytes, calls `onTooSlow` once. Checked on a timer
 * (a tenth of the window), so that a server sending nothing at all is caught as well. Only
 * time spent waiting for the server counts: while the consumer holds a chunk (`pause` …
 * `resume`), a slow consumer is not blamed on the server.
 */
export class ThroughputGuard {
  readonly #min: number;
  readonly #windowMs: number;
  readonly #samples: Array<{ at: number; bytes: number }> = [];
  readonly #timer: NodeJS.Timeout | undefined;
  #pending = 0;
  #pausedTotal = 0;
  #pausedAt: number | undefined;
  #stopped = false;
  readonly #started = Date.now();

  constructor(minBytesPerSecond: number, windowMs: number, onTooSlow: () => void, onHealthy: () => void) {
    this.#min = (minBytesPerSecond * windowMs) / 1000;
    this.#windowMs = windowMs;
    if (minBytesPerSecond <= 0 || windowMs <= 0) return;
    const tick = Math.max(10, Math.floor(windowMs / 10));
    this.#timer = setInterval(() => {
      if (this.#pausedAt !== undefined || this.#stopped) return;
      const at = this.#active();
      this.#samples.push({ at, bytes: this.#pending });
      this.#pending = 0;
      while ((this.#samples[0]?.at ?? at) <= at - this.#windowMs) this.#samples.shift();
      if (at < this.#windowMs) return;
      const recent = this.#samples.reduce((sum, s) => sum + s.bytes, 0);
      if (recent < this.#min) {
        this.stop();
        onTooSlow();
        return;
      }
      onHealthy();
    }, tick).unref();
  }

  /** Milliseconds spent waiting for the server since the body started. */
  #active(): number {
    return Date.now() - this.#started - this.#pausedTotal;
  }

  /** Counts bytes received. */
  add(bytes: number): void {
    this.#pending += bytes;
  }

  /** The consumer holds a chunk: time stops counting. */
  pause(): void {
    this.#pausedAt ??= Date.now();
  }

  /** The consumer wants more: time counts again. */
  resume(): void {
    if (this.#pausedAt === undefined) return;
    this.#pausedTotal += Date.now() - this.#pausedAt;
    this.#pausedAt = undefined;
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
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
