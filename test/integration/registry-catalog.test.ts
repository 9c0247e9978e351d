/**
 * Listing repositories and tags page by page (src/registry/catalog.ts): the catalog of a real
 * registry (docker-registry pages `/v2/_catalog` with `n`, `last` and `Link`) over more than
 * one page, counted through a counting proxy; its tags (Distribution 2.8 sends them in one
 * page whatever `n` says); and, from a fault server, what a real registry never sends on
 * demand — tags paged with Link (as Distribution 3 and Docker Hub do), a Link to another
 * origin, a Link back to a page already read, and a listing that never ends.
 *
 * Provenance: one small image by test/helpers/image-builder.ts, pushed under several names.
 */
import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isOciScanError, type ErrorCode } from '../../src/errors.js';
import type { ListOptions } from '../../src/registry/catalog.js';
import { openSession, type Session } from '../../src/registry/session.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startServer, type TestServer } from '../helpers/fault-server.js';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, testOptions, type RunningRegistry } from '../helpers/registry-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const image = buildImage({ layers: [{ entries: [{ type: 'file', path: 'x', content: 'x' }] }] });
const REPOSITORIES = ['library/base', 'team/r0', 'team/r1', 'team/r2', 'team/r3', 'team/r4', 'team/r5'];
const TAGS = ['1.0', '1.1', '2.0', '2.1', 'latest'];

function newSession(): Session {
  const options = testOptions({ retries: 0 });
  return openSession({ registry: options.registry, logger: options.logger });
}

async function collect(list: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const name of list) out.push(name);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isOciScanError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

describeOrSkip('catalog and tags of a real registry', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: CountingProxy;
  let session: Session;

  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    for (const name of REPOSITORIES) await new Pusher(registry.url, name).image(image, '1.0');
    const pusher = new Pusher(registry.url, 'team/r0');
    for (const tag of TAGS) await pusher.image(image, tag);
    proxy = await startCountingProxy(registry.url);
    session = newSession();
  });
  after(async () => {
    await session?.close();
    await proxy?.stop();
    await registry?.stop();
  });

  test('the catalog over several pages of n=2, following Link, every repository once and in order', async () => {
    const names = await collect(session.registry(proxy.host).catalog({ pageSize: 2 }));
    assert.deepEqual(names, REPOSITORIES);
    const pages = proxy.requests.filter((r) => r.path.startsWith('/v2/_catalog'));
    assert.equal(pages.length, 4, pages.map((p) => p.path).join(' '));
    assert.ok(
      pages.every((p) => new URL(p.path, 'http://x').searchParams.get('n') === '2'),
      'every page asks for n=2',
    );
    assert.deepEqual(
      pages.slice(1).map((p) => new URL(p.path, 'http://x').searchParams.get('last')),
      ['team/r0', 'team/r2', 'team/r4'],
      'each next page starts after the last name of the one before, as the registry’s Link says',
    );
  });

  test('the tags of a repository (one page from Distribution 2.8, which ignores n for tags)', async () => {
    const repository = await session.registry(proxy.host).repository('team/r0');
    assert.deepEqual((await collect(repository.tags({ pageSize: 2 }))).sort(), [...TAGS].sort());
    const unknown = await session.registry(proxy.host).repository('team/nothing');
    await rejectsWith(collect(unknown.tags()), 'IMAGE_NOT_FOUND', /repository team\/nothing not found on registry/);
  });
});

/** A registry whose tags/list pages as Distribution 3 does; `link` may rewrite the Link it sends. */
function pagedTags(tags: readonly string[], link: (next: string, req: IncomingMessage) => string | undefined = (next) => next) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://registry');
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const n = Number(url.searchParams.get('n') ?? '100');
    const last = url.searchParams.get('last');
    const from = last === null ? 0 : tags.indexOf(last) + 1;
    const page = tags.slice(from, from + n);
    const more = from + n < tags.length;
    const next = more ? link(`/v2/team/app/tags/list?last=${encodeURIComponent(page[page.length - 1] ?? '')}&n=${n}`, req) : undefined;
    res
      .writeHead(200, { 'content-type': 'application/json', ...(next ? { link: `<${next}>; rel="next"` } : {}) })
      .end(JSON.stringify({ name: 'team/app', tags: page }));
  };
}

describe('tags paged with Link, and hostile Links', () => {
  const servers: TestServer[] = [];
  const sessions: Session[] = [];
  after(async () => {
    for (const s of sessions) await s.close();
    for (const s of servers) await s.stop();
  });

  async function tagsOf(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    options: ListOptions = {},
  ): Promise<{ tags: Promise<string[]>; server: TestServer }> {
    const server = await startServer(handler);
    servers.push(server);
    const session = newSession();
    sessions.push(session);
    const repository = await session.registry(server.host).repository('team/app');
    return { tags: collect(repository.tags({ pageSize: 2, ...options })), server };
  }

  test('tags over three pages of n=2, in order', async () => {
    const { tags, server } = await tagsOf(pagedTags(TAGS));
    assert.deepEqual(await tags, TAGS);
    assert.equal(server.requests.filter((r) => r.path.startsWith('/v2/team/app/tags/list')).length, 3);
  });

  test('a Link to another origin is refused, and nothing is sent there', async () => {
    const elsewhere = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"team/app","tags":["stolen"]}');
    });
    servers.push(elsewhere);
    const { tags } = await tagsOf(pagedTags(TAGS, (next) => `${elsewhere.url}${next}`));
    await rejectsWith(
      tags,
      'REGISTRY_ERROR',
      new RegExp(
        `next-page Link to another origin \\(http://${elsewhere.host.replace(/\./g, '\\.')}\\) while listing the tags of team/app: refusing to follow it`,
      ),
    );
    assert.equal(elsewhere.requests.length, 0);
  });

  test('a Link back to a page already read is refused (a loop), and so is a listing longer than maxPages', async () => {
    // The second page links back to the first one.
    const { tags, server } = await tagsOf(
      pagedTags(TAGS, (next, req) => (new URL(req.url ?? '/', 'http://x').searchParams.has('last') ? '/v2/team/app/tags/list?n=2' : next)),
    );
    await rejectsWith(
      tags,
      'REGISTRY_ERROR',
      /sent a Link back to a page it already sent while listing the tags of team\/app: its pagination loops/,
    );
    assert.equal(server.requests.filter((r) => r.path.startsWith('/v2/team/app/tags/list')).length, 2);
    const endless = Array.from({ length: 1000 }, (_, i) => `t${String(i).padStart(4, '0')}`);
    const long = await tagsOf(pagedTags(endless), { maxPages: 5 });
    await rejectsWith(long.tags, 'REGISTRY_ERROR', /had more than 5 pages while listing the tags of team\/app/);
    assert.equal(long.server.requests.filter((r) => r.path.startsWith('/v2/team/app/tags/list')).length, 5);
  });
});
