/**
 * CPU-bound phases through the built CLI (docs/security.md: the run gets 3 s to stop after
 * --timeout, SIGINT or SIGTERM, and every phase yields to let it): a small image with a chain
 * of 39 symlinks (about 4000 bytes of `d/..` each) and 20,000 PATH links named like compilers
 * into it. Following each link through the chain again (the former final-filesystem walk)
 * kept the compilers check busy for a minute, with the timer and the signal handlers unable
 * to run: the chain is now resolved once. The same image with a last layer that writes 4000
 * files through the chain, each after replacing a symlink (no resolution can be kept from one
 * to the next), keeps the merge of the final filesystem busy for seconds even so: --timeout
 * and SIGTERM must stop it with one line and the documented exit code.
 *
 * No timings are asserted: a kill timer, far above what a run takes, fails a run that does not
 * end. Provenance: test/helpers/link-chains.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeLinkChainLayout } from '../helpers/link-chains.js';
import { CLI, isolatedCacheEnv, runCli, tempDir } from '../helpers/scan.js';

/** Far above what a run takes (seconds); the runs this test is about took minutes before. */
const KILL_MS = 45_000;
const LINK_LAYERS = 20;

/** Runs the CLI, calling `onStderr` as its stderr grows (to signal it); SIGKILL after KILL_MS. */
function spawnCli(
  args: readonly string[],
  onStderr: (soFar: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', OCI_SCAN_PROGRESS: 'none', ...isolatedCacheEnv() };
    for (const k of ['COMPLIANCE_IMAGE_FULL_REF', 'COMPLIANCE_REPORTS_DIR', 'COMPLIANCE_JSON_STDOUT', 'FORCE_COLOR']) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr(stderr, (s) => child.kill(s));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('an image of long symlink chains', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let links = '';
  let writes = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeLinkChainLayout(join(dir, 'links'), LINK_LAYERS);
    await writeLinkChainLayout(join(dir, 'writes'), LINK_LAYERS, 4000);
    links = `oci:${join(dir, 'links')}:1.0`;
    writes = `oci:${join(dir, 'writes')}:1.0`;
  });
  after(() => cleanup());

  it('20,000 links into a chain of 39: the chain is followed once, the compilers are found', async () => {
    const r = await runCli([links, '--reports-dir', join(dir, 'r-links')], { timeoutMs: KILL_MS });
    assert.equal(r.code, 14, `exit ${r.code} (null: killed after ${KILL_MS} ms) ${r.stderr.slice(0, 500)}`);
    assert.match(r.stdout, /^FAIL\. Severity: Medium\. Compilers in the image\. Found file/m);
  });

  it('--timeout while the final filesystem is merged: exit 20, one line, nothing in the reports directory', async () => {
    const reports = join(dir, 'r-timeout');
    const r = await runCli([writes, '--reports-dir', reports, '--timeout', '3'], { timeoutMs: KILL_MS });
    assert.equal(r.code, 20, `exit ${r.code} (null: killed after ${KILL_MS} ms) ${r.stderr.slice(0, 500)}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^oci-scan: the scan did not finish within 3 s \(--timeout\): no report written/);
    assert.deepEqual(await readdir(reports), []);
    assert.equal(r.stdout, '');
  });

  it('SIGTERM while the final filesystem is merged: exit 143, one line, nothing in the reports directory', async () => {
    const reports = join(dir, 'r-sigterm');
    let sent = false;
    const r = await spawnCli([writes, '--reports-dir', reports, '--log-level', 'debug'], (soFar, kill) => {
      if (!sent && soFar.includes('"msg":"final filesystem: merging the layers"')) {
        sent = true;
        kill('SIGTERM');
      }
    });
    assert.ok(sent, 'the merge never started');
    assert.equal(r.code, 143, `exit ${r.code} (null: killed after ${KILL_MS} ms) ${r.stderr.slice(-500)}`);
    const plain = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
    assert.deepEqual(plain, ['oci-scan: interrupted by SIGTERM: scan stopped, no report written']);
    assert.deepEqual(await readdir(reports), []);
  });
});
