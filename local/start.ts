/**
 * `npm start`: the whole system on this machine, no AWS account needed.
 *   npm start                  data under .local/ (survives restarts)
 *   npm start -- --in-memory   a throw-away run
 * With DYNAMODB_ENDPOINT set, an already running DynamoDB is used instead of starting one.
 */
import { ensureConsoleBuilt } from './console-build';
import { exitOnUserFault, stopOnSignals } from './main';
import { readableLogOnTerminal } from './readable-log';
import { type LocalRuntime, startLocalRuntime } from './runtime';

const inMemory = process.argv.includes('--in-memory');
// Powertools writes errors and warnings to stderr, the rest to stdout.
readableLogOnTerminal(process.stdout);
readableLogOnTerminal(process.stderr);

let runtime: LocalRuntime | undefined;
// Before start-up: a signal while DynamoDB Local starts exits at once, and the exit stops the Java process too.
stopOnSignals(async () => runtime?.stop());

try {
  // A missing or stale console build is rebuilt first (a few seconds), so /console/ always shows the source as it is.
  await ensureConsoleBuilt();
  runtime = await startLocalRuntime({ inMemory, dynamoEndpoint: process.env.DYNAMODB_ENDPOINT });
  console.log(
    `Charge Records API on ${runtime.url} — console at ${runtime.url}/console/, health at ${runtime.url}/status/health (Ctrl-C stops everything)`,
  );
} catch (err) {
  exitOnUserFault(err);
}
