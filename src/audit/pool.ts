/**
 * The bounded pool an audit's references and scans share (./run.ts): at most `limit` tasks at
 * once, one per item in the items' order, except that a task may add tasks of its own
 * (`pool.first`) that start before any item still waiting — an audit scans a repository's
 * digests as soon as its references are resolved, ahead of the references still to resolve,
 * so that scanning (CPU and disk) overlaps the registry's answers to the others.
 */

/** What a running task may do with its pool. */
export interface Pool {
  /** Adds `task`, to start before any item not started yet. */
  first(task: () => Promise<void>): void;
}

/**
 * Runs `fn` over `items` and every task they add, at most `limit` at once. Stops starting tasks
 * at the first error or once `signal` aborts; settles when the tasks in flight are done (with
 * the first error, if any).
 */
export function runPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, pool: Pool) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const added: Array<() => Promise<void>> = [];
    let next = 0;
    let running = 0;
    let failure: { readonly error: unknown } | undefined;
    const pool: Pool = {
      first(task) {
        added.push(task);
        pump();
      },
    };
    const take = (): (() => Promise<void>) | undefined => {
      const task = added.shift();
      if (task || next >= items.length) return task;
      const item = items[next++] as T;
      return () => fn(item, pool);
    };
    const pump = (): void => {
      while (running < limit && !failure && !signal?.aborted) {
        const task = take();
        if (!task) break;
        running += 1;
        // A task that throws before its first await fails like one that rejects.
        void Promise.resolve()
          .then(task)
          .then(
            () => settled(undefined),
            (error: unknown) => settled({ error }),
          );
      }
      if (running > 0) return;
      if (failure) reject(failure.error);
      else resolve();
    };
    const settled = (outcome: { readonly error: unknown } | undefined): void => {
      running -= 1;
      failure ??= outcome;
      pump();
    };
    pump();
  });
}
