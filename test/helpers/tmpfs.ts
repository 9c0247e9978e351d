/**
 * tmpfs mounts for tests of file systems that refuse writes (read-only, full). Root only:
 * without the right to mount, a test is skipped with one loud line — unless
 * OCI_SCAN_REQUIRE_MOUNT=1 (set by .ci/run), which makes that a failure.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './scan.js';

function tryMount(target: string, options: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
  }
}

function unmount(target: string): void {
  try {
    execFileSync('umount', [target], { stdio: 'pipe' });
  } catch {
    // already gone
  }
}

/** Runs `fn` on a fresh tmpfs mounted with `options` (e.g. `ro,size=64k`), unmounted after; skips `t` (loudly, naming `what`) when mounting is refused. */
export async function withMount(
  options: string,
  fn: (dir: string) => Promise<void>,
  t: { skip(msg: string): void },
  what = 'reports-fs',
): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const target = join(dir, 'mnt');
  await mkdir(target);
  const refused = tryMount(target, options);
  try {
    if (refused) {
      if (process.env['OCI_SCAN_REQUIRE_MOUNT'] === '1') assert.fail(`cannot mount tmpfs (${refused}); OCI_SCAN_REQUIRE_MOUNT=1`);
      process.stderr.write(`!!! ${what} tests SKIPPED: cannot mount tmpfs (${refused}); run as root to test read-only and full disks\n`);
      t.skip('cannot mount tmpfs');
      return;
    }
    await fn(target);
  } finally {
    unmount(target);
    await cleanup();
  }
}
