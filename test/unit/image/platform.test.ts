/**
 * Choosing index entries as containerd does (its `platforms` package: Normalize, Only,
 * Ordered): the expectations below restate that package's documented behaviour — "arm64/v8 ≡
 * arm64", "arm ≡ arm/v7", "for arm/v7, will also match arm/v6 and arm/v5", "for amd64, will
 * also match 386", "for arm64/v8.x, will also match arm64/v8.{0..x-1}" — and its sort: the
 * best match first, index order among equals.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Descriptor } from '../../../src/image/manifest.js';
import { indexCandidates, normalisePlatform, parsePlatform, platformRank, type Platform } from '../../../src/image/platform.js';

const p = (text: string): Platform => parsePlatform(text);

function entry(n: number, platform?: Descriptor['platform'], annotations?: Record<string, string>): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).padStart(64, '0')}`,
    size: 100,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest' };

/** The entries a scan of `wanted` takes among those naming their platform: the best one, or every one for `all`. */
function choosePlatforms(
  manifests: readonly Descriptor[],
  wanted: Platform | 'all',
): Array<{ readonly digest: string; readonly platform: Platform | undefined }> {
  const named = indexCandidates(manifests, wanted).filter((c) => c.platform !== undefined);
  return (wanted === 'all' ? named : named.slice(0, 1)).map((c) => ({ digest: c.descriptor.digest, platform: c.platform }));
}

test('normalisation: aliases, case, default variants', () => {
  const table: Array<[Platform, { os: string; architecture: string; variant: string }]> = [
    [
      { os: 'Linux', architecture: 'X86_64' },
      { os: 'linux', architecture: 'amd64', variant: '' },
    ],
    [
      { os: 'linux', architecture: 'x86-64', variant: 'v1' },
      { os: 'linux', architecture: 'amd64', variant: '' },
    ],
    [
      { os: 'linux', architecture: 'aarch64' },
      { os: 'linux', architecture: 'arm64', variant: '' },
    ],
    [
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm64', variant: '' },
    ],
    [
      { os: 'linux', architecture: 'arm' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
    [
      { os: 'linux', architecture: 'arm', variant: '6' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ],
    [
      { os: 'linux', architecture: 'armhf' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
    [
      { os: 'linux', architecture: 'armel' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ],
    [
      { os: 'linux', architecture: 'i386' },
      { os: 'linux', architecture: '386', variant: '' },
    ],
    [
      { os: 'MacOS', architecture: 'arm64' },
      { os: 'darwin', architecture: 'arm64', variant: '' },
    ],
  ];
  for (const [input, expected] of table) assert.deepEqual(normalisePlatform(input), expected, JSON.stringify(input));
});

test('what a platform runs, best first (containerd Only)', () => {
  const ranks = (wanted: string, candidates: string[]): Array<number | undefined> => candidates.map((c) => platformRank(p(wanted), p(c)));
  assert.deepEqual(ranks('linux/amd64', ['linux/amd64', 'linux/386', 'linux/amd64/v2', 'linux/arm64']), [0, 1, undefined, undefined]);
  assert.deepEqual(ranks('linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386', 'linux/amd64/v4']), [
    0,
    1,
    2,
    3,
    undefined,
  ]);
  assert.deepEqual(ranks('linux/arm/v7', ['linux/arm', 'linux/arm/v6', 'linux/arm/v5', 'linux/arm/v8', 'linux/arm64']), [
    0,
    1,
    2,
    undefined,
    undefined,
  ]);
  assert.deepEqual(ranks('linux/arm/v6', ['linux/arm/v5', 'linux/arm']), [1, undefined]);
  assert.deepEqual(
    ranks('linux/arm64', [
      'linux/arm64/v8',
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v5',
      'linux/arm64/v8.2',
      'linux/arm64/v9',
      'linux/amd64',
    ]),
    [0, 0, 1, 2, 4, undefined, undefined, undefined],
  );
  assert.deepEqual(ranks('linux/arm64/v8.2', ['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64', 'linux/arm/v7']), [0, 1, 2, 4]);
  assert.deepEqual(ranks('linux/arm64/v9', ['linux/arm64/v9', 'linux/arm64/v8.5', 'linux/arm64/v8.4']), [0, 1, 2]);
  assert.equal(platformRank(p('linux/amd64'), p('windows/amd64')), undefined);
});

test('one platform: the best match wins over index order; among equals the first entry wins', () => {
  const v6 = entry(1, { os: 'linux', architecture: 'arm', variant: 'v6' });
  const v7 = entry(2, { os: 'linux', architecture: 'arm', variant: 'v7' });
  const v7again = entry(3, { os: 'linux', architecture: 'arm' });
  const arm64 = entry(4, { os: 'linux', architecture: 'aarch64' });
  assert.deepEqual(
    choosePlatforms([v6, v7, v7again], p('linux/arm/v7')).map((d) => d.digest),
    [v7.digest],
  );
  assert.deepEqual(
    choosePlatforms([v6, v7again, v7], p('linux/arm')).map((d) => d.digest),
    [v7again.digest],
  );
  assert.deepEqual(
    choosePlatforms([v6, arm64], p('linux/arm64/v8')).map((d) => d.digest),
    [arm64.digest],
  );
  // no arm64 image: an arm64 machine runs the 32-bit arm one, the best variant first
  assert.deepEqual(
    choosePlatforms([v6, v7], p('linux/arm64')).map((d) => d.digest),
    [v7.digest],
  );
  // the entry keeps the platform its index wrote (reports name what the index says)
  assert.deepEqual(choosePlatforms([arm64], p('linux/arm64'))[0]?.platform, { os: 'linux', architecture: 'aarch64' });
});

test('attestations: skipped only when unknown/unknown; an annotation alone never hides a real image', () => {
  const realButAnnotated = entry(1, { os: 'linux', architecture: 'amd64' }, ATTESTATION);
  const attestation = entry(2, { os: 'unknown', architecture: 'unknown' }, ATTESTATION);
  const arm = entry(3, { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(
    choosePlatforms([attestation, realButAnnotated, arm], p('linux/amd64')).map((d) => d.digest),
    [realButAnnotated.digest],
  );
  assert.deepEqual(
    choosePlatforms([attestation, realButAnnotated, arm], 'all').map((d) => d.digest),
    [realButAnnotated.digest, arm.digest],
  );
  assert.deepEqual(choosePlatforms([attestation, arm], p('linux/s390x')), []);
  assert.deepEqual(choosePlatforms([attestation], 'all'), [], 'an attestation is never an image to scan');
});

test('entries without a platform come after every entry that names a matching one (their config decides)', () => {
  const none = entry(1);
  const amd = entry(2, { os: 'linux', architecture: 'amd64' });
  const i386 = entry(3, { os: 'linux', architecture: '386' });
  assert.deepEqual(
    indexCandidates([none, i386, amd], p('linux/amd64')).map((c) => c.descriptor.digest),
    [amd.digest, i386.digest, none.digest],
  );
  assert.deepEqual(
    indexCandidates([none, amd], 'all').map((c) => c.platform),
    [undefined, { os: 'linux', architecture: 'amd64' }],
  );
});
