/**
 * Which request a change or a security event came in. `requestId` is the server's own id (API Gateway's, or one
 * the server made): a caller cannot choose it, so the audit trail can name it. The caller's `X-Request-ID`, which
 * anyone can set to anything, is kept apart as `correlationId`.
 */
export interface RequestMeta {
  requestId: string;
  correlationId?: string;
  sourceIp: string;
  /** The client's `User-Agent`, as sent (the caller's to choose: for display only, never for a decision). */
  userAgent?: string;
}
