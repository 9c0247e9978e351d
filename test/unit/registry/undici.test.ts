/**
 * undici's parts (src/registry/undici.ts): the pinned undici has the Agent, the proxy agent and
 * the request API where oci-scan loads them from, loading them does not load the package's
 * index, and a request through them — or through the whole package, when the parts have moved —
 * reaches the server with its path, query, method and headers and returns its answer.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadUndici, undici, type Undici } from '../../../src/registry/undici.js';

const require = createRequire(import.meta.url);

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly header: string | undefined;
}

/** Sends one request through `u` to a server on 127.0.0.1; returns what the server saw and the answer. */
async function roundTrip(u: Undici): Promise<{ seen: Seen; status: number; body: string }> {
  let seen: Seen = { method: undefined, url: undefined, header: undefined };
  const server = createServer((req, res) => {
    seen = { method: req.method, url: req.url, header: req.headers['x-test'] as string | undefined };
    res.writeHead(203, { 'content-type': 'text/plain' }).end('answer');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new u.Agent();
  try {
    const { port } = server.address() as AddressInfo;
    const res = await u.request(agent, new URL(`http://127.0.0.1:${port}/v2/app/tags/list?n=2&last=a`), {
      method: 'GET',
      headers: { 'x-test': 'yes' },
    });
    return { seen, status: res.statusCode, body: await res.body.text() };
  } finally {
    await agent.close();
    server.close();
  }
}

test('the pinned undici: the parts load on their own, without the package index, and a request goes through', async () => {
  const u = undici();
  assert.equal(
    u.parts,
    true,
    'undici/lib/dispatcher/{agent,env-http-proxy-agent,dispatcher}.js or lib/api/index.js moved: update src/registry/undici.ts',
  );
  assert.deepEqual(await roundTrip(u), {
    seen: { method: 'GET', url: '/v2/app/tags/list?n=2&last=a', header: 'yes' },
    status: 203,
    body: 'answer',
  });
  const index = require.resolve('undici');
  assert.equal(require.cache[index], undefined, 'the package index was not loaded');
});

test('parts that moved: the whole package is loaded instead, and works the same', async () => {
  const moved = Object.assign(
    (id: string) => {
      if (id.startsWith('undici/lib/')) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      return require(id) as unknown;
    },
    { resolve: require.resolve, cache: require.cache, extensions: require.extensions, main: require.main },
  ) as NodeJS.Require;
  const u = loadUndici(moved);
  assert.equal(u.parts, false);
  assert.deepEqual(await roundTrip(u), {
    seen: { method: 'GET', url: '/v2/app/tags/list?n=2&last=a', header: 'yes' },
    status: 203,
    body: 'answer',
  });
});
