/**
 * Secrets never reach a log line: `authorization`, `cookie`, passwords and tokens are redacted. The Logger
 * (functions/platform/powertools.ts) runs every key/value pair it serialises through `redactLogValue`, at any
 * depth — the Lambda event when event logging is on, error causes, anything a handler passes as extra keys:
 * - a value under a secret-sounding key is replaced whole: `authorization`, `proxy-authorization`, `cookie`,
 *   `set-cookie`, `x-api-key`, and any key containing `password`/`passwd`, `token` (accessToken, refreshToken,
 *   idToken, x-amz-security-token…), `secret`, `credential`, `private-key` or `api-key`/`apikey`/`api_key`;
 * - inside any other string: `Bearer …`/`Basic …` credentials, anything shaped like a JWT, and secret fields
 *   of JSON or form text (an event's `body`, say) are masked in place.
 * Booleans and null under a secret key are kept (`passwordChanged: true` says nothing about a password).
 */
export const LOG_REDACTED = '[REDACTED]';

const SECRET_KEY = /passw(?:or)?d|token|secret|authori[sz]ation|cookie|credential|private[-_]?key|api[-_]?key/i;

/** Cheap first look: only strings that might hold a credential go through the replacements below. */
const MAYBE_SECRET_TEXT = /bearer|basic|eyJ|passw|token|secret|authori|cookie|credential|private|api[-_]?key/i;

/** A credential after its scheme; 8+ characters, so prose such as "Bearer token" or "Basic auth" stays readable. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** Three base64url segments, the first two starting like JSON objects (`{"` → `eyJ`): a JWS/JWT. */
const JWT = /\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
/** `"someSecretKey": "value"` (or a number) in JSON text; escaped quotes inside the value are respected. */
const JSON_SECRET_FIELD =
  /("[^"\\]*(?:passw(?:or)?d|token|secret|authori[sz]ation|cookie|credential|private[-_]?key|api[-_]?key)[^"\\]*"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)/gi;
/** `someSecretKey=value` in a query or form string, up to the next separator. */
const FORM_SECRET_FIELD = /(\b[\w.-]*(?:passw(?:or)?d|token|secret|api[-_]?key)[\w.-]*=)[^&;\s"]+/gi;

export function isSecretLogKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Masks credentials inside free text (an event body, a header value under an innocent key, a message). */
export function redactText(text: string): string {
  if (!MAYBE_SECRET_TEXT.test(text)) return text;
  return text
    .replace(JSON_SECRET_FIELD, `$1"${LOG_REDACTED}"`)
    .replace(AUTH_SCHEME, `$1 ${LOG_REDACTED}`)
    .replace(JWT, LOG_REDACTED)
    .replace(FORM_SECRET_FIELD, `$1${LOG_REDACTED}`);
}

/**
 * The Logger's `jsonReplacerFn`: JSON.stringify calls it for every key/value pair at every depth, so a
 * secret-named key is masked wherever it sits, and masking its value means nothing below it is visited.
 */
export function redactLogValue(key: string, value: unknown): unknown {
  if (key !== '' && isSecretLogKey(key) && value !== null && value !== undefined && typeof value !== 'boolean') {
    return LOG_REDACTED;
  }
  return typeof value === 'string' ? redactText(value) : value;
}
