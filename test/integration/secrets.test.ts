/**
 * Secrets never leak: a distinctive password (and the tokens a registry hands out or the
 * config holds) driven through failure paths — token endpoint errors echoing the request,
 * registry errors echoing the Authorization header or the password in `errors[].code`, a realm
 * or redirect whose path holds a secret, a blob redirect to another host, a mirror URL with
 * user info, `--log-level debug`/`trace` — must appear in no stdout, stderr or report file,
 * in any encoding a server could echo, and the other host must never see the Authorization.
 * A real registry never echoes credentials: these are fault-server scenarios.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildImage } from '../helpers/image-builder.js';
import { sendBlob, startFaultRegistry, startServer, type TestServer } from '../helpers/fault-server.js';
import { runCli, tempDir } from '../helpers/scan.js';

const PASSWORD = 'Pa55-LEAK-CANARY-7f3a9c';
const TOKEN = 'tok-LEAK-CANARY-41d2e8';
const USER = 'ci';
const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const secrets = [PASSWORD, TOKEN, basic, Buffer.from(PASSWORD).toString('base64')];
const image = buildImage({ layers: [{ entries: [{ type: 'file', path: 'a', content: 'a' }] }] });
const layer = image.layers[0];

/** Echoes the request line and headers, as some broken servers do in their error bodies. */
function echo(req: IncomingMessage, res: ServerResponse, status: number): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `echo ${req.method ?? ''} ${req.url ?? ''}`, detail: req.headers }] }));
}

async function assertNoSecrets(r: { stdout: string; stderr: string }, reports: string, forms: readonly string[] = secrets): Promise<void> {
  const files = await readdir(reports).catch(() => [] as string[]);
  const contents = await Promise.all(files.map((f) => readFile(join(reports, f), 'utf8')));
  for (const s of forms) {
    assert.ok(!r.stdout.includes(s), `secret on stdout: ${r.stdout}`);
    assert.ok(!r.stderr.includes(s), `secret on stderr: ${r.stderr}`);
    for (const c of contents) assert.ok(!c.includes(s), 'secret in a report file');
  }
}

type Mode = 'token-500-echo' | 'registry-echo' | 'cross-host-redirect';

for (const mode of ['token-500-echo', 'registry-echo', 'cross-host-redirect'] as Mode[]) {
  test(`no secret leaks: ${mode}, --log-level debug`, async () => {
    assert.ok(layer);
    const { dir, cleanup } = await tempDir();
    const other: TestServer = await startServer((req, res) => echo(req, res, 500));
    const registry: TestServer = await startFaultRegistry({ repository: 'team/app', tag: '1.0', image }, (req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/token')) {
        if (mode === 'token-500-echo') echo(req, res, 500);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
        return true;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="${registry.url}/token",service="fuzz",scope="repository:team/app:pull"`,
            'content-type': 'application/json',
          })
          .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return true;
      }
      if (mode === 'registry-echo' && url.includes('/manifests/')) {
        echo(req, res, 500);
        return true;
      }
      if (mode === 'cross-host-redirect' && url.includes(layer.digest)) {
        res.writeHead(307, { location: `${other.url}/cdn/${layer.digest}?X-Token=${encodeURIComponent('signed')}` }).end();
        return true;
      }
      if (url.includes(layer.digest)) {
        sendBlob(req, res, layer.bytes);
        return true;
      }
      return false;
    });
    try {
      const reports = join(dir, 'reports');
      const r = await runCli([`${registry.host}/team/app:1.0`, '--reports-dir', reports, '--log-level', 'debug'], {
        env: { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { auth: basic } } }) },
        timeoutMs: 120_000,
      });
      assert.ok(r.code !== null && r.code >= 20 && r.code !== 23, `expected a pull failure, got ${String(r.code)}: ${r.stderr}`);
      assert.ok(
        registry.requests.some((q) => q.path.startsWith('/token')),
        'the token endpoint was asked',
      );
      await assertNoSecrets(r, reports);
      for (const q of other.requests) assert.equal(q.headers.authorization, undefined, 'Authorization sent to another host');
    } finally {
      await registry.stop();
      await other.stop();
      await cleanup();
    }
  });
}

/** The identity token and the registry token of the scenarios below. */
const IDENTITY = 'idtok-LEAK-CANARY-93be1f';
const REGISTRY_TOKEN = 'regtok-LEAK-CANARY-5c0d77';
const echoSecrets = [...secrets, `${USER}:${PASSWORD}`, basic.replace(/=+$/, ''), encodeURIComponent(PASSWORD), IDENTITY, REGISTRY_TOKEN];

/** Whatever the client sent that may carry a secret, as one string (header, decoded Basic pair, path, body). */
async function sentText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const auth = req.headers.authorization ?? '';
  const decoded = /^Basic /i.test(auth) ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
  return `${auth} ${decoded} ${req.url ?? ''} ${Buffer.concat(chunks).toString('utf8')}`;
}

interface Echo {
  /** The credential entry of DOCKER_AUTH_CONFIG. */
  readonly entry: Record<string, string>;
  /** Answers the registry's requests (the fault server answers the rest); `url` is the registry's own. */
  readonly fault: (req: IncomingMessage, res: ServerResponse, url: string) => Promise<boolean>;
}

const basicChallenge = (res: ServerResponse): void => void res.writeHead(401, { 'www-authenticate': 'Basic realm="echo"' }).end();

/**
 * Servers that put what they were sent into the text oci-scan shows or logs: the error code and
 * message of a 401 or 403, a token server's error details, a token realm, a redirect target.
 */
const echoes: Record<string, Echo> = {
  '401 whose errors[].code is the password and whose message is the Authorization header and the user:password pair': {
    entry: { auth: basic },
    fault: async (req, res) => {
      if (!req.headers.authorization) return (basicChallenge(res), true);
      if (!req.url?.includes('/manifests/')) return false;
      const sent = await sentText(req);
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: PASSWORD, message: `denied: ${sent}` }] }));
      return true;
    },
  },
  '403 quoting the user:password pair and the base64 of the password': {
    entry: { username: USER, password: PASSWORD },
    fault: async (req, res) => {
      if (!req.headers.authorization) return (basicChallenge(res), true);
      if (!req.url?.includes('/manifests/')) return false;
      const sent = await sentText(req);
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'DENIED', message: `${sent} ${Buffer.from(PASSWORD).toString('base64')}` }] }));
      return true;
    },
  },
  'token server 401 whose details echo the Basic header, under a realm whose path is the password': {
    entry: { auth: basic },
    fault: async (req, res, url) => {
      if (req.url?.startsWith('/t/')) {
        const sent = await sentText(req);
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: `bad credentials: ${sent}` }));
        return true;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/t/${PASSWORD}/token",service="echo"` }).end();
      return true;
    },
  },
  'token server echoing the form-encoded refresh token of an identitytoken': {
    entry: { identitytoken: IDENTITY },
    fault: async (req, res, url) => {
      if (req.url?.startsWith('/token')) {
        const sent = await sentText(req);
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid_grant', error_description: `unknown grant in ${sent}` }));
        return true;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/token",service="echo"` }).end();
      return true;
    },
  },
  'registry echoing a registrytoken, and redirecting to a path holding the token': {
    entry: { registrytoken: REGISTRY_TOKEN },
    fault: async (req, res, url) => {
      if (req.url === '/v2/') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/token",service="echo"` }).end();
        return true;
      }
      if (req.url?.includes('/manifests/')) {
        res.writeHead(307, { location: `/echo/${REGISTRY_TOKEN}/manifest` }).end();
        return true;
      }
      if (req.url?.startsWith('/echo/')) {
        const sent = await sentText(req);
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: sent }] }));
        return true;
      }
      return false;
    },
  },
};

for (const [name, scenario] of Object.entries(echoes)) {
  test(`no secret leaks when a server echoes it: ${name}, --log-level trace`, async () => {
    const { dir, cleanup } = await tempDir();
    const registry: TestServer = await startFaultRegistry({ repository: 'team/app', tag: '1.0', image }, (req, res) =>
      scenario.fault(req, res, registry.url),
    );
    try {
      const reports = join(dir, 'reports');
      const r = await runCli([`${registry.host}/team/app:1.0`, '--reports-dir', reports, '--log-level', 'trace'], {
        env: { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: scenario.entry } }) },
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 20, r.stderr);
      await assertNoSecrets(r, reports, echoSecrets);
      assert.match(r.stderr, /\*\*\*/, 'the echoed secret is shown scrubbed');
    } finally {
      await registry.stop();
      await cleanup();
    }
  });
}

test('a mirror URL with user:password@ is refused (exit 2) without showing the password', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const reports = join(dir, 'reports');
    for (const mirror of [`https://${USER}:${PASSWORD}@127.0.0.1:1`, `http://${USER}:${PASSWORD}=x@127.0.0.1:1/v2`]) {
      const r = await runCli(
        ['alpine:3.19', '--registry-mirror', `docker.io=${mirror}`, '--reports-dir', reports, '--log-level', 'trace'],
        { timeoutMs: 60_000 },
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /user info.*DOCKER_AUTH_CONFIG/);
      await assertNoSecrets(r, reports, echoSecrets);
    }
  } finally {
    await cleanup();
  }
});
