import { createServer } from 'node:net';
import { ChargeRecordsError } from '#platform/errors';

/** A TCP port on 127.0.0.1 that was free a moment ago (tests and benchmarks start their servers on one). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class PortInUseError extends ChargeRecordsError {
  constructor(
    readonly port: number,
    readonly variable: 'PORT' | 'DYNAMODB_LOCAL_PORT',
  ) {
    super(
      variable === 'PORT'
        ? `Port ${port} is in use: stop the other server, or set PORT to a free port (e.g. PORT=${port + 1} npm start).`
        : `Port ${port} (DYNAMODB_LOCAL_PORT) is in use, by another DynamoDB Local perhaps: stop it, or set DYNAMODB_LOCAL_PORT ` +
            `to a free port (or DYNAMODB_ENDPOINT to use that one on purpose).`,
    );
    this.name = 'PortInUseError';
  }
}

export const isAddressInUse = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';

/**
 * Fails fast, before anything is started or created, when another process holds a port we are about to serve on:
 * a probe bound and released at once. For DynamoDB Local this matters beyond the message: its start-up check would
 * take another instance's answer for its own, and this run would quietly use that instance's data.
 */
export async function assertPortFree(port: number, variable: 'PORT' | 'DYNAMODB_LOCAL_PORT'): Promise<void> {
  const probe = createServer();
  await new Promise<void>((ok, fail) => {
    probe.once('error', (err) => fail(isAddressInUse(err) ? new PortInUseError(port, variable) : err));
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok()));
  });
}
