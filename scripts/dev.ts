/**
 * `npm run dev`: the local runtime with reload on save. DynamoDB Local is started once here and kept
 * across reloads; only the API process (tsx watch) restarts when a source file changes — no Docker hop.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { JavaMissingError, startDynamoDbLocal } from './local/dynamodb-local';
import { PROJECT_ROOT } from './local/handlers';

const inMemory = process.argv.includes('--in-memory');
try {
  const dynamo = await startDynamoDbLocal({
    port: Number(process.env.DYNAMODB_LOCAL_PORT ?? 8000),
    dataDir: inMemory ? undefined : resolve(PROJECT_ROOT, '.local', 'dynamodb'),
  });
  console.log(`DynamoDB Local on ${dynamo.endpoint} (kept running across reloads)`);

  const child = spawn(
    process.execPath,
    [resolve(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'watch', '--clear-screen=false', 'scripts/start.ts'],
    { cwd: PROJECT_ROOT, stdio: 'inherit', env: { ...process.env, DYNAMODB_ENDPOINT: dynamo.endpoint } },
  );

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    child.kill('SIGTERM');
    await dynamo.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  child.on('exit', () => void shutdown());
} catch (err) {
  if (err instanceof JavaMissingError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
