/**
 * File capabilities written by the real tools (docs/checks.md, check 7): libcap's `setcap` sets
 * security.capability on files of a buildah working container (vfs storage under a temporary
 * directory), `buildah commit` writes the layer (the xattr as a PAX SCHILY.xattr record, as
 * containers/storage's tar writer does), and the scan of the archive must report every such
 * file in check 7 with the capabilities `getcap` reads back from the same file.
 *
 * Needs buildah, setcap/getcap (libcap2-bin) and root.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { scan } from '../../src/scan.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);

/** setcap and getcap have no --version (what missingTools runs): looked up in PATH instead. */
function libcapSkip(): string | false {
  const found = ['setcap', 'getcap'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
  if (found) return false;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1')
    throw new Error('OCI_SCAN_REQUIRE_TOOLS=1 but setcap/getcap are missing (apt-get install libcap2-bin)');
  return 'setcap, getcap not available (apt-get install libcap2-bin)';
}
const skip = missingTools({ buildah: 'buildah' }, true).skip || libcapSkip();

/** Files and the capabilities setcap gives them (an effective flag is all or nothing: setcap refuses a mix). */
const FILES: ReadonlyArray<[string, string]> = [
  ['usr/bin/python3.11', 'cap_setuid+ep'],
  ['usr/bin/ping', 'cap_net_raw,cap_net_bind_service+p'],
  ['usr/sbin/admin', 'cap_sys_admin,cap_chown+eip'],
  ['opt/tool', 'cap_kill+i cap_dac_override+p'],
  ['opt/restore', 'cap_checkpoint_restore,cap_bpf+ep'],
];

/** Capability → flags, from text in libcap's syntax (`a,b=ep c+i`) or ours (`a,b+ep c+i`). */
function capMap(text: string): Map<string, string> {
  const out = new Map<string, Set<string>>();
  for (const clause of text.trim().split(/\s+/)) {
    const m = /^([a-z_0-9,]+)((?:[=+-][eip]*)+)$/.exec(clause);
    assert.ok(m, `capability clause ${clause}`);
    const names = (m[1] ?? '').split(',');
    for (const [, op, flags] of (m[2] ?? '').matchAll(/([=+-])([eip]*)/g)) {
      for (const n of names) {
        const set = op === '=' ? new Set<string>() : (out.get(n) ?? new Set<string>());
        for (const f of flags ?? '') {
          if (op === '-') set.delete(f);
          else set.add(f);
        }
        out.set(n, set);
      }
    }
  }
  return new Map([...out].filter(([, f]) => f.size > 0).map(([n, f]) => [n, [...f].sort().join('')]));
}

describeOrSkip('file capabilities set by setcap and committed by buildah', { skip }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let archive = '';
  const read = new Map<string, string>();
  const buildah = (args: readonly string[]): Promise<string> =>
    run('buildah', ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', ...args]).then((r) =>
      r.stdout.trim(),
    );

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-caps-'));
    archive = join(dir, 'caps.tar');
    const ctr = await buildah(['from', 'scratch']);
    const root = await buildah(['mount', ctr]);
    await run('mkdir', ['-p', join(root, 'usr/bin'), join(root, 'usr/sbin'), join(root, 'opt')]);
    for (const [path, caps] of FILES) {
      const file = join(root, path);
      await writeFile(file, '#!/bin/sh\n');
      await chmod(file, 0o755);
      await run('setcap', [caps, file]);
      // What the kernel keeps, as libcap reads it back: `FILE CAPS`.
      read.set(`/${path}`, (await run('getcap', [file])).stdout.trim().slice(file.length).trim());
    }
    await buildah(['umount', ctr]);
    await buildah(['commit', '--quiet', '--format', 'oci', ctr, `oci-archive:${archive}:1.0`]);
  });

  after(async () => {
    await buildah(['rm', '--all']).catch(() => undefined);
    await buildah(['rmi', '--all', '--force']).catch(() => undefined);
    await cleanup();
  });

  it('check 7 reports each file with the capabilities getcap reads', async () => {
    const [result] = await scan(`oci-archive:${archive}:1.0`, testScanOptions());
    const suid = result?.results.find((r) => r.Id === 'suid');
    assert.ok(suid && !suid.Pass, JSON.stringify(suid));
    const listed = Object.values(suid.Files?.[0] ?? {})[0] ?? [];
    assert.deepEqual([...listed].sort(), FILES.map(([p]) => `/${p}`).sort());
    for (const [path, text] of read) {
      const m = new RegExp(`${path.replace(/[.]/g, '\\.')} has file capabilities ([^;)]+)`).exec(suid.Description);
      assert.ok(m?.[1], `${path} in ${suid.Description}`);
      assert.deepEqual(capMap(m[1]), capMap(text), `${path}: ours ${m[1]}, getcap ${text}`);
    }
  });
});
