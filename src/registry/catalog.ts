/**
 * Listing at the registry level (go-containerregistry's `remote/catalog.go`): repositories
 * (`GET /v2/_catalog`) and the tags of a repository (`GET /v2/NAME/tags/list`), page by page
 * as the Distribution spec paginates them — `n` asks for a page size, the registry answers with
 * `Link: </v2/…?last=X&n=N>; rel="next"` while there is more. A listing is hostile input like
 * any other (docs/registry.md "Listing"): each page is read within 4 MiB and checked against its
 * schema, a `Link` may not leave the registry's origin nor lead back to a page already read,
 * and at most `maxPages` pages are followed.
 */
import { OciScanError, oneLine } from '../errors.js';
import { readBounded } from '../image/verify.js';
import { parseWire } from '../image/wire.js';
import { compileWire } from '../schema/wire.js';
import { authorizedAttempt, type Authorizer } from './http/auth.js';
import type { Connection } from './http/connection.js';
import { statusError } from './http/status.js';
import { RetryBudget } from './retry.js';

/** How a listing is paged. */
export interface ListOptions {
  /** Entries asked for per page (`n`); registries may send fewer, and cap it (Distribution: 1000). Default 100. */
  readonly pageSize?: number;
  /** Pages followed at most (default 10 000), against a registry whose listing never ends. */
  readonly maxPages?: number;
  readonly signal?: AbortSignal | undefined;
}

/** One page is read up to this size (a thousand long names fit many times over). */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_MAX_PAGES = 10_000;

interface CatalogPage {
  repositories: string[] | null;
}

interface TagsPage {
  name: string;
  tags: string[] | null;
}

const names = { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] };
const validateCatalog = compileWire<CatalogPage>('catalog', {
  type: 'object',
  required: ['repositories'],
  properties: { repositories: names },
});
const validateTags = compileWire<TagsPage>('tags', {
  type: 'object',
  required: ['tags'],
  properties: { name: { type: 'string' }, tags: names },
});

/** Every repository of the registry `conn` talks to, in the registry's order (lexical for Distribution). */
export function listRepositories(
  conn: Connection,
  authorizer: Authorizer,
  options: ListOptions = {},
): AsyncGenerator<string, void, undefined> {
  return paginate(conn, authorizer, options, {
    path: '/v2/_catalog',
    what: 'listing the repositories',
    entries: (bytes, what) => parseWire(bytes, validateCatalog, what, 'REGISTRY_ERROR').repositories ?? [],
  });
}

/** Every tag of `repository`, in the registry's order. */
export function listTags(
  conn: Connection,
  authorizer: Authorizer,
  repository: string,
  options: ListOptions = {},
): AsyncGenerator<string, void, undefined> {
  return paginate(conn, authorizer, options, {
    path: `/v2/${repository}/tags/list`,
    repository,
    what: `listing the tags of ${repository}`,
    entries: (bytes, what) => parseWire(bytes, validateTags, what, 'REGISTRY_ERROR').tags ?? [],
  });
}

/** What is listed. */
interface Listing {
  /** The first page's path (`n` is added). */
  readonly path: string;
  readonly repository?: string;
  readonly what: string;
  /** The entries of one page (bytes already bounded). */
  entries(bytes: Buffer, what: string): string[];
}

async function* paginate(
  conn: Connection,
  authorizer: Authorizer,
  options: ListOptions,
  listing: Listing,
): AsyncGenerator<string, void, undefined> {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const first = new URL(listing.path, conn.origin);
  first.searchParams.set('n', String(options.pageSize ?? DEFAULT_PAGE_SIZE));
  const seen = new Set<string>();
  let next: URL | undefined = first;
  for (let page = 1; next !== undefined; page++) {
    const current: URL = next;
    const key = `${current.pathname}${current.search}`;
    if (seen.has(key))
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} sent a Link back to a page it already sent while ${listing.what}: its pagination loops; refusing to follow it`,
      );
    if (page > maxPages)
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${conn.label} had more than ${maxPages} pages while ${listing.what}: stopped there; raise maxPages if the listing really is that long`,
      );
    seen.add(key);
    const what = `${listing.what} (page ${page})`;
    const budget = new RetryBudget(conn.settings, conn.clock);
    const attempt = await authorizedAttempt(conn, authorizer, {
      path: key,
      method: 'GET',
      headers: { accept: 'application/json' },
      what,
      budget,
      document: true,
      signal: options.signal,
    });
    const { res } = attempt;
    let body: Buffer;
    try {
      if (res.statusCode !== 200) {
        throw await statusError(conn, res, {
          what,
          kind: 'list',
          repository: listing.repository,
          credential: authorizer.authenticator.credential,
          attempts: budget.attempts,
        });
      }
      body = await readBounded(
        res.body,
        MAX_PAGE_BYTES,
        () =>
          new OciScanError(
            'REGISTRY_ERROR',
            `registry ${conn.label} sent a page larger than ${MAX_PAGE_BYTES / 1024 / 1024} MiB while ${listing.what}: refusing it`,
          ),
      );
    } catch (err) {
      res.body.destroy();
      throw conn.scrubber.scrubError(err);
    } finally {
      attempt.finish();
    }
    next = nextPage(conn, res.headers.link, current, listing.what);
    conn.log.debug({ what, entries: body.length, more: next !== undefined }, 'listed a page');
    yield* listing.entries(body, `page ${page} of ${listing.what} on registry ${conn.label}`);
  }
}

/**
 * The `rel="next"` target of a `Link` header (RFC 8288), resolved against the page that sent
 * it, or undefined on the last page. A target on another origin is refused: the registry's
 * credentials would follow it, and a listing has no reason to leave the registry.
 */
export function nextPage(
  conn: Pick<Connection, 'origin' | 'label' | 'scrubber'>,
  link: string | string[] | undefined,
  current: URL,
  what: string,
): URL | undefined {
  const values = link === undefined ? [] : Array.isArray(link) ? link : [link];
  for (const value of values) {
    for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]*)*)/g)) {
      const params = m[2] ?? '';
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
      if (!rels.includes('next')) continue;
      let target: URL;
      try {
        target = new URL(m[1] ?? '', current);
      } catch {
        throw new OciScanError(
          'REGISTRY_ERROR',
          `registry ${conn.label} sent a next-page Link that is not a URL while ${what}: the registry is misconfigured`,
        );
      }
      if (target.origin !== conn.origin) {
        throw new OciScanError(
          'REGISTRY_ERROR',
          `registry ${conn.label} sent a next-page Link to another origin (${oneLine(conn.scrubber.scrub(target.origin), 100)}) while ${what}: refusing to follow it`,
        );
      }
      return target;
    }
  }
  return undefined;
}
