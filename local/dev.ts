/**
 * `npm run dev`: the local runtime with reload on save, no Docker hop.
 *
 * This supervisor owns what must outlive a reload: DynamoDB Local and the port. The runtime itself runs
 * in a worker process (local/dev-worker.ts) on a private Unix socket, and the supervisor passes
 * each request to the current one. A standby worker is always waiting with the dependencies loaded; on
 * save it imports the changed code, the next request goes to it, and only then is the old one stopped
 * (requests it is still answering finish). Clients never see the port close, a kept-alive connection
 * gets the new code with its next request, and a save that does not start keeps the previous code serving.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type FSWatcher, mkdtempSync, rmSync, watch } from 'node:fs';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { answerClientError } from './client-error';
import { clientTimeouts } from './client-timeouts';
import { startDynamoDbLocal } from './dynamodb-local';
import { exitOnUserFault, stopOnSignals } from './main';
import { CLIENT_ADDRESS_HEADER, type SupervisorMessage, type WorkerMessage } from './dev-protocol';
import { errorResponse } from '#platform/http/error-response';
import { AppError } from '#platform/errors';
import { requestIdFor } from '#platform/http/headers';
import { childEnv } from './child-env';
import { ensureConsoleBuilt } from './console-build';
import { PROJECT_ROOT } from './paths';

/** What the runtime is made of; tests, docs and the CDK app do not affect it. */
const WATCHED = ['functions', 'local', 'layers'];
const SOURCE = /\.(?:ts|mts|js|mjs|json|ttf)$/;
/** Editors save in bursts (write, rename, chmod): wait this long for the burst to end. */
const DEBOUNCE_MS = 25;
const STOP_TIMEOUT_MS = 5_000;

const inMemory = process.argv.includes('--in-memory');
const port = Number(process.env.PORT ?? 3000);
const url = `http://127.0.0.1:${port}`;
/** The workers' Unix sockets: a private directory, since their client-address header is trusted. */
const socketDir = mkdtempSync(join(tmpdir(), 'charge-records-dev-'));
/** Shared by every generation (same signing keys across reloads); a throw-away one for --in-memory. */
const scratchDir =
  inMemory && !process.env.LOCAL_STATE_DIR ? mkdtempSync(join(tmpdir(), 'charge-records-')) : undefined;
const stateDir = process.env.LOCAL_STATE_DIR ?? scratchDir ?? resolve(PROJECT_ROOT, '.local');
const removeTemporaryDirs = () => {
  rmSync(socketDir, { recursive: true, force: true });
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
};

/** Connection headers of the hop between supervisor and worker, not of the client's response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

interface Worker {
  child: ChildProcess;
  exited: Promise<void>;
  socketPath: string;
  agent: Agent;
}

function spawnWorker(dynamoEndpoint: string): Worker {
  const child = fork(resolve(PROJECT_ROOT, 'local/dev-worker.ts'), [], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx'],
    env: childEnv({ DYNAMODB_ENDPOINT: dynamoEndpoint, LOCAL_STATE_DIR: stateDir }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return { child, exited, socketPath: join(socketDir, `${randomUUID()}.sock`), agent: new Agent({ keepAlive: true }) };
}

/** Passes one request to a worker, with the client's address, and its answer back. */
function forward(worker: Worker, req: IncomingMessage, res: ServerResponse): void {
  const headers = { ...req.headers, [CLIENT_ADDRESS_HEADER]: req.socket.remoteAddress ?? '' };
  const upstream = request(
    { socketPath: worker.socketPath, agent: worker.agent, method: req.method, path: req.url, headers },
    (answer) => {
      const raw: string[] = [];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has((answer.rawHeaders[i] as string).toLowerCase()))
          raw.push(answer.rawHeaders[i] as string, answer.rawHeaders[i + 1] as string);
      }
      res.writeHead(answer.statusCode ?? 502, raw);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (res.headersSent) return void res.destroy();
    // The worker died mid-request: answer in the API's error shape rather than drop the connection.
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    const failed = errorResponse(new AppError('UNAVAILABLE', 'The local runtime is restarting: try again'), requestId);
    res.writeHead(failed.statusCode, failed.headers as Record<string, string>);
    res.end(failed.body);
  });
  req.pipe(upstream);
}

const tell = (worker: Worker, message: SupervisorMessage) => worker.child.connected && worker.child.send(message);

async function stopWorker(worker: Worker): Promise<void> {
  tell(worker, { type: 'stop' });
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await worker.exited;
  clearTimeout(timer);
}

try {
  const dynamo = await startDynamoDbLocal({
    port: Number(process.env.DYNAMODB_LOCAL_PORT ?? 8000),
    dataDir: inMemory ? undefined : resolve(stateDir, 'dynamodb'),
  });
  console.log(`DynamoDB Local on ${dynamo.endpoint} (kept running across reloads)`);

  let active: Worker | undefined;
  let stopping = () => false;
  let standby = spawnWorker(dynamo.endpoint);
  // Requests that arrive while no generation is up (a crash being recovered) wait for the next one.
  const waiting: (() => void)[] = [];
  const server = createServer(clientTimeouts(), (req, res) => {
    if (active) forward(active, req, res);
    else waiting.push(() => active && forward(active, req, res));
  });
  // The supervisor parses the client's HTTP: its refusals take the API's error shape, as `npm start`'s do.
  server.on('clientError', answerClientError);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });

  /**
   * Brings the standby up with the code as it is now; the previous generation serves until it is ready.
   * `onReady` runs as soon as the new code takes connections, before the old generation is stopped.
   */
  const activate = async (onReady: () => void = () => undefined): Promise<boolean> => {
    const next = standby;
    standby = spawnWorker(dynamo.endpoint);
    const outcome = new Promise<WorkerMessage | undefined>((ok) => {
      next.child.on('message', (m: WorkerMessage) => (m.type === 'ready' || m.type === 'failed') && ok(m));
      void next.exited.then(() => ok(undefined));
    });
    tell(next, { type: 'activate', socketPath: next.socketPath, publicUrl: url });
    const result = await outcome;
    if (result?.type !== 'ready') {
      console.error(
        `Reload failed${active ? ': the previous code keeps serving; fix and save again' : ''}.\n${result?.type === 'failed' ? result.message : ''}`,
      );
      next.child.kill('SIGKILL');
      return false;
    }
    const previous = active;
    active = next;
    void next.exited.then(() => {
      if (active !== next || stopping()) return;
      console.error('The runtime exited unexpectedly: starting it again');
      active = undefined;
      reload();
    });
    for (const retry of waiting.splice(0)) retry();
    onReady();
    // Stream poller and scheduler move over only once the old ones are stopped: nothing runs twice.
    if (previous) {
      await stopWorker(previous);
      previous.agent.destroy();
    }
    tell(next, { type: 'background' });
    return true;
  };

  if (!(await activate())) {
    standby.child.kill('SIGKILL');
    await dynamo.stop();
    removeTemporaryDirs();
    process.exit(1);
  }
  console.log(`Charge Records API on ${url} — reloads on save (Ctrl-C stops everything)`);

  let reloading: Promise<void> | undefined;
  let pending = false;
  let debounce: NodeJS.Timeout | undefined;
  const reload = () => {
    if (reloading) {
      // A save during a reload: that reload may have read the file before it; go again once it is done.
      pending = true;
      return;
    }
    const started = performance.now();
    const ready = () =>
      console.log(
        `Reloaded: the new code answers after ${Math.round(performance.now() - started)} ms (pid ${active?.child.pid})`,
      );
    reloading = activate(ready).then(() => {
      reloading = undefined;
      if (pending) {
        pending = false;
        reload();
      }
    });
  };
  const watchers: FSWatcher[] = WATCHED.map((dir) =>
    watch(resolve(PROJECT_ROOT, dir), { recursive: true }, (_event, file) => {
      if (!file || !SOURCE.test(file)) return;
      clearTimeout(debounce);
      debounce = setTimeout(reload, DEBOUNCE_MS);
    }),
  );
  // The console: rebuilt in the background when missing or stale, and again on each save of its sources (the
  // server picks up the new files at once; the browser shows them on its next reload). Build output is not watched.
  const buildConsole = () =>
    void ensureConsoleBuilt((line) => console.log(line)).catch((err: unknown) =>
      console.error(`Console build failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  let consoleDebounce: NodeJS.Timeout | undefined;
  buildConsole();
  watchers.push(
    watch(resolve(PROJECT_ROOT, 'console'), { recursive: true }, (_event, file) => {
      if (!file || !/^(?:src[/\\]|index\.html$|vite\.config\.ts$)/.test(file)) return;
      clearTimeout(consoleDebounce);
      consoleDebounce = setTimeout(buildConsole, 200);
    }),
  );

  stopping = stopOnSignals(async () => {
    for (const w of watchers) w.close();
    clearTimeout(debounce);
    server.close();
    server.closeAllConnections();
    standby.child.kill('SIGKILL');
    await reloading;
    await Promise.all([active && stopWorker(active), standby.exited]);
    await dynamo.stop();
    removeTemporaryDirs();
  });
} catch (err) {
  exitOnUserFault(err);
}
