/**
 * The reports directory on file systems that refuse writes: a read-only mount and a full one
 * → exit 23 with one clear line, and no partial or temporary file left behind. Uses tmpfs
 * mounts (root only); without the right to mount, the tests are skipped with one loud line —
 * unless OCI_SCAN_REQUIRE_MOUNT=1 (set by .ci/run), which makes that a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../helpers/scan.js';
import { withMount } from '../helpers/tmpfs.js';

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
      assert.match(
        r.stderr,
        /^oci-scan: cannot write the report .*demo_1\.0-compliance\.json: ENOSPC; check that the reports directory is writable and the disk is not full$/m,
      );
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
      assert.deepEqual(await readdir(mnt), ['filler']);
    },
    t,
  );
});
