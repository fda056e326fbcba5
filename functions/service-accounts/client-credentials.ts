import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AppError, badRequest } from '#platform/errors';
import { header } from '#platform/http/headers';
import { isWellFormed } from '#platform/well-formed';
import { MAX_BODY_BYTES, parseJsonBody, toValidationError } from '#platform/http/router';
import { type TokenRequest as TokenRequestBody, TokenRequest } from './model';
import type { ClientCredentials } from './service';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `application/x-www-form-urlencoded` (RFC 6749 §4.4.2): each field once, UTF-8. */
function parseForm(event: APIGatewayProxyEvent): Record<string, string> {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES)
    throw new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
  const params = new URLSearchParams(text);
  const fields = Object.create(null) as Record<string, string>;
  for (const [key, value] of params) {
    // RFC 6749 §3.2: a parameter sent more than once is an invalid request.
    if (key in fields) {
      throw badRequest(`The request body names "${key.slice(0, 100)}" more than once`, [
        { path: `body.${key.slice(0, 100)}`, code: 'duplicate_key', message: 'Given more than once; give it once' },
      ]);
    }
    fields[key] = value;
  }
  return fields;
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`; undefined without such a header. */
function basicCredentials(event: APIGatewayProxyEvent): { clientId: string; clientSecret: string } | undefined {
  const value = header(event.headers, 'authorization');
  if (!value) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(value.trim());
  if (!match?.[1]) throw badRequest('The Authorization header must be HTTP Basic with the client credentials');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw badRequest('The Authorization header must be HTTP Basic with the client credentials');
  const unescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw badRequest('The Authorization header must be HTTP Basic with the client credentials');
    }
  };
  const clientId = unescape(decoded.slice(0, colon));
  const clientSecret = unescape(decoded.slice(colon + 1));
  // The same bounds as the body fields: an unknown client id becomes an audit chain's key.
  if (clientId.length > 128 || clientSecret.length > 256 || !isWellFormed(clientId) || !isWellFormed(clientSecret)) {
    throw badRequest('The client credentials in the Authorization header are too long or not text');
  }
  return { clientId, clientSecret };
}

/**
 * A token request as the form of RFC 6749 §4.4 or as JSON, the client authenticated by HTTP Basic or by
 * `client_id` + `client_secret` in the body — exactly one of the two (§2.3: never both).
 */
export function readTokenRequest(event: APIGatewayProxyEvent): { credentials: ClientCredentials; basic: boolean } {
  const type = (header(event.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  let raw: unknown;
  if (type === 'application/x-www-form-urlencoded') raw = parseForm(event);
  else if (type === 'application/json') raw = parseJsonBody(event);
  else {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'The request body must be application/x-www-form-urlencoded or application/json',
    );
  }
  if (raw === undefined) throw badRequest('A request body is required');
  const parsed = TokenRequest.safeParse(raw);
  if (!parsed.success) throw toValidationError(parsed.error, 'body');
  const body: TokenRequestBody = parsed.data;
  const basic = basicCredentials(event);
  if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
    throw badRequest('Send the client credentials either with HTTP Basic or in the body, not both');
  }
  const clientId = basic?.clientId ?? body.client_id;
  const clientSecret = basic?.clientSecret ?? body.client_secret;
  if (!clientId || !clientSecret) {
    throw new AppError('UNAUTHORIZED', 'Client authentication is required', {
      headers: { 'WWW-Authenticate': 'Basic realm="charge-records", charset="UTF-8"' },
    });
  }
  return {
    credentials: { clientId, clientSecret, ...(body.scope !== undefined ? { scope: body.scope } : {}) },
    basic: basic !== undefined,
  };
}
