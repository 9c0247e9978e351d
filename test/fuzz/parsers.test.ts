/**
 * Property-based fuzzing of the synchronous parsers of outside data: references, WWW-Authenticate
 * headers, docker config JSON, manifests / indexes and image configs. Every input must end in a
 * result or an OciScanError whose exit code is 2, 20 or 21 — never another exception.
 * Inputs: arbitrary strings and bytes, plus mutations of valid documents (so that the deep
 * parts of each parser are reached, not only its first check).
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseReference } from '../../src/reference/reference.js';
import { parseChallenges } from '../../src/auth/challenge.js';
import { findCredential } from '../../src/auth/credentials.js';
import { parseManifestDocument } from '../../src/image/manifest.js';
import { parseConfig } from '../../src/image/config.js';
import { buildImage, buildIndex } from '../helpers/image-builder.js';
import { endsInResultOrTypedError, endsInTimeOrTypedError, fuzzParams, reportRuns } from './fuzz-config.js';

/** Counts the cases a property actually ran. */
function counted<A extends unknown[], R>(fn: (...args: A) => R): { fn: (...args: A) => R; runs: () => number } {
  let n = 0;
  return {
    fn: (...args: A): R => {
      n += 1;
      return fn(...args);
    },
    runs: () => n,
  };
}

// Characters that matter to the grammars under test, mixed with anything at all.
const refChar = fc.oneof(
  fc.constantFrom(...'abz09AZ./:@_-'.split(''), 'sha256:', 'docker://', '..', '\u001b', '\0', ' ', 'é'),
  fc.string({ minLength: 0, maxLength: 2 }),
);
const refLike = fc.array(refChar, { maxLength: 40 }).map((parts) => parts.join(''));
const hex64 = fc.stringMatching(/^[0-9a-fA-F]{60,68}$/);
const structuredRef = fc
  .tuple(
    fc.option(fc.constantFrom('localhost:5000/', 'registry.local/', 'docker.io/', 'A.b:99999/', '[::1]:5000/', '../')),
    fc.array(fc.stringMatching(/^[a-z0-9._-]{0,12}$/), { minLength: 1, maxLength: 4 }),
    fc.option(fc.stringMatching(/^:[\w.-]{0,130}$/)),
    fc.option(hex64.map((h) => `@sha256:${h}`)),
  )
  .map(([host, path, tag, digest]) => `${host ?? ''}${path.join('/')}${tag ?? ''}${digest ?? ''}`);

test('parseReference: any string ends in a reference or INVALID_REFERENCE', () => {
  const p = counted((input: string) =>
    endsInResultOrTypedError(
      () => {
        const ref = parseReference(input);
        // A parsed reference never carries what a file system or a terminal could misread.
        // eslint-disable-next-line no-control-regex -- the point of the check
        assert.doesNotMatch(`${ref.registry}/${ref.repository}:${ref.tag ?? ''}`, /[\u0000-\u001f\u007f\s]|(^|\/)\.\.(\/|$)/);
      },
      `parseReference(${JSON.stringify(input)})`,
    ),
  );
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), refLike, structuredRef), p.fn), fuzzParams(3000));
  reportRuns('parseReference', p.runs());
});

const challengeLike = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'Bearer',
        'Basic',
        'realm',
        'service',
        'scope',
        '=',
        '"',
        '\\',
        ',',
        ' ',
        '\t',
        '==',
        'https://a/b?c=d',
        'Negotiate abc==',
      ),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

test('parseChallenges: any header value(s) end in a list of challenges, never a throw', () => {
  const p = counted((headers: string | string[]) => {
    const out = parseChallenges(headers);
    assert.ok(Array.isArray(out));
    for (const c of out) {
      assert.equal(typeof c.scheme, 'string');
      assert.notEqual(c.scheme, '');
    }
  });
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), challengeLike, fc.array(challengeLike, { maxLength: 4 })), p.fn),
    fuzzParams(3000),
  );
  reportRuns('parseChallenges', p.runs());
});

// Docker config documents: random JSON, and documents of the right shape with hostile values.
const authValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64')),
  fc.jsonValue({ maxDepth: 2 }),
);
const configDoc = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc
    .record(
      {
        auths: fc.dictionary(
          fc.oneof(
            fc.constantFrom(
              'registry.local',
              'https://registry.local/v1/',
              'registry.local/team',
              'REGISTRY.LOCAL',
              'docker.io',
              'https://index.docker.io/v1/',
            ),
            fc.string({ maxLength: 30 }),
          ),
          fc.oneof(
            fc.record(
              { auth: authValue, username: authValue, password: authValue, identitytoken: authValue, registrytoken: authValue },
              { requiredKeys: [] },
            ),
            fc.jsonValue({ maxDepth: 2 }),
          ),
        ),
        credHelpers: fc.dictionary(
          fc.constantFrom('registry.local', 'docker.io', 'x'),
          fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('../evil', '/bin/sh', 'ok-helper', ''), fc.jsonValue({ maxDepth: 1 })),
        ),
        credsStore: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('../x', 'store'), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    .map((d) => JSON.stringify(d)),
  fc.string({ maxLength: 200 }),
);

test('docker config JSON: any document ends in a credential, none, or AUTH_FAILED', async () => {
  let helperCalls = 0;
  const p = counted(async (text: string, registry: string) => {
    await endsInTimeOrTypedError(
      () =>
        findCredential({
          registry,
          repository: 'team/app',
          env: { DOCKER_AUTH_CONFIG: text },
          // never run a real program: the fuzzer chooses the helper name
          runHelper: (name) => {
            helperCalls += 1;
            assert.match(name, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a helper name that is not plain reached the runner');
            assert.doesNotMatch(name, /\.\./);
            return Promise.resolve({ ok: false, notFound: true, exitCode: 1 });
          },
        }),
      `findCredential(${JSON.stringify(text).slice(0, 200)})`,
    );
  });
  await fc.assert(fc.asyncProperty(configDoc, fc.constantFrom('registry.local', 'docker.io', '127.0.0.1:5000'), p.fn), fuzzParams(2000));
  reportRuns('docker config (findCredential)', p.runs());
  assert.ok(helperCalls >= 0);
});

// Valid documents to mutate: OCI and Docker manifests, an index, a config.
const img = buildImage({
  format: 'oci',
  config: { User: 'app', Labels: { a: 'b' }, ExposedPorts: { '22/tcp': {} } },
  layers: [{ entries: [{ type: 'file', path: 'a', content: 'a' }] }],
});
const dockerImg = buildImage({ format: 'docker', layers: [{ entries: [{ type: 'file', path: 'b', content: 'b' }] }] });
const index = buildIndex([img, dockerImg]);
const seeds = [img.manifest, dockerImg.manifest, index.bytes];

/** JSON-aware mutation: replace one value anywhere in a document with an arbitrary JSON value. */
function replaceAt(doc: unknown, path: readonly number[], value: unknown): unknown {
  if (path.length === 0 || doc === null || typeof doc !== 'object') return value;
  const [step = 0, ...rest] = path;
  if (Array.isArray(doc)) {
    if (doc.length === 0) return value;
    const i = step % doc.length;
    return doc.map((x, j) => (j === i ? replaceAt(x, rest, value) : x));
  }
  const keys = Object.keys(doc);
  if (keys.length === 0) return value;
  const key = keys[step % keys.length] ?? '';
  return { ...(doc as Record<string, unknown>), [key]: replaceAt((doc as Record<string, unknown>)[key], rest, value) };
}

/** Byte-level mutations: bit flips, truncation, splice. */
const byteMutation = (seed: Buffer): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const b = Buffer.from(seed);
      for (const [pos, bit] of flips) b[pos % b.length] = (b[pos % b.length] ?? 0) ^ (1 << bit);
      return b;
    }),
    fc.nat().map((n) => seed.subarray(0, n % (seed.length + 1))),
    fc.tuple(fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 40 })).map(([a, b, bytes]) => {
      const i = a % (seed.length + 1);
      const j = i + (b % (seed.length + 1 - i));
      return Buffer.concat([seed.subarray(0, i), Buffer.from(bytes), seed.subarray(j)]);
    }),
  );

const docMutation = (seed: Buffer): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('', 'sha256:00', 'application/vnd.docker.distribution.manifest.v1+json', 1, -1, 1e300, null, '\u001b[2J'),
      ),
    )
    .map(([path, value]) => Buffer.from(JSON.stringify(replaceAt(JSON.parse(seed.toString()), path, value)) ?? 'null'));

const mediaTypes = fc.constantFrom(
  undefined,
  'application/json',
  'application/octet-stream',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'text/html',
);

test('parseManifestDocument: any bytes end in a manifest / index or INVALID_MANIFEST / UNSUPPORTED_MEDIA_TYPE', () => {
  const p = counted((bytes: Uint8Array, mediaType: string | undefined) =>
    endsInResultOrTypedError(
      () => parseManifestDocument(bytes, mediaType, 'manifest of fuzz/app:1'),
      `parseManifestDocument(${Buffer.from(bytes).toString('utf8').slice(0, 200)})`,
    ),
  );
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    ...seeds.map(byteMutation),
    ...seeds.map(docMutation),
  );
  fc.assert(fc.property(input, mediaTypes, p.fn), fuzzParams(3000));
  reportRuns('parseManifestDocument', p.runs());
});

test('parseConfig: any bytes end in a config or INVALID_CONFIG', () => {
  const p = counted((bytes: Uint8Array) =>
    endsInResultOrTypedError(
      () => parseConfig(bytes, 'config of fuzz/app:1'),
      `parseConfig(${Buffer.from(bytes).toString('utf8').slice(0, 200)})`,
    ),
  );
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    byteMutation(img.config),
    docMutation(img.config),
  );
  fc.assert(fc.property(input, p.fn), fuzzParams(3000));
  reportRuns('parseConfig', p.runs());
});
