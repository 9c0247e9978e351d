/**
 * Attempts of one request within its `RetryBudget` (../retry.ts): connection errors and
 * 429/408/5xx answers are tried again after a backoff (`Retry-After` honoured), and every
 * attempt gets the limits of ../retry.ts — the end of the retry window while it waits for an
 * answer, and the deadline of a small document.
 */
import { OciScanError } from '../../errors.js';
import { AttemptLimits, isRetryableStatus, parseRetryAfter, type RetryBudget } from '../retry.js';
import { discard, type Attempt, type Connection, type Response } from './connection.js';
import { isRetryableNetworkError, networkError } from './network.js';

/** What is being attempted. */
export interface AttemptPlan {
  /** For messages and logs ("fetching the manifest 1.0 of team/app"). */
  readonly what: string;
  readonly budget: RetryBudget;
  /** A small document (whole-attempt deadline) rather than a blob. */
  readonly document: boolean;
  readonly signal?: AbortSignal | undefined;
  /** The peer when it is not the registry (a token server): `host` and how messages name it. */
  readonly peer?: { readonly host: string; readonly subject: string };
}

/** Sends until an answer that is not worth retrying, or the budget is spent. */
export async function withRetries(
  conn: Connection,
  plan: AttemptPlan,
  sendOnce: (signal: AbortSignal) => Promise<Response>,
): Promise<Attempt> {
  const { settings, clock } = conn;
  const { what, budget, signal } = plan;
  const peer = plan.peer ?? { host: conn.label, subject: `registry ${conn.label}` };
  for (;;) {
    const startedAt = clock.now();
    const limits = new AttemptLimits(signal, budget.remainingMs(), plan.document ? settings.requestDeadlineMs : undefined);
    let res: Response;
    try {
      res = await sendOnce(limits.signal);
    } catch (err) {
      limits.finish();
      if (err instanceof OciScanError) throw conn.scrubber.scrubError(err);
      if (signal?.aborted) throw new OciScanError('INTERRUPTED', `stopped while ${what} on registry ${conn.label}`, { cause: err });
      const delay = isRetryableNetworkError(err) ? budget.failed(startedAt) : undefined;
      if (delay === undefined)
        throw networkError(err, { host: peer.host, subject: peer.subject, what, settings, attempts: budget.attempts });
      conn.log.warn({ what, code: (err as { code?: unknown }).code, attempt: budget.attempts, delayMs: delay }, 'request failed; retrying');
      await clock.sleep(delay, signal);
      continue;
    }
    limits.answered();
    const attempt: Attempt = { res, startedAt, finish: () => limits.finish() };
    if (!isRetryableStatus(res.statusCode)) return attempt;
    const delay = budget.failed(startedAt, parseRetryAfter(res.headers['retry-after'], clock.now()));
    if (delay === undefined) return attempt;
    conn.log.warn({ what, status: res.statusCode, attempt: budget.attempts, delayMs: delay }, 'registry busy or failing; retrying');
    await discard(res);
    limits.finish();
    await clock.sleep(delay, signal);
  }
}
