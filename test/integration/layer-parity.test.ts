/**
 * Layers applied as the runtime applies them, against the real thing: named hostile images
 * are loaded by podman with the vfs and the overlay storage driver (each in a storage of its
 * own under a temporary directory), every image is mounted, and the mounted root filesystem
 * (paths, types, modes with setuid/setgid, owners, link targets, content, shared inodes) must
 * be what the inspector's final filesystem shows for that driver; the scan of the same archive
 * must fail the checks the runtime's filesystem fails (docs/security.md, "Runtime parity").
 * Before the layers were applied in tar order with both drivers' rules, cases 1, 2, 3, 3b, 4
 * and 8 passed the checks they fail here, and case 9's capabilities were not seen.
 *
 * Provenance: each image is built by test/helpers/image-builder.ts (ustar headers, PAX records
 * for xattrs) and all of them are put in one docker archive (`docker save` layout, several
 * images) so that podman loads them in one go. Needs podman and root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { scan } from '../../src/scan.js';
import type { ReportResult } from '../../src/report/model.js';
import { buildImage, buildTar, tarOfFiles, type BuiltImage, type EntrySpec } from '../helpers/image-builder.js';
import { compareRootFs, listMount, readLayers, watchingEveryPath } from '../helpers/root-fs.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);
const { skip } = missingTools({ podman: 'podman' }, true);

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const ROOT_APP = 'root:x:0:0:root:/root:/bin/sh\napp:x:0:0::/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\n';
/** v2 capabilities: cap_setuid, permitted and effective. */
const CAP_SETUID_EP = Buffer.from('0100000280000000000000000000000000000000', 'hex');

const BASE: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/passwd', content: PASSWD },
  { type: 'file', path: 'etc/group', content: GROUP },
  { type: 'dir', path: 'usr/' },
  { type: 'dir', path: 'usr/bin/' },
  { type: 'dir', path: 'usr/lib/' },
  { type: 'file', path: 'app', mode: 0o755, content: 'app' },
];
const exe = (path: string, mode = 0o755): EntrySpec => ({ type: 'file', path, mode, content: `#!${path}` });

interface Case {
  readonly name: string;
  /** Layers after BASE. */
  readonly layers: readonly EntrySpec[][];
  /** Check id → a fragment of its description, for the checks the image must fail. */
  readonly fails: Readonly<Record<string, string>>;
}

const CASES: readonly Case[] = [
  {
    name: '1: a program written through a symlink made earlier in its layer (every driver)',
    layers: [
      [
        { type: 'dir', path: 'usr/lib/sudo/' },
        { type: 'symlink', path: 'opt/s', target: '/usr/lib/sudo' },
        exe('opt/s/sudo-real'),
        { type: 'symlink', path: 'usr/bin/sudo', target: '/usr/lib/sudo/sudo-real' },
      ],
    ],
    fails: { sudo: 'Found file' },
  },
  {
    name: '2: a program written through a symlink of a lower layer (vfs only: overlay makes a directory)',
    layers: [
      [
        { type: 'dir', path: 'usr/lib/sudo/' },
        { type: 'symlink', path: 'opt/s', target: '/usr/lib/sudo' },
      ],
      [exe('opt/s/sudo-real'), { type: 'symlink', path: 'usr/bin/sudo', target: '/usr/lib/sudo/sudo-real' }],
    ],
    fails: { sudo: '/usr/bin/sudo is a program with the vfs storage driver only' },
  },
  {
    name: '3: /etc/passwd rewritten through a symlink to /etc made earlier in its layer (every driver)',
    // The layer has /etc itself: overlay refuses a write through a link to a lower layer's directory.
    layers: [
      [
        { type: 'dir', path: 'etc/' },
        { type: 'symlink', path: 'x', target: '/etc' },
        { type: 'file', path: 'x/passwd', content: ROOT_APP },
      ],
    ],
    fails: { 'default-user': 'uid 0' },
  },
  {
    name: '3b: /etc/passwd rewritten through a symlink of a lower layer (vfs only)',
    layers: [[{ type: 'symlink', path: 'x', target: '/etc' }], [{ type: 'file', path: 'x/passwd', content: ROOT_APP }]],
    fails: { 'default-user': 'differs between storage drivers' },
  },
  {
    name: '4: a hard link header makes a 0644 sudo executable',
    layers: [
      [
        { type: 'file', path: 'usr/bin/sudo', mode: 0o644, content: 'sudo' },
        { type: 'hardlink', path: 'tmp/h', target: 'usr/bin/sudo', mode: 0o755 },
      ],
    ],
    fails: { sudo: 'Found file' },
  },
  {
    name: '5: a hard link header sets the setuid bit of its target',
    layers: [[exe('usr/bin/tool'), { type: 'hardlink', path: 'var/h', target: 'usr/bin/tool', mode: 0o4755 }]],
    fails: { suid: 'Found file' },
  },
  {
    name: '6: a whiteout then a re-add in one layer: the file is back',
    layers: [
      [
        { type: 'file', path: 'etc/.wh.passwd' },
        { type: 'file', path: 'etc/passwd', content: ROOT_APP },
      ],
    ],
    fails: { 'default-user': 'uid 0' },
  },
  {
    name: '7: an opaque directory keeps what its own layer writes, before or after the marker',
    layers: [
      [exe('usr/local/bin/gcc'), exe('usr/local/bin/keep')],
      [exe('usr/local/bin/cc'), { type: 'file', path: 'usr/local/bin/.wh..wh..opq' }, exe('usr/local/bin/c99')],
    ],
    fails: { compilers: 'removed from the final filesystem by a later layer' },
  },
  {
    name: '8: a directory replaced by a file, and a file by a directory',
    layers: [[{ type: 'file', path: 'etc', content: 'not a directory' }, { type: 'dir', path: 'app/' }, exe('app/server')]],
    fails: { 'default-user': 'not found' },
  },
  {
    name: '9: file capabilities (PAX SCHILY.xattr.security.capability)',
    layers: [[{ type: 'file', path: 'usr/bin/python3.11', mode: 0o755, content: 'py', xattrs: { 'security.capability': CAP_SETUID_EP } }]],
    fails: { suid: '/usr/bin/python3.11 has file capabilities cap_setuid+ep' },
  },
];

const CONFIG = { User: 'app:app', Labels: { vendor: 'Example', version: '1.0', component: 'c', product: 'p' }, Cmd: ['/app'] };

/** All images in one docker archive (`docker save` of several images). */
function multiImageArchive(images: readonly BuiltImage[]): Buffer {
  const files = new Map<string, Buffer>();
  const manifest = images.map((image, i) => {
    const config = `${image.configDigest.slice(7)}.json`;
    files.set(config, image.config);
    const layers = image.layers.map((l) => {
      const name = `${l.digest.slice(7)}/layer.tar`;
      files.set(name, l.bytes);
      return name;
    });
    return { Config: config, RepoTags: [`parity${i}:1.0`], Layers: layers };
  });
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  return tarOfFiles([...files]);
}

describeOrSkip('layers applied as podman applies them (vfs and overlay)', { skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let archive = '';
  const tars = CASES.map((c) => [BASE, ...c.layers].map((entries) => buildTar(entries)));
  /** driver → case index → the mounted root. */
  const mounts = new Map<string, string[]>();
  const podman = (driver: string, args: readonly string[]): Promise<string> =>
    run('podman', ['--root', join(dir, driver, 'root'), '--runroot', join(dir, driver, 'run'), '--storage-driver', driver, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    }).then((r) => r.stdout.trim());

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-parity-'));
    archive = join(dir, 'images.tar');
    await writeFile(
      archive,
      multiImageArchive(
        tars.map((layers) => buildImage({ layers: layers.map((tar) => ({ tar, compression: 'none' as const })), config: CONFIG })),
      ),
    );
    for (const driver of ['vfs', 'overlay']) {
      await podman(driver, ['load', '-q', '-i', archive]);
      const roots: string[] = [];
      for (let i = 0; i < CASES.length; i++) roots.push(await podman(driver, ['image', 'mount', `parity${i}:1.0`]));
      mounts.set(driver, roots);
    }
  });

  after(async () => {
    for (const driver of mounts.keys()) {
      await podman(driver, ['image', 'unmount', '--all']).catch(() => undefined);
      await podman(driver, ['rmi', '--all', '--force']).catch(() => undefined);
    }
    await cleanup();
  });

  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const layers = tars[i] ?? [];
      const { fs } = await readLayers(layers, watchingEveryPath([BASE, ...c.layers].flat()));
      for (const driver of ['vfs', 'overlay'] as const) {
        const root = mounts.get(driver)?.[i];
        assert.ok(root, `${driver} mounted case ${i}`);
        // podman's mount is read here without xattrs: capabilities are compared by the containers/storage oracle.
        assert.deepEqual(compareRootFs(driver, await listMount(root), fs, { capabilities: false }), [], `${driver}: ${c.name}`);
      }
      const [result] = await scan(`docker-archive:${archive}:parity${i}:1.0`, testScanOptions());
      const byId = new Map((result?.results ?? []).map((r): [string, ReportResult] => [r.Id, r]));
      for (const [id, fragment] of Object.entries(c.fails)) {
        const r = byId.get(id);
        assert.equal(r?.Pass, false, `${id} must fail: ${r?.Description}`);
        assert.ok(r.Description.includes(fragment), `${id}: ${r.Description}`);
      }
    });
  });
});
