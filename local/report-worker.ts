import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { PROJECT_ROOT } from './paths';

/**
 * Report files are built off the local server's event loop. pdf-lib lays out and compresses a 3 000-row PDF in one
 * synchronous stretch of seconds; in-process, every other request (a health check, a login) waited behind it. In
 * Lambda each invocation has its own environment, so this exists only locally: the same handler module answers
 * the same event, in a worker thread (`report-worker-main.ts`) of this process.
 */
const OFFLOADED = /^(?:\/charges\/[^/]+\/report\.pdf|\/reports\/(?:charges|audit)\.(?:csv|xlsx|pdf))$/;

export const isOffloadedReport = (event: { httpMethod?: string; resource?: string }) =>
  event.httpMethod === 'GET' && OFFLOADED.test(event.resource ?? '');

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<string, Pending>();

function start(): Worker {
  // The worker runs the TypeScript modules as the main thread does, through tsx: Node 20 loads a worker's entry
  // before any --import hook, so a small script registers tsx first and then imports the entry.
  const entry = pathToFileURL(resolve(PROJECT_ROOT, 'local/report-worker-main.ts')).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const w = new Worker(boot, {
    eval: true,
    // The same configuration, live: what the runtime sets (DYNAMODB_ENDPOINT, LOCAL_STATE_DIR…) the worker sees.
    env: SHARE_ENV,
  });
  w.unref();
  w.on('message', (message: { id: string; result?: unknown; error?: { message: string; stack?: string } }) => {
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.error) call.reject(Object.assign(new Error(message.error.message), { stack: message.error.stack }));
    else call.resolve(message.result);
  });
  const fail = (err: Error) => {
    for (const call of pending.values()) call.reject(err);
    pending.clear();
    if (worker === w) worker = undefined;
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`The report worker exited (code ${code})`)));
  return w;
}

/** Runs the reports function's handler for `event` in the report worker; resolves with its response. */
export function invokeInReportWorker<T>(event: APIGatewayProxyEvent | unknown): Promise<T> {
  worker ??= start();
  const id = randomUUID();
  const current = worker;
  return new Promise<T>((resolvePromise, reject) => {
    pending.set(id, { resolve: resolvePromise as (v: unknown) => void, reject });
    current.postMessage({ id, event });
  });
}

/** Ends the worker (the runtime's stop); the next report starts a new one. */
export async function stopReportWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  await w?.terminate();
}
