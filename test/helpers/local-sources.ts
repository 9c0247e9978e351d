/**
 * Shared pieces of the local-source tests (test/unit/sources/local.test.ts, archives.test.ts): every
 * layer of an image inspected with a match-all matcher, facts compared without the compression
 * the inspector saw, and one-line error assertions.
 */
import assert from 'node:assert/strict';
import { isOciScanError, type ErrorCode } from '../../src/errors.js';
import type { Image } from '../../src/image/types.js';
import { inspectLayer, type EntryMatcher, type LayerFacts } from '../../src/layer/inspect.js';

/** Matches every entry: the facts then list every path of a layer. */
export const ALL: EntryMatcher = { id: 'all', fingerprint: 'all', matches: () => true };
/** The watched paths of these tests. */
export const WATCH: ReadonlySet<string> = new Set(['/etc/os-release', '/etc/passwd']);

/** The facts of every layer of `image`, opened one after another. */
export async function factsOf(image: Image): Promise<LayerFacts[]> {
  const out: LayerFacts[] = [];
  for (const layer of image.layers)
    out.push(await inspectLayer(await layer.open(), { matchers: [ALL], watchPaths: WATCH, what: `layer ${layer.digest}` }));
  return out;
}

/** Facts without compression (docker archive layers reach the inspector as plain tars). */
export function bodies(facts: LayerFacts[]): unknown[] {
  return facts.map(({ compression: _c, ...rest }) => rest);
}

/** Asserts that `promise` rejects with a one-line OciScanError of `code` (matching `pattern`). */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOciScanError(err), `expected OciScanError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('\n'), `message is not one line: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}
