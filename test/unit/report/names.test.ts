/**
 * Report file names (src/report/names.ts, src/reference/repository-path.ts): the whole
 * repository path without the registry host, image-supplied strings (tags, platforms) reduced to
 * a safe character set and a bounded length, and names unique within a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/image/config.js';
import type { Platform } from '../../../src/image/platform.js';
import { repositoryPath } from '../../../src/reference/repository-path.js';
import type { Image, ImageName } from '../../../src/image/types.js';
import { MAX_FILE_NAME_BYTES, reportFileName, reportFileNames, safePart } from '../../../src/report/names.js';

const CONFIG = parseConfig('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', 'test config');
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

/** An Image with the given name parts, platform and manifest digest (no layers: names do not look at them). */
function image(name: Partial<ImageName>, platform?: Platform, manifestDigest = D1): Image {
  return {
    name: { display: 'ref', name: 'app', repository: 'app', tagOrigin: 'reference', ...name },
    manifestDigest,
    configDigest: D2,
    config: CONFIG,
    layers: [],
    ...(platform ? { platform } : {}),
  };
}

/** Asserts that a file name is one path component of safe characters, not hidden, within the length bound. */
function assertSafe(file: string): void {
  assert.match(file, /^[A-Za-z0-9_-][A-Za-z0-9._-]*-compliance\.json$/, file);
  assert.ok(Buffer.byteLength(file) <= MAX_FILE_NAME_BYTES, `${file.length} bytes: ${file}`);
}

test('repositoryPath: the registry host goes, Docker Hub library/ goes, every other path segment stays', () => {
  const cases: Array<[string, string]> = [
    ['docker.io/library/gcc', 'gcc'],
    ['library/gcc', 'gcc'],
    ['index.docker.io/library/gcc', 'gcc'],
    ['docker.io/team-a/app', 'team-a/app'],
    ['team-a/app', 'team-a/app'],
    ['registry.local:5000/team-a/app', 'team-a/app'],
    ['ghcr.io/org/group/sub/app', 'org/group/sub/app'],
    ['localhost/team/app', 'team/app'],
    ['ghcr.io/library/app', 'library/app'],
    ['127.0.0.1:5000/library/app', 'library/app'],
    ['app', 'app'],
  ];
  for (const [input, expected] of cases) assert.equal(repositoryPath(input), expected, input);
});

test('reportFileName: <repository with / → _>_<tag>-compliance.json; sha256-<12 hex> without a tag', () => {
  assert.equal(reportFileName(image({ repository: 'team-a/app', tag: '1.0' }), false), 'team-a_app_1.0-compliance.json');
  assert.equal(reportFileName(image({ repository: 'gcc', tag: 'latest' }), false), 'gcc_latest-compliance.json');
  assert.equal(
    reportFileName(image({ repository: 'team/app', digest: `sha256:${'ab'.repeat(32)}` }), false),
    `team_app_sha256-${'ab'.repeat(6)}-compliance.json`,
  );
  assert.equal(
    reportFileName(image({ repository: 'app' }), false),
    `app_sha256-${'1'.repeat(12)}-compliance.json`,
    'no tag and no pinned digest: the manifest digest',
  );
  assert.equal(
    reportFileName(image({ repository: 'app', tag: '1.0' }, { os: 'linux', architecture: 'arm', variant: 'v7' }), true),
    'app_1.0_linux-arm-v7-compliance.json',
  );
  assert.equal(reportFileName(image({ repository: 'app', tag: '1.0' }), true), 'app_1.0_unknown-platform-compliance.json');
});

test('hostile name parts (NUL, ESC, slashes, dot-dot, 300-character variant, non-ASCII) give a safe, bounded name', () => {
  const hostile = [
    '\u0000',
    '\u001b[2J\u001b]0;pwned\u0007',
    '../../etc/passwd',
    '..',
    '.hidden',
    'x'.repeat(300),
    'é☃\ud800',
    ' ',
    '',
    'a/b\\c',
  ];
  for (const h of hostile) {
    for (const withPlatform of [false, true]) {
      const file = reportFileName(image({ repository: h, tag: h }, { os: h, architecture: h, variant: h }), withPlatform);
      assertSafe(file);
    }
    const [named] = reportFileNames([[image({ repository: `${h}/${h}`, tag: h })]]);
    assertSafe(named ?? '');
  }
  // A cut part ends in a hash of the whole, so two long tags that share a prefix stay apart.
  const a = safePart(`${'v'.repeat(100)}-a`, 48);
  const b = safePart(`${'v'.repeat(100)}-b`, 48);
  assert.equal(a.length, 48);
  assert.notEqual(a, b);
  assert.equal(safePart('1.0-rc.1_x', 48), '1.0-rc.1_x', 'a safe part is kept as it is');
});

test('reportFileNames: platforms that sanitise alike get distinct, deterministic names; others keep the plain name', () => {
  const images = [
    image({ repository: 'app', tag: '2.0' }, { os: 'linux', architecture: 'amd64', variant: 'v1' }, D1),
    image({ repository: 'app', tag: '2.0' }, { os: 'linux-amd64', architecture: 'v1' }, D2),
    image({ repository: 'app', tag: '2.0' }, { os: 'linux', architecture: 'arm64' }, `sha256:${'3'.repeat(64)}`),
  ];
  const names = reportFileNames([images]);
  assert.equal(new Set(names).size, 3, names.join(' '));
  assert.match(names[0] ?? '', /^app_2\.0_linux-amd64-v1_[0-9a-f]{12}-compliance\.json$/);
  assert.match(names[1] ?? '', /^app_2\.0_linux-amd64-v1_[0-9a-f]{12}-compliance\.json$/);
  assert.equal(names[2], 'app_2.0_linux-arm64-compliance.json');
  assert.deepEqual(reportFileNames([images]), names, 'deterministic');
  for (const n of names) assertSafe(n);
});

test('reportFileNames: names differing only in case, and identical images, never share a file', () => {
  const caseOnly = reportFileNames([
    [image({ repository: 'app', tag: 'RC' }, undefined, D1), image({ repository: 'app', tag: 'rc' }, undefined, D2)],
  ]);
  assert.notEqual(caseOnly[0]?.toLowerCase(), caseOnly[1]?.toLowerCase(), caseOnly.join(' '));
  const p = { os: 'linux', architecture: 'amd64' };
  const same = reportFileNames([
    [image({ repository: 'app', tag: '1' }, p), image({ repository: 'app', tag: '1' }, p), image({ repository: 'app', tag: '1' }, p)],
  ]);
  assert.equal(new Set(same).size, 3, same.join(' '));
  for (const n of [...caseOnly, ...same]) assertSafe(n);
  // A hostile platform string long enough to hit every budget still leaves room for the suffixes.
  const long = reportFileNames([
    [
      image({ repository: 'r'.repeat(300), tag: 't'.repeat(300) }, { os: 'o'.repeat(300), architecture: 'a' }),
      image({ repository: 'r'.repeat(300), tag: 't'.repeat(300) }, { os: 'o'.repeat(300), architecture: 'a' }),
    ],
  ]);
  assert.equal(new Set(long).size, 2);
  for (const n of long) assertSafe(n);
});
