/**
 * The token-realm guard: https only (http only for a plain-HTTP registry), no user info, and no
 * loopback/private address — by name, by literal address, or by any address the name resolves
 * to — unless the registry itself is on one. Resolution is injected (documentation-range
 * addresses stand for public hosts), except for `localhost.`, which needs no resolver.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import pino from 'pino';
import { parseChallenges } from '../../../src/auth/challenge.js';
import { Credential } from '../../../src/auth/credentials.js';
import { checkRealm, isLoopbackOrPrivate, type HostResolver, type RealmPolicy, type ResolvedAddress } from '../../../src/auth/realm.js';
import { Authenticator } from '../../../src/auth/token.js';
import { isOciScanError, type ErrorCode } from '../../../src/errors.js';

const PUBLIC: ResolvedAddress = { address: '203.0.113.10', family: 4 };

/** A resolver from a table; records every name it was asked for. */
function resolver(table: Record<string, readonly ResolvedAddress[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = (name: string): Promise<readonly ResolvedAddress[]> => {
    asked.push(name);
    const answer = table[name];
    return answer
      ? Promise.resolve(answer)
      : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
  };
  return Object.assign(resolve, { asked });
}

function publicRegistry(resolve: HostResolver, extra: Partial<RealmPolicy> = {}): RealmPolicy & { privacyAsked: () => number } {
  let asked = 0;
  return {
    registry: 'ghcr.io',
    plainHttp: false,
    registryIsPrivate: () => {
      asked++;
      return Promise.resolve(false);
    },
    resolve,
    privacyAsked: () => asked,
    ...extra,
  };
}

async function refused(realm: string, policy: RealmPolicy, why: RegExp, code: ErrorCode = 'REGISTRY_ERROR'): Promise<void> {
  await assert.rejects(checkRealm(realm, policy), (e: unknown) => {
    assert.ok(isOciScanError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, why);
    return true;
  });
}

test('realm literals: https only, no user info, no loopback/private address for a public registry', async () => {
  const policy = publicRegistry(resolver({ 'auth.example.com': [PUBLIC] }));
  await refused('http://auth.example.com/token', policy, /not https/);
  await refused('https://user:pw@auth.example.com/token', policy, /user info/);
  await refused('not a url', policy, /not a URL/);
  for (const realm of [
    'https://127.0.0.1/token',
    'https://10.1.2.3/token',
    'https://[::1]:8443/token',
    'https://169.254.169.254/latest',
    'https://localhost/token',
    'https://[::ffff:127.0.0.1]/t',
    'https://0x7f000001/t',
  ]) {
    await refused(realm, policy, /loopback\/private/);
  }
  // a local, plain-HTTP registry may use a local plain-HTTP token server
  const local = await checkRealm('http://127.0.0.1:9999/token', {
    registry: '127.0.0.1:5000',
    plainHttp: true,
    registryIsPrivate: () => Promise.resolve(true),
  });
  assert.equal(local.url.host, '127.0.0.1:9999');
  assert.equal(local.pin, undefined, 'an address literal needs no pin');
});

test('realm names: every address the name resolves to is checked; the first is returned to pin the connection to', async () => {
  const resolve = resolver({
    'auth.example.com': [PUBLIC, { address: '2001:db8::10', family: 6 }],
    'rebind.example.com': [PUBLIC, { address: '10.0.0.8', family: 4 }],
    'v6-internal.example.com': [{ address: 'fd12::1', family: 6 }],
    'mapped.example.com': [{ address: '::ffff:7f00:1', family: 6 }],
    'nat64.example.com': [{ address: '64:ff9b::a00:1', family: 6 }],
  });
  const policy = publicRegistry(resolve);
  const ok = await checkRealm('https://auth.example.com/token', policy);
  assert.deepEqual(ok.pin, PUBLIC);
  assert.equal(policy.privacyAsked(), 0, 'a public realm does not even ask whether the registry is private');
  await refused('https://rebind.example.com/token', policy, /rebind\.example\.com, which resolves to 10\.0\.0\.8/);
  await refused('https://v6-internal.example.com/token', policy, /resolves to fd12::1/);
  await refused('https://mapped.example.com/token', policy, /resolves to ::ffff:7f00:1/);
  await refused('https://nat64.example.com/token', policy, /resolves to 64:ff9b::a00:1/);
  // the same names are fine when the registry itself is on a private network
  const internal = await checkRealm('https://rebind.example.com/token', { ...policy, registryIsPrivate: () => Promise.resolve(true) });
  assert.deepEqual(internal.pin, PUBLIC);
});

test('localhost. (trailing dot) is localhost: refused by name, before any resolution', async () => {
  const resolve = resolver({});
  const policy = publicRegistry(resolve);
  for (const realm of ['https://localhost./token', 'https://LOCALHOST../token', 'https://auth.localhost./token'])
    await refused(realm, policy, /loopback\/private/);
  assert.deepEqual(resolve.asked, []);
  // and with the system resolver, whatever it answers for it
  await refused(
    'https://localhost.:8443/token',
    { registry: 'ghcr.io', plainHttp: false, registryIsPrivate: () => Promise.resolve(false) },
    /loopback\/private/,
  );
});

test('a realm name that does not resolve: NETWORK, unless a proxy (which resolves names itself) carries the request', async () => {
  const policy = publicRegistry(resolver({}));
  await refused('https://nowhere.example.com/token', policy, /could not be resolved \(ENOTFOUND\)/, 'NETWORK');
  const viaProxy = await checkRealm('https://nowhere.example.com/token', { ...policy, viaProxy: true });
  assert.equal(viaProxy.pin, undefined);
});

test('no credentials are sent to a realm that resolves to a private address', async () => {
  let calls = 0;
  const auth = new Authenticator({
    policy: publicRegistry(resolver({ 'auth.example.com': [{ address: '192.168.1.20', family: 4 }] })),
    credential: new Credential('basic', 'ci', 'pw-for-the-registry', 'test'),
    http: () => {
      calls++;
      return Promise.resolve({ status: 200, body: Buffer.from('{"token":"t"}') });
    },
    logger: pino({ level: 'silent' }),
  });
  await assert.rejects(
    auth.authorization(parseChallenges('Bearer realm="https://auth.example.com/token",service="s"'), ['repository:a:pull'], false),
    (e: unknown) => isOciScanError(e, 'REGISTRY_ERROR'),
  );
  assert.equal(calls, 0);
});

test('isLoopbackOrPrivate: names, literals, IPv4-mapped and NAT64 forms', () => {
  for (const h of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a00:1',
    '[::1]',
    'LOCALHOST',
    'localhost.',
    'x.localhost',
    'x.localhost.',
  ]) {
    assert.ok(isLoopbackOrPrivate(h), h);
  }
  for (const h of ['8.8.8.8', 'ghcr.io', '172.32.0.1', '2001:4860::1', '64:ff9b::808:808', 'localhost.example.com'])
    assert.ok(!isLoopbackOrPrivate(h), h);
});
