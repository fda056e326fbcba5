import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { assertPortFree, isAddressInUse, PortInUseError } from './free-port';
import { PROJECT_ROOT } from './paths';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { ensureTables } from './tables';
import { ensureLocalSigningKey } from './signing';
import { createLocalServer } from './server';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { StreamPoller } from './stream-poller';
import { invoke, loadHandler } from './handlers';
import { stopReportWorker } from './report-worker';

const GRACEFUL_STOP_MS = 30_000;

export interface LocalRuntimeOptions {
  /** HTTP port; 0 picks a free one (tests). Default: PORT or 3000. */
  port?: number;
  /**
   * Listen on this private Unix socket instead of a TCP port, behind `npm run dev`'s supervisor, which
   * owns the port (so a reload never closes it), serves `publicUrl` and passes on each client's address.
   */
  behindSupervisor?: { socketPath: string; publicUrl: string; clientAddressHeader: string };
  /**
   * Leave the stream poller and the report scheduler to `startBackground()`, so that a reloaded runtime
   * starts them only once the one it replaces has stopped its own (no record or schedule handled twice).
   */
  deferBackground?: boolean;
  /** Throw-away run: DynamoDB Local keeps nothing on disk, and the rest of the state lives in a temporary directory. */
  inMemory?: boolean;
  /** Use an already running DynamoDB (e.g. `npm run dev` keeps one across reloads, tests share one). */
  dynamoEndpoint?: string;
  /** Where `.local/` lives; default: the project root. */
  stateDir?: string;
  log?: (line: string) => void;
  /** How long a client may take to send a request, and its headers (local/server.ts has the defaults). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
}

export interface LocalRuntime {
  url: string;
  dynamoEndpoint: string;
  server: Server;
  /** Starts the stream poller and the report scheduler (at once unless `deferBackground`); idempotent. */
  startBackground(): Promise<void>;
  /** Stops everything; `graceful` lets requests in progress finish first (a dev reload), else they are cut. */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

export { PortInUseError } from './free-port';

/** Process-wide settings the handlers read through `config()`; set before any handler module loads. */
function prepareEnvironment(dynamoEndpoint: string) {
  process.env.DYNAMODB_ENDPOINT = dynamoEndpoint;
  process.env.AWS_REGION ??= 'eu-central-1';
  // The SDK insists on credentials even for DynamoDB Local, which ignores them.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  // Lambda runs Node 24; the SDK's notice about Node 20 support ending only clutters the local console.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * `npm start` in one call: DynamoDB Local, the tables from the shared definitions, then the HTTP server
 * that runs the production handlers in-process.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  // First, before anything is started or created. `loadConfig`, not `config()`: that one is first called once
  // DYNAMODB_ENDPOINT is set, and keeps what it read.
  const { loadConfig } = await import('#platform/config');
  const port = options.behindSupervisor ? undefined : (options.port ?? loadConfig().PORT);
  if (port) await assertPortFree(port, 'PORT');
  // A throw-away run keeps its keys, report files and mail in a temporary directory, removed on stop.
  const scratch =
    options.inMemory && !options.stateDir && !process.env.LOCAL_STATE_DIR
      ? mkdtempSync(join(tmpdir(), 'charge-records-'))
      : undefined;
  const removeScratch = () => {
    process.removeListener('exit', removeScratch);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
  // A process that exits while starting (a signal) leaves no keys behind in the temporary directory either.
  if (scratch) process.once('exit', removeScratch);
  const stateDir = options.stateDir ?? process.env.LOCAL_STATE_DIR ?? scratch ?? resolve(PROJECT_ROOT, '.local');
  const dynamoPort = Number(process.env.DYNAMODB_LOCAL_PORT ?? 8000);

  let dynamo: DynamoDbLocal | undefined;
  let endpoint = options.dynamoEndpoint;
  if (!endpoint) {
    try {
      dynamo = await startDynamoDbLocal({
        port: dynamoPort,
        dataDir: options.inMemory ? undefined : resolve(stateDir, 'dynamodb'),
      });
    } catch (err) {
      // No Java, or the port is taken: a throw-away run leaves nothing behind.
      removeScratch();
      throw err;
    }
    endpoint = dynamo.endpoint;
    log(
      `DynamoDB Local on ${endpoint} (${options.inMemory ? 'in memory' : `data in ${resolve(stateDir, 'dynamodb')}`})`,
    );
  }
  prepareEnvironment(endpoint);
  process.env.LOCAL_STATE_DIR = stateDir;

  let poller: StreamPoller | undefined;
  let analyticsPoller: StreamPoller | undefined;
  let stopScheduler: (() => void) | undefined;
  try {
    const { config, overlapWarning } = await import('#platform/config');
    const { installLocalAdapters } = await import('./adapters/index');
    installLocalAdapters();
    const overlap = overlapWarning(config());
    if (overlap) log(`Warning: ${overlap}`);
    const admin = new DynamoDBClient({ endpoint, region: config().AWS_REGION });
    const created = await ensureTables(admin, config().TABLE_PREFIX);
    admin.destroy();
    if (created.length > 0) log(`Created tables: ${created.join(', ')}`);
    const signingKey = await ensureLocalSigningKey();
    if (signingKey.created)
      log(`Created the first signing key (kid ${signingKey.kid}) under ${resolve(stateDir, 'keys')}`);
    const { ensureBootstrapAdmin } = await import('#users/bootstrap');
    const bootstrap = await ensureBootstrapAdmin();
    if (bootstrap.created) {
      log(
        bootstrap.generatedPassword
          ? `Created user "${bootstrap.username}" with password ${bootstrap.generatedPassword} — shown only this once`
          : `Created user "${bootstrap.username}" with the password from BOOTSTRAP_ADMIN_PASSWORD`,
      );
    }

    // The shared "QA overview" dashboard, once per installation.
    const { dashboards } = await import('#analytics/api');
    await dashboards.seed();

    const supervisor = options.behindSupervisor;
    const server = createLocalServer({
      clientAddressHeader: supervisor?.clientAddressHeader,
      requestTimeoutMs: options.requestTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs,
      accessLog: log,
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', (err) => fail(port && isAddressInUse(err) ? new PortInUseError(port, 'PORT') : err));
      if (supervisor) server.listen(supervisor.socketPath, () => ok());
      else server.listen(port, '127.0.0.1', () => ok());
    });
    const url = supervisor?.publicUrl ?? `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    let background: Promise<void> | undefined;
    const startBackground = () =>
      (background ??= (async () => {
        // The audit trail's feed: the audited tables' streams → the audit-stream handler.
        const { AUDITED_TABLE_IDS, tableName } = await import('#platform/tables');
        // Both consumers' modules load now, not on the first change: their import takes seconds on a busy machine,
        // and every record written meanwhile would wait for it.
        for (const id of ['audit-stream', 'analytics-stream'] as const) void loadHandler(id).catch(() => undefined);
        poller = new StreamPoller({
          endpoint,
          region: config().AWS_REGION,
          tables: AUDITED_TABLE_IDS.map((id) => tableName(id)),
          stateDir,
          parallelization: config().LOCAL_STREAM_PARALLELIZATION,
          log,
        });
        poller.start();
        // The analytics aggregates: a second consumer of the charges stream, with its own checkpoints and failure file.
        analyticsPoller = new StreamPoller({
          endpoint,
          region: config().AWS_REGION,
          tables: [tableName('charges')],
          stateDir: resolve(stateDir, 'analytics-stream'),
          log,
          deliver: (event) => invoke<DynamoDBBatchResponse>('analytics-stream', event),
        });
        analyticsPoller.start();
        // A record that failed every retry shows in /status/health/detailed until `npm run audit:replay` re-drives it.
        const { registerHealthCheck } = await import('#ops/detailed-health');
        const { pendingFailures } = await import('#scripts/audit-replay');
        const failureFile = poller.onFailureFile;
        registerHealthCheck('audit-stream-failures', async () => {
          const pending = pendingFailures(failureFile);
          if (pending > 0)
            throw new Error(`${pending} audit stream record(s) failed every retry; run npm run audit:replay`);
        });
        const analyticsFailures = analyticsPoller.onFailureFile;
        registerHealthCheck('analytics-stream-failures', async () => {
          const pending = pendingFailures(analyticsFailures);
          if (pending > 0)
            throw new Error(
              `${pending} analytics stream record(s) failed every retry; npm run analytics:rebuild -- --write, then remove ${analyticsFailures}`,
            );
        });
        // Report definitions' schedules fire in-process (EventBridge Scheduler's stand-in).
        const { startLocalReportScheduler } = await import('./reports');
        const stopReports = await startLocalReportScheduler(url, log);
        // The audit digest (EventBridge Scheduler's stand-in): every 60 s unless AUDIT_DIGEST_INTERVAL_SECONDS says.
        const { startLocalDigests } = await import('./digests');
        const stopDigests = startLocalDigests(log);
        stopScheduler = () => {
          stopReports();
          stopDigests();
        };
      })());
    if (!options.deferBackground) await startBackground();

    return {
      url,
      dynamoEndpoint: endpoint,
      server,
      startBackground,
      async stop({ graceful = false } = {}) {
        await background?.catch(() => undefined);
        stopScheduler?.();
        const closed = new Promise<void>((ok) => server.close(() => ok()));
        if (graceful) {
          server.closeIdleConnections();
          // A request that takes longer than this is cut, as a Lambda timeout would.
          const cut = setTimeout(() => server.closeAllConnections(), GRACEFUL_STOP_MS);
          await closed;
          clearTimeout(cut);
        } else {
          server.closeAllConnections();
          await closed;
        }
        await poller?.stop();
        await analyticsPoller?.stop();
        await stopReportWorker();
        await dynamo?.stop();
        removeScratch();
      },
    };
  } catch (err) {
    await poller?.stop();
    await analyticsPoller?.stop();
    await dynamo?.stop();
    removeScratch();
    throw err;
  }
}
