/**
 * A Clock (src/registry/retry.ts) for tests: time moves only when a sleep or `advance` moves
 * it, sleeps return at once and are recorded, and random() is 0.5 so that the backoff jitter
 * factor is exactly 1 — retries are counted and planned delays compared, never timed.
 */
import type { Clock } from '../../src/registry/retry.js';

/** The fake clock, with the sleeps it was asked for. */
export interface FakeClock extends Clock {
  /** Moves time forward (an attempt that took `ms`). */
  advance(ms: number): void;
  /** Every sleep asked for, in order. */
  readonly slept: number[];
}

/** A fake clock starting at `start`. */
export function fakeClock(start = 0): FakeClock {
  let now = start;
  const slept: number[] = [];
  return {
    now: () => now,
    random: () => 0.5,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
    slept,
  };
}
