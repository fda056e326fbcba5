import { afterAll, beforeAll, vi } from 'vitest';
import { resetConfig } from '#platform/config';

/**
 * These environment variables (`vi.stubEnv`) for every test of the calling file or block: set before its first
 * test, ahead of the hooks registered after this call (the one that starts the local API, say), and restored
 * after its last; `config()` is rebuilt both times, as it keeps what it read. Call it before those hooks.
 */
export function stubEnvForAll(vars: Record<string, string>): void {
  beforeAll(() => {
    for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
    resetConfig();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    resetConfig();
  });
}
