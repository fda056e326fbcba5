/**
 * `npm start`: the whole system on this machine, no AWS account needed.
 *   npm start                  data under .local/ (survives restarts)
 *   npm start -- --in-memory   a throw-away run
 * With DYNAMODB_ENDPOINT set, an already running DynamoDB is used instead of starting one.
 */
import { JavaMissingError } from './dynamodb-local';
import { PortInUseError, startLocalRuntime } from './runtime';

const inMemory = process.argv.includes('--in-memory');

try {
  const runtime = await startLocalRuntime({ inMemory, dynamoEndpoint: process.env.DYNAMODB_ENDPOINT });
  console.log(`Charge Records API on ${runtime.url} — try ${runtime.url}/status/health (Ctrl-C stops everything)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  // What the user can fix themselves gets one line, not a stack.
  if (err instanceof JavaMissingError || err instanceof PortInUseError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
