/**
 * The checks on real layers, end to end: images built in code (test/helpers/image-builder.ts)
 * → OCI layout → scan(), so the real tar reader, facts recorder, re-inspection loop of
 * scan.ts and final filesystem decide. The pure cases are in checks.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntrySpec } from '../../helpers/image-builder.js';
import { scanSpec } from '../../helpers/scan.js';

const GROUP = 'root:x:0:\napp:x:1000:\n';
const CONFIG = {
  User: 'app:app',
  Labels: { vendor: 'Example', version: '1.0', component: 'backend', product: 'shop' },
  Cmd: ['/app/server'],
};
const exe = (path: string): EntrySpec => ({ type: 'file', path, mode: 0o755, content: 'x' });
const link = (path: string, target: string): EntrySpec => ({ type: 'symlink', path, target });

/** A usrmerge Debian root, as debootstrap lays it out. */
const DEBIAN: EntrySpec[] = [
  link('bin', 'usr/bin'),
  link('sbin', 'usr/sbin'),
  { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
  { type: 'file', path: 'etc/group', content: GROUP },
  exe('usr/bin/dash'),
  exe('usr/lib/apt/methods/rsh'),
  link('usr/lib/apt/methods/ssh', 'rsh'),
  { type: 'dir', path: 'etc/sv/ssh/' },
  link('etc/runit/runsvdir/default/ssh', '/etc/sv/ssh'),
  { type: 'dir', path: 'usr/share/doc/gcc-12-base/' },
  link('usr/share/doc/gcc', 'gcc-12-base'),
  exe('app/server'),
];

test('a Debian root with symlinks named ssh and gcc outside PATH passes, also when a layer repeats them', async () => {
  const { byId } = await scanSpec({
    layers: [
      { entries: DEBIAN },
      {
        entries: [
          link('usr/lib/apt/methods/ssh', 'rsh'),
          link('etc/alternatives/nc', '/usr/bin/dash'),
          link('etc/alternatives/nc', '/usr/bin/dash'),
        ],
      },
    ],
    config: CONFIG,
  });
  for (const id of ['ssh', 'nc', 'compilers', 'default-user']) assert.equal(byId(id).Pass, true, `${id}: ${byId(id).Description}`);
});

test("Debian's netcat fails through /usr/bin/nc → /etc/alternatives/nc → /bin/nc.openbsd with /bin → usr/bin", async () => {
  const { built, byId } = await scanSpec({
    layers: [
      { entries: DEBIAN },
      { entries: [exe('usr/bin/nc.openbsd'), link('etc/alternatives/nc', '/bin/nc.openbsd'), link('usr/bin/nc', '/etc/alternatives/nc')] },
    ],
    config: CONFIG,
  });
  assert.deepEqual(byId('nc').Files, [{ [built.layers[1]?.digest as string]: ['/usr/bin/nc', '/usr/bin/nc.openbsd'] }]);
  assert.equal(byId('nc').Description, 'Found file');
});

test('check 3 reads the /etc/passwd the runtime reads: behind /etc → /private/etc, through a hard link, with an uid field Atoi rejects', async () => {
  const hidden = await scanSpec({
    layers: [
      {
        entries: [
          { type: 'file', path: 'private/etc/passwd', content: 'admin:x:0:0::/root:/bin/sh\n' },
          { type: 'file', path: 'private/etc/group', content: GROUP },
        ],
      },
      { entries: [link('etc', 'private/etc')] },
    ],
    config: { ...CONFIG, User: 'admin:app' },
  });
  assert.equal(hidden.byId('default-user').Description, 'The default user is root: admin, which has uid 0 in /etc/passwd (USER admin:app)');
  const linked = await scanSpec({
    layers: [
      {
        entries: [
          { type: 'file', path: 'var/lib/p', content: 'svc:x:abc:1000::/:/bin/sh\n' },
          { type: 'hardlink', path: 'etc/passwd', target: 'var/lib/p' },
          { type: 'file', path: 'etc/group', content: GROUP },
        ],
      },
    ],
    config: { ...CONFIG, User: 'svc:app' },
  });
  assert.equal(
    linked.byId('default-user').Description,
    "The default user is root: svc, which has uid 0 in /etc/passwd (uid field 'abc' on line 1 is not a number runc can parse: it reads it as 0) (USER svc:app)",
  );
});
