import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  CLIENT_TOKEN_OUTCOMES,
  COUNTERS,
  type CounterName,
  type CounterSink,
  LOCKOUT_SCOPES,
  LOGIN_OUTCOMES,
  REPORT_DOWNLOAD_KINDS,
  REVOCATION_KINDS,
} from './counters';

/**
 * The Prometheus registry behind `GET /metrics` (text format 0.0.4, rendered by prom-client). Request
 * metrics are recorded by the local server for every request it answers; security counters by the code
 * that raises the events; gauges read from the data when scraped (functions/ops/data-gauges.ts).
 * In AWS each Lambda process has its own registry, so there the data gauges are what counts and request
 * metrics come from API Gateway's CloudWatch metrics and the EMF metrics.
 */
export const registry = new Registry();
registry.setDefaultLabels({ service: 'charge-records' });

const PREFIX = 'charge_records_';

export const httpRequests = new Counter({
  name: `${PREFIX}http_requests_total`,
  help: 'HTTP requests answered, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: `${PREFIX}http_request_duration_seconds`,
  help: 'HTTP request latency, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

// The label values live with the port (counters.ts); every series is created at 0 below, so `/metrics` lists it
// before its first event: a scraper sees `lockouts_total{scope="pair"} 0`, not a missing series.
export {
  CLIENT_TOKEN_OUTCOMES,
  LOCKOUT_SCOPES,
  LOGIN_OUTCOMES,
  REPORT_DOWNLOAD_KINDS,
  REVOCATION_KINDS,
  type RevocationKind,
} from './counters';

export const logins = new Counter({
  name: `${PREFIX}logins_total`,
  help: 'Login attempts by outcome (success, failure, locked = refused with 423)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const lockouts = new Counter({
  name: `${PREFIX}lockouts_total`,
  help: 'Lockouts triggered, by scope (pair = username + source IP, account = hourly ceiling)',
  labelNames: ['scope'] as const,
  registers: [registry],
});

export const revocations = new Counter({
  name: `${PREFIX}revocations_total`,
  help: 'Token revocations by kind (logout, revoke-tokens, refresh-reuse, password-change, disable, role-change)',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const clientTokens = new Counter({
  name: `${PREFIX}client_tokens_total`,
  help: 'Client-credentials token requests of service accounts (POST /auth/token), by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const reportDownloadLinks = new Counter({
  name: `${PREFIX}report_download_links_total`,
  help: 'Signed report download links handed out (303 to a short-lived link), by kind (export, run)',
  labelNames: ['kind'] as const,
  registers: [registry],
});

for (const outcome of LOGIN_OUTCOMES) logins.inc({ outcome }, 0);
for (const outcome of CLIENT_TOKEN_OUTCOMES) clientTokens.inc({ outcome }, 0);
for (const kind of REPORT_DOWNLOAD_KINDS) reportDownloadLinks.inc({ kind }, 0);
for (const scope of LOCKOUT_SCOPES) lockouts.inc({ scope }, 0);
for (const kind of REVOCATION_KINDS) revocations.inc({ kind }, 0);

export const auditLag = new Histogram({
  name: `${PREFIX}audit_lag_seconds`,
  help: 'Time from a committed change to its audit record (observed by the audit writer in this process)',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
});

/** Data gauges: set by the collector just before each scrape renders. */
export const chargesByStatus = new Gauge({
  name: `${PREFIX}charges`,
  help: 'Live (not deleted) charges by status',
  labelNames: ['status'] as const,
  registers: [registry],
});
export const usersTotal = new Gauge({ name: `${PREFIX}users`, help: 'User accounts', registers: [registry] });
export const lockedAccounts = new Gauge({
  name: `${PREFIX}locked_accounts`,
  help: 'Usernames with an active lock (any source IP, or account-wide)',
  registers: [registry],
});
export const auditRecords = new Gauge({
  name: `${PREFIX}audit_records`,
  help: 'Records on the audit trail',
  registers: [registry],
});
export const auditLastRecordAge = new Gauge({
  name: `${PREFIX}audit_last_record_age_seconds`,
  help: 'Seconds since the newest audit record was written',
  registers: [registry],
});
export const reportRuns = new Gauge({
  name: `${PREFIX}report_runs`,
  help: 'Report runs by status',
  labelNames: ['status'] as const,
  registers: [registry],
});
export const signingKeyAge = new Gauge({
  name: `${PREFIX}signing_key_age_seconds`,
  help: 'Age of the current (AWSCURRENT) access-token signing key',
  registers: [registry],
});

/** Called by the local server once per answered request. */
export function observeRequest(method: string, route: string, status: number, seconds: number): void {
  const labels = { method, route, status: String(status) };
  httpRequests.inc(labels);
  httpDuration.observe(labels, seconds);
}

let processMetrics = false;

/**
 * prom-client's process metrics (CPU, memory, heap, event-loop lag, handles, GC): figures of this one process, as
 * every series of this registry is. Only the function that serves `/metrics` turns them on: the event-loop monitor
 * they start would otherwise run in every function that counts something.
 */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
}

/**
 * The counters port's Prometheus adapter: where `GET /metrics` is served from the same process (the local
 * runtime), the security counters and the audit lag land in this registry.
 */
export const prometheusCounterSink: CounterSink = {
  count(counter: CounterName, label: string, value: number) {
    const target = { logins, lockouts, revocations, clientTokens, reportDownloadLinks }[counter] as Counter<string>;
    target.inc({ [COUNTERS[counter]]: label }, value);
  },
  observe(_histogram, seconds) {
    auditLag.observe(seconds);
  },
};
