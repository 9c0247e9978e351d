/**
 * Very many findings through the built CLI: 200,000 setuid files in one gzip layer (and 10 in
 * a second) give a valid report with the right count, terminal findings capped per layer, and a
 * CLI whose peak RSS stays under 150 MB (measured inside the CLI's own process by
 * test/helpers/cli-peak-rss.ts; a memory bound, not a timing). The same image, long to inspect,
 * shows that --timeout and SIGINT/SIGTERM stop a busy scan with one line and leave nothing in
 * the reports directory.
 *
 * Provenance: test/helpers/many-findings.ts (streamed ustar headers, gzip level 1).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { BuiltImage } from '../helpers/image-builder.js';
import { manyPath, writeManyFindingsLayout } from '../helpers/many-findings.js';
import { isolatedCacheEnv, runCli, tempDir } from '../helpers/scan.js';
import { REPORT_SCHEMA_URL } from '../../src/report/validate.js';
import { TERMINAL_PATHS_PER_LAYER } from '../../src/report/formats/terminal.js';

const PEAK_RSS_CLI = fileURLToPath(new URL('../helpers/cli-peak-rss.js', import.meta.url));
const COUNTS = [200_000, 10];
const LIMIT_BYTES = 150 * 1000 * 1000;

interface Result {
  Id: string;
  Pass: boolean;
  Description: string;
  Files?: Array<Record<string, string[]>>;
  FileCounts?: Array<Record<string, number>>;
}

/** Runs the CLI through the peak-RSS wrapper (or plain, with `onStderr` watching its stderr to signal it). */
function spawnCli(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  onStderr?: (soFar: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: '1',
      OCI_SCAN_PROGRESS: 'none',
      ...isolatedCacheEnv(),
      ...env,
    };
    for (const k of ['COMPLIANCE_IMAGE_FULL_REF', 'COMPLIANCE_REPORTS_DIR', 'COMPLIANCE_JSON_STDOUT', 'FORCE_COLOR']) delete childEnv[k];
    const child = spawn(process.execPath, [script, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, (s) => child.kill(s));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('an image with 200,000 setuid files', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let ref = '';
  let image: BuiltImage;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    image = await writeManyFindingsLayout(join(dir, 'many'), COUNTS);
    ref = `oci:${join(dir, 'many')}:1.0`;
  });
  after(() => cleanup());

  it('report valid and complete in count, terminal capped per layer, CLI peak RSS < 150 MB', async () => {
    const reports = join(dir, 'reports');
    const rssFile = join(dir, 'rss');
    const r = await spawnCli(PEAK_RSS_CLI, [ref, '--reports-dir', reports], { OCI_SCAN_PEAK_RSS_FILE: rssFile });
    assert.equal(r.code, 12, r.stderr);
    assert.equal(r.stderr, '');

    assert.deepEqual(await readdir(reports), ['many_1.0-compliance.json']);
    const report = JSON.parse(await readFile(join(reports, 'many_1.0-compliance.json'), 'utf8')) as Record<string, Result[]>;
    const validate = new Ajv2020({ strict: true }).compile(JSON.parse(await readFile(REPORT_SCHEMA_URL, 'utf8')) as object);
    assert.ok(validate(report), JSON.stringify(validate.errors)?.slice(0, 2000));
    const suid = report[ref]?.find((x) => x.Id === 'suid');
    assert.ok(suid && !suid.Pass);
    const digests = image.layers.map((l) => l.digest);
    assert.deepEqual(
      suid.Files?.map((f) => Object.keys(f)[0]),
      digests,
      'one entry per layer, in image order',
    );
    const totals = digests.map((digest, i) => {
      const listed = suid.Files?.[i]?.[digest] ?? [];
      // The paths kept are the first ones in sorted order, exactly as generated.
      listed.forEach((p, j) => assert.equal(p, manyPath(i, j)));
      return Math.max(listed.length, suid.FileCounts?.[i]?.[digest] ?? 0);
    });
    assert.deepEqual(totals, COUNTS, 'every finding is counted, listed or not');
    assert.equal(report[ref]?.find((x) => x.Id === 'sgid')?.Pass, true);

    // Terminal: at most TERMINAL_PATHS_PER_LAYER paths of a layer, then the rest counted.
    const lines = r.stdout.split('\n');
    const first = lines.filter((l) => l.startsWith('        /opt/s/0/'));
    assert.equal(first.length, TERMINAL_PATHS_PER_LAYER);
    const more = (COUNTS[0] as number) - TERMINAL_PATHS_PER_LAYER;
    assert.ok(lines.includes(`        … and ${more} more`), 'the remainder of layer 0 is counted');
    assert.equal(lines.filter((l) => l.startsWith('        /opt/s/1/')).length, COUNTS[1]);
    assert.equal(lines.filter((l) => / more$/.test(l)).length, 1);
    assert.ok(lines.length < 1200, `${lines.length} lines on stdout`);

    const maxRssKiB = Number(await readFile(rssFile, 'utf8'));
    console.error(`many findings: CLI peak RSS ${(maxRssKiB / 1024).toFixed(1)} MiB`);
    assert.ok(maxRssKiB * 1024 < LIMIT_BYTES, `peak RSS ${maxRssKiB} KiB ≥ 150 MB`);
  });

  it('--timeout while the layers are inspected: exit 20, one line, nothing in the reports directory', async () => {
    const reports = join(dir, 'timeout');
    const r = await runCli([ref, '--reports-dir', reports, '--timeout', '0.25']);
    assert.equal(r.code, 20, r.stderr);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^oci-scan: the scan did not finish within 0\.25 s \(--timeout\): no report written/);
    assert.deepEqual(await readdir(reports), []);
    assert.equal(r.stdout, '');
  });

  for (const [signal, exit] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} while the large layer is inspected: exit ${exit}, one line, nothing in the reports directory`, async () => {
      const reports = join(dir, signal);
      let sent = false;
      // The small layer logs "layer inspected" (debug) long before the large one is done.
      const r = await spawnCli(
        fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)),
        [ref, '--reports-dir', reports, '--log-level', 'debug'],
        {},
        (soFar, kill) => {
          if (!sent && soFar.includes('"msg":"layer inspected"')) {
            sent = true;
            kill(signal);
          }
        },
      );
      assert.ok(sent, 'no layer was inspected');
      assert.equal(r.code, exit, r.stderr);
      const plain = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      assert.deepEqual(plain, [`oci-scan: interrupted by ${signal}: scan stopped, no report written`]);
      assert.deepEqual(await readdir(reports), []);
    });
  }
});
