/**
 * The reports directory on file systems that refuse writes: a read-only mount and a full one
 * → exit 23 with one clear line, and no partial or temporary file left behind. Uses tmpfs
 * mounts (root only); without the right to mount, the tests are skipped with one loud line —
 * unless OCI_SCAN_REQUIRE_MOUNT=1 (set by .ci/run), which makes that a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/scan.js';

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

async function withMount(options: string, fn: (dir: string) => Promise<void>, t: { skip(msg: string): void }): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const target = join(dir, 'mnt');
  await mkdir(target);
  const refused = tryMount(target, options);
  try {
    if (refused) {
      if (process.env['OCI_SCAN_REQUIRE_MOUNT'] === '1') assert.fail(`cannot mount tmpfs (${refused}); OCI_SCAN_REQUIRE_MOUNT=1`);
      process.stderr.write(`!!! reports-fs tests SKIPPED: cannot mount tmpfs (${refused}); run as root to test read-only and full disks\n`);
      t.skip('cannot mount tmpfs');
      return;
    }
    await fn(target);
  } finally {
    unmount(target);
    await cleanup();
  }
}

test('a read-only reports directory → exit 23, one line, before anything is downloaded', async (t) => {
  await withMount(
    'ro,size=64k',
    async (mnt) => {
      const existing = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', mnt]);
      assert.equal(existing.code, 23, existing.stderr);
      assert.match(existing.stderr, /^oci-scan: the reports directory .* is not writable: set COMPLIANCE_REPORTS_DIR or --reports-dir/);
      assert.equal(existing.stderr.trimEnd().split('\n').length, 1);
      const missing = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', join(mnt, 'sub')]);
      assert.equal(missing.code, 23, missing.stderr);
      assert.match(missing.stderr, /^oci-scan: cannot create the reports directory .*: EROFS; set COMPLIANCE_REPORTS_DIR/);
      assert.equal(existing.stdout + missing.stdout, '', 'no check lines when no report can be written');
    },
    t,
  );
});

test('a full disk → exit 23, one line, no partial or temporary report left', async (t) => {
  await withMount(
    'size=8k',
    async (mnt) => {
      await writeFile(join(mnt, 'filler'), Buffer.alloc(6 * 1024));
      const r = await runCli(['oci:fixtures/demo:1.0', '--reports-dir', mnt]);
      assert.equal(r.code, 23, r.stderr);
      assert.match(r.stderr, /^oci-scan: cannot write the report .*demo_1\.0-compliance\.json: ENOSPC; check that the reports directory is writable and the disk is not full$/m);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
      assert.deepEqual(await readdir(mnt), ['filler']);
    },
    t,
  );
});
