import { JavaCompilerMissingError, JavaMissingError } from './dynamodb-local';
import { PortInUseError } from './free-port';

/**
 * Stops once, on Ctrl-C (SIGINT) as on SIGTERM (what systemd, CI and `kill` send), then exits 0.
 * Returns whether stopping has begun, for work that must not start during shutdown.
 */
export function stopOnSignals(stop: () => Promise<void>): () => boolean {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return () => stopping;
}

/** What the user can fix themselves (no Java, a port in use) gets one line and exit 1, not a stack. */
export function exitOnUserFault(err: unknown): never {
  if (err instanceof JavaMissingError || err instanceof JavaCompilerMissingError || err instanceof PortInUseError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
