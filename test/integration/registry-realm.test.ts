/**
 * The token realm is resolved once, checked, and the connection pinned to the checked address:
 * a real docker-registry in token mode whose realm names `auth.test` — a name no DNS knows —
 * and our token server listening on 127.0.0.2 only. The resolver is injected (tests never edit
 * /etc/hosts): if oci-scan resolved the name again for the connection, the system resolver
 * would fail; if it connected anywhere but the checked address, nothing would answer.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { lookup as dnsLookup } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import type { ResolvedAddress } from '../../src/auth/realm.js';
import { isOciScanError } from '../../src/errors.js';
import { openRegistryImages } from '../../src/sources/registry.js';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import {
  freePort,
  readLayers,
  registrySkipReason,
  startRegistry,
  testOptions,
  TEST_PASSWORD,
  TEST_USER,
  type RunningRegistry,
} from '../helpers/registry-server.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();
const REALM_HOST = 'auth.test';
const TOKEN_ADDRESS = '127.0.0.2';
// Provenance: image-builder.ts, two small layers.
const image = buildImage({
  layers: [{ entries: [{ type: 'file', path: 'a', content: 'a' }] }, { entries: [{ type: 'file', path: 'b', content: 'b' }] }],
});
const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: {} as Record<string, { auth: string }> }) };

/** A resolver that knows only `auth.test`, answering `answers` in turn (the last one from then on), and counts the questions. */
function resolver(answers: readonly string[]): ((name: string) => Promise<readonly ResolvedAddress[]>) & { asked: string[] } {
  const asked: string[] = [];
  const resolve = (name: string): Promise<readonly ResolvedAddress[]> => {
    asked.push(name);
    if (name !== REALM_HOST) return Promise.reject(Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    const address = answers[Math.min(asked.length - 1, answers.length - 1)] ?? '';
    return Promise.resolve([{ address, family: 4 }]);
  };
  return Object.assign(resolve, { asked });
}

describeOrSkip('token realm resolved, checked and pinned (real docker-registry)', { skip }, () => {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-scan-realm-'));
    // Tokens live 2 s, so that a scan that pauses for longer fetches a second one (and resolves again).
    tokens = await startTokenServer({
      dir,
      users: { [TEST_USER]: TEST_PASSWORD },
      anonymousPull: false,
      expiresIn: 2,
      address: TOKEN_ADDRESS,
      realmHost: REALM_HOST,
    });
    registry = await startRegistry({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.certFile,
    });
    env.DOCKER_AUTH_CONFIG = JSON.stringify({
      auths: { [registry.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } },
    });
    // The push helper fetches the realm too: give its (global) dispatcher the same name for the push only.
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(
      new Agent({
        connect: {
          lookup: (name, options, cb) =>
            name === REALM_HOST
              ? cb(null, options.all ? ([{ address: TOKEN_ADDRESS, family: 4 }] as never) : TOKEN_ADDRESS, 4)
              : dnsLookup(name, options, cb),
        },
      }),
    );
    try {
      await new Pusher(registry.url, 'team/app', { username: TEST_USER, password: TEST_PASSWORD }).image(image, '1.0');
    } finally {
      setGlobalDispatcher(previous);
    }
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the token request goes to the address the check saw, and stays there when the name later resolves elsewhere', async () => {
    // 127.0.0.3 has nothing listening: a connection that followed the second answer would fail.
    const resolve = resolver([TOKEN_ADDRESS, '127.0.0.3']);
    const seen = tokens.requests.length;
    const [img] = await openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env }), { resolve });
    assert.ok(img);
    await new Promise((r) => setTimeout(r, 2500)); // the token expires: reading the layers fetches a new one
    const layers = await readLayers(img);
    assert.deepEqual(
      layers.map((l) => l.digest),
      image.layers.map((l) => l.digest),
    );
    const mine = tokens.requests.slice(seen);
    assert.ok(mine.length >= 2, `${mine.length} token requests`);
    assert.ok(mine.every((r) => r.user === TEST_USER));
    assert.ok(resolve.asked.filter((n) => n === REALM_HOST).length >= 2, 'each token request checked the realm again');
    assert.ok(
      resolve.asked.every((n) => n === REALM_HOST),
      'the registry itself (an address) is never resolved',
    );
  });

  test('the connection follows the checked answer, not a second resolution: a dead address fails as a refused connection', async () => {
    const port = await freePort('127.0.0.3');
    assert.ok(port > 0);
    const resolve = resolver(['127.0.0.3']);
    await assert.rejects(
      openRegistryImages(`${registry.host}/team/app:1.0`, testOptions({ env, retries: 0 }), { resolve }),
      (e: unknown) => {
        assert.ok(isOciScanError(e, 'NETWORK'), String(e));
        assert.match(
          e.message,
          /the token server auth\.test:\d+ of registry 127\.0\.0\.1:\d+ refused the connection while getting a token/,
        );
        return true;
      },
    );
    assert.deepEqual(resolve.asked, [REALM_HOST]);
  });
});
