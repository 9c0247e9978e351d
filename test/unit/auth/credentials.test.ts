import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCredential, isPlainHelperName, matchCredentialKey, type HelperRunner } from '../../../src/auth/credentials.js';
import { isOciScanError } from '../../../src/errors.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('credential keys match the exact host (scheme and /v1/ path ignored), Hub aliases, host:port', async (t) => {
  const table: Array<[keys: string[], registry: string, repository: string, expected: string | undefined]> = [
    [['https://index.docker.io/v1/'], 'docker.io', 'library/alpine', 'https://index.docker.io/v1/'],
    [['index.docker.io'], 'docker.io', 'library/alpine', 'index.docker.io'],
    [['docker.io'], 'docker.io', 'library/alpine', 'docker.io'],
    [['registry-1.docker.io'], 'docker.io', 'library/alpine', 'registry-1.docker.io'],
    [['docker.io', 'https://index.docker.io/v1/'], 'docker.io', 'x/y', 'https://index.docker.io/v1/'],
    [['https://index.docker.io/v1/'], 'index.docker.io', 'x/y', 'https://index.docker.io/v1/'],
    [['ghcr.io'], 'ghcr.io', 'org/app', 'ghcr.io'],
    [['https://ghcr.io'], 'ghcr.io', 'org/app', 'https://ghcr.io'],
    [['GHCR.IO'], 'ghcr.io', 'org/app', 'GHCR.IO'],
    [['http://registry.local:5000/v2/'], 'registry.local:5000', 'a', 'http://registry.local:5000/v2/'],
    // host:port is part of the identity: no cross-port or cross-host matching
    [['registry.local'], 'registry.local:5000', 'a', undefined],
    [['registry.local:5000'], 'registry.local', 'a', undefined],
    [['registry.local:5001'], 'registry.local:5000', 'a', undefined],
    // never suffix or prefix matching
    [['example.com'], 'registry.example.com', 'a', undefined],
    [['registry.example.com'], 'registry.example.com.evil.net', 'a', undefined],
    [['ghcr.io'], 'docker.io', 'library/alpine', undefined],
    [['https://index.docker.io/v1/'], 'ghcr.io', 'a', undefined],
    // podman's per-namespace keys: most specific wins, only inside the namespace
    [['quay.io', 'quay.io/org'], 'quay.io', 'org/app', 'quay.io/org'],
    [['quay.io', 'quay.io/org'], 'quay.io', 'other/app', 'quay.io'],
    [['quay.io/org'], 'quay.io', 'organisation/app', undefined],
    [['quay.io/org', 'quay.io/org/app'], 'quay.io', 'org/app', 'quay.io/org/app'],
  ];
  for (const [keys, registry, repository, expected] of table) {
    await t.test(`${keys.join(',')} for ${registry}/${repository}`, () => {
      assert.equal(matchCredentialKey(keys, registry, repository), expected);
    });
  }
});

test('helper names must be plain names', () => {
  for (const ok of ['pass', 'ecr-login', 'osxkeychain', 'test', 'a.b_c-1']) assert.ok(isPlainHelperName(ok), ok);
  for (const bad of ['../../bin/sh', '/bin/sh', 'a/b', '..', 'a..b', '', '-x', ' pass', 'a b']) assert.ok(!isPlainHelperName(bad), bad);
});

test('sources in the documented order (docs/registry.md): DOCKER_AUTH_CONFIG, DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-creds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const docker = join(dir, 'docker');
  const xdg = join(dir, 'xdg');
  await mkdir(docker, { recursive: true });
  await mkdir(join(xdg, 'containers'), { recursive: true });
  const authFile = join(dir, 'auth.json');
  await writeFile(
    join(docker, 'config.json'),
    JSON.stringify({ auths: { 'r1.example': { auth: b64('file-user:file-pw') }, 'r2.example': { auth: b64('file2:pw') } } }),
  );
  await writeFile(
    authFile,
    JSON.stringify({
      auths: { 'r3.example': { username: 'podman-user', password: 'podman-pw' }, 'r2.example': { auth: b64('later:pw') } },
    }),
  );
  await writeFile(join(xdg, 'containers', 'auth.json'), JSON.stringify({ auths: { 'r4.example': { auth: b64('xdg:pw') } } }));
  const env = {
    DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'r1.example': { auth: b64('env-user:env:pw-with-colon') } } }),
    DOCKER_CONFIG: docker,
    REGISTRY_AUTH_FILE: authFile,
    XDG_RUNTIME_DIR: xdg,
    HOME: join(dir, 'nohome'),
  };
  const find = (registry: string, e: Record<string, string | undefined> = env) =>
    findCredential({ registry, repository: 'team/app', env: e });
  const r1 = await find('r1.example');
  assert.equal(r1?.username, 'env-user');
  assert.equal(r1?.revealSecret(), 'env:pw-with-colon', 'only the first colon separates user and password');
  assert.equal(r1?.source, 'DOCKER_AUTH_CONFIG');
  assert.equal((await find('r2.example'))?.username, 'file2', 'DOCKER_CONFIG wins over REGISTRY_AUTH_FILE');
  assert.equal((await find('r3.example'))?.username, 'podman-user');
  assert.equal((await find('r4.example'))?.username, 'xdg');
  assert.equal(await find('r5.example'), undefined, 'anonymous when nothing matches');
  // ~/.docker/config.json when DOCKER_CONFIG is unset
  await mkdir(join(dir, 'home', '.docker'), { recursive: true });
  await writeFile(
    join(dir, 'home', '.docker', 'config.json'),
    JSON.stringify({ auths: { 'r6.example': { identitytoken: 'refresh-tok', username: 'u' }, 'r7.example': { registrytoken: 'rt' } } }),
  );
  const homeEnv = { HOME: join(dir, 'home') };
  const r6 = await find('r6.example', homeEnv);
  assert.equal(r6?.kind, 'identity-token');
  assert.equal(r6?.revealSecret(), 'refresh-tok');
  assert.equal((await find('r7.example', homeEnv))?.kind, 'registry-token');
});

test('broken documents: clear AUTH_FAILED that does not echo the document', async () => {
  await assert.rejects(
    findCredential({ registry: 'r', repository: 'a', env: { DOCKER_AUTH_CONFIG: '{"auths": {"r": {"auth": "c2VjcmV0LXB3"}' } }),
    (e: unknown) => {
      if (!isOciScanError(e, 'AUTH_FAILED')) return false;
      assert.match(e.message, /DOCKER_AUTH_CONFIG is not valid JSON/);
      assert.doesNotMatch(e.message, /c2VjcmV0LXB3/);
      return true;
    },
  );
  await assert.rejects(
    findCredential({
      registry: 'r',
      repository: 'a',
      env: { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { r: { auth: b64('nocolon') } } }) },
    }),
    (e: unknown) => isOciScanError(e, 'AUTH_FAILED') && /user:password/.test(e.message),
  );
  await assert.rejects(
    findCredential({
      registry: 'r',
      repository: 'a',
      env: { DOCKER_AUTH_CONFIG: JSON.stringify({ credHelpers: { r: '../../tmp/evil' } }) },
    }),
    (e: unknown) => isOciScanError(e, 'AUTH_FAILED') && /not a plain name/.test(e.message),
  );
});

test('credHelpers before auths, credsStore after; Hub helpers get the canonical server URL', async () => {
  const seen: Array<[string, string]> = [];
  const runHelper: HelperRunner = (name, serverUrl) => {
    seen.push([name, serverUrl]);
    if (serverUrl === 'missing.example') return Promise.resolve({ ok: false, notFound: true, exitCode: 1 });
    if (name === 'broken') return Promise.resolve({ ok: false, notFound: false, exitCode: 3 });
    return Promise.resolve({
      ok: true,
      stdout: JSON.stringify({ ServerURL: serverUrl, Username: name === 'tok' ? '<token>' : `${name}-user`, Secret: `${name}-secret` }),
    });
  };
  const doc = {
    credHelpers: { 'h.example': 'one', 'docker.io': 'hub', 'missing.example': 'one', 'b.example': 'broken' },
    auths: { 'h.example': { auth: b64('auths:pw') }, 'a.example': { auth: b64('a:pw') } },
    credsStore: 'tok',
  };
  const env = { DOCKER_AUTH_CONFIG: JSON.stringify(doc) };
  const find = (registry: string) => findCredential({ registry, repository: 'x', env, runHelper });
  assert.equal((await find('h.example'))?.username, 'one-user');
  assert.equal((await find('docker.io'))?.username, 'hub-user');
  assert.deepEqual(seen.at(-1), ['hub', 'https://index.docker.io/v1/']);
  assert.equal((await find('a.example'))?.username, 'a', 'auths entry');
  const store = await find('s.example');
  assert.equal(store?.kind, 'identity-token', 'credsStore, "<token>" user means identity token');
  assert.equal(store?.source, 'credential helper docker-credential-tok');
  await assert.rejects(
    find('b.example'),
    (e: unknown) => isOciScanError(e, 'AUTH_FAILED') && /docker-credential-broken failed/.test(e.message) && !/secret/.test(e.message),
  );
});

test('a real docker-credential-test script on PATH serves credHelpers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-helper-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'docker-credential-test');
  // Reads the server URL on stdin, as Docker's helper protocol says; knows one registry.
  await writeFile(
    script,
    '#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\nif [ "$server" = "helper.example:5000" ]; then\n  printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}\' "$server"\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n',
  );
  await chmod(script, 0o755);
  const env = {
    PATH: `${dir}:${process.env.PATH ?? ''}`,
    DOCKER_AUTH_CONFIG: JSON.stringify({ credHelpers: { 'helper.example:5000': 'test', 'other.example': 'test' } }),
  };
  const c = await findCredential({ registry: 'helper.example:5000', repository: 'a', env });
  assert.equal(c?.kind, 'basic');
  assert.equal(c?.username, 'helper-user');
  assert.equal(c?.revealSecret(), 'helper-secret');
  assert.equal(
    await findCredential({ registry: 'other.example', repository: 'a', env }),
    undefined,
    '"credentials not found" means anonymous',
  );
  const missing = { PATH: dir, DOCKER_AUTH_CONFIG: JSON.stringify({ credsStore: 'nonexistent' }) };
  await assert.rejects(
    findCredential({ registry: 'x.example', repository: 'a', env: missing }),
    (e: unknown) => isOciScanError(e, 'AUTH_FAILED') && /docker-credential-nonexistent/.test(e.message),
  );
});

test('DOCKER_AUTH_CONFIG holding a path (a GitLab file-type variable) is read as the file; a path to nothing is a clear AUTH_FAILED', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-authfile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'DOCKER_AUTH_CONFIG');
  await writeFile(file, JSON.stringify({ auths: { 'r.example': { auth: b64('file-user:file-pw') } } }));
  const found = await findCredential({ registry: 'r.example', repository: 'a', env: { DOCKER_AUTH_CONFIG: `${file}\n` } });
  assert.equal(found?.username, 'file-user');
  assert.equal(found?.revealSecret(), 'file-pw');
  assert.equal(found?.source, `DOCKER_AUTH_CONFIG (file ${file})`);
  // A document with leading white space is still a document, not a path.
  const doc = await findCredential({
    registry: 'r.example',
    repository: 'a',
    env: { DOCKER_AUTH_CONFIG: `  ${JSON.stringify({ auths: { 'r.example': { auth: b64('doc-user:pw') } } })}` },
  });
  assert.equal(doc?.username, 'doc-user');
  await assert.rejects(
    findCredential({ registry: 'r.example', repository: 'a', env: { DOCKER_AUTH_CONFIG: join(dir, 'missing') } }),
    (e: unknown) => isOciScanError(e, 'AUTH_FAILED') && /neither a config\.json document nor the path of a file/.test(e.message),
  );
});
