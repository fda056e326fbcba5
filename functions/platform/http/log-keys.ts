/** The parts of a proxy or authorizer event that say which request it is and who sent it. */
interface RequestLike {
  httpMethod: string;
  path: string;
  requestContext?: {
    authorizer?: Record<string, unknown> | null;
    identity?: { sourceIp?: string | null } | null;
  } | null;
}

/**
 * What a log line says about its request: method, path, the caller (once the authorizer has named them) and the
 * address they called from — so an error line alone tells whose request failed, without joining other lines.
 */
export function requestLogKeys(event: RequestLike): Record<string, string> {
  const keys: Record<string, string> = { http_method: event.httpMethod, path: event.path };
  const userId = event.requestContext?.authorizer?.userId;
  if (typeof userId === 'string') keys.user_id = userId;
  const sourceIp = event.requestContext?.identity?.sourceIp;
  if (sourceIp) keys.source_ip = sourceIp;
  return keys;
}
