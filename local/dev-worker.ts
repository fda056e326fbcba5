/**
 * One generation of `npm run dev` (local/dev.ts). Spawned ahead of time, it loads the dependencies
 * while idle and imports the project's own code only when the supervisor activates it: a reload then
 * costs the project's modules, not node_modules. It serves on a private Unix socket; the supervisor owns
 * the port and DynamoDB Local, which outlive every generation.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from './paths';
import { CLIENT_ADDRESS_HEADER, type SupervisorMessage, type WorkerMessage } from './dev-protocol';
import { readableLogOnTerminal } from './readable-log';
import type { LocalRuntime } from './runtime';

const send = (message: WorkerMessage) => process.send?.(message);

// The worker writes to the supervisor's terminal (stdio inherited): text there, JSON when piped.
readableLogOnTerminal(process.stdout);
readableLogOnTerminal(process.stderr);

// Dependencies do not change on save: loading them now keeps them out of the next reload.
const { dependencies } = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const warm = Promise.allSettled(Object.keys(dependencies).map((name) => import(name)));

let runtime: LocalRuntime | undefined;
let stopping: Promise<void> | undefined;

function stop(): Promise<void> {
  stopping ??= (async () => {
    // Requests in progress finish: the supervisor already sends new ones to the next generation.
    await runtime?.stop({ graceful: true });
    process.exit(0);
  })();
  return stopping;
}

async function activate(socketPath: string, publicUrl: string): Promise<void> {
  await warm;
  try {
    const { startLocalRuntime } = await import('./runtime');
    runtime = await startLocalRuntime({
      dynamoEndpoint: process.env.DYNAMODB_ENDPOINT,
      behindSupervisor: { socketPath, publicUrl, clientAddressHeader: CLIENT_ADDRESS_HEADER },
      deferBackground: true,
    });
    send({ type: 'ready' });
  } catch (err) {
    // A syntax or start-up error in the saved code: the supervisor keeps the previous generation serving.
    send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  }
}

process.on('message', (message: SupervisorMessage) => {
  if (message.type === 'activate') void activate(message.socketPath, message.publicUrl);
  else if (message.type === 'background') void runtime?.startBackground();
  else if (message.type === 'stop') void stop();
});
// Ctrl-C reaches the whole process group; the supervisor decides the order things stop in.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
