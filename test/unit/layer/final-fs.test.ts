/**
 * The final filesystem (src/layer/final-fs.ts): layers applied in order with whiteouts and
 * opaque dirs, symlinks followed in every component up to 40 links, hard links as copies of
 * their target's inode, and the paths scan.ts must watch next. Layers are entry lists recorded
 * by test/helpers/check-input.ts (the facts contract); a few facts are written by hand where
 * the inspector's exact output is not the point.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeLayers, removalIndex, type FileRead } from '../../../src/layer/final-fs.js';
import type { LayerFacts, LayerOp } from '../../../src/layer/inspect.js';
import { normalisePath } from '../../../src/layer/paths.js';
import { recordImage, type TestEntry } from '../../helpers/check-input.js';

const OS_RELEASE = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n';

/** The final filesystem of `layers` after scan.ts's re-inspection loop, every file path watched. */
const fsOf = (...layers: TestEntry[][]): ReturnType<typeof recordImage>['fs'] =>
  recordImage(
    layers.map((entries) => ({ entries })),
    { watch: layers.flat().map((e) => normalisePath(e.path)) },
  ).fs;
const file = (path: string, content = '', mode = 0o644): TestEntry => ({ type: 'file', path, content, mode });
const exe = (path: string): TestEntry => ({ type: 'file', path, content: 'x', mode: 0o755 });
const link = (path: string, target: string): TestEntry => ({ type: 'symlink', path, target });
// A tar writer gives a hard link its inode's mode.
const hard = (path: string, target: string, mode = 0o755): TestEntry => ({ type: 'hardlink', path, target, mode });
const ok = (path: string, content: string, size = Buffer.byteLength(content), truncated = false): FileRead => ({
  status: 'ok',
  path,
  content,
  bytes: Buffer.from(content),
  size,
  truncated,
});

/** Facts with only what mergeLayers reads. */
function facts(over: Partial<LayerFacts>): LayerFacts {
  return {
    matches: {},
    matchCounts: {},
    matchBytes: {},
    details: {},
    whiteouts: [],
    opaqueDirs: [],
    watched: {},
    symlinks: {},
    ops: [],
    executablesTruncated: false,
    capabilities: {},
    compression: 'none',
    entries: 0,
    tarBytes: 0,
    ...over,
  };
}

describe('mergeLayers: symlinks', () => {
  it('follows /etc/os-release → ../usr/lib/os-release, relative and absolute, across layers', () => {
    assert.deepEqual(
      fsOf([file('usr/lib/os-release', OS_RELEASE), link('etc/os-release', '../usr/lib/os-release')]).read('/etc/os-release'),
      ok('/usr/lib/os-release', OS_RELEASE),
    );
    const chain = fsOf(
      [file('usr/lib/os-release', OS_RELEASE)],
      [link('etc/os-release', '/etc/os-release.d/current'), link('etc/os-release.d/current', './../../usr/./lib//os-release')],
    );
    assert.deepEqual(chain.read('/etc/os-release'), ok('/usr/lib/os-release', OS_RELEASE));
  });

  it('follows directory links anywhere in the path: Debian netcat through /bin → usr/bin', () => {
    const fs = fsOf([
      link('bin', 'usr/bin'),
      exe('usr/bin/nc.openbsd'),
      link('etc/alternatives/nc', '/bin/nc.openbsd'),
      link('usr/bin/nc', '/etc/alternatives/nc'),
    ]);
    const r = fs.lookup('/usr/bin/nc');
    assert.equal(r.path, '/usr/bin/nc.openbsd');
    assert.ok(
      r.status === 'found' && r.node.type === 'file' && (r.node.inode.mode & 0o111) !== 0 && r.node.inode.origin === '/usr/bin/nc.openbsd',
    );
    // Not following the last link stops at the link itself.
    assert.deepEqual(fs.lookup('/usr/bin/nc', { followLast: false }), {
      status: 'found',
      path: '/usr/bin/nc',
      node: { type: 'symlink', target: '/etc/alternatives/nc' },
    });
  });

  it('clamps `..` at the root and resolves `..` after a link from where the link led (as the kernel does)', () => {
    const fs = fsOf([
      file('etc/real', 'r'),
      link('x', '../../../../etc/real'),
      link('lib', 'usr/lib'),
      file('usr/etc/passwd', 'under usr'),
    ]);
    assert.deepEqual(fs.read('/x'), ok('/etc/real', 'r'));
    assert.equal(fs.lookup('/lib/../etc/passwd').path, '/usr/etc/passwd');
    assert.equal(fs.lookup('/../../etc/real').path, '/etc/real');
  });

  it('a symlink loop ends after 40 links and says so', () => {
    const fs = fsOf([link('etc/a', 'b'), link('etc/b', '/etc/a'), link('etc/self', 'self'), link('loopdir', '/loopdir/x')]);
    assert.equal(fs.lookup('/etc/a').status, 'loop');
    assert.deepEqual(fs.read('/etc/self'), {
      status: 'unreadable',
      path: '/etc/self',
      reason: 'more than 40 symlinks (a loop) from /etc/self',
    });
    assert.equal(fs.lookup('/loopdir/passwd').status, 'loop');
    assert.equal(fs.resolve('/etc/a'), undefined);
  });

  it('a chain of 40 links resolves, 41 do not (Linux MAXSYMLINKS); a lookup can start with hops already used', () => {
    const entries: TestEntry[] = [file('target', 'end')];
    for (let i = 0; i < 41; i++) entries.push(link(`l${i}`, i === 40 ? '/target' : `/l${i + 1}`));
    const fs = fsOf(entries);
    assert.deepEqual(fs.read('/l1'), ok('/target', 'end'));
    assert.equal(fs.lookup('/l0').status, 'loop');
    assert.equal(fs.lookup('/l1', { hops: 1 }).status, 'loop');
    // Resolutions are remembered per link: whichever lookup comes first, the count is the kernel's.
    const ops: LayerOp[] = [{ op: 'file', path: '/target', mode: 0o644, uid: 0, gid: 0 }];
    for (let i = 0; i < 41; i++) ops.push({ op: 'symlink', path: `/l${i}`, target: i === 40 ? '/target' : `/l${i + 1}` });
    for (const order of [
      ['/l2', '/l3'],
      ['/l3', '/l2'],
    ]) {
      const again = mergeLayers([facts({ ops })]);
      for (const p of order)
        assert.equal(
          again.lookup(p, { hops: p === '/l2' ? 3 : 0 }).status,
          p === '/l2' ? 'loop' : 'found',
          `${order.join(' then ')}: ${p}`,
        );
      assert.equal(again.lookup('/l2', { hops: 1 }).status, 'found');
      assert.equal(again.lookup('/l2', { hops: 2 }).status, 'loop');
    }
  });

  it('an ancestor directory link redirects (/etc → /private/etc), until a later layer whites it out', () => {
    assert.deepEqual(
      fsOf([link('etc', '/private/etc'), file('private/etc/passwd', 'p')]).read('/etc/passwd'),
      ok('/private/etc/passwd', 'p'),
    );
    assert.deepEqual(
      fsOf([file('private/etc/group', 'g')], [link('etc', 'private/etc')]).read('/etc/group'),
      ok('/private/etc/group', 'g'),
    );
    assert.deepEqual(fsOf([link('etc', '/private/etc'), file('private/etc/passwd', 'p')], [file('.wh.etc')]).read('/etc/passwd'), {
      status: 'missing',
      path: '/etc/passwd',
    });
  });
});

describe('mergeLayers: layers, whiteouts, opaque dirs', () => {
  it('a whiteout removes a file and everything under a removed dir, not its namesakes', () => {
    const fs = fsOf(
      [file('etc/passwd', 'root'), file('etc/app/conf', 'a'), file('etc/apple', 'not under /etc/app')],
      [file('etc/.wh.passwd'), file('etc/.wh.app')],
    );
    assert.deepEqual(fs.read('/etc/passwd'), { status: 'missing', path: '/etc/passwd' });
    assert.equal(fs.lookup('/etc/app/conf').status, 'absent');
    assert.deepEqual(fs.read('/etc/apple'), ok('/etc/apple', 'not under /etc/app'));
  });

  it('an opaque dir hides the lower layers below it, not the same layer nor its namesakes', () => {
    const fs = fsOf(
      [file('etc/passwd', 'old'), file('etc/group', 'old group'), file('etcetera', 'kept')],
      [file('etc/.wh..wh..opq'), file('etc/passwd', 'new')],
    );
    assert.deepEqual(fs.read('/etc/passwd'), ok('/etc/passwd', 'new'));
    assert.deepEqual(fs.read('/etc/group'), { status: 'missing', path: '/etc/group' });
    assert.deepEqual(fs.lookup('/etc'), { status: 'found', path: '/etc', node: { type: 'dir' } });
    assert.deepEqual(fs.read('/etcetera'), ok('/etcetera', 'kept'));
  });

  it('a file re-added after a whiteout is back; a later file → symlink (and back) wins', () => {
    assert.deepEqual(
      fsOf([file('etc/passwd', 'v1')], [file('etc/.wh.passwd')], [file('etc/passwd', 'v3')]).read('/etc/passwd'),
      ok('/etc/passwd', 'v3'),
    );
    const relinked = fsOf(
      [file('etc/os-release', 'OLD'), file('usr/lib/os-release', OS_RELEASE)],
      [link('etc/os-release', '../usr/lib/os-release')],
    );
    assert.deepEqual(relinked.read('/etc/os-release'), ok('/usr/lib/os-release', OS_RELEASE));
  });

  it('a later non-directory hides what lower layers had below that path (usrmerge: /bin → usr/bin)', () => {
    const fs = fsOf([exe('bin/su'), exe('usr/bin/true')], [link('bin', 'usr/bin')]);
    assert.deepEqual(fs.lookup('/bin/su'), { status: 'absent', path: '/usr/bin/su' });
    assert.equal(fs.lookup('/bin/true').status, 'found');
  });

  it('a later layer writing below a lower symlink: overlay makes that path a directory, vfs writes through the link', () => {
    const fs = fsOf(
      [link('etc', '/private/etc'), file('private/etc/passwd', 'hidden: app:x:1000:1000')],
      [file('etc/passwd', 'app:x:0:0')],
    );
    // The content is the same either way; where it is differs.
    assert.deepEqual(fs.read('/etc/passwd'), ok('/etc/passwd', 'app:x:0:0'));
    const [overlay, vfs] = fs.views;
    assert.deepEqual(overlay?.lookup('/etc', { followLast: false }), { status: 'found', path: '/etc', node: { type: 'dir' } });
    assert.deepEqual(vfs?.lookup('/etc', { followLast: false }), {
      status: 'found',
      path: '/etc',
      node: { type: 'symlink', target: '/private/etc' },
    });
    assert.equal(vfs?.lookup('/private/etc/passwd').status, 'found');
    assert.deepEqual(fs.landings(1, '/etc/passwd'), [{ driver: 'vfs', at: '/private/etc/passwd', link: '/etc', target: '/private/etc' }]);
    // A whiteout below it: overlay holds /etc as an empty directory, vfs removes through the link.
    const whited = fsOf(
      [link('etc', '/private/etc'), file('private/etc/passwd', 'p'), file('private/etc/group', 'g')],
      [file('etc/.wh.group')],
    );
    assert.deepEqual(whited.lookup('/etc'), { status: 'found', path: '/etc', node: { type: 'dir' } });
    assert.deepEqual(whited.read('/etc/passwd'), {
      status: 'unreadable',
      path: '/etc/passwd',
      reason: '/etc/passwd differs between storage drivers: nothing at /etc/passwd with overlay, /private/etc/passwd (1 bytes) with vfs',
    });
    assert.deepEqual(whited.read('/etc/group'), { status: 'missing', path: '/etc/group' });
  });

  it('says what a read found: a directory, a fifo, a file too large to keep whole, nothing', () => {
    const big = 'root:x:0:0\n'.repeat(20);
    const { fs } = recordImage(
      [{ entries: [{ type: 'dir', path: 'etc/passwd/' }, { type: 'fifo', path: 'etc/group' }, file('etc/os-release', big)] }],
      { maxWatchedBytes: 16 },
    );
    assert.deepEqual(fs.read('/etc/passwd'), { status: 'unreadable', path: '/etc/passwd', reason: '/etc/passwd is a directory' });
    assert.deepEqual(fs.read('/etc/group'), { status: 'unreadable', path: '/etc/group', reason: '/etc/group is not a regular file' });
    assert.deepEqual(fs.read('/etc/os-release'), ok('/etc/os-release', big.slice(0, 16), big.length, true));
    assert.deepEqual(fs.read('/nothing/here'), { status: 'unreadable', path: '/nothing/here', reason: '/nothing/here was not inspected' });
    assert.deepEqual(fs.read('/etc/alpine-release'), { status: 'missing', path: '/etc/alpine-release' });
  });
});

describe('mergeLayers: hard links', () => {
  it('follows a chain of hard links (a link to a link) inside a layer; across layers only vfs links (overlay refuses the layer)', () => {
    const fs = fsOf(
      [file('etc/passwd.real', 'app:x:1000:1000'), hard('etc/p2', 'etc/passwd.real'), hard('etc/passwd', 'etc/p2')],
      [hard('etc/group', 'etc/passwd')],
    );
    assert.deepEqual(fs.read('/etc/passwd'), ok('/etc/passwd', 'app:x:1000:1000'));
    assert.deepEqual(fs.read('/etc/group'), {
      status: 'unreadable',
      path: '/etc/group',
      reason:
        '/etc/group differs between storage drivers: /etc/group is a hard link to /etc/passwd, which is not in the image with overlay, /etc/group (15 bytes) with vfs',
    });
    const [, vfs] = fs.views;
    const group = vfs?.lookup('/etc/group');
    assert.ok(group?.status === 'found' && group.node.type === 'file' && group.node.inode.origin === '/etc/passwd.real');
  });

  it('a hard link header sets the mode of every name of the inode (containers/storage: link, lchown, chmod)', () => {
    const fs = fsOf([file('usr/lib/x/real', 'x', 0o644), hard('tmp/h', 'usr/lib/x/real', 0o4755)]);
    for (const view of fs.views) {
      const r = view.lookup('/usr/lib/x/real');
      assert.ok(r.status === 'found' && r.node.type === 'file' && r.node.inode.mode === 0o4755, view.driver);
    }
    // In a later layer, only vfs links (and chmods) the lower file: overlay refuses the layer.
    const later = fsOf([file('usr/lib/x/real', 'x', 0o644)], [hard('tmp/h', 'usr/lib/x/real', 0o755)]);
    const [overlay, vfs] = later.views;
    const o = overlay?.lookup('/usr/lib/x/real');
    const v = vfs?.lookup('/usr/lib/x/real');
    assert.ok(o?.status === 'found' && o.node.type === 'file' && o.node.inode.mode === 0o644);
    assert.ok(v?.status === 'found' && v.node.type === 'file' && v.node.inode.mode === 0o755);
  });

  it('keeps the content the target had when the link was made, whatever later layers do to the target', () => {
    // The inode survives: replacing or deleting /tmp/p later does not change /etc/passwd.
    const replaced = fsOf([file('tmp/p', 'admin:x:0:0'), hard('etc/passwd', 'tmp/p')], [file('tmp/p', 'admin:x:1000:1000')]);
    assert.deepEqual(replaced.read('/etc/passwd'), ok('/etc/passwd', 'admin:x:0:0'));
    const deleted = fsOf([file('tmp/p', 'admin:x:0:0'), hard('etc/passwd', 'tmp/p')], [file('tmp/.wh.p')]);
    assert.deepEqual(deleted.read('/etc/passwd'), ok('/etc/passwd', 'admin:x:0:0'));
  });

  it('a hard link to an executable is an executable; to a missing target, a link that says so', () => {
    const fs = fsOf([exe('bin/busybox'), hard('bin/su', 'bin/busybox'), hard('etc/passwd', 'nowhere/passwd', 0o644)]);
    const su = fs.lookup('/bin/su');
    assert.ok(su.status === 'found' && su.node.type === 'file' && (su.node.inode.mode & 0o111) !== 0);
    assert.deepEqual(fs.read('/etc/passwd'), {
      status: 'unreadable',
      path: '/etc/passwd',
      reason: '/etc/passwd is a hard link to /nowhere/passwd, which is not in the image',
    });
  });
});

describe('mergeLayers: what scan.ts must watch next', () => {
  it('names the paths watched paths lead to (links, hard links), and stops when they are watched', () => {
    const layers = [
      [
        link('etc', 'private/etc'),
        file('private/etc/passwd', 'app:x:1000:1000'),
        file('data/group', 'app:x:1000:'),
        hard('private/etc/group', 'data/group'),
      ],
    ];
    const once = recordImage(
      layers.map((entries) => ({ entries })),
      { rounds: 1 },
    );
    assert.deepEqual(once.fs.pendingWatches(once.watchPaths), [
      '/data/group',
      '/private/etc/alpine-release',
      '/private/etc/os-release',
      '/private/etc/passwd',
    ]);
    assert.deepEqual(once.fs.read('/etc/passwd'), {
      status: 'unreadable',
      path: '/private/etc/passwd',
      reason: '/etc/passwd leads to /private/etc/passwd, which was not inspected',
    });
    assert.deepEqual(once.fs.read('/etc/group'), {
      status: 'unreadable',
      path: '/private/etc/group',
      reason: '/private/etc/group is a hard link to /data/group, which was not inspected',
    });
    const done = recordImage(layers.map((entries) => ({ entries })));
    assert.deepEqual(done.fs.pendingWatches(done.watchPaths), []);
    assert.deepEqual(done.fs.read('/etc/passwd'), ok('/private/etc/passwd', 'app:x:1000:1000'));
    assert.deepEqual(done.fs.read('/etc/group'), ok('/private/etc/group', 'app:x:1000:'));
  });

  it('without the watch set every absent path counts as missing', () => {
    const fs = mergeLayers([facts({ ops: [{ op: 'symlink', path: '/etc', target: '/elsewhere' }] })]);
    assert.deepEqual(fs.read('/etc/passwd'), { status: 'missing', path: '/elsewhere/passwd' });
    assert.equal(fs.resolve('/etc/passwd'), '/elsewhere/passwd');
  });

  it('merges a hostile layer set in time linear in its size: 60,000 whiteouts over 60,000 files', () => {
    // The former merge walked every lower path for each whiteout: 3.6e9 steps here.
    const executables = Array.from({ length: 60_000 }, (_, i): LayerOp => ({
      op: 'file',
      path: `/d${i % 300}/f${i}`,
      mode: 0o755,
      uid: 0,
      gid: 0,
    }));
    const whiteouts = Array.from({ length: 60_000 }, (_, i): LayerOp => ({ op: 'whiteout', path: `/d${i % 300}/f${i}x` }));
    const opaque = Array.from({ length: 300 }, (_, i): LayerOp => ({ op: 'opaque', path: `/e${i}` }));
    const fs = mergeLayers([facts({ ops: executables }), facts({ ops: [...whiteouts, ...opaque] })]);
    assert.equal(fs.lookup('/d7/f7').status, 'found');
    assert.equal(fs.lookup('/d7/f7x').status, 'absent');
  });
});

describe('removalIndex', () => {
  const layers = [facts({}), facts({ whiteouts: ['/opt/tools', '/usr/bin/su'] }), facts({ opaqueDirs: ['/var/cache'] }), facts({})];
  const removed = removalIndex(layers);

  it('sees a whiteout of the path or of an ancestor in a later layer', () => {
    assert.equal(removed(0, '/usr/bin/su'), true);
    assert.equal(removed(0, '/opt/tools/bin/nc'), true);
    assert.equal(removed(0, '/opt/toolsmith/nc'), false);
  });

  it('sees an opaque dir in a later layer, but not for the dir itself', () => {
    assert.equal(removed(1, '/var/cache/apt/gcc'), true);
    assert.equal(removed(1, '/var/cache'), false);
  });

  it('ignores the same and earlier layers', () => {
    assert.equal(removed(1, '/usr/bin/su'), false);
    assert.equal(removed(2, '/var/cache/apt/gcc'), false);
    assert.equal(removed(3, '/usr/bin/su'), false);
  });
});
