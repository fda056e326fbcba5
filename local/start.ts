/**
 * `npm start`: the whole system on this machine, no AWS account needed.
 *   npm start                  data under .local/ (survives restarts)
 *   npm start -- --in-memory   a throw-away run
 * With DYNAMODB_ENDPOINT set, an already running DynamoDB is used instead of starting one.
 */
import { exitOnUserFault, stopOnSignals } from './main';
import { startLocalRuntime } from './runtime';

const inMemory = process.argv.includes('--in-memory');

try {
  const runtime = await startLocalRuntime({ inMemory, dynamoEndpoint: process.env.DYNAMODB_ENDPOINT });
  console.log(`Charge Records API on ${runtime.url} — try ${runtime.url}/status/health (Ctrl-C stops everything)`);
  stopOnSignals(() => runtime.stop());
} catch (err) {
  exitOnUserFault(err);
}
