/**
 * The report worker thread (see report-worker.ts): the reports function's handler, loaded as the main thread loads
 * it (local adapters installed, the per-invocation store), answering one message per event. Its log lines go to the
 * main thread's stdout (shown readable there on a terminal).
 */
import { parentPort } from 'node:worker_threads';
import { InvokeStore } from '@aws/lambda-invoke-store';

// The environment is the main thread's, where AWS_LAMBDA_MAX_CONCURRENCY is set already: Powertools then needs the
// per-invocation store the moment it loads, so the store comes before any module that loads Powertools.
await InvokeStore.getInstanceAsync(true);
const { resetConfig } = await import('#platform/config');
const { invoke } = await import('./handlers');

parentPort?.on('message', (message: { id: string; event: unknown }) => {
  // The environment is shared with the main thread and may have changed since the last report: read it again.
  resetConfig();
  invoke('reports', message.event, { inWorker: true }).then(
    (result) => parentPort?.postMessage({ id: message.id, result }),
    (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      parentPort?.postMessage({ id: message.id, error: { message: error.message, stack: error.stack } });
    },
  );
});
