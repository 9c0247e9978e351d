/**
 * One repository of a registry: manifests (≤ 4 MiB, verified when pulled by digest), blobs
 * (streamed through digest verification, resumed with Range), blob presence, and tags. Thin
 * calls over the session's HTTP pipeline (./http/); see README.md in this folder.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { OciScanError } from '../errors.js';
import { MANIFEST_ACCEPT, MediaType } from '../image/manifest.js';
import { parseDigest, readBounded } from '../image/verify.js';
import { MAX_MANIFEST_BYTES } from '../image/wire.js';
import { listTags, type ListOptions } from './catalog.js';
import { authorizedAttempt, type Authorizer } from './http/auth.js';
import { discard, header, type Connection, type Response } from './http/connection.js';
import { resumableBody, verifiedBlob } from './http/resume.js';
import { statusError } from './http/status.js';
import { RetryBudget } from './retry.js';

/** A manifest as fetched: bytes (verified when pulled by digest), Content-Type, digest. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly contentType?: string;
  readonly digest: string;
}

/** A blob as a manifest describes it. */
export interface BlobRef {
  readonly digest: string;
  /** Declared size (−1: unknown). */
  readonly size: number;
}

/** What a repository handle is made of (see `RegistrySession.repository`). */
export interface RepositoryInit {
  readonly connection: Connection;
  readonly authorizer: Authorizer;
  /** Repository path (`team/app`, `library/alpine`). */
  readonly name: string;
  /** Stops everything this handle does (the caller's scan). */
  readonly signal?: AbortSignal | undefined;
}

/** The Distribution API calls of one repository. */
export class Repository {
  /** Repository path (`team/app`). */
  readonly name: string;
  readonly #conn: Connection;
  readonly #authorizer: Authorizer;
  readonly #signal: AbortSignal | undefined;

  constructor(init: RepositoryInit) {
    this.name = init.name;
    this.#conn = init.connection;
    this.#authorizer = init.authorizer;
    this.#signal = init.signal;
  }

  /** The registry as messages name it (with the mirror, when there is one). */
  get label(): string {
    return this.#conn.label;
  }

  /** Fetches a manifest or index by tag or digest (≤ 4 MiB; verified when `reference` is a digest). */
  async manifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const expected = reference.includes(':') ? parseDigest(reference) : undefined;
    const what = `the manifest ${reference} of ${this.name}`;
    let contentType: string | undefined;
    const onFirstResponse = (res: Response): void => {
      contentType = header(res, 'content-type')?.split(';')[0]?.trim();
      const length = Number(header(res, 'content-length') ?? '-1');
      if (length > MAX_MANIFEST_BYTES) throw this.#tooLarge(what);
    };
    const body = resumableBody(this.#conn, this.#authorizer, {
      path: `/v2/${this.name}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      size: -1,
      what,
      kind: 'document',
      refused: { kind: 'manifest', manifestRef: reference, repository: this.name },
      onFirstResponse,
      signal: this.#signalWith(signal),
    });
    const bytes = await readBounded(body, MAX_MANIFEST_BYTES, () => this.#tooLarge(what));
    const algorithm = expected?.algorithm ?? 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (expected && digest !== reference) {
      throw new OciScanError(
        'DIGEST_MISMATCH',
        `registry ${this.label} sent a manifest for ${this.name}@${reference} whose digest is ${digest}: the registry or a proxy altered it; do not trust this registry`,
      );
    }
    this.#conn.log.debug({ reference, digest, contentType, bytes: bytes.length }, 'fetched manifest');
    return { bytes, digest, ...(contentType ? { contentType: this.#conn.scrubber.scrub(contentType) } : {}) };
  }

  /** Reads a whole (small) blob, verified against its digest and size; refuses more than `limit` bytes with `onTooLarge()`. */
  async readBlob(
    blob: BlobRef,
    read: { readonly limit: number; readonly what: string; readonly onTooLarge: () => Error; readonly signal?: AbortSignal | undefined },
  ): Promise<Buffer> {
    if (blob.size > read.limit) throw read.onTooLarge();
    const verified = verifiedBlob(this.#conn, this.#authorizer, {
      repository: this.name,
      ...blob,
      what: read.what,
      kind: 'document',
      signal: this.#signalWith(read.signal),
    });
    return readBounded(verified, read.limit, read.onTooLarge);
  }

  /**
   * Opens a blob as a stream that errors with DIGEST_MISMATCH before its end when the bytes
   * are not the blob's (or not its size); broken transfers are resumed with Range.
   */
  openBlob(blob: BlobRef, what: string, signal?: AbortSignal): Readable {
    return verifiedBlob(this.#conn, this.#authorizer, {
      repository: this.name,
      ...blob,
      what,
      kind: 'blob',
      signal: this.#signalWith(signal),
    });
  }

  /**
   * True when the registry serves the blob, false when it does not (404). HEAD first; a HEAD
   * 404 is asked again with a one-byte GET, because some registries answer HEAD 404 for
   * foreign layers they do serve on GET.
   */
  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const what = `checking for blob ${digest} of ${this.name}`;
    const path = `/v2/${this.name}/blobs/${digest}`;
    const s = this.#signalWith(signal);
    for (const [method, headers] of [
      ['HEAD', {}],
      ['GET', { range: 'bytes=0-0' }],
    ] as const) {
      const budget = new RetryBudget(this.#conn.settings, this.#conn.clock);
      const attempt = await authorizedAttempt(this.#conn, this.#authorizer, {
        path,
        method,
        headers,
        what,
        budget,
        document: true,
        signal: s,
      });
      try {
        const status = attempt.res.statusCode;
        // 416: the blob exists but is empty, so byte 0 is out of range.
        if ((status >= 200 && status <= 299) || (method === 'GET' && status === 416)) {
          await discard(attempt.res);
          return true;
        }
        if (status !== 404)
          throw await statusError(this.#conn, attempt.res, {
            what,
            kind: 'blob',
            repository: this.name,
            credential: this.#authorizer.authenticator.credential,
            attempts: budget.attempts,
          });
        await discard(attempt.res);
      } finally {
        attempt.finish();
      }
      this.#conn.log.debug({ digest, method }, 'registry answered 404 for the blob');
    }
    return false;
  }

  /** The repository's tags, page by page (`/tags/list` with `n`, `last` and `Link`; see ./catalog.ts). */
  tags(options: ListOptions = {}): AsyncGenerator<string, void, undefined> {
    return listTags(this.#conn, this.#authorizer, this.name, { ...options, signal: this.#signalWith(options.signal) });
  }

  /**
   * Uploads a blob unless the repository has it: POST then PUT `?digest=` (the distribution
   * spec's monolithic upload), which every registry speaks.
   */
  async pushBlob(digest: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (await this.hasBlob(digest, signal)) return;
    const what = `pushing blob ${digest} to ${this.name}`;
    const started = await this.#call(
      { method: 'POST', path: `/v2/${this.name}/blobs/uploads/`, headers: { 'content-length': '0' }, what },
      [202],
      signal,
    );
    const location = started.headers['location'];
    if (location === undefined)
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${this.label} started a blob upload to ${this.name} without a Location: the registry is misconfigured`,
      );
    const url = new URL(location, this.#conn.origin);
    url.searchParams.set('digest', digest);
    await this.#call(
      {
        method: 'PUT',
        path: url.href,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
        body: bytes,
        what,
      },
      [201, 204],
      signal,
    );
  }

  /** PUTs a manifest or index under `reference` (a tag or its digest); returns the registry's answer headers (`oci-subject`, `docker-content-digest`). */
  async pushManifest(reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<Readonly<Record<string, string>>> {
    const what = `pushing the manifest ${reference} to ${this.name}`;
    const answer = await this.#call(
      { method: 'PUT', path: `/v2/${this.name}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: bytes, what },
      [201, 200],
      signal,
    );
    return answer.headers;
  }

  /**
   * The referrers index of `digest` from the referrers API (`GET /v2/NAME/referrers/DIGEST`),
   * or undefined when the registry does not serve the API (404): the caller then reads the
   * referrers tag schema (docs/attest.md).
   */
  async referrers(digest: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    const what = `listing the referrers of ${digest} in ${this.name}`;
    const answer = await this.#call(
      { method: 'GET', path: `/v2/${this.name}/referrers/${digest}`, headers: { accept: MediaType.ociIndex }, what },
      [200, 404],
      signal,
    );
    return answer.status === 404 ? undefined : answer.bytes;
  }

  /** One authorized request whose answer is small: its status (one of `expected`, else the registry's refusal as an error), headers and body (≤ 4 MiB). */
  async #call(
    req: {
      readonly method: 'GET' | 'POST' | 'PUT';
      readonly path: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly body?: Buffer;
      readonly what: string;
    },
    expected: readonly number[],
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; headers: Readonly<Record<string, string>>; bytes: Buffer }> {
    const budget = new RetryBudget(this.#conn.settings, this.#conn.clock);
    const attempt = await authorizedAttempt(this.#conn, this.#authorizer, {
      ...req,
      budget,
      document: true,
      signal: this.#signalWith(signal),
    });
    try {
      const { res } = attempt;
      if (!expected.includes(res.statusCode)) {
        const refused = {
          what: req.what,
          kind: 'manifest' as const,
          repository: this.name,
          credential: this.#authorizer.authenticator.credential,
          attempts: budget.attempts,
        };
        throw await statusError(this.#conn, res, refused);
      }
      const bytes = await readBounded(res.body, MAX_MANIFEST_BYTES, () => this.#tooLarge(req.what));
      const headers: Record<string, string> = {};
      for (const name of ['location', 'oci-subject', 'docker-content-digest']) {
        const value = header(res, name);
        if (value !== undefined) headers[name] = this.#conn.scrubber.scrub(value);
      }
      return { status: res.statusCode, headers, bytes };
    } finally {
      attempt.finish();
    }
  }

  #tooLarge(what: string): OciScanError {
    return new OciScanError(
      'INVALID_MANIFEST',
      `${what} on registry ${this.label} is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB: refusing it (not a real image manifest)`,
    );
  }

  #signalWith(signal: AbortSignal | undefined): AbortSignal | undefined {
    const signals = [this.#signal, signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length <= 1) return signals[0];
    return AbortSignal.any(signals);
  }
}
