/**
 * Waiting for work that may never finish, such as a goodbye to a server that is gone:
 * the wait ends after a fixed time, and the work's failure, in time or late, never becomes
 * an unhandled rejection.
 */

/** How a bounded wait ended: the work finished, failed, or was still running at the deadline. */
export type WaitOutcome = "done" | "failed" | "timed-out";

/**
 * Waits for `work` at most `ms` milliseconds. Resolves with how the wait ended; never
 * rejects. A failure of `work` after the deadline is ignored: callers that care log it
 * before handing the promise in.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<WaitOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<WaitOutcome>((resolve) => {
    timer = setTimeout(() => resolve("timed-out"), ms);
  });
  const settled = work.then(
    (): WaitOutcome => "done",
    (): WaitOutcome => "failed",
  );
  try {
    return await Promise.race([settled, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
