/**
 * The final filesystem (src/layer/final-fs.ts): layers applied in order with whiteouts and
 * opaque dirs, symlinks followed with a hop limit. Layer facts are written by hand here
 * (they are plain data), except where the inspector's output is the point.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { mergeLayers, removedLater } from '../../src/layer/final-fs.js';
import { inspectLayer, type LayerFacts, type WatchedEntry } from '../../src/layer/inspect.js';
import { buildTar, type EntrySpec } from '../helpers/image-builder.js';

/** Layer facts with only what the final filesystem looks at. */
function layer(watched: Record<string, WatchedEntry>, whiteouts: string[] = [], opaqueDirs: string[] = []): LayerFacts {
  return { matches: {}, matchCounts: {}, whiteouts, opaqueDirs, watched, symlinks: {}, hardlinks: {}, executables: [], executablesTruncated: false, compression: 'none', entries: 0, tarBytes: 0 };
}
const file = (content: string): WatchedEntry => ({ type: 'file', content, size: Buffer.byteLength(content), truncated: false });
const link = (target: string): WatchedEntry => ({ type: 'symlink', target });

const OS_RELEASE = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n';

describe('mergeLayers', () => {
  it('follows the /etc/os-release → ../usr/lib/os-release chain (relative and absolute links)', () => {
    const fs = mergeLayers([layer({ '/usr/lib/os-release': file(OS_RELEASE), '/etc/os-release': link('../usr/lib/os-release') })]);
    assert.equal(fs.readFile('/etc/os-release'), OS_RELEASE);
    assert.equal(fs.exists('/etc/os-release'), true);
    const chain = mergeLayers([
      layer({ '/usr/lib/os-release': file(OS_RELEASE) }),
      layer({ '/etc/os-release': link('/etc/os-release.d/current'), '/etc/os-release.d/current': link('./../../usr/./lib//os-release') }),
    ]);
    assert.equal(chain.readFile('/etc/os-release'), OS_RELEASE);
  });

  it('a whiteout in a later layer removes a file (and everything under a removed dir)', () => {
    const fs = mergeLayers([
      layer({ '/etc/passwd': file('root:x:0:0::/:/bin/sh\n'), '/etc/app/conf': file('a'), '/etc/apple': file('not under /etc/app') }),
      layer({}, ['/etc/passwd', '/etc/app']),
    ]);
    assert.equal(fs.readFile('/etc/passwd'), undefined);
    assert.equal(fs.exists('/etc/passwd'), false);
    assert.equal(fs.readFile('/etc/app/conf'), undefined);
    assert.equal(fs.readFile('/etc/apple'), 'not under /etc/app');
  });

  it('an opaque dir hides the lower layers below it but not the dir itself nor the same layer', () => {
    const fs = mergeLayers([
      layer({ '/etc': { type: 'dir' }, '/etc/passwd': file('old'), '/etc/group': file('old group'), '/etcetera': file('kept') }),
      layer({ '/etc/passwd': file('new') }, [], ['/etc']),
    ]);
    assert.equal(fs.readFile('/etc/passwd'), 'new');
    assert.equal(fs.readFile('/etc/group'), undefined);
    assert.equal(fs.exists('/etc'), true);
    assert.equal(fs.readFile('/etcetera'), 'kept');
  });

  it('a file re-added after a whiteout is back', () => {
    const fs = mergeLayers([layer({ '/etc/passwd': file('v1') }), layer({}, ['/etc/passwd']), layer({ '/etc/passwd': file('v3') })]);
    assert.equal(fs.readFile('/etc/passwd'), 'v3');
  });

  it('a later layer replacing a file by a symlink (and back) wins', () => {
    const fs = mergeLayers([layer({ '/etc/os-release': file('OLD'), '/usr/lib/os-release': file(OS_RELEASE) }), layer({ '/etc/os-release': link('../usr/lib/os-release') })]);
    assert.equal(fs.readFile('/etc/os-release'), OS_RELEASE);
  });

  it('a symlink loop terminates and yields undefined', () => {
    const fs = mergeLayers([layer({ '/etc/a': link('b'), '/etc/b': link('/etc/a'), '/etc/self': link('self'), '/loopdir': link('/loopdir/x') })]);
    assert.equal(fs.readFile('/etc/a'), undefined);
    assert.equal(fs.exists('/etc/a'), false);
    assert.equal(fs.readFile('/etc/self'), undefined);
    assert.equal(fs.readFile('/loopdir/passwd'), undefined);
  });

  it('a chain of 40 hops resolves, 41 do not (Linux MAXSYMLINKS)', () => {
    const watched: Record<string, WatchedEntry> = { '/target': file('end') };
    for (let i = 0; i < 41; i++) watched[`/l${i}`] = link(i === 40 ? '/target' : `/l${i + 1}`);
    const fs = mergeLayers([layer(watched)]);
    assert.equal(fs.readFile('/l1'), 'end'); // 40 hops
    assert.equal(fs.readFile('/l0'), undefined); // 41 hops
  });

  it('an ancestor directory symlink redirects (/etc → /private/etc, relative too)', () => {
    const abs = mergeLayers([layer({ '/etc': link('/private/etc'), '/private/etc/passwd': file('app:x:0:0::/:/bin/sh\n') })]);
    assert.equal(abs.readFile('/etc/passwd'), 'app:x:0:0::/:/bin/sh\n');
    const rel = mergeLayers([layer({ '/private/etc/group': file('g') }), layer({ '/etc': link('private/etc') })]);
    assert.equal(rel.readFile('/etc/group'), 'g');
    // The redirect is removed by a whiteout of the link in a later layer.
    const gone = mergeLayers([layer({ '/etc': link('/private/etc'), '/private/etc/passwd': file('p') }), layer({}, ['/etc'])]);
    assert.equal(gone.readFile('/etc/passwd'), undefined);
  });

  it('a hardlink to a watched file reads the file; to an unwatched one, nothing', () => {
    const fs = mergeLayers([layer({ '/usr/lib/os-release': file(OS_RELEASE), '/etc/os-release': { type: 'hardlink', target: '/usr/lib/os-release' }, '/etc/group': { type: 'hardlink', target: '/unwatched' } })]);
    assert.equal(fs.readFile('/etc/os-release'), OS_RELEASE);
    assert.equal(fs.readFile('/etc/group'), undefined);
  });

  it('a too-large, dir or "other" entry has no text', () => {
    const fs = mergeLayers([layer({ '/etc/passwd': { type: 'file', content: '', size: 9e9, truncated: true }, '/etc/group': { type: 'dir' }, '/etc/os-release': { type: 'other' } })]);
    assert.equal(fs.readFile('/etc/passwd'), undefined);
    assert.equal(fs.exists('/etc/passwd'), true);
    assert.equal(fs.readFile('/etc/group'), undefined);
    assert.equal(fs.readFile('/etc/os-release'), undefined);
    assert.equal(fs.readFile('/nothing/here'), undefined);
  });

  it('works end to end on inspector facts: symlink chain, whiteout, hardlink', async () => {
    const watchPaths = new Set(['/etc/os-release', '/usr/lib/os-release', '/etc/passwd', '/etc/group']);
    const inspect = (entries: EntrySpec[]): Promise<LayerFacts> => inspectLayer(Readable.from([buildTar(entries)]), { matchers: [], watchPaths, what: 'layer' });
    const facts = [
      await inspect([
        { type: 'file', path: 'usr/lib/os-release', content: OS_RELEASE },
        { type: 'symlink', path: 'etc/os-release', target: '../usr/lib/os-release' },
        { type: 'file', path: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
        { type: 'hardlink', path: 'etc/group', target: 'etc/passwd' },
      ]),
      await inspect([{ type: 'file', path: 'etc/.wh.passwd' }]),
    ];
    const fs = mergeLayers(facts);
    assert.equal(fs.readFile('/etc/os-release'), OS_RELEASE);
    assert.equal(fs.readFile('/etc/passwd'), undefined);
    // The hard link's target was deleted by the whiteout: in a real overlay the inode would
    // survive, but only paths are kept here, so the link reads as missing.
    assert.equal(fs.readFile('/etc/group'), undefined);
  });
});

describe('removedLater', () => {
  const layers = [layer({}), layer({}, ['/usr/bin/su', '/opt/tools']), layer({}, [], ['/var/cache']), layer({})];

  it('sees a whiteout of the path or of an ancestor in a later layer', () => {
    assert.equal(removedLater(layers, 0, '/usr/bin/su'), true);
    assert.equal(removedLater(layers, 0, '/opt/tools/bin/nc'), true);
    assert.equal(removedLater(layers, 0, '/opt/toolsmith/nc'), false);
  });

  it('sees an opaque dir in a later layer, but not for the dir itself', () => {
    assert.equal(removedLater(layers, 1, '/var/cache/apt/gcc'), true);
    assert.equal(removedLater(layers, 1, '/var/cache'), false);
  });

  it('ignores the same and earlier layers', () => {
    assert.equal(removedLater(layers, 1, '/usr/bin/su'), false);
    assert.equal(removedLater(layers, 2, '/var/cache/apt/gcc'), false);
    assert.equal(removedLater(layers, 3, '/usr/bin/su'), false);
  });
});
