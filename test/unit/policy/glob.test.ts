/** Policy globs (src/policy/glob.ts): `*` and `?` stay within a directory, `**` crosses them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globRegExp, matchesAny } from '../../../src/policy/glob.js';

test('* and ? match within one directory only', () => {
  assert.ok(matchesAny(['/usr/lib/openssh/*'], '/usr/lib/openssh/ssh-keysign'));
  assert.ok(!matchesAny(['/usr/lib/*'], '/usr/lib/openssh/ssh-keysign'));
  assert.ok(matchesAny(['/usr/bin/su?o'], '/usr/bin/sudo'));
  assert.ok(!matchesAny(['/usr/bin?sudo'], '/usr/bin/sudo'));
});

test('** crosses directories, and the slash beside it is optional', () => {
  assert.ok(matchesAny(['/usr/lib/**'], '/usr/lib/openssh/ssh-keysign'));
  assert.ok(matchesAny(['/usr/lib/**'], '/usr/lib'));
  assert.ok(matchesAny(['/usr/**/passwd'], '/usr/bin/passwd'));
  assert.ok(matchesAny(['/usr/**/passwd'], '/usr/passwd'));
  assert.ok(matchesAny(['/**'], '/a/b/c'));
  assert.ok(!matchesAny(['/usr/**/passwd'], '/usr/bin/passwd.bak'));
});

test('everything else is literal: regular-expression characters match themselves', () => {
  assert.ok(matchesAny(['/usr/bin/c++'], '/usr/bin/c++'));
  assert.ok(!matchesAny(['/usr/bin/c++'], '/usr/bin/cc'));
  assert.ok(!matchesAny(['/usr/bin/a.b'], '/usr/bin/axb'));
  assert.ok(matchesAny(['(x)|[y]$'], '(x)|[y]$'));
});

test('image references: * stops at a slash, so a repository glob does not reach nested ones', () => {
  assert.ok(matchesAny(['registry.local/team/*'], 'registry.local/team/app:1.0'));
  assert.ok(!matchesAny(['registry.local/team/*'], 'registry.local/team/sub/app:1.0'));
  assert.ok(matchesAny(['registry.local/team/**'], 'registry.local/team/sub/app:1.0'));
  assert.ok(!matchesAny(['registry.local/team/*'], 'registry.local/other/app:1.0'));
  assert.equal(globRegExp('a*'), globRegExp('a*'), 'compiled once');
});
