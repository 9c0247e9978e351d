/**
 * Shared bits of the audit tests: running `oci-scan audit` (in the foreground, or as a child to
 * stop part-way), reading its summary, checking it against schemas/audit-summary.schema.json
 * with ajv, and the part of a summary that says what was audited (without what the run did).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AuditSummary } from '../../src/audit/summary.js';
import { CLI, runCli } from './scan.js';

/** The audit summary schema, compiled by the test itself. */
export const validateSummary = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
  JSON.parse(readFileSync(new URL('../../../schemas/audit-summary.schema.json', import.meta.url), 'utf8')) as object,
);

/** Runs `oci-scan audit ARGS` with the cache in `cacheDir`. */
export function runAudit(
  args: readonly string[],
  cacheDir: string,
  env: Record<string, string | undefined> = {},
): ReturnType<typeof runCli> {
  return runCli(['audit', ...args, '--cache-dir', cacheDir], { env, timeoutMs: 120_000 });
}

/** Starts `oci-scan audit ARGS` as a child process (to be stopped by the test); resolves its exit when it ends. */
export function startAudit(
  args: readonly string[],
  cacheDir: string,
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1' })) if (v !== undefined && !k.startsWith('COMPLIANCE_')) env[k] = v;
  const child = spawn(process.execPath, [CLI, 'audit', ...args, '--cache-dir', cacheDir, '--quiet'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** The resume records in `reportsDir`: the key of every whole record line of its journals (one per reference scanned). */
export async function records(reportsDir: string): Promise<string[]> {
  const dir = join(reportsDir, '.oci-scan-audit');
  const keys: string[] = [];
  for (const name of (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = (await readFile(join(dir, name), 'utf8')).split('\n');
    lines.pop(); // after the last newline: nothing, or a line cut short
    for (const line of lines) {
      try {
        JSON.parse(line.slice(65));
        keys.push(line.slice(0, 64));
      } catch {
        // not a whole record
      }
    }
  }
  return keys;
}

/** Waits until `reportsDir` holds at least `n` records (or `child` ended). */
export async function untilRecords(reportsDir: string, n: number, child: ChildProcess): Promise<void> {
  while ((await records(reportsDir)).length < n) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the audit ended before it was stopped');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `reportsDir`'s audit-summary.json, checked against the schema. */
export function readSummary(reportsDir: string): AuditSummary {
  const doc: unknown = JSON.parse(readFileSync(join(reportsDir, 'audit-summary.json'), 'utf8'));
  if (!validateSummary(doc)) throw new Error(`audit-summary.json does not match its schema: ${JSON.stringify(validateSummary.errors)}`);
  return doc as AuditSummary;
}

/** What a summary says about the audited images: everything but the run's own statistics, the tool and the shard. */
export function auditedPart(summary: AuditSummary): Omit<AuditSummary, 'run' | 'tool' | 'shard' | 'missingShards'> {
  const { run: _run, tool: _tool, shard: _shard, missingShards: _missing, ...rest } = summary;
  return rest;
}
