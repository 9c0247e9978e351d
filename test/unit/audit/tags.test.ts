/** `--latest-tags N` (src/audit/tags.ts): semantic-version order, else the listing's order. */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { compareVersions, latestTags, versionOf } from '../../../src/audit/tags.js';

test('versions order numerically, a pre-release before its release, v-prefixed and short forms included', () => {
  const sorted = ['1.10.0', '1.2.0', 'v2', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0-alpha', '1.2', '0.9.9', '1.2.0-rc.1+build.5']
    .map((t) => ({ t, v: versionOf(t) }))
    .sort((a, b) => (a.v && b.v ? compareVersions(a.v, b.v) : 0))
    .map((x) => x.t);
  assert.deepEqual(sorted, ['0.9.9', '1.2.0-alpha', '1.2.0-rc.1+build.5', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.2', '1.10.0', 'v2']);
  for (const notVersion of ['latest', 'main', 'sha-1234abc', '1.2.3.4', '']) assert.equal(versionOf(notVersion), undefined, notVersion);
});

test('latestTags: the N highest version-looking tags; others are left out when some look like versions', () => {
  assert.deepEqual(latestTags(['latest', '1.9', '1.10', '2.0.0-rc.1', '1.2', 'edge'], 3), ['2.0.0-rc.1', '1.10', '1.9']);
  assert.deepEqual(latestTags(['1.0'], 3), ['1.0']);
});

test("latestTags: without a version-looking tag, the listing's last N", () => {
  assert.deepEqual(latestTags(['alpha', 'beta', 'edge', 'latest'], 2), ['edge', 'latest']);
  assert.deepEqual(latestTags([], 2), []);
});
