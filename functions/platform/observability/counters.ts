import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { adapterSet } from '#platform/adapters';
import { metrics } from '#platform/powertools';
import { AppError } from '#platform/errors';

/**
 * The security counters and the audit lag, as the code that raises the events sees them: a port, so that only the
 * process that serves `GET /metrics` carries prom-client. In AWS each Lambda process would have a registry of its
 * own that nobody scrapes, so the AWS adapter writes EMF (one CloudWatch metric per counter and label value); the
 * local runtime installs the Prometheus adapter (functions/platform/observability/prometheus.ts).
 */
export interface CounterSink {
  /** `counter` went up by `value` for this label value. */
  count(counter: CounterName, label: string, value: number): void;
  /** One observation of `histogram`, in seconds. */
  observe(histogram: HistogramName, seconds: number): void;
}

/**
 * The label values of the security counters. Every series is created at 0 in the Prometheus registry, so
 * `/metrics` lists it before its first event.
 */
/** `locked`: refused with 423 while the username + IP pair or the account is locked (no password was checked). */
export const LOGIN_OUTCOMES = ['success', 'failure', 'locked'] as const;
export const CLIENT_TOKEN_OUTCOMES = ['success', 'failure'] as const;
/** How a report file left: `link` = a short-lived signed download link was handed out (303). */
export const REPORT_DOWNLOAD_KINDS = ['export', 'run'] as const;
export const LOCKOUT_SCOPES = ['pair', 'account'] as const;
/**
 * What ended sessions: logout (the caller's own), revoke-tokens (an admin), refresh-reuse (the family of a
 * replayed refresh token), and the item changes that end every session of a user — password change (all but the
 * caller's), disable and role change.
 */
export const REVOCATION_KINDS = [
  'logout',
  'revoke-tokens',
  'refresh-reuse',
  'password-change',
  'disable',
  'role-change',
] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/** Each counter with its one label. */
export const COUNTERS = {
  logins: 'outcome',
  lockouts: 'scope',
  revocations: 'kind',
  clientTokens: 'outcome',
  reportDownloadLinks: 'kind',
} as const;
export type CounterName = keyof typeof COUNTERS;
export type HistogramName = 'auditLag';

/** CloudWatch metric names of the EMF adapter. */
const EMF_NAMES: Record<CounterName | HistogramName, string> = {
  logins: 'Logins',
  lockouts: 'Lockouts',
  revocations: 'Revocations',
  clientTokens: 'ClientTokens',
  reportDownloadLinks: 'ReportDownloadLinks',
  auditLag: 'AuditLagSeconds',
};

/** AWS: one EMF line per event, with the label as its dimension (flushed at once, apart from the request's set). */
export const emfCounterSink: CounterSink = {
  count(counter, label, value) {
    const single = metrics.singleMetric();
    single.addDimension(COUNTERS[counter], label);
    single.addMetric(EMF_NAMES[counter], MetricUnit.Count, value);
  },
  // The audit stream records AuditLag (milliseconds) itself: nothing more to write here.
  observe() {},
};

const sinks = adapterSet<CounterSink>(() => emfCounterSink);
/** Installs another sink (the local runtime: Prometheus). */
export const useCounterSink = sinks.use;

function counter<N extends CounterName>(name: N) {
  type Labels = { [K in (typeof COUNTERS)[N]]: string };
  return {
    inc(labels: Labels, value = 1): void {
      sinks.get().count(name, (labels as Record<string, string>)[COUNTERS[name]] as string, value);
    },
  };
}

export const logins = counter('logins');
export const lockouts = counter('lockouts');
export const revocations = counter('revocations');
export const clientTokens = counter('clientTokens');
export const reportDownloadLinks = counter('reportDownloadLinks');
export const auditLag = { observe: (seconds: number) => sinks.get().observe('auditLag', seconds) };

/** For a login's `.catch`: a refusal with 423 (ACCOUNT_LOCKED) counts as `logins_total{outcome="locked"}`. */
export function countLockedLogin(err: unknown): never {
  if (err instanceof AppError && err.code === 'ACCOUNT_LOCKED') logins.inc({ outcome: 'locked' });
  throw err;
}
