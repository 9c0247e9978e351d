/**
 * Secrets never leak: a distinctive password (and the token a registry hands out) driven
 * through failure paths — token endpoint 500 echoing the request, registry errors echoing the
 * request, a blob redirect to another host, `--log-level debug` — must appear in no stdout,
 * stderr or report file, and the other host must never see the registry's Authorization.
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
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `echo ${req.method ?? ''} ${req.url ?? ''}`, detail: req.headers }] }));
}

async function assertNoSecrets(r: { stdout: string; stderr: string }, reports: string): Promise<void> {
  const files = await readdir(reports).catch(() => [] as string[]);
  const contents = await Promise.all(files.map((f) => readFile(join(reports, f), 'utf8')));
  for (const s of secrets) {
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
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${registry.url}/token",service="fuzz",scope="repository:team/app:pull"`, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
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
      assert.ok(registry.requests.some((q) => q.path.startsWith('/token')), 'the token endpoint was asked');
      await assertNoSecrets(r, reports);
      for (const q of other.requests) assert.equal(q.headers.authorization, undefined, 'Authorization sent to another host');
    } finally {
      await registry.stop();
      await other.stop();
      await cleanup();
    }
  });
}
