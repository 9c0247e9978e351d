/**
 * Memory bound of the layer inspector (issue 2): a layer of ≥ 1 GiB uncompressed, generated
 * as a stream by test/helpers/big-layer.ts in a child process, is inspected with the child's
 * peak RSS (`process.resourceUsage().maxRSS`) under 150 MB. A memory bound, not a timing.
 * The generated content is mostly zeros (see big-layer.ts for why); gzip is level 1. zstd is
 * measured with the decoder in use and with the WebAssembly fallback (docs/architecture.md, "Decoders").
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import type { LayerFacts } from '../../src/layer/inspect.js';

const SCRIPT = fileURLToPath(new URL('../helpers/big-layer.js', import.meta.url));
const GiB = 1024 * 1024 * 1024;
const LIMIT_BYTES = 150 * 1000 * 1000;

interface ChildReport {
  mode: string;
  maxRssKiB: number;
  ms: number;
  facts: LayerFacts;
}

async function runChild(mode: 'gzip' | 'zstd' | 'plain', env: Record<string, string> = {}): Promise<ChildReport> {
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, mode, '1'], {
    timeout: 120_000,
    maxBuffer: 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout.trim()) as ChildReport;
}

describe('inspectLayer memory on a 1 GiB layer', () => {
  // zstd twice: with the decoder in use here, and with the WebAssembly fallback (OCI_SCAN_ZSTD=wasm).
  for (const [mode, label, env] of [
    ['plain', 'plain', {}],
    ['gzip', 'gzip', {}],
    ['zstd', 'zstd', {}],
    ['zstd', 'zstd (WebAssembly fallback)', { OCI_SCAN_ZSTD: 'wasm' }],
  ] as const) {
    it(`${label}: peak RSS < 150 MB, every byte read, facts right`, async () => {
      const report = await runChild(mode, env);
      console.error(
        `memory ${label}: peak RSS ${(report.maxRssKiB / 1024).toFixed(1)} MiB, ${(report.facts.tarBytes / GiB).toFixed(3)} GiB tar in ${report.ms} ms`,
      );
      assert.ok(report.maxRssKiB * 1024 < LIMIT_BYTES, `peak RSS ${report.maxRssKiB} KiB ≥ 150 MB`);
      assert.ok(report.facts.tarBytes >= GiB, `tarBytes ${report.facts.tarBytes}`);
      assert.equal(report.facts.compression, mode === 'plain' ? 'none' : mode);
      assert.equal(report.facts.entries, 9);
      assert.deepEqual(report.facts.matches, { suid: ['/usr/bin/su', '/usr/bin/sudo'], nc: ['/usr/bin/nc'] });
      assert.deepEqual(report.facts.watched, {
        '/etc/os-release': { type: 'file', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n', size: 40, truncated: false },
      });
    });
  }
});
