/**
 * A fault-injecting registry for the faults a real registry never produces on demand: 429
 * with Retry-After, 503 then success, connections cut in the middle of a blob, wrong blob
 * bytes, redirects (to another loopback server, or in a loop), and a server that stops
 * sending. It serves one repository anonymously from memory, honours `Range`, records every
 * request, and lets a test intercept any request with `fault`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { BuiltImage } from './image-builder.js';

/** A request the server saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * A fault hook: return true when it has answered the request itself. `count` is how many
 * times this path has been requested (1 for the first).
 */
export type Fault = (req: IncomingMessage, res: ServerResponse, count: number) => boolean | Promise<boolean>;

/** A running loopback HTTP server. */
export interface TestServer {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly requests: SeenRequest[];
  stop(): Promise<void>;
}

/** Starts a loopback server with `handler`; stop() also cuts open connections (stalled ones). */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the fault registry serves. */
export interface FaultRegistryContent {
  readonly repository: string;
  readonly tag: string;
  readonly image: BuiltImage;
  /** Extra blobs (digest → bytes), e.g. a second image's. */
  readonly blobs?: ReadonlyMap<string, Buffer>;
}

/** Sends `bytes` (or the `Range` part of them), as a registry would. */
export function sendBlob(req: IncomingMessage, res: ServerResponse, bytes: Buffer, contentType = 'application/octet-stream'): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const part = bytes.subarray(start);
    res.writeHead(206, {
      'content-type': contentType,
      'content-length': part.length,
      'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
    });
    res.end(req.method === 'HEAD' ? undefined : part);
    return;
  }
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length, 'accept-ranges': 'bytes' });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Starts an anonymous in-memory registry serving `content`, with `fault` consulted first. */
export async function startFaultRegistry(content: FaultRegistryContent, fault?: Fault): Promise<TestServer> {
  const counts = new Map<string, number>();
  const blobs = new Map<string, Buffer>(content.blobs ?? []);
  blobs.set(content.image.configDigest, content.image.config);
  for (const l of content.image.layers) blobs.set(l.digest, l.bytes);
  const prefix = `/v2/${content.repository}`;
  return startServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const count = (counts.get(path) ?? 0) + 1;
    counts.set(path, count);
    if (fault && (await fault(req, res, count))) return;
    if (path === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (path === `${prefix}/manifests/${content.tag}` || path === `${prefix}/manifests/${content.image.manifestDigest}`) {
      sendBlob(req, res, content.image.manifest, content.image.manifestMediaType);
      return;
    }
    const blob = path.startsWith(`${prefix}/blobs/`) ? blobs.get(path.slice(`${prefix}/blobs/`.length)) : undefined;
    if (blob) {
      sendBlob(req, res, blob);
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  });
}
