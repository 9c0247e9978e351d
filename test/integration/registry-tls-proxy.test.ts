/**
 * The built CLI against a real docker-registry in two set-ups the other tests do not cover:
 * HTTPS with a private CA (trusted through --ca-file or NODE_EXTRA_CA_CERTS, and refused with
 * a one-line hint when neither is given), and a forward HTTP proxy from HTTP_PROXY / NO_PROXY.
 *
 * The HTTPS registry listens on 127.0.0.2: any 127.0.0.0/8 address reaches loopback on
 * Linux, and 127.0.0.2 is not in oci-scan's plain-HTTP list, so HTTPS is spoken. The proxy
 * tests use a plain-HTTP registry on 127.0.0.1 (undici's EnvHttpProxyAgent has no loopback
 * exception: only NO_PROXY bypasses the proxy).
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { makeTestPki, startForwardProxy, withTrustedCa, type TestPki, type TestProxy } from '../helpers/tls.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();

// Provenance: built by image-builder.ts. A clean image (non-root user, labels, one layer, CMD): exit 0.
const clean = buildImage({
  config: {
    User: '1000:1000',
    Cmd: ['/app'],
    Labels: { 'org.opencontainers.image.vendor': 'v', 'org.opencontainers.image.version': '1', component: 'c', product: 'p' },
  },
  layers: [{ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'app' }] }],
});

/** Proxy / CA / auth variables of the outer environment, removed so they cannot leak into the CLI. */
const NEUTRAL_ENV: Record<string, string | undefined> = {
  HOME: '/nonexistent-home-for-tests',
  HTTP_PROXY: undefined,
  HTTPS_PROXY: undefined,
  NO_PROXY: undefined,
  http_proxy: undefined,
  https_proxy: undefined,
  no_proxy: undefined,
  ALL_PROXY: undefined,
  all_proxy: undefined,
  NODE_EXTRA_CA_CERTS: undefined,
  NODE_TLS_REJECT_UNAUTHORIZED: undefined,
  SSL_CERT_FILE: undefined,
  SSL_CERT_DIR: undefined,
};

function cli(args: readonly string[], env: Record<string, string> = {}): ReturnType<typeof runCli> {
  return runCli(args, { env: { ...NEUTRAL_ENV, ...env }, timeoutMs: 60_000 });
}

async function assertCleanReport(reports: string, reference: string): Promise<void> {
  assert.deepEqual(await readdir(reports), ['team_app_1.0-compliance.json']);
  const report = JSON.parse(await readFile(join(reports, 'team_app_1.0-compliance.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(report), [reference]);
}

describeOrSkip('CLI against an HTTPS registry with a private CA', { skip }, () => {
  let pki: TestPki;
  let registry: RunningRegistry;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let ref: string;
  before(async () => {
    work = await tempDir('oci-scan-tls-');
    pki = await makeTestPki('127.0.0.2');
    registry = await startRegistry({ kind: 'none' }, { address: '127.0.0.2', tls: pki });
    await withTrustedCa(pki.caPem, () => new Pusher(registry.url, 'team/app').image(clean, '1.0'));
    ref = `${registry.host}/team/app:1.0`;
  });
  after(async () => {
    await registry?.stop();
    await pki?.cleanup();
    await work?.cleanup();
  });

  test('--ca-file ca.pem: the scan succeeds over HTTPS, exit 0, report written', async () => {
    const reports = join(work.dir, 'ca-file');
    const r = await cli([ref, '--ca-file', pki.caFile, '--reports-dir', reports]);
    assert.equal(r.code, 0, r.stderr);
    await assertCleanReport(reports, ref);
  });

  test('no CA given: exit 20, one stderr line naming the certificate problem and the fix, no stack trace', async () => {
    const reports = join(work.dir, 'untrusted');
    const r = await cli([ref, '--reports-dir', reports]);
    assert.equal(r.code, 20, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const line = lines[0] ?? '';
    assert.ok(line.includes(registry.host), line);
    assert.match(line, /certificate/i, 'says it is a certificate problem');
    assert.match(line, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/, 'keeps the TLS error code');
    assert.match(line, /--ca-file/, 'says what to do');
    assert.match(line, /NODE_EXTRA_CA_CERTS/, 'says what to do');
    assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
    assert.deepEqual(await readdir(reports).catch(() => []), [], 'no report');
  });

  test('NODE_EXTRA_CA_CERTS=ca.pem instead of --ca-file: the scan succeeds', async () => {
    const reports = join(work.dir, 'extra-ca');
    const r = await cli([ref, '--reports-dir', reports], { NODE_EXTRA_CA_CERTS: pki.caFile });
    assert.equal(r.code, 0, r.stderr);
    await assertCleanReport(reports, ref);
  });

  test('--ca-file through HTTP_PROXY: HTTPS is tunnelled with CONNECT and the CA still applies', async () => {
    const proxy = await startForwardProxy();
    try {
      const reports = join(work.dir, 'tunnel');
      const r = await cli([ref, '--ca-file', pki.caFile, '--reports-dir', reports], { HTTP_PROXY: proxy.url });
      assert.equal(r.code, 0, r.stderr);
      await assertCleanReport(reports, ref);
      assert.ok(proxy.connects.length > 0 && proxy.connects.every((t) => t === registry.host), proxy.connects.join(', '));
      assert.deepEqual(proxy.forwarded, [], 'HTTPS is never sent to the proxy in the clear');
    } finally {
      await proxy.stop();
    }
  });
});

describeOrSkip('CLI through a forward HTTP proxy (HTTP_PROXY, NO_PROXY)', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: TestProxy;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let ref: string;
  before(async () => {
    work = await tempDir('oci-scan-proxy-');
    registry = await startRegistry({ kind: 'none' });
    await new Pusher(registry.url, 'team/app').image(clean, '1.0');
    proxy = await startForwardProxy();
    ref = `${registry.host}/team/app:1.0`;
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await work?.cleanup();
  });

  test('HTTP_PROXY: every registry request goes through the proxy in absolute form, the scan succeeds', async () => {
    proxy.reset();
    const reports = join(work.dir, 'proxied');
    const r = await cli([ref, '--reports-dir', reports], { HTTP_PROXY: proxy.url });
    assert.equal(r.code, 0, `${r.stderr}\nCONNECTs seen by the proxy: ${proxy.connects.join(', ')}`);
    await assertCleanReport(reports, ref);
    assert.deepEqual(proxy.connects, [], 'plain HTTP is forwarded, not tunnelled with CONNECT');
    const base = `http://${registry.host}/v2/`;
    assert.ok(proxy.forwarded.length > 0, 'the proxy saw requests');
    for (const url of proxy.forwarded) assert.ok(url.startsWith(base), url);
    assert.ok(
      proxy.forwarded.some((u) => u.includes('/manifests/1.0')),
      proxy.forwarded.join('\n'),
    );
    assert.ok(
      proxy.forwarded.some((u) => u.includes(`/blobs/${clean.layers[0]?.digest ?? 'missing'}`)),
      proxy.forwarded.join('\n'),
    );
  });

  test('lower-case http_proxy is honoured too', async () => {
    proxy.reset();
    const r = await cli([ref, '--reports-dir', join(work.dir, 'lower')], { http_proxy: proxy.url });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(proxy.forwarded.length > 0, 'the proxy saw requests');
  });

  test('HTTP_PROXY with NO_PROXY=127.0.0.1: the proxy sees nothing, the scan succeeds', async () => {
    proxy.reset();
    const reports = join(work.dir, 'bypassed');
    const r = await cli([ref, '--reports-dir', reports], { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    assert.equal(r.code, 0, r.stderr);
    await assertCleanReport(reports, ref);
    assert.deepEqual(proxy.forwarded, []);
    assert.deepEqual(proxy.connects, []);
  });
});
