/**
 * Memory bound of a compressed archive read in one streaming pass: `docker save | gzip` of an
 * image with a ≥ 1 GiB layer, written as a stream and scanned by test/helpers/big-archive.ts in
 * a child process, with the child's peak RSS under 150 MB and the layer's findings right (so
 * every byte went through the inspector, and the diffID check passed). A memory bound, not a
 * timing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { tempDir } from '../helpers/scan.js';

const SCRIPT = fileURLToPath(new URL('../helpers/big-archive.js', import.meta.url));
const GiB = 1024 * 1024 * 1024;
const LIMIT_BYTES = 150 * 1000 * 1000;

interface Written {
  layerSize: number;
  diffId: string;
}

interface Scanned {
  maxRssKiB: number;
  ms: number;
  layers: string[];
  suid: Array<Record<string, string[]>>;
  os: string;
}

async function child(args: readonly string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, ...args], { timeout: 300_000, maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout.trim());
}

it('docker save | gzip with a 1 GiB layer: one pass, peak RSS < 150 MB, findings right', async () => {
  const { dir, cleanup } = await tempDir('oci-scan-archive-memory-');
  try {
    const file = join(dir, 'big.tar.gz');
    const written = (await child(['write', file, '1'])) as Written;
    const report = (await child(['scan', file])) as Scanned;
    console.error(
      `archive memory: peak RSS ${(report.maxRssKiB / 1024).toFixed(1)} MiB, ${(written.layerSize / GiB).toFixed(3)} GiB layer scanned in ${report.ms} ms`,
    );
    assert.ok(written.layerSize >= GiB);
    assert.ok(report.maxRssKiB * 1024 < LIMIT_BYTES, `peak RSS ${report.maxRssKiB} KiB ≥ 150 MB`);
    // A classic archive's layer is reported under its diffID.
    assert.deepEqual(report.layers, [written.diffId]);
    assert.deepEqual(report.suid, [{ [written.diffId]: ['/usr/bin/su', '/usr/bin/sudo'] }]);
    assert.match(report.os, /\['Debian GNU\/Linux', '12'\]/);
  } finally {
    await cleanup();
  }
});
