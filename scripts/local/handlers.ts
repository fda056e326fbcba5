import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionId } from '../../functions/shared/routes';
import { lambdaContext } from './lambda-context';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

// Handlers have different event types; the local runtime only passes each the event shape AWS would.
type AnyHandler = (event: unknown, context: Context) => Promise<unknown>;

const loaded = new Map<FunctionId, Promise<AnyHandler>>();

/** Imports a function's handler module in-process, exactly the module the CDK stack bundles. */
export function loadHandler(id: FunctionId): Promise<AnyHandler> {
  let handler = loaded.get(id);
  if (!handler) {
    const url = pathToFileURL(resolve(PROJECT_ROOT, FUNCTIONS[id].entry)).href;
    handler = import(url).then((mod: { handler: AnyHandler }) => mod.handler);
    loaded.set(id, handler);
  }
  return handler;
}

export async function invoke<T>(id: FunctionId, event: unknown): Promise<T> {
  const fn = FUNCTIONS[id];
  const handler = await loadHandler(id);
  return (await handler(event, lambdaContext(`local-${id}`, fn.timeoutSeconds, fn.memorySize))) as T;
}
