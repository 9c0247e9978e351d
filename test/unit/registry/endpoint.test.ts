import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { isOciScanError } from '../../../src/errors.js';
import { resolveEndpoint, splitHostPort, usesPlainHttp } from '../../../src/registry/endpoint.js';
import { isRetryableNetworkError } from '../../../src/registry/http/network.js';
import { DEFAULT_TRANSPORT } from '../../../src/registry/options.js';
import { isRetryableStatus, parseRetryAfter, retryDelay } from '../../../src/registry/retry.js';

test('plain HTTP only for the local machine and --insecure-registry hosts', async (t) => {
  const table: Array<[host: string, insecure: string[], plain: boolean]> = [
    ['localhost', [], true],
    ['localhost:5000', [], true],
    ['127.0.0.1:5000', [], true],
    ['[::1]:5000', [], true],
    ['registry.local:5000', [], false],
    ['registry.local:5000', ['registry.local:5000'], true],
    ['registry.local:5000', ['registry.local'], true],
    ['registry.local:5001', ['registry.local:5000'], false],
    ['registry.local', ['http://registry.local/'], true],
    ['ghcr.io', ['registry.local'], false],
    ['127.0.0.2:5000', [], false],
  ];
  for (const [host, insecure, plain] of table) {
    await t.test(`${host} with ${insecure.join(',') || 'none'}`, () => assert.equal(usesPlainHttp(host, insecure), plain));
  }
});

test('endpoints: Hub API host, mirrors keyed by any Hub alias, scheme on the mirror', () => {
  const none = { mirrors: {}, insecureRegistries: [] };
  assert.deepEqual(resolveEndpoint('docker.io', none), { host: 'registry-1.docker.io', plainHttp: false });
  assert.deepEqual(resolveEndpoint('ghcr.io', none), { host: 'ghcr.io', plainHttp: false });
  assert.deepEqual(resolveEndpoint('localhost:5000', none), { host: 'localhost:5000', plainHttp: true });
  assert.deepEqual(resolveEndpoint('registry.local:5000', { mirrors: {}, insecureRegistries: ['registry.local:5000'] }), {
    host: 'registry.local:5000',
    plainHttp: true,
  });
  assert.deepEqual(resolveEndpoint('docker.io', { mirrors: { 'docker.io': 'mirror.local:5000' }, insecureRegistries: [] }), {
    host: 'mirror.local:5000',
    plainHttp: false,
    mirrorOf: 'docker.io',
  });
  assert.deepEqual(resolveEndpoint('docker.io', { mirrors: { 'index.docker.io': 'http://mirror.local:5000' }, insecureRegistries: [] }), {
    host: 'mirror.local:5000',
    plainHttp: true,
    mirrorOf: 'docker.io',
  });
  assert.deepEqual(
    resolveEndpoint('docker.io', { mirrors: { 'docker.io': 'mirror.local:5000' }, insecureRegistries: ['mirror.local:5000'] }),
    { host: 'mirror.local:5000', plainHttp: true, mirrorOf: 'docker.io' },
  );
  assert.deepEqual(resolveEndpoint('quay.io', { mirrors: { 'docker.io': 'mirror.local:5000' }, insecureRegistries: [] }), {
    host: 'quay.io',
    plainHttp: false,
  });
});

test('mirror URLs with user info are refused, never quoted, whichever registry is scanned', () => {
  for (const target of [
    'https://ci:Mirr0r-Secret@mirror.local:5000',
    'ci:Mirr0r-Secret@mirror.local',
    'http://Mirr0r-Secret@mirror.local/v2/',
  ]) {
    for (const registry of ['docker.io', 'ghcr.io']) {
      assert.throws(
        () => resolveEndpoint(registry, { mirrors: { 'docker.io': target }, insecureRegistries: [] }),
        (e: unknown) =>
          isOciScanError(e, 'USAGE') && /user info.*DOCKER_AUTH_CONFIG/.test(e.message) && !e.message.includes('Mirr0r-Secret'),
        `${target} for ${registry}`,
      );
    }
  }
  assert.throws(
    () => resolveEndpoint('docker.io', { mirrors: { 'docker.io': 'not a host' }, insecureRegistries: [] }),
    (e: unknown) => isOciScanError(e, 'USAGE'),
  );
  assert.deepEqual(
    resolveEndpoint('docker.io', { mirrors: { 'docker.io': 'https://mirror.local:5000/some/path' }, insecureRegistries: [] }),
    { host: 'mirror.local:5000', plainHttp: false, mirrorOf: 'docker.io' },
  );
  assert.deepEqual(resolveEndpoint('docker.io', { mirrors: { 'docker.io': '[::1]:5000' }, insecureRegistries: [] }), {
    host: '[::1]:5000',
    plainHttp: true,
    mirrorOf: 'docker.io',
  });
});

test('retry decisions: statuses, network codes, Retry-After, capped backoff', () => {
  for (const s of [429, 500, 502, 503, 504, 408]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [200, 400, 401, 403, 404, 501]) assert.ok(!isRetryableStatus(s), String(s));
  assert.ok(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
  assert.ok(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' })));
  assert.ok(isRetryableNetworkError({ cause: { code: 'UND_ERR_BODY_TIMEOUT' } }));
  assert.ok(!isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })));
  assert.ok(!isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })));
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(['7', '9']), 7000);
  assert.equal(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000), 5000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(retryDelay(0, DEFAULT_TRANSPORT, 3_600_000), DEFAULT_TRANSPORT.maxRetryDelayMs, 'Retry-After is capped');
  assert.ok(retryDelay(20, DEFAULT_TRANSPORT) <= DEFAULT_TRANSPORT.maxRetryDelayMs);
  const first = retryDelay(0, DEFAULT_TRANSPORT);
  assert.ok(first >= 375 && first <= 625, String(first));
  assert.deepEqual(
    [0, 0.5, 0.999].map((r) => retryDelay(1, DEFAULT_TRANSPORT, undefined, r)),
    [750, 1000, 1250],
    'jitter: ×0.75 … ×1.25',
  );
  assert.deepEqual(splitHostPort('[::1]:5000'), { hostname: '::1', port: '5000' });
  assert.deepEqual(splitHostPort('host:5000'), { hostname: 'host', port: '5000' });
  assert.deepEqual(splitHostPort('host'), { hostname: 'host' });
});
