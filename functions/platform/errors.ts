/**
 * The API's error codes and their HTTP status: the one table every handler, the authorizer path and the
 * local server map errors through.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  MFA_REQUIRED: 401,
  FORBIDDEN: 403,
  SEGREGATION_OF_DUTIES: 403,
  SIGNATURE_REQUIRED: 403,
  SIGNATURE_INVALID: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  MFA_ENROLMENT_REQUIRED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_ERROR: 422,
  EXPORT_TOO_LARGE: 422,
  ACCOUNT_LOCKED: 423,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface AppErrorOptions {
  details?: unknown;
  /** Extra response headers, e.g. `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
  /**
   * Top-level fields sent next to `error`, for endpoints whose failure answer is also a report
   * (readiness and detailed health keep their `status` and `checks` when they answer 503).
   */
  body?: Record<string, unknown>;
  cause?: unknown;
  /** A status other than the code's own, for protocol answers no code stands for (the local server's 431). */
  status?: number;
}

/**
 * The base of every error this code throws on purpose, so callers branch with `instanceof` on one family.
 * Each subclass is named for its kind and ends in `Error`.
 */
export abstract class ChargeRecordsError extends Error {}

/** A failure the client is meant to see: code, status and a message safe to show. */
export class AppError extends ChargeRecordsError {
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.body = options.body ?? {};
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError('BAD_REQUEST', message, { details });
export const notFound = (message = 'Resource not found') => new AppError('NOT_FOUND', message);
export const forbidden = (message = 'Missing permission for this operation', options: AppErrorOptions = {}) =>
  new AppError('FORBIDDEN', message, options);
export const unauthorized = (message = 'A valid bearer token is required') =>
  new AppError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': 'Bearer' } });
export const conflict = (message: string, details?: unknown) => new AppError('CONFLICT', message, { details });
export const validationError = (message: string, details?: unknown) =>
  new AppError('VALIDATION_ERROR', message, { details });

/** How long a client should wait before retrying a 503 (a dependency outage or throttling is usually brief). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** 503: a dependency of ours is unreachable, throttled or failing; the same request may well work on retry. */
export const unavailable = (
  message = 'The service is temporarily unavailable; retry later',
  options: Omit<AppErrorOptions, 'headers'> = {},
) =>
  new AppError('UNAVAILABLE', message, {
    ...options,
    headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
  });

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Narrow an unknown throwable to an Error without `any`. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
