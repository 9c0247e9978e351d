/**
 * The floor of a warm re-audit (bench/audit.bench.ts): the work no re-audit can skip, done by
 * one plain Node process against the same registry — the catalog (`GET /v2/_catalog?n=100`,
 * page by page), every repository's tags (`/tags/list?n=100`, 8 repositories at a time, page by
 * page), every tag's manifest (`GET /v2/NAME/manifests/TAG` with the manifest media types, 8 at
 * a time, the body read and hashed), and one small file per tag (its reference and digest).
 *
 * Built on `node:http` with a keep-alive agent of 8 sockets rather than undici: it is part of
 * Node, so the floor loads no module of its own (a floor is the least the work can cost), and
 * for these small requests the two are alike (docs/architecture.md, "Memory and speed").
 *
 * Run: node dist/bench/audit-floor.js http://127.0.0.1:PORT PREFIX OUT_DIR
 */
import { createHash } from 'node:crypto';
import { Agent, get, type IncomingMessage } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const PARALLEL = 8;
const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });

/** GETs `path` on `origin`: its status, body and Link header. */
function request(origin: string, path: string, accept: string): Promise<{ status: number; body: Buffer; link: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(new URL(path, origin), { agent, headers: { accept } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const link = res.headers.link;
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), link: Array.isArray(link) ? link.join(', ') : link }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Every entry of a paginated listing (`key` of each page's JSON), following `Link: <…>; rel="next"`. */
async function listAll(origin: string, path: string, key: 'repositories' | 'tags'): Promise<string[]> {
  const all: string[] = [];
  for (let next: string | undefined = `${path}?n=100`; next !== undefined;) {
    const page = await request(origin, next, 'application/json');
    if (page.status !== 200) throw new Error(`GET ${next}: ${page.status}`);
    all.push(...(((JSON.parse(page.body.toString('utf8')) as Record<string, unknown>)[key] as string[] | null) ?? []));
    next = /<([^>]*)>;\s*rel="?next"?/.exec(page.link ?? '')?.[1];
  }
  return all;
}

/** Runs `fn` over `items`, `PARALLEL` at a time. */
async function eachLimit<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Lists, fetches every tag's manifest, writes one file per tag. */
async function main(): Promise<void> {
  const [origin, prefix, out] = process.argv.slice(2);
  if (!origin || prefix === undefined || !out) throw new Error('usage: audit-floor.js ORIGIN PREFIX OUT_DIR');
  await mkdir(out, { recursive: true });
  const repositories = (await listAll(origin, '/v2/_catalog', 'repositories')).filter((r) => r.startsWith(prefix));
  const refs: Array<{ repository: string; tag: string }> = [];
  await eachLimit(repositories, async (repository) => {
    for (const tag of await listAll(origin, `/v2/${repository}/tags/list`, 'tags')) refs.push({ repository, tag });
  });
  await eachLimit(refs, async ({ repository, tag }) => {
    const res = await request(origin, `/v2/${repository}/manifests/${tag}`, ACCEPT);
    if (res.status !== 200) throw new Error(`GET the manifest of ${repository}:${tag}: ${res.status}`);
    const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    const reference = `${repository}:${tag}`;
    await writeFile(join(out, `${reference.replace(/[/:]/g, '_')}.json`), JSON.stringify({ reference, digest }));
  });
  agent.destroy();
  process.stdout.write(`${refs.length}\n`);
}

await main();
