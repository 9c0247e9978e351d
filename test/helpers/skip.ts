/**
 * A `describe()` that, when it is skipped (a tool or the registry missing), still counts in the
 * test runner's closing tally: node:test reports a skipped suite as neither a test nor a skip,
 * so `# skipped 0` would hide whole suites. Skipped, it registers one test under the suite's
 * name, skipped with the reason (`# SKIP reason` in the output, one more in `# skipped`).
 */
import { describe, test } from 'node:test';

/** describe()'s options, with a skip that may be a reason, false or undefined. */
interface SuiteOptions {
  readonly skip?: string | boolean | undefined;
  readonly timeout?: number;
}

/** `describe(name, options, fn)`, or one skipped test carrying the reason when `options.skip` is set. */
export function describeOrSkip(name: string, options: SuiteOptions, fn: () => void): void {
  const { skip, timeout } = options;
  if (skip) {
    void test(name, { skip: typeof skip === 'string' ? skip : 'skipped' }, () => {});
    return;
  }
  void describe(name, timeout !== undefined ? { timeout } : {}, fn);
}
