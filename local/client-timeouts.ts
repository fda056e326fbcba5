/**
 * How long a client may take to send a request: all of it (headers and body) within the request timeout, the
 * headers within the headers timeout. A client that trickles its bytes is answered 408 (local/client-error.ts) and
 * cut off, so it cannot hold a connection for long. The local server and `npm run dev`'s supervisor use these.
 */
export interface ClientTimeoutOptions {
  /** Default 30 s, API Gateway's own limit for an integration. */
  requestTimeoutMs?: number;
  /** Default 10 s; never more than the request timeout. */
  headersTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

/** Node's server options for these limits. */
export function clientTimeouts(options: ClientTimeoutOptions = {}) {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout);
  // Node looks for timed-out requests this often (30 s by default, which would let a slow client stay that long).
  return { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}
