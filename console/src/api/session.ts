import type { TokenAnswer } from './types';

/**
 * The browser session. The access token lives in this module's memory only — never in storage, a URL or a
 * log; the refresh token is the server's HttpOnly cookie (Path=/auth), which scripts cannot read at all.
 *
 * Idle rule: the server lets a session die after its idle limit without a refresh. The console refreshes only
 * while the user works (a key press or pointer use since the last refresh), so an unattended tab does not keep
 * the session alive, and it ends the session on screen at the moment the server's would end.
 */
export type EndReason = 'expired' | 'signed-out';
type Listener = (signedIn: boolean, reason?: EndReason) => void;

const DEFAULT_IDLE_SECONDS = 1800;
/** Refresh this long before the access token runs out. */
const REFRESH_LEAD_MS = 60_000;
/** The header the server requires with a cookie refresh: a cross-site form cannot set it (CSRF). */
export const REFRESH_HEADER = { 'X-Requested-With': 'charge-records' } as const;

let accessToken: string | undefined;
let lifetimeMs = 0;
let expiresAt = 0;
let idleMs = DEFAULT_IDLE_SECONDS * 1000;
/** When the server last saw the refresh token used: the idle clock starts there. */
let lastRefreshAt = 0;
let lastActivityAt = 0;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<boolean> | undefined;
const listeners = new Set<Listener>();

export function getAccessToken(): string | undefined {
  return accessToken;
}

export function isSignedIn(): boolean {
  return accessToken !== undefined;
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function clearTimers() {
  clearTimeout(refreshTimer);
  clearTimeout(idleTimer);
}

/** Stores a token answer of login or refresh and plans the next refresh and the idle end. */
export function startSession(answer: TokenAnswer): void {
  const wasSignedIn = accessToken !== undefined;
  const now = Date.now();
  accessToken = answer.accessToken;
  lifetimeMs = answer.expiresIn * 1000;
  expiresAt = now + lifetimeMs;
  idleMs = (answer.idleSeconds ?? idleMs / 1000) * 1000;
  lastRefreshAt = now;
  clearTimers();
  refreshTimer = setTimeout(onRefreshDue, Math.max(1000, expiresAt - now - leadMs()));
  idleTimer = setTimeout(expireIdle, idleMs);
  if (!wasSignedIn) for (const l of listeners) l(true);
}

export function endSession(reason: EndReason): void {
  const wasSignedIn = accessToken !== undefined;
  accessToken = undefined;
  expiresAt = 0;
  clearTimers();
  if (wasSignedIn) for (const l of listeners) l(false, reason);
}

/**
 * The idle limit passed without a refresh: the server's session is over (or about to be). The screen is cleared
 * now, and the server is told, so neither side outlives the other.
 */
function expireIdle() {
  const token = accessToken;
  endSession('expired');
  if (!token) return;
  void fetch('/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...REFRESH_HEADER },
    body: '{}',
  }).catch(() => undefined);
}

/** Sets the idle limit the session runs under, e.g. from configuration the server announced. */
export function setIdleSeconds(seconds: number): void {
  idleMs = seconds * 1000;
}

/** A minute before expiry, or a quarter of the lifetime for tokens shorter than four minutes. */
const leadMs = () => Math.min(REFRESH_LEAD_MS, lifetimeMs / 4);

function onRefreshDue() {
  // Active since the last refresh: keep going. Idle: let the token lapse; the idle timer ends the session.
  if (lastActivityAt > lastRefreshAt) void refresh();
}

/** The user did something: a session that has gone a while without a refresh is refreshed now, so working keeps it alive. */
export function noteActivity(): void {
  const now = Date.now();
  lastActivityAt = now;
  if (accessToken === undefined) return;
  const sinceRefresh = now - lastRefreshAt;
  if (sinceRefresh > idleMs / 2 || now > expiresAt - leadMs()) void refresh();
}

/**
 * Exchanges the refresh cookie for a new access token; one request at a time however many callers ask.
 * Resolves false when the server refuses (idle limit passed, session revoked): the session is over then.
 */
export function refresh(): Promise<boolean> {
  inFlight ??= (async () => {
    try {
      const res = await fetch('/auth/refresh', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', ...REFRESH_HEADER },
        body: '{}',
      });
      if (!res.ok) {
        endSession('expired');
        return false;
      }
      startSession((await res.json()) as TokenAnswer);
      return true;
    } catch {
      // Network trouble is not the end of the session; the next request or timer tries again.
      return false;
    } finally {
      inFlight = undefined;
    }
  })();
  return inFlight;
}

let resuming: Promise<boolean> | undefined;

/**
 * On start-up: a refresh cookie from an earlier page load resumes the session without a password. Asked once
 * per page load: a second refresh with the same cookie would look like token reuse to the server.
 */
export function resume(): Promise<boolean> {
  resuming ??= refresh();
  return resuming;
}
