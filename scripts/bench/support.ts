import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import autocannon from 'autocannon';
import { childEnv } from '#local/child-env';

export const ROOT = resolve(import.meta.dirname, '../..');

import { freePort } from '#local/free-port';

export { freePort };

/** This process's environment without what an earlier benchmark's in-process runtime set for itself. */
function inheritedEnv(): NodeJS.ProcessEnv {
  return childEnv({ DYNAMODB_ENDPOINT: undefined, TABLE_PREFIX: undefined, LOCAL_STATE_DIR: undefined });
}

/** Runs a tsx script in its own process (so the load generator does not share its event loop) and waits for `ready`. */
export async function startProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [resolve(ROOT, 'node_modules/tsx/dist/cli.mjs'), script, ...args], {
    cwd: ROOT,
    env: { ...inheritedEnv(), LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onOut = (chunk: Buffer) => (out += chunk.toString());
  await new Promise<void>((ok, fail) => {
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onOut);
    child.stdout?.on('data', function onReady() {
      if (!ready.test(out)) return;
      child.stdout?.off('data', onReady);
      ok();
    });
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code}: ${out}`)));
  });
  // Once ready, the output is drained and dropped: the server logs a line per request, and keeping (and searching)
  // it all would load the bench process the load generator runs in.
  child.stdout?.off('data', onOut);
  child.stderr?.off('data', onOut);
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGINT');
  await exited;
}

/** A client for a DynamoDB Local (any credentials do; the region only has to be one). */
export function localDynamo(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface BenchServer {
  readonly child: ChildProcess;
  /** The API, `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** Its DynamoDB Local. */
  readonly endpoint: string;
  /** A raw client on that DynamoDB Local; `stop()` destroys it. */
  readonly raw: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * A local server of its own (`npm start -- --in-memory`: a fresh DynamoDB Local of its own) with `admin` /
 * `adminPassword`, the rate limit out of the way and logs quiet; `env` adds or overrides variables.
 */
export async function startBenchServer(adminPassword: string, env: Record<string, string> = {}): Promise<BenchServer> {
  const [apiPort, dynamoPort] = await Promise.all([freePort(), freePort()]);
  const child = await startProcess(
    'local/start.ts',
    ['--in-memory'],
    {
      PORT: String(apiPort),
      DYNAMODB_LOCAL_PORT: String(dynamoPort),
      BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      RATE_LIMIT_PER_MINUTE: '100000000',
      LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
    /Charge Records API on/,
  );
  const endpoint = `http://127.0.0.1:${dynamoPort}`;
  const raw = localDynamo(endpoint);
  return {
    child,
    base: `http://127.0.0.1:${apiPort}`,
    endpoint,
    raw,
    stop: async () => {
      raw.destroy();
      await stopProcess(child);
    },
  };
}

export interface LoadResult {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  non2xx: number;
}

export async function load(
  url: string,
  connections: number,
  seconds: number,
  opts: Partial<autocannon.Options> = {},
): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds, ...opts });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
