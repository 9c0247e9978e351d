/**
 * A small Distribution token server for tests (docs: distribution "Token Authentication
 * Specification" and "OAuth2 Token"): GET with Basic credentials or anonymously, POST with an
 * OAuth2 refresh_token or password grant. It signs RS256 JWTs carrying an `x5c` header with a
 * self-signed certificate made by `openssl req -x509`; the registry trusts that certificate
 * through `auth.token.rootcertbundle`.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One request the token server saw (for assertions). */
export interface TokenRequest {
  readonly method: string;
  readonly scopes: string[];
  readonly user?: string;
  readonly grantType?: string;
  readonly hadAuthorization: boolean;
}

/** Options of the token server. */
export interface TokenServerOptions {
  /** Directory for the key and certificate. */
  readonly dir: string;
  /** user → password. */
  readonly users: Readonly<Record<string, string>>;
  /** refresh token → user, for the OAuth2 refresh_token grant (identitytoken). */
  readonly refreshTokens?: Readonly<Record<string, string>>;
  /** Anonymous callers get pull access (default true). */
  readonly anonymousPull?: boolean;
  /** Which field carries the token (default both). */
  readonly field?: 'token' | 'access_token' | 'both';
  /** Token lifetime in seconds (default 300). */
  readonly expiresIn?: number;
  /** Address to listen on (default 127.0.0.1; any 127.0.0.0/8 address reaches loopback on Linux). */
  readonly address?: string;
  /** Host name the realm names instead of the address (for resolver tests). */
  readonly realmHost?: string;
}

/** A running token server. */
export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate the registry must trust. */
  readonly certFile: string;
  readonly requests: TokenRequest[];
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function makeJwt(key: KeyObject, certDer: string, claims: object): string {
  const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), key);
  return `${head}.${body}.${b64url(signature)}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the token server on `options.address` (default 127.0.0.1), random port. */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const keyFile = join(options.dir, 'token-key.pem');
  const certFile = join(options.dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=oci-scan test token issuer',
    ],
    { stdio: 'ignore' },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = readFileSync(certFile, 'utf8')
    .replace(/-----[A-Z ]+-----/g, '')
    .replace(/\s+/g, '');
  const service = 'oci-scan-test-registry';
  const issuer = 'oci-scan-test-issuer';
  const requests: TokenRequest[] = [];

  const grant = (res: ServerResponse, user: string | undefined, scopes: string[], oauth: boolean): void => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = (rest.pop() ?? '').split(',');
      const name = rest.join(':');
      if (type !== 'repository' || name === '') return [];
      const allowed =
        user !== undefined
          ? actions.filter((a) => a === 'pull' || a === 'push')
          : options.anonymousPull === false
            ? []
            : actions.filter((a) => a === 'pull');
      return allowed.length > 0 ? [{ type, name, actions: allowed }] : [];
    });
    const expiresIn = options.expiresIn ?? 300;
    const jwt = makeJwt(key, certDer, {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    });
    const field = options.field ?? 'both';
    const body: Record<string, unknown> = { expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() };
    if (field !== 'access_token' && !oauth) body.token = jwt;
    if (field !== 'token' || oauth) body.access_token = jwt;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const deny = (res: ServerResponse): void => {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/token') {
        res.writeHead(404).end();
        return;
      }
      const authHeader = req.headers.authorization;
      if (req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const grantType = form.get('grant_type') ?? undefined;
        let user: string | undefined;
        if (grantType === 'refresh_token') user = options.refreshTokens?.[form.get('refresh_token') ?? ''];
        else if (grantType === 'password' && options.users[form.get('username') ?? ''] === form.get('password'))
          user = form.get('username') ?? undefined;
        requests.push({
          method: 'POST',
          scopes,
          ...(user ? { user } : {}),
          ...(grantType ? { grantType } : {}),
          hadAuthorization: authHeader !== undefined,
        });
        if (!user) return deny(res);
        return grant(res, user, scopes, true);
      }
      const scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      let user: string | undefined;
      if (authHeader) {
        const m = /^Basic (.+)$/i.exec(authHeader);
        const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        const name = decoded.slice(0, colon);
        if (colon < 0 || options.users[name] !== decoded.slice(colon + 1)) {
          requests.push({ method: 'GET', scopes, hadAuthorization: true });
          return deny(res);
        }
        user = name;
      }
      requests.push({ method: 'GET', scopes, ...(user ? { user } : {}), hadAuthorization: authHeader !== undefined });
      return grant(res, user, scopes, false);
    })().catch(() => res.destroy());
  });
  const address = options.address ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://${options.realmHost ?? address}:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
