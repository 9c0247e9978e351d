/**
 * Stopping a run (docs/errors.md, "Exit codes"): SIGINT, SIGTERM and `--timeout` abort the scan's
 * AbortSignal; the run then has a short grace period to stop its downloads and remove its
 * temporary files, after which the CLI exits whether or not every step noticed.
 */

/** How long a stopped run may take to wind down before the CLI exits anyway. */
export const STOP_GRACE_MS = 3000;

/**
 * Resolves like `work`, unless `signal` aborts first: then `work` gets up to `graceMs` to
 * settle (so that its own clean-up runs) and the promise rejects with `signal.reason` whether
 * or not it did — a step that ignores the signal cannot keep the process alive.
 */
export async function untilStopped<T>(work: Promise<T>, signal: AbortSignal, graceMs = STOP_GRACE_MS): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (err) {
    if (!signal.aborted) throw err;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([
      work.then(
        () => undefined,
        () => undefined,
      ),
      grace,
    ]);
    clearTimeout(timer);
    throw signal.reason;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
