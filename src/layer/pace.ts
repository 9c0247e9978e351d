/**
 * Cooperative yielding for CPU-bound phases (merging layers, following links, running checks):
 * timers and signal handlers cannot fire while synchronous code runs, so long loops give the
 * event loop a turn every few milliseconds and stop once the scan's signal is aborted
 * (docs/security.md: a run gets 3 s to stop after --timeout, SIGINT or SIGTERM).
 */

/** How long CPU-bound work runs between two turns of the event loop. */
export const YIELD_EVERY_MS = 20;

/** Counts work and says when to yield; cheap enough to call once per item. */
export class Pacer {
  readonly #signal: AbortSignal | undefined;
  #since = performance.now();
  #count = 0;

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  /** True when the slice is used up (the clock is read every 64 calls). */
  due(): boolean {
    this.#count += 1;
    if ((this.#count & 63) !== 0) return false;
    return performance.now() - this.#since >= YIELD_EVERY_MS;
  }

  /** Gives the event loop a turn; throws the signal's reason once it is aborted. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#signal?.throwIfAborted();
    this.#since = performance.now();
  }

  /** Runs a generator that yields at points where it may be paused, pausing when the slice is used up. */
  async drive<T>(steps: Generator<void, T>): Promise<T> {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() - this.#since >= YIELD_EVERY_MS) await this.pause();
    }
  }
}
