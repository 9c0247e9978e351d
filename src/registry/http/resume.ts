/**
 * Bodies that survive broken transfers: the bytes of a path as an async generator, retried on
 * 429/5xx/connection errors before the body starts, and resumed with `Range: bytes=N-` from
 * the last byte received when it breaks off or ends short of its declared size (a 206 must
 * start at N; a server that ignores Range and sends 200 has its first N bytes skipped). Blobs
 * run through `VerifyingStream` across the pieces, so a resumed blob is verified like any
 * other. Blob bodies must keep a minimum rate; documents must finish within their deadline.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError } from '../../errors.js';
import { parseDigest, VerifyingStream } from '../../image/verify.js';
import { LimitError, RetryBudget, ThroughputGuard } from '../retry.js';
import { authorizedAttempt, type Authorizer } from './auth.js';
import { header, type Connection, type Response } from './connection.js';
import { isRetryableNetworkError, networkError } from './network.js';
import { statusError, type Refused } from './status.js';

/** A body to fetch. */
export interface BodyRequest {
  /** Path on the registry (`/v2/team/app/blobs/sha256:…`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Declared size (−1: unknown): a body that ends short of it is resumed. */
  readonly size: number;
  /** For messages ("the manifest 1.0 of team/app", "layer sha256:… of …"). */
  readonly what: string;
  /** A small document (whole-attempt deadline) or a blob (minimum throughput). */
  readonly kind: 'document' | 'blob';
  /** How a refusal is reported. */
  readonly refused: Pick<Refused, 'kind' | 'manifestRef' | 'repository'>;
  /** Sees the first response before its body is read (size checks, Content-Type). */
  readonly onFirstResponse?: (res: Response) => void;
  readonly signal?: AbortSignal | undefined;
}

/** The bytes of `req.path`, resumed across broken transfers; errors scrubbed. */
export async function* resumableBody(conn: Connection, authorizer: Authorizer, req: BodyRequest): AsyncGenerator<Buffer, void, undefined> {
  try {
    yield* attempts(conn, authorizer, req);
  } catch (err) {
    throw conn.scrubber.scrubError(err);
  }
}

async function* attempts(conn: Connection, authorizer: Authorizer, req: BodyRequest): AsyncGenerator<Buffer, void, undefined> {
  const { settings, clock } = conn;
  const { signal, size } = req;
  const what = `fetching ${req.what}`;
  const budget = new RetryBudget(settings, clock);
  const document = req.kind === 'document';
  let offset = 0;
  for (;;) {
    const headers = offset > 0 ? { ...req.headers, range: `bytes=${offset}-` } : req.headers;
    const attempt = await authorizedAttempt(conn, authorizer, { path: req.path, method: 'GET', headers, what, budget, document, signal });
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
            healthyAt = clock.now();
            budget.progress();
          },
        );
    try {
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        throw await statusError(conn, res, {
          ...req.refused,
          what,
          credential: authorizer.authenticator.credential,
          attempts: budget.attempts,
        });
      }
      let skip = 0;
      if (offset === 0) {
        if (res.statusCode === 206)
          throw new OciScanError(
            'REGISTRY_ERROR',
            `registry ${conn.label} sent a partial response to a full request for ${req.what}: the registry or a proxy is broken`,
          );
        req.onFirstResponse?.(res);
      } else if (res.statusCode === 206) {
        const start = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '')?.[1];
        if (start === undefined || Number(start) !== offset) {
          throw new OciScanError(
            'REGISTRY_ERROR',
            `registry ${conn.label} answered a resume of ${req.what} at byte ${offset} with the wrong range: try again`,
          );
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
          conn.log.warn({ what: req.what, offset, size, delayMs: delay }, 'blob transfer ended early; resuming with Range');
          await clock.sleep(delay, signal);
          continue;
        }
      }
      return;
    } catch (err) {
      if (err instanceof OciScanError || signal?.aborted) throw err;
      const failed = { host: conn.label, what, settings, attempts: budget.attempts };
      if (!isRetryableNetworkError(err)) throw networkError(err, failed);
      const delay = budget.failed(failingSince());
      if (delay === undefined) throw networkError(err, failed);
      conn.log.warn(
        { what: req.what, offset, code: (err as { code?: unknown }).code, attempt: budget.attempts, delayMs: delay },
        'transfer broke off; resuming with Range',
      );
      await clock.sleep(delay, signal);
    } finally {
      guard?.stop();
      attempt.finish();
      if (!done) res.body.destroy();
    }
  }
}

/** A blob to stream. */
export interface BlobBody {
  readonly repository: string;
  readonly digest: string;
  /** Declared size (−1: unknown). */
  readonly size: number;
  readonly what: string;
  readonly kind: 'document' | 'blob';
  readonly signal?: AbortSignal | undefined;
}

/**
 * A blob as a stream that errors with DIGEST_MISMATCH before its end when the bytes are not
 * `digest` (or not `size` long); broken transfers are resumed inside the verification.
 */
export function verifiedBlob(conn: Connection, authorizer: Authorizer, blob: BlobBody): Readable {
  parseDigest(blob.digest);
  const verifier = new VerifyingStream(blob.digest, blob.size, `${blob.what} (from registry ${conn.label})`);
  const source = Readable.from(
    resumableBody(conn, authorizer, {
      path: `/v2/${blob.repository}/blobs/${blob.digest}`,
      headers: {},
      size: blob.size,
      what: blob.what,
      kind: blob.kind,
      refused: { kind: 'blob', repository: blob.repository },
      signal: blob.signal,
    }),
  );
  // Errors of the source reach the consumer through `verifier` (pipeline destroys it with them).
  pipeline(source, verifier).catch(() => undefined);
  return verifier;
}
