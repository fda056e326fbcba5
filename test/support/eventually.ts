export interface EventuallyOptions {
  /** How many times the check runs before its last failure is the test's failure (default 200). */
  attempts?: number;
  /** The pause between two runs (default 50 ms). */
  intervalMs?: number;
}

/** Thrown by a check to end the wait at once: what it waits for can no longer happen (say, the process exited). */
export class GiveUp extends Error {}

/**
 * Runs `check` until it returns without throwing, and returns what it returned: for work that happens
 * asynchronously (the stream poller writing the audit trail, a child process printing a line). The wait is
 * bounded by attempts, not asserted as a duration; after the last attempt the last failure is the test's failure.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  { attempts = 200, intervalMs = 50 }: EventuallyOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (err) {
      if (err instanceof GiveUp || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
