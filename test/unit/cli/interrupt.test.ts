/**
 * Stopping a run (src/cli/interrupt.ts): once the signal aborts, the run gets a bounded grace
 * period and the stop is reported whether or not the work noticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { untilStopped } from '../../../src/cli/interrupt.js';

test("untilStopped: the work's value or error when it ends first", async () => {
  const controller = new AbortController();
  assert.equal(await untilStopped(Promise.resolve(42), controller.signal), 42);
  const boom = new Error('boom');
  await assert.rejects(untilStopped(Promise.reject(boom), controller.signal), (err) => err === boom);
});

test('untilStopped: work that honours the abort is waited for, then the reason is thrown', async () => {
  const controller = new AbortController();
  let cleanedUp = false;
  const work = new Promise<number>((_, reject) =>
    controller.signal.addEventListener('abort', () =>
      setTimeout(() => {
        cleanedUp = true;
        reject(new Error('stream destroyed'));
      }, 20),
    ),
  );
  const reason = new Error('interrupted');
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(untilStopped(work, controller.signal, 10_000), (err) => err === reason);
  assert.ok(cleanedUp, 'the work wound down before the stop was reported');
});

test('untilStopped: work that ignores the abort cannot hold the run past the grace period', async () => {
  const controller = new AbortController();
  const never = new Promise<number>(() => undefined);
  const reason = new Error('timeout');
  controller.abort(reason);
  await assert.rejects(untilStopped(never, controller.signal, 50), (err) => err === reason);
});
