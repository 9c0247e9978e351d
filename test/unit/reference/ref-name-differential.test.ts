/**
 * Image-name parity with containerd and podman (docs/security.md, "Runtime parity"): the name
 * an OCI layout's index.json entry records, or a user names after a layout's path, is read by
 * our tagOfImageName (src/reference/ref-name.ts) and by the runtimes' own code
 * (test/oracle/refname through test/helpers/refname-oracle.ts: containerd's import
 * refTranslator + ParseDockerRef, containers/image's reference parser as podman's load uses
 * it), and the tags (or digests) must agree wherever the runtime accepts the name. A bare name
 * (no '/', ':' or '@') is compared with containerd only: podman reads `1.0` as the image
 * `localhost/1.0:latest`, containerd as the tag the layout means (stated below).
 * REF_NAME_CASES generated names (default 10,000) from FUZZ_SEED.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import fc from 'fast-check';
import { tagOfImageName, type NameTag } from '../../../src/reference/ref-name.js';
import { closeRefNameOracle, readWithRuntimes, refNameOracleSkip, type NameReading } from '../../helpers/refname-oracle.js';
import { describeOrSkip } from '../../helpers/skip.js';

const DEFAULT_CASES = 10_000;
const DEFAULT_SEED = 20261129;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw} is not a whole number`);
  return n;
}

const HEX = 'a'.repeat(64);
const hosts = [
  '',
  'localhost',
  'localhost:5000',
  'example.com',
  'example.com:5000',
  'EXAMPLE.com',
  '127.0.0.1:5000',
  '[::1]:5000',
  'docker.io',
  'a-b.c',
  'host:0',
];
const paths = ['app', 'team/app', 'a/b/c', 'name', 'library/app', 'App', 'app_1', 'a--b', 'a..b', 'a__b', '1.0', 'latest', 'a.b-c_d'];
const tags = ['', 'latest', '1.0', 'LATEST', 'v1_0-rc.1', 'x'.repeat(128), 'x'.repeat(129), '-bad', '.bad', 'latest ', 'a:b'];
const digests = ['', `sha256:${HEX}`, `sha512:${'b'.repeat(128)}`, 'sha256:short', `SHA256:${HEX}`];

/** A name built from Docker reference parts (host, path, tag, digest), or random text over the grammar's characters. */
const refName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...hosts), fc.constantFrom(...paths), fc.constantFrom(...tags), fc.constantFrom(...digests))
      .map(([h, p, t, d]) => `${h === '' ? '' : `${h}/`}${p}${t === '' ? '' : `:${t}`}${d === '' ? '' : `@${d}`}`),
  },
  { weight: 2, arbitrary: fc.constantFrom(...tags.filter((t) => t !== ''), ...paths, ...hosts.filter((h) => h !== '')) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'aZ09.-_:/@'.split('')), minLength: 1, maxLength: 24 }) },
);

/** Our reading in the oracle's words: the tag, or '' with the digest. */
const asReading = (t: NameTag): { tag: string; digest: string } => ({ tag: t.tag ?? '', digest: t.digest ?? '' });
const same = (r: NameReading, ours: NameTag): boolean => r.tag === asReading(ours).tag && r.digest === asReading(ours).digest;
const isFullName = (name: string): boolean => /[/:@]/.test(name);

const skip = refNameOracleSkip('image name differential');

describeOrSkip('image names in OCI layouts: ours against containerd and podman', { skip }, () => {
  after(() => closeRefNameOracle());

  const named: Array<[string, string, NameTag, { containerd: string; podman: string }]> = [
    ['a full name with a registry', 'localhost/app:latest', { tag: 'latest' }, { containerd: 'latest', podman: 'latest' }],
    ['a full name with a path', 'example.com/team/app:latest', { tag: 'latest' }, { containerd: 'latest', podman: 'latest' }],
    ['name:tag', 'name:latest', { tag: 'latest' }, { containerd: 'latest', podman: 'latest' }],
    ['a registry port is no tag', 'example.com:5000/app', { tag: 'latest' }, { containerd: 'latest', podman: 'latest' }],
    ['a port and a tag', 'example.com:5000/app:1.0', { tag: '1.0' }, { containerd: '1.0', podman: '1.0' }],
    [
      'a digest wins over a tag',
      `app:latest@sha256:${HEX}`,
      { digest: `sha256:${HEX}` },
      { containerd: `@sha256:${HEX}`, podman: `@sha256:${HEX}` },
    ],
    ['a bare tag (podman differs: localhost/1.0:latest)', '1.0', { tag: '1.0' }, { containerd: '1.0', podman: 'latest' }],
  ];

  it('named names: the runtimes read them as stated, and so do we', async () => {
    const answers = await readWithRuntimes(named.map(([, n]) => n));
    const shown = (r: NameReading): string => (r.error !== '' ? `error ${r.error}` : r.digest !== '' ? `@${r.digest}` : r.tag);
    const failures: string[] = [];
    named.forEach(([what, name, ours, stated], i) => {
      const a = answers[i];
      assert.ok(a);
      if (shown(a.containerd) !== stated.containerd || shown(a.podman) !== stated.podman)
        failures.push(
          `${what} (${name}): containerd ${shown(a.containerd)}, podman ${shown(a.podman)}; the case states ${JSON.stringify(stated)}`,
        );
      if (JSON.stringify(tagOfImageName(name)) !== JSON.stringify(ours))
        failures.push(`${what} (${name}): ours ${JSON.stringify(tagOfImageName(name))}, expected ${JSON.stringify(ours)}`);
      if (!same(a.containerd, ours)) failures.push(`${what} (${name}): containerd ${shown(a.containerd)} ≠ ours`);
    });
    assert.equal(failures.length, 0, failures.join('\n'));
  });

  it('generated names: the same tag or digest as containerd, and as podman for full names', async () => {
    const numRuns = envInt('REF_NAME_CASES') ?? DEFAULT_CASES;
    const seed = envInt('FUZZ_SEED') ?? DEFAULT_SEED;
    const names = fc.sample(refName, { numRuns, seed });
    const answers = await readWithRuntimes(names);
    const found: string[] = [];
    let compared = 0;
    names.forEach((name, i) => {
      const a = answers[i];
      assert.ok(a);
      const ours = tagOfImageName(name);
      if (a.containerd.error === '') {
        compared += 1;
        if (!same(a.containerd, ours))
          found.push(`${JSON.stringify(name)}: containerd ${JSON.stringify(a.containerd)}, ours ${JSON.stringify(ours)}`);
      }
      if (isFullName(name) && a.podman.error === '' && !same(a.podman, ours))
        found.push(`${JSON.stringify(name)}: podman ${JSON.stringify(a.podman)}, ours ${JSON.stringify(ours)}`);
    });
    process.stdout.write(
      `image name differential: ${names.length} names (seed ${seed}), ${compared} accepted by containerd, ${found.length} disagreements\n`,
    );
    assert.equal(found.length, 0, `${found.length} disagreements (seed ${seed}):\n${found.slice(0, 10).join('\n')}`);
  });
});
