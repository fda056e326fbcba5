/**
 * A module's adapters to AWS services, built once per process (SDK clients reused across warm invocations).
 * Lambda code uses the AWS factory it is given; the local runtime and tests install their own with `use`.
 */
export function adapterSet<T>(aws: () => T) {
  let factory = aws;
  let cached: T | undefined;
  return {
    get: (): T => (cached ??= factory()),
    /** Installs another factory; the next `get()` builds from it. */
    use: (make: () => T): void => {
      factory = make;
      cached = undefined;
    },
    /** Rebuilds on next use (after the environment changed). */
    reset: (): void => {
      cached = undefined;
    },
  };
}
