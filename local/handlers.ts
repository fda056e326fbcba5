import { resolve } from 'node:path';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import { logger } from '#platform/powertools';
import { installLocalAdapters } from './adapters/index';
import { lambdaContext } from './lambda-context';
import { PROJECT_ROOT } from './paths';
import { invokeInReportWorker, isOffloadedReport } from './report-worker';

// Handlers have different event types; the local runtime only passes each the event shape AWS would.
type AnyHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * One process runs many invocations at once, as Lambda Managed Instances do, so per-invocation state
 * (Powertools' correlation id, log keys, stored metrics) must live in the per-invocation store the Lambda
 * runtime provides there: otherwise a log line written after an await carries another request's id.
 * Powertools looks for the store whenever the variable is set, so the store comes first.
 */
installLocalAdapters();
const invokeStore = await InvokeStore.getInstanceAsync(true);
process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
const REQUEST_ID = InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID;

const loaded = new Map<FunctionId, Promise<AnyHandler>>();
/** Handlers already imported, so a warm invocation does not wait on a settled promise. */
const ready = new Map<FunctionId, AnyHandler>();

/** Imports a function's handler module in-process, exactly the module the CDK stack bundles. */
export function loadHandler(id: FunctionId): Promise<AnyHandler> {
  let handler = loaded.get(id);
  if (!handler) {
    // A path, not a file: URL: Vitest then shares one module instance (one logger) with the tests' imports.
    handler = import(resolve(PROJECT_ROOT, FUNCTIONS[id].entry)).then((mod: { handler: AnyHandler }) => {
      ready.set(id, mod.handler);
      return mod.handler;
    });
    loaded.set(id, handler);
  }
  return handler;
}

/**
 * Not async itself: one promise fewer per invocation, and every promise costs a hook call while the store is active.
 * A report file (PDF, XLSX, CSV) is built in the report worker thread, off this event loop (report-worker.ts).
 */
export function invoke<T>(id: FunctionId, event: unknown, options: { inWorker?: boolean } = {}): Promise<T> {
  if (id === 'reports' && !options.inWorker && isOffloadedReport(event as { httpMethod?: string; resource?: string })) {
    return invokeInReportWorker<T>(event);
  }
  const handler = ready.get(id);
  if (!handler) return loadHandler(id).then(() => invoke<T>(id, event, options));
  const fn = FUNCTIONS[id];
  const context = lambdaContext(`local-${id}`, fn.timeoutSeconds, fn.memorySize);
  return invokeStore.run({ [REQUEST_ID]: context.awsRequestId }, () => handler(event, context)) as Promise<T>;
}

/**
 * The local server's own answers (the stand-in for API Gateway's 401/403/413/503) run as an invocation of their
 * own: their log line then carries the request's correlation id, and not the Lambda context of whichever
 * function the logger last saw outside an invocation.
 */
export function asGateway<T>(requestId: string, fn: () => T, logKeys?: Record<string, string>): T {
  const context = lambdaContext('local-gateway', 29, 128);
  return invokeStore.run({ [REQUEST_ID]: context.awsRequestId }, () => {
    logger.addContext(context);
    logger.setCorrelationId(requestId);
    if (logKeys) logger.appendKeys(logKeys);
    return fn();
  });
}
