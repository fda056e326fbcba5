import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '#platform/errors';
import { errorResponse } from '#platform/http/error-response';

/** Node's parser errors whose answer is not 400 (the statuses Node's own default answer uses). */
const PROTOCOL_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request line or headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'A chunk extension is too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time' },
};

/**
 * A request Node's parser refuses before any handler sees it (a malformed request line or header, headers over
 * Node's 16 KB, a bad Content-Length, both Content-Length and Transfer-Encoding): answered in the API's error
 * shape with the security headers and a fresh X-Request-ID, not Node's bare status line. Then the connection
 * closes: the parser cannot tell where the next request would start. In AWS, API Gateway answers these itself.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's documented pattern: a reset or closed connection takes no answer.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // A response still owed on this connection (pipelining; ours wait in the outbox) goes first, else the client
  // would read this error as the answer to its earlier request. `_httpMessage` is what Node's default checks.
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  // The response in progress may belong to the very request that broke (a bad chunk in its body): that one can
  // never finish, so it is answered now, as Node's default would, instead of waited for.
  if (pending && !pending.req.complete) {
    if (pending.headersSent) socket.destroy();
    else writeError(err, socket);
    return;
  }
  if (pending) {
    // 'close' follows 'finish', once Node has let go of the socket; a response cut short leaves nothing to answer.
    pending.once('close', () => (pending.writableFinished ? answerClientError(err, socket) : socket.destroy()));
    return;
  }
  writeError(err, socket);
}

function writeError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const known = PROTOCOL_ERRORS[err.code ?? ''] ?? { status: 400, message: 'The request is not valid HTTP' };
  const code = known.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
  const result = errorResponse(
    new AppError(code, known.message, { status: known.status, details: { reason: err.code } }),
    randomUUID(),
  );
  let head = `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(result.headers ?? {})) head += `${name}: ${String(value)}\r\n`;
  head += `Content-Length: ${Buffer.byteLength(result.body, 'utf8')}\r\nConnection: close\r\n\r\n`;
  socket.end(head + result.body);
}
