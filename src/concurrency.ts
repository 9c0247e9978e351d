/** Bounded concurrency over a list (layers of an image, references and digests of an audit, repositories of a listing). */

/**
 * Runs `fn` over `items` with at most `limit` in flight, starting them in `order` (indexes;
 * default input order); results in input order; stops at the first error, and stops taking
 * new items once `signal` aborts (the results of items never started are then missing).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: { readonly order?: readonly number[]; readonly signal?: AbortSignal | undefined } = {},
): Promise<R[]> {
  const { order = items.map((_, i) => i), signal } = options;
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < order.length && !signal?.aborted) {
      const index = order[next++] as number;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
