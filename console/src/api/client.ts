import createClient from 'openapi-fetch';
import { endSession, getAccessToken, refresh } from './session';
import type { ApiErrorPayload, Paths } from './types';

/** An answer of the API that is not a success, with the error body's message and id (shown to the user). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly id: string | undefined;
  constructor(status: number, payload: Partial<ApiErrorPayload> | undefined) {
    super(payload?.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = payload?.code ?? 'UNKNOWN';
    this.id = payload?.id;
  }
}

/** Auth routes answer 401 for a wrong password or TOTP: that is not an expired token to refresh. */
const NO_RETRY = /^\/auth\//;

/**
 * Every request the console makes goes through here: it adds the bearer token, and on a 401 tries one
 * cookie refresh and repeats the request once with the new token.
 */
async function authFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const send = (req: Request) => {
    const token = getAccessToken();
    if (token) req.headers.set('Authorization', `Bearer ${token}`);
    return fetch(req);
  };
  const res = await send(request);
  const path = new URL(request.url).pathname;
  if (res.status !== 401 || NO_RETRY.test(path) || !getAccessToken()) return res;
  if (!(await refresh())) {
    endSession('expired');
    return res;
  }
  return send(retry);
}

/** The typed client: paths, parameters and bodies come from the OpenAPI document. */
export const api = createClient<Paths>({
  baseUrl: typeof location === 'undefined' ? '' : location.origin,
  fetch: authFetch,
  credentials: 'same-origin',
});

/**
 * The data of a typed call, or an `ApiError` thrown with the API's message and id — the shape TanStack Query
 * and the forms expect.
 */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const payload = (error as { error?: Partial<ApiErrorPayload> } | undefined)?.error;
    throw new ApiError(response.status, payload);
  }
  return data as T;
}

/** A file from the API (e.g. the Chargenbericht), fetched with the bearer token and saved from a blob URL. */
export async function downloadFile(path: string, filename: string): Promise<void> {
  const res = await authFetch(new Request(new URL(path, location.origin)));
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: Partial<ApiErrorPayload> } | undefined;
    throw new ApiError(res.status, body?.error);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
