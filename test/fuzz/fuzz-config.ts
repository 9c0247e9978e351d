/**
 * Shared settings for the property-based fuzz tests: a fixed seed by default (reproducible in
 * CI), and `FUZZ_RUNS` / `FUZZ_SEED` to run a long local campaign (docs/security.md).
 */
import { strict as assert } from 'node:assert';
import type { Parameters as FcParameters } from 'fast-check';
import { exitCodeFor, OciScanError } from '../../src/errors.js';

/** The default seed: any fixed number, so that CI runs the same cases every time. */
const DEFAULT_SEED = 20261129;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

/** fast-check parameters for one property: `defaultRuns` cases unless `FUZZ_RUNS` says otherwise. */
export function fuzzParams<T>(defaultRuns: number): FcParameters<T> {
  return {
    numRuns: envInt('FUZZ_RUNS') ?? defaultRuns,
    seed: envInt('FUZZ_SEED') ?? DEFAULT_SEED,
    endOnFailure: true,
    includeErrorInReport: true,
  };
}

/** Exit codes a parser of outside data may end in: pull (20), metadata (21), usage (2). */
const ALLOWED_EXITS = new Set([2, 20, 21]);

/**
 * Asserts that `err` is a documented OciScanError with an allowed exit code. (Messages may
 * quote hostile text; the CLI folds and escapes them before printing: test/integration/hostile.)
 */
export function assertTypedError(err: unknown, context: string): void {
  if (!(err instanceof OciScanError)) {
    assert.fail(`${context}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} instead of an OciScanError`);
  }
  assert.ok(ALLOWED_EXITS.has(exitCodeFor(err.code)), `${context}: code ${err.code} maps to exit ${exitCodeFor(err.code)}`);
}

/** Runs `fn`; a typed error is fine, anything else fails the property. */
export function endsInResultOrTypedError(fn: () => unknown, context: string): void {
  try {
    fn();
  } catch (err) {
    assertTypedError(err, context);
  }
}

/** Runs the async `fn` with a deadline; a hang fails the property. */
export async function endsInTimeOrTypedError(fn: () => Promise<unknown>, context: string, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${context}: no result after ${ms} ms (hang)`)), ms);
  });
  try {
    await Promise.race([fn(), deadline]);
  } catch (err) {
    if (err instanceof Error && err.message.includes('(hang)')) throw err;
    assertTypedError(err, context);
  } finally {
    clearTimeout(timer);
  }
}

/** Records how many cases a property ran, for the closing note of the fuzz campaign. */
export function reportRuns(parser: string, runs: number): void {
  process.stdout.write(`fuzz ${parser}: ${runs} cases\n`);
}
