/**
 * Test helpers: scan an image built in code through the real pipeline (OCI layout on disk in
 * a temporary directory → scan()), and run the built CLI as a subprocess.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { scan, type ImageScan, type ScanOptions } from '../../src/scan.js';
import type { ReportResult } from '../../src/report/model.js';
import { buildImage, writeOciLayout, type BuiltImage, type ImageSpec } from './image-builder.js';

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'oci-scan-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Options for scan() in tests: no logs, linux/amd64, no registry. */
export function testScanOptions(extra: Partial<ScanOptions> = {}): ScanOptions {
  return {
    platform: { os: 'linux', architecture: 'amd64' },
    registry: { insecureRegistries: [], mirrors: {}, env: {} },
    logger: pino({ level: 'silent' }),
    ...extra,
  };
}

/** Builds `spec`, writes it as an OCI layout tagged `tag` (no tag when null) and scans it. */
export async function scanSpec(
  spec: ImageSpec,
  tag: string | null = '1.0',
): Promise<{ built: BuiltImage; scan: ImageScan; byId: (id: string) => ReportResult }> {
  const built = buildImage(spec);
  const { dir, cleanup } = await tempDir();
  try {
    await writeOciLayout(join(dir, 'img'), [tag === null ? { image: built } : { image: built, tag }]);
    const [result] = await scan(`oci:${join(dir, 'img')}${tag ? `:${tag}` : ''}`, testScanOptions());
    if (!result) throw new Error('scan returned nothing');
    const byId = (id: string): ReportResult => {
      const r = result.results.find((x) => x.Id === id);
      if (!r) throw new Error(`no result ${id}`);
      return r;
    };
    return { built, scan: result, byId };
  } finally {
    await cleanup();
  }
}

/** Writes `spec` as an OCI layout `DIR/img` tagged `tag`; returns the `oci:` reference to it. */
export async function ociLayoutRef(dir: string, spec: ImageSpec, tag = '1.0'): Promise<string> {
  const path = join(dir, 'img');
  await writeOciLayout(path, [{ image: buildImage(spec), tag }]);
  return `oci:${path}:${tag}`;
}

/** The path of the built CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Where the CLI runs of this process keep their layer-facts cache unless a test names one: a
 * fresh directory below it per run, so that every run starts cold as before the cache existed
 * and nothing is written to the user's ~/.cache. Removed when the test process exits.
 */
export const TEST_CACHE_ROOT = join(tmpdir(), `oci-scan-test-cache-${process.pid}`);
let cacheRuns = 0;
process.once('exit', () => rmSync(TEST_CACHE_ROOT, { recursive: true, force: true }));

/** Environment for one CLI run: a cache directory of its own (OCI_SCAN_CACHE_DIR, and XDG_CACHE_HOME below TEST_CACHE_ROOT). */
export function isolatedCacheEnv(): { OCI_SCAN_CACHE_DIR: string; XDG_CACHE_HOME: string } {
  cacheRuns += 1;
  const dir = join(TEST_CACHE_ROOT, `run-${cacheRuns}`);
  return { OCI_SCAN_CACHE_DIR: join(dir, 'oci-scan'), XDG_CACHE_HOME: dir };
}

/** Runs the CLI (progress off unless `options.env` sets OCI_SCAN_PROGRESS: tests read stderr; the cache in TEST_CACHE_DIR unless `options.env` sets OCI_SCAN_CACHE_DIR); resolves with its exit code and output. */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({
      ...process.env,
      NO_COLOR: '1',
      OCI_SCAN_PROGRESS: 'none',
      ...isolatedCacheEnv(),
      ...options.env,
    }))
      if (v !== undefined) env[k] = v;
    for (const k of ['COMPLIANCE_IMAGE_FULL_REF', 'COMPLIANCE_REPORTS_DIR', 'COMPLIANCE_JSON_STDOUT', 'DOCKER_AUTH_CONFIG', 'FORCE_COLOR'])
      if (!(options.env && k in options.env)) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: options.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
