/**
 * The environment for a process the local runtime (or a test or benchmark running it) starts. The runtime
 * sets AWS_LAMBDA_MAX_CONCURRENCY for its own per-invocation store (local/handlers.ts); inherited,
 * it would make Powertools in the child look for a store the child never created.
 */
export function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const { AWS_LAMBDA_MAX_CONCURRENCY: _, ...env } = process.env;
  return { ...env, ...overrides };
}
