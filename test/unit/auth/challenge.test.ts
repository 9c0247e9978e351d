import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import pino from 'pino';
import { parseChallenges } from '../../../src/auth/challenge.js';
import { Credential } from '../../../src/auth/credentials.js';
import type { RealmPolicy } from '../../../src/auth/realm.js';
import { Authenticator, type TokenHttp } from '../../../src/auth/token.js';
import { isOciScanError } from '../../../src/errors.js';

const cases: Array<[name: string, headers: string | string[], expected: Array<{ scheme: string; params: Record<string, string> }>]> = [
  [
    'bearer as Distribution sends it',
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
      },
    ],
  ],
  ['basic', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  [
    'two challenges in one header',
    'Bearer realm="https://a/token",service="s", Basic realm="r"',
    [
      { scheme: 'bearer', params: { realm: 'https://a/token', service: 's' } },
      { scheme: 'basic', params: { realm: 'r' } },
    ],
  ],
  [
    'several headers',
    ['Basic realm="r"', 'Bearer realm="https://a/t"'],
    [
      { scheme: 'basic', params: { realm: 'r' } },
      { scheme: 'bearer', params: { realm: 'https://a/t' } },
    ],
  ],
  [
    'token68 challenge skipped over',
    'Negotiate abc123==, Bearer realm="https://a/t"',
    [
      { scheme: 'negotiate', params: {} },
      { scheme: 'bearer', params: { realm: 'https://a/t' } },
    ],
  ],
  [
    'unquoted values, odd spacing and case',
    'BEARER  Realm=https://a/t ,  Service=svc',
    [{ scheme: 'bearer', params: { realm: 'https://a/t', service: 'svc' } }],
  ],
  [
    'escaped quote and comma inside quotes',
    'Bearer realm="https://a/t",error="x \\"y\\", z"',
    [{ scheme: 'bearer', params: { realm: 'https://a/t', error: 'x "y", z' } }],
  ],
  [
    'insufficient_scope with several scopes',
    'Bearer realm="https://a/t",scope="repository:a:pull repository:b:pull",error="insufficient_scope"',
    [{ scheme: 'bearer', params: { realm: 'https://a/t', scope: 'repository:a:pull repository:b:pull', error: 'insufficient_scope' } }],
  ],
  ['garbage does not throw', '=,,"', []],
];

test('WWW-Authenticate parsing', async (t) => {
  for (const [name, headers, expected] of cases) {
    await t.test(name, () => {
      assert.deepEqual(
        parseChallenges(headers).map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
        expected,
      );
    });
  }
  assert.deepEqual(parseChallenges(undefined), []);
});

function fakeTokenHttp(answers: Array<{ status: number; body: object | string }>): {
  http: TokenHttp;
  calls: Array<{ url: URL; method: string; headers: Record<string, string>; body?: string; pin?: { address: string } }>;
} {
  const calls: Array<{ url: URL; method: string; headers: Record<string, string>; body?: string; pin?: { address: string } }> = [];
  const http: TokenHttp = (url, init, pin) => {
    calls.push({ url, ...init, ...(pin ? { pin } : {}) });
    const a = answers.shift() ?? { status: 500, body: '' };
    return Promise.resolve({ status: a.status, body: Buffer.from(typeof a.body === 'string' ? a.body : JSON.stringify(a.body)) });
  };
  return { http, calls };
}

// auth.example.com is given a public address (documentation range) instead of a DNS answer.
const policy: RealmPolicy = {
  registry: 'reg.example.com',
  plainHttp: false,
  registryIsPrivate: () => Promise.resolve(false),
  resolve: () => Promise.resolve([{ address: '203.0.113.10', family: 4 }]),
};
const bearer = parseChallenges('Bearer realm="https://auth.example.com/token",service="reg"');
const logger = pino({ level: 'silent' });

test('bearer: basic credentials on GET, token or access_token accepted, cached per scope until expires_in', async () => {
  let now = 1_000_000;
  const { http, calls } = fakeTokenHttp([
    { status: 200, body: { access_token: 'AT-1', expires_in: 120 } },
    { status: 200, body: { token: 'T-2' } },
    { status: 200, body: { token: 'T-3', expires_in: 120 } },
  ]);
  const auth = new Authenticator({ policy, credential: new Credential('basic', 'u', 'pw-secret', 'test'), http, logger, now: () => now });
  assert.equal(await auth.authorization(bearer, ['repository:a:pull'], false), 'Bearer AT-1');
  assert.equal(await auth.authorization(bearer, ['repository:a:pull'], false), 'Bearer AT-1', 'cached');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.headers.authorization, `Basic ${Buffer.from('u:pw-secret').toString('base64')}`);
  assert.equal(calls[0]?.url.searchParams.get('service'), 'reg');
  assert.equal(calls[0]?.url.searchParams.get('scope'), 'repository:a:pull');
  assert.equal(await auth.authorization(bearer, ['repository:b:pull'], false), 'Bearer T-2', 'another scope, another token');
  now += 121_000;
  assert.equal(await auth.authorization(bearer, ['repository:a:pull'], false), 'Bearer T-3', 'expired: fetched again');
  assert.equal(auth.scrub('x AT-1 y pw-secret'), 'x *** y ***');
  assert.deepEqual(
    calls.map((c) => c.pin?.address),
    ['203.0.113.10', '203.0.113.10', '203.0.113.10'],
    'each token request pinned to the checked address',
  );
});

test('bearer: anonymous without credentials; identity token uses the OAuth2 refresh-token grant; registry token used as is', async () => {
  const anon = fakeTokenHttp([{ status: 200, body: { token: 'anon' } }]);
  const a = new Authenticator({ policy, http: anon.http, logger });
  assert.equal(await a.authorization(bearer, ['repository:a:pull'], false), 'Bearer anon');
  assert.equal(anon.calls[0]?.headers.authorization, undefined);

  const oauth = fakeTokenHttp([{ status: 200, body: { access_token: 'from-refresh' } }]);
  const b = new Authenticator({
    policy,
    credential: new Credential('identity-token', undefined, 'REFRESH', 'test'),
    http: oauth.http,
    logger,
  });
  assert.equal(await b.authorization(bearer, ['repository:a:pull'], false), 'Bearer from-refresh');
  assert.equal(oauth.calls[0]?.method, 'POST');
  const form = new URLSearchParams(oauth.calls[0]?.body ?? '');
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('refresh_token'), 'REFRESH');
  assert.equal(form.get('service'), 'reg');
  assert.equal(form.get('scope'), 'repository:a:pull');

  const none = fakeTokenHttp([]);
  const c = new Authenticator({ policy, credential: new Credential('registry-token', undefined, 'RT', 'test'), http: none.http, logger });
  assert.equal(await c.authorization(bearer, ['repository:a:pull'], false), 'Bearer RT');
  assert.equal(none.calls.length, 0);
});

test('token server refusals are AUTH_FAILED without the secret; basic challenge sends basic credentials', async () => {
  const refused = fakeTokenHttp([{ status: 401, body: 'no' }]);
  const a = new Authenticator({
    policy,
    credential: new Credential('basic', 'ci', 'hunter2-secret', 'DOCKER_AUTH_CONFIG'),
    http: refused.http,
    logger,
  });
  await assert.rejects(a.authorization(bearer, ['repository:a:pull'], false), (e: unknown) => {
    if (!isOciScanError(e, 'AUTH_FAILED')) return false;
    assert.match(e.message, /refused user ci from DOCKER_AUTH_CONFIG/);
    assert.doesNotMatch(e.message, /hunter2/);
    return true;
  });
  const noToken = fakeTokenHttp([{ status: 200, body: { nothing: true } }]);
  await assert.rejects(new Authenticator({ policy, http: noToken.http, logger }).authorization(bearer, [], false), (e: unknown) =>
    isOciScanError(e, 'REGISTRY_ERROR'),
  );
  const basic = new Authenticator({ policy, credential: new Credential('basic', 'ci', 'pw', 's'), http: fakeTokenHttp([]).http, logger });
  assert.equal(
    await basic.authorization(parseChallenges('Basic realm="r"'), [], false),
    `Basic ${Buffer.from('ci:pw').toString('base64')}`,
  );
  assert.equal(
    await new Authenticator({ policy, http: fakeTokenHttp([]).http, logger }).authorization(parseChallenges('Basic realm="r"'), [], false),
    undefined,
  );
  // the secret is not in JSON or inspect output of a credential
  const c = new Credential('basic', 'ci', 'hunter2-secret', 's');
  assert.doesNotMatch(JSON.stringify(c), /hunter2/);
  const { inspect } = await import('node:util');
  assert.doesNotMatch(inspect(c, { showHidden: true, depth: 5 }), /hunter2/);
});
