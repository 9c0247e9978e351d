import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { apiHost, canonicalReference, parseReference } from '../../../src/reference/reference.js';
import { exitCodeFor, isOciScanError } from '../../../src/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

const valid: Array<
  [input: string, registry: string, repository: string, tag: string | undefined, digest: string | undefined, display: string, name: string]
> = [
  ['alpine', 'docker.io', 'library/alpine', undefined, undefined, 'alpine:latest', 'alpine'],
  ['alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined, 'alpine:3.19', 'alpine'],
  ['library/alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined, 'library/alpine:3.19', 'alpine'],
  ['docker.io/library/alpine', 'docker.io', 'library/alpine', undefined, undefined, 'docker.io/library/alpine:latest', 'alpine'],
  ['docker.io/alpine', 'docker.io', 'library/alpine', undefined, undefined, 'docker.io/alpine:latest', 'alpine'],
  ['index.docker.io/bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined, 'index.docker.io/bitnami/redis:7', 'redis'],
  ['registry-1.docker.io/library/gcc', 'docker.io', 'library/gcc', undefined, undefined, 'registry-1.docker.io/library/gcc:latest', 'gcc'],
  ['bitnami/redis', 'docker.io', 'bitnami/redis', undefined, undefined, 'bitnami/redis:latest', 'redis'],
  ['ghcr.io/org/app:1.2', 'ghcr.io', 'org/app', '1.2', undefined, 'ghcr.io/org/app:1.2', 'app'],
  ['GHCR.io/org/app:1.2', 'ghcr.io', 'org/app', '1.2', undefined, 'GHCR.io/org/app:1.2', 'app'],
  ['127.0.0.1:5000/team/app:1.0', '127.0.0.1:5000', 'team/app', '1.0', undefined, '127.0.0.1:5000/team/app:1.0', 'app'],
  ['localhost/app', 'localhost', 'app', undefined, undefined, 'localhost/app:latest', 'app'],
  ['localhost:5000/a/b/c:v1', 'localhost:5000', 'a/b/c', 'v1', undefined, 'localhost:5000/a/b/c:v1', 'c'],
  ['[::1]:5000/app:1', '[::1]:5000', 'app', '1', undefined, '[::1]:5000/app:1', 'app'],
  [`registry.local:5000/team/app@${D}`, 'registry.local:5000', 'team/app', undefined, D, `registry.local:5000/team/app@${D}`, 'app'],
  [`app:1.2@${D}`, 'docker.io', 'library/app', '1.2', D, `app:1.2@${D}`, 'app'],
  [`docker://alpine:3.19`, 'docker.io', 'library/alpine', '3.19', undefined, 'alpine:3.19', 'alpine'],
  [`docker://127.0.0.1:5000/team/app`, '127.0.0.1:5000', 'team/app', undefined, undefined, '127.0.0.1:5000/team/app:latest', 'app'],
  [
    'my-registry.example.com/a__b/c.d-e:TAG_1.0-x',
    'my-registry.example.com',
    'a__b/c.d-e',
    'TAG_1.0-x',
    undefined,
    'my-registry.example.com/a__b/c.d-e:TAG_1.0-x',
    'c.d-e',
  ],
  ['host:5000/app', 'host:5000', 'app', undefined, undefined, 'host:5000/app:latest', 'app'],
  // no '.', ':' or "localhost" in the first component: a Hub namespace, not a host
  ['myhost/app', 'docker.io', 'myhost/app', undefined, undefined, 'myhost/app:latest', 'app'],
];

test('valid references parse as Docker does', async (t) => {
  for (const [input, registry, repository, tag, digest, display, name] of valid) {
    await t.test(input, () => {
      const ref = parseReference(input);
      assert.equal(ref.registry, registry);
      assert.equal(ref.repository, repository);
      assert.equal(ref.tag, tag);
      assert.equal(ref.digest, digest);
      assert.equal(ref.display, display);
      assert.equal(ref.name, name);
    });
  }
});

const invalid: Array<[input: string, why: RegExp]> = [
  ['', /empty/],
  ['docker://', /empty/],
  ['Alpine', /lower-case/],
  ['ghcr.io/Org/app', /lower-case/],
  ['alpine:', /tag/],
  ['alpine:-bad', /tag/],
  [`alpine:${'x'.repeat(129)}`, /tag/],
  ['alpine@sha256:abc', /digest/],
  [`alpine@md5:${'a'.repeat(32)}`, /not supported/],
  [`alpine@sha256:${'A'.repeat(64)}`, /lower-case hex/],
  ['a//b', /empty component/],
  ['/alpine', /empty component/],
  ['alpine/', /empty component/],
  ['ghcr.io/', /repository name is missing|empty component/],
  ['ghcr.io/a b', /white space/],
  ['https://ghcr.io/org/app', /URL scheme/],
  ['ho_st:5000/app', /registry/],
  ['app--_x', /repository component/],
  [`${'a'.repeat(256)}`, /longer than 255/],
];

test('invalid references are INVALID_REFERENCE (exit 20) with a message naming the problem', async (t) => {
  for (const [input, why] of invalid) {
    await t.test(JSON.stringify(input.slice(0, 40)), () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          if (!isOciScanError(err, 'INVALID_REFERENCE')) return assert.fail(String(err));
          assert.equal(exitCodeFor(err.code), 20);
          assert.match(err.message, why);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
      );
    });
  }
});

test('canonical form and API host', () => {
  assert.equal(canonicalReference(parseReference('alpine')), 'docker.io/library/alpine');
  assert.equal(canonicalReference(parseReference(`app:1@${D}`)), `docker.io/library/app:1@${D}`);
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('index.docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
});
