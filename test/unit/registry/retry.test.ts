/**
 * The retry budget (src/registry/retry.ts) on a fake clock: what a dead server costs with the
 * default settings, counted in attempts and planned time, never measured on the wall clock.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { RetryBudget } from '../../../src/registry/retry.js';
import { DEFAULT_TRANSPORT, type TransportSettings } from '../../../src/registry/options.js';
import { fakeClock } from '../../helpers/fake-clock.js';

/**
 * Drives a budget against a server that is dead in one way: every attempt fails after
 * `attemptMs` (cut short by the end of the retry window, as AttemptLimits does).
 * Returns the attempts made and the clock time at which the request gave up.
 */
async function deadServer(
  settings: TransportSettings,
  attemptMs: number,
): Promise<{ attempts: number; gaveUpAt: number; slept: number[] }> {
  const clock = fakeClock();
  const budget = new RetryBudget(settings, clock);
  let attempts = 0;
  for (;;) {
    const started = clock.now();
    attempts++;
    const remaining = budget.remainingMs();
    clock.advance(remaining === undefined ? attemptMs : Math.min(attemptMs, remaining));
    const delay = budget.failed(started);
    if (delay === undefined) break;
    await clock.sleep(delay);
  }
  return { attempts, gaveUpAt: clock.now(), slept: clock.slept };
}

test('defaults: a dead registry costs about a minute, whatever way it is dead', async () => {
  const d = DEFAULT_TRANSPORT;
  // refused / answering 503 at once: every retry, 0.5+1+2+4 s of backoff
  const fast = await deadServer(d, 0);
  assert.equal(fast.attempts, d.retries + 1);
  assert.deepEqual(fast.slept, [500, 1000, 2000, 4000]);
  // a black hole: each attempt ends at the connect timeout
  const blackHole = await deadServer(d, d.connectTimeoutMs);
  assert.equal(blackHole.attempts, 5);
  assert.ok(blackHole.gaveUpAt <= 60_000, String(blackHole.gaveUpAt));
  // accepts and never answers: the stall timeout, then the window closes on the second attempt
  const silent = await deadServer(d, d.stallTimeoutMs);
  assert.equal(silent.attempts, 2);
  assert.ok(silent.gaveUpAt <= d.retryWindowMs, String(silent.gaveUpAt));
  // (without the window: 5 attempts × the stall timeout + backoff, minutes)
  for (const r of [fast, blackHole, silent]) assert.ok(r.gaveUpAt <= d.retryWindowMs, String(r.gaveUpAt));
});

test('the window, not the count, stops a request with many retries; Retry-After counts against it', async () => {
  const many = { ...DEFAULT_TRANSPORT, retries: 100 };
  const r = await deadServer(many, 0);
  // 0.5+1+2+4+8+16 = 31.5 s; the next delay (30 s, capped) would start after 60 s
  assert.deepEqual(r.slept, [500, 1000, 2000, 4000, 8000, 16_000]);
  assert.equal(r.attempts, 7);
  const clock = fakeClock();
  const budget = new RetryBudget(many, clock);
  assert.equal(budget.failed(0, 30_000), 30_000, 'Retry-After honoured');
  clock.advance(30_000);
  assert.equal(budget.failed(30_000, 30_000), undefined, 'the next one would start at the end of the window');
  assert.equal(budget.plannedBackoffMs, 30_000);
});

test('progress opens a new window; the retry count is never reset', () => {
  const settings = { ...DEFAULT_TRANSPORT, retries: 3 };
  const clock = fakeClock();
  const budget = new RetryBudget(settings, clock);
  assert.equal(budget.remainingMs(), undefined, 'not failing: no window yet');
  assert.ok(budget.failed(0) !== undefined);
  clock.advance(59_000);
  assert.equal(budget.remainingMs(), 1000);
  budget.progress();
  assert.equal(budget.remainingMs(), undefined);
  clock.advance(10 * 60_000);
  assert.ok(budget.failed(clock.now() - 1000) !== undefined, 'a break after ten healthy minutes is retried');
  assert.ok(budget.failed(clock.now()) !== undefined);
  assert.equal(budget.failed(clock.now()), undefined, 'three retries in all');
  assert.equal(budget.attempts, 4);
});
