import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { redactLogValue } from '#platform/observability/log-redaction';

/** One namespace for every metric the system emits. */
export const METRICS_NAMESPACE = 'ChargeRecords';
/** The service name locally; the CDK stack sets SERVICE_NAME to `charge-records-<stage>` and selects metrics by that. */
export const DEFAULT_SERVICE_NAME = 'charge-records';
/** The dimension Powertools Metrics puts the service name in (`service`); alarms and the dashboard select by it. */
export const METRICS_SERVICE_DIMENSION = 'service';
export const SERVICE_NAME = process.env.SERVICE_NAME ?? DEFAULT_SERVICE_NAME;

/**
 * Created once per process and shared by every module, as Powertools recommends. Every value it writes passes
 * `redactLogValue`: authorization, cookies, passwords, tokens and secrets are masked at any depth.
 */
export const logger = new Logger({
  serviceName: SERVICE_NAME,
  logLevel: (process.env.LOG_LEVEL ?? 'INFO').toUpperCase() as 'INFO',
  jsonReplacerFn: redactLogValue,
});

export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  // Most requests emit no business metric; Powertools' "no metrics to publish" warning is expected then.
  logger: {
    debug: (...args: unknown[]) => logger.debug(String(args[0])),
    info: (...args: unknown[]) => logger.info(String(args[0])),
    warn: (...args: unknown[]) => logger.debug(String(args[0])),
    error: (...args: unknown[]) => logger.error(String(args[0])),
  },
});

/**
 * Powertools' `logMetrics` middleware (cold-start metric, then flush), except that an invocation which
 * recorded no metric, as most requests do not, is neither serialised nor warned about: that flush would cost a
 * third of the time of a warm health check.
 */
export function emfMetrics<E, R>(): MiddlewareObj<E, R> {
  const flush = () => {
    if (metrics.hasStoredMetrics()) return void metrics.publishStoredMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  };
  return {
    before: (request) => metrics.captureColdStartMetric(request.context.functionName),
    after: flush,
    onError: flush,
  };
}

/**
 * Powertools' Lambda-context middleware as every function uses it: keys reset per invocation, and the
 * event never logged — `POWERTOOLS_LOGGER_LOG_EVENT` would otherwise write bearer tokens and request bodies.
 */
export const loggerContext = () => injectLambdaContext(logger, { resetKeys: true, logEvent: false });
