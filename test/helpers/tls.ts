/**
 * TLS and proxy helpers for the registry tests: a private CA and a server certificate made
 * with the `openssl` CLI (registry-server.ts's startRegistry serves HTTPS with them), pushing through an undici Agent that trusts the CA, and a tiny forward HTTP proxy
 * (absolute-form requests only) that counts what it forwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';

const run = promisify(execFile);

/** A private CA and one server certificate signed by it (PEM files in `dir`). */
export interface TestPki {
  readonly dir: string;
  /** The CA certificate (what a client must trust). */
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  cleanup(): Promise<void>;
}

/**
 * Makes a CA (key + self-signed cert) and a server certificate for `ip` (subjectAltName
 * IP:ip, serverAuth) signed by it, in a new temporary directory. Needs the `openssl` CLI.
 */
export async function makeTestPki(ip: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-pki-'));
  const p = (name: string): string => join(dir, name);
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=oci-scan test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.pem'),
    ]);
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-subj',
      `/CN=${ip}`,
      '-keyout',
      p('server.key'),
      '-out',
      p('server.csr'),
    ]);
    await writeFile(
      p('server.ext'),
      `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-sha256',
      '-days',
      '2',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-extfile',
      p('server.ext'),
      '-out',
      p('server.pem'),
    ]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    caFile: p('ca.pem'),
    caPem: await readFile(p('ca.pem'), 'utf8'),
    certFile: p('server.pem'),
    keyFile: p('server.key'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs `fn` with undici's global dispatcher trusting `caPem` (so push.ts, which uses undici's
 * fetch without a dispatcher, can push over HTTPS), then restores the previous one.
 */
export async function withTrustedCa<T>(caPem: string, fn: () => Promise<T>): Promise<T> {
  const previous = getGlobalDispatcher();
  const agent = new Agent({ connect: { ca: caPem } });
  setGlobalDispatcher(agent);
  try {
    return await fn();
  } finally {
    setGlobalDispatcher(previous);
    await agent.close();
  }
}

/** A forward HTTP proxy for tests. */
export interface TestProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Absolute-form request targets forwarded (`http://host:port/path`), in order. */
  readonly forwarded: string[];
  /** CONNECT targets tunnelled to (`host:port`), in order. */
  readonly connects: string[];
  /** Forgets what was seen. */
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Starts a forward HTTP proxy on 127.0.0.1: an absolute-form request (`GET http://host/…`) is
 * sent on to its target with node:http and the answer piped back; CONNECT opens a TCP tunnel;
 * an origin-form request (not meant for a proxy) gets 400. Both kinds are recorded.
 */
export async function startForwardProxy(): Promise<TestProxy> {
  const forwarded: string[] = [];
  const connects: string[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '';
    if (!/^http:\/\//i.test(target)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('test proxy: absolute-form requests only\n');
      return;
    }
    forwarded.push(target);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      pipeline(up, res).catch(() => undefined);
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`test proxy: ${e.message}\n`);
      else res.destroy(e);
    });
    pipeline(req, upstream).catch(() => undefined);
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = req.url ?? '';
    connects.push(target);
    const { hostname, port } = new URL(`http://${target}`);
    const upstream = connect(Number(port || 443), hostname.replace(/^\[|\]$/g, ''), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      pipeline(upstream, socket).catch(() => undefined);
      pipeline(socket, upstream).catch(() => undefined);
    });
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    connects,
    reset: () => {
      forwarded.length = 0;
      connects.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
