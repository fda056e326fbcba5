import { afterAll, beforeAll, type MockInstance, vi } from 'vitest';
import { type LocalApi, startLocalApi } from './local-api';

/**
 * The process's stdout, captured while installed: the handlers run in-process and log there, and tests that
 * read the log keep it out of the report too.
 */
export function stdoutCapture() {
  const written: string[] = [];
  let spy: MockInstance | undefined;
  return {
    install(): void {
      spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    },
    restore(): void {
      spy?.mockRestore();
    },
    /** Everything written while `fn` runs. */
    async during(fn: () => Promise<void>): Promise<string> {
      const from = written.length;
      await fn();
      return written.slice(from).join('');
    },
  };
}

/** The JSON log lines (one per line, as Powertools writes them) in captured output. */
export const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * For a test file that reads the log: stdout is captured from before the local API starts until after it stops
 * (the handlers run in-process and write there), and `started` gets the API once it is up. Returns the capture.
 * Such a file sets LOG_LEVEL (the suite runs SILENT) with `vi.stubEnv` inside `vi.hoisted`, before any import
 * creates the logger; the stubbed environment is restored here, once the API has stopped.
 */
export function localApiWithCapturedStdout(started: (api: LocalApi) => Promise<void> | void) {
  const stdout = stdoutCapture();
  let api: LocalApi | undefined;
  beforeAll(async () => {
    stdout.install();
    api = await startLocalApi();
    await started(api);
  });
  afterAll(async () => {
    await api?.stop();
    stdout.restore();
    vi.unstubAllEnvs();
  });
  return stdout;
}
