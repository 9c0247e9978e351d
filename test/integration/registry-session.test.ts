/**
 * A run's registry session: scanning several images of one registry pings it once, runs its
 * credential helper once and shares tokens between repositories' requests, counted on a real
 * registry (docker-registry, htpasswd and token set-ups) through a counting proxy in front of
 * it, and with a `docker-credential-NAME` script on PATH that records each run.
 *
 * Provenance: images by test/helpers/image-builder.ts, pushed with test/helpers/push.ts
 * straight to the registry (not through the proxy, so that only the scans are counted).
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSession } from '../../src/registry/session.js';
import { scan, type ScanOptions } from '../../src/scan.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, TEST_PASSWORD, TEST_USER, type RunningRegistry } from '../helpers/registry-server.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const creds = { username: TEST_USER, password: TEST_PASSWORD };
const app = buildImage({
  config: { User: 'app' },
  layers: [{ entries: [{ type: 'file', path: 'app/server', mode: 0o755, content: 'server' }] }],
});
const tools = buildImage({
  config: { User: 'tools' },
  layers: [{ entries: [{ type: 'file', path: 'usr/bin/tool', mode: 0o755, content: 'tool' }] }],
});

/** Scans `refs` one after another, with the options given; returns the config digests scanned. */
async function scanAll(refs: readonly string[], options: ScanOptions): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs) for (const s of await scan(ref, options)) out.push(s.image.configDigest);
  return out;
}

describeOrSkip('registry session: htpasswd registry, credentials from a credential helper', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: CountingProxy;
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let options: ScanOptions;
  let helperLog = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-session-'));
    registry = await startRegistry({ kind: 'htpasswd' });
    await new Pusher(registry.url, 'team/app', creds).image(app, '1.0');
    await new Pusher(registry.url, 'team/tools', creds).image(tools, '1.0');
    proxy = await startCountingProxy(registry.url);
    // A credential helper that records every run (the server it was asked for) and answers with the test user.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    helperLog = join(dir, 'helper-runs');
    const helper = join(bin, 'docker-credential-counting');
    await writeFile(
      helper,
      `#!/bin/sh\nread -r server || true\necho "$server" >> "${helperLog}"\nprintf '{"ServerURL":"%s","Username":"${TEST_USER}","Secret":"${TEST_PASSWORD}"}' "$server"\n`,
    );
    await chmod(helper, 0o755);
    const config = join(dir, 'docker');
    await mkdir(config);
    await writeFile(join(config, 'config.json'), JSON.stringify({ credHelpers: { [proxy.host]: 'counting' } }));
    options = testScanOptions({
      registry: {
        insecureRegistries: [],
        mirrors: {},
        env: { HOME: '/nonexistent-home-for-tests', DOCKER_CONFIG: config, PATH: `${bin}:/usr/bin:/bin` },
      },
    });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup();
  });

  const helperRuns = async (): Promise<string[]> => (await readFile(helperLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  test('two images of two repositories in one session: one ping, one credential helper run', async () => {
    const pingsBefore = proxy.count('GET', '/v2/');
    const runsBefore = (await helperRuns()).length;
    const session = openSession({ registry: options.registry, logger: options.logger });
    try {
      const scanned = await scanAll([`${proxy.host}/team/app:1.0`, `${proxy.host}/team/tools:1.0`], { ...options, session });
      assert.deepEqual(scanned, [app.configDigest, tools.configDigest]);
    } finally {
      await session.close();
    }
    assert.equal(proxy.count('GET', '/v2/') - pingsBefore, 1, 'one ping for the registry');
    assert.deepEqual((await helperRuns()).slice(runsBefore), [proxy.host], 'the helper ran once, for this registry');
    assert.equal(proxy.count('GET', `/v2/team/app/manifests/1.0`) + proxy.count('GET', `/v2/team/tools/manifests/1.0`), 2);
  });

  test('without a shared session each scan opens (and closes) its own: a ping and a helper run each', async () => {
    const pingsBefore = proxy.count('GET', '/v2/');
    const runsBefore = (await helperRuns()).length;
    await scanAll([`${proxy.host}/team/app:1.0`, `${proxy.host}/team/tools:1.0`], options);
    assert.equal(proxy.count('GET', '/v2/') - pingsBefore, 2);
    assert.equal((await helperRuns()).length - runsBefore, 2);
  });
});

describeOrSkip('registry session: token registry', { skip }, () => {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let proxy: CountingProxy;
  let cleanup: () => Promise<void> = async () => undefined;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('oci-scan-session-token-'));
    tokens = await startTokenServer({ dir, users: { [TEST_USER]: TEST_PASSWORD }, anonymousPull: true });
    registry = await startRegistry({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.certFile,
    });
    const pusher = new Pusher(registry.url, 'team/app', creds);
    await pusher.image(app, '1.0');
    await pusher.image(tools, '2.0');
    await new Pusher(registry.url, 'team/tools', creds).image(tools, '1.0');
    proxy = await startCountingProxy(registry.url);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
    await cleanup();
  });

  test('tokens are cached for the session: one per repository however many of its images are scanned, one ping', async () => {
    const options = testScanOptions();
    const before = tokens.requests.length;
    const session = openSession({ registry: options.registry, logger: options.logger });
    try {
      const scanned = await scanAll([`${proxy.host}/team/app:1.0`, `${proxy.host}/team/app:2.0`, `${proxy.host}/team/tools:1.0`], {
        ...options,
        session,
      });
      assert.deepEqual(scanned, [app.configDigest, tools.configDigest, tools.configDigest]);
    } finally {
      await session.close();
    }
    assert.deepEqual(
      tokens.requests.slice(before).map((r) => r.scopes),
      [['repository:team/app:pull'], ['repository:team/tools:pull']],
    );
    assert.equal(proxy.count('GET', '/v2/'), 1);
  });
});
