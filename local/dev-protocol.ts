/** Messages between `npm run dev`'s supervisor (local/dev.ts) and its runtime generations (dev-worker.ts). */
export type SupervisorMessage =
  { type: 'activate'; socketPath: string; publicUrl: string } | { type: 'background' } | { type: 'stop' };
export type WorkerMessage = { type: 'ready' } | { type: 'failed'; message: string };

/** The header the supervisor passes each client's address in; workers listen only on a private Unix socket. */
export const CLIENT_ADDRESS_HEADER = 'x-charge-records-dev-client-address';
