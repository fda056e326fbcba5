/** Which request a change or a security event came in: the server's request id and the caller's address. */
export interface RequestMeta {
  requestId: string;
  sourceIp: string;
}
