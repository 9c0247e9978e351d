/**
 * A reverse proxy on loopback in front of a real registry that forwards every request as it
 * is (Host included, so the registry's Location and Link headers name the proxy) and records
 * it, so that tests can count what a run sent: pings, token requests, catalog pages.
 */
import { request as httpRequest } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { startServer, type TestServer } from './fault-server.js';

/** A running counting proxy. */
export interface CountingProxy extends TestServer {
  /** Requests seen with `method` on `path` (query ignored). */
  count(method: string, path: string): number;
}

/**
 * Starts a proxy forwarding to `target` (`http://127.0.0.1:PORT`); `before` runs before each
 * request is forwarded (a test that changes the registry at a chosen moment of a run).
 */
export async function startCountingProxy(
  target: string,
  before?: (method: string, path: string) => void | Promise<void>,
): Promise<CountingProxy> {
  const server = await startServer(async (req, res) => {
    await before?.(req.method ?? 'GET', req.url ?? '/');
    await new Promise<void>((resolve) => {
      const up = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, res).then(resolve, () => resolve());
      });
      up.on('error', () => {
        res.destroy();
        resolve();
      });
      pipeline(req, up).catch(() => undefined);
    });
  });
  return {
    ...server,
    count: (method, path) => server.requests.filter((r) => r.method === method && r.path.split('?')[0] === path).length,
  };
}
