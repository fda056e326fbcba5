import { useAttributionKey } from '#audit/adapters';
import { useAuthMailer } from '#auth/mailer';
import { useClientSecrets } from '#auth/client-secrets';
import { useDigestAdapters } from '#audit/digest-adapters';
import { useStreamFailures } from '#audit/replay-adapters';
import { config } from '#platform/config';
import { useCounterSink } from '#platform/observability/counters';
import { prometheusCounterSink } from '#platform/observability/prometheus';
import { type ReportAdapters, publicBaseUrl, useReportAdapters } from '#reports/delivery/adapters';
import { useSigningAdapters } from '#signing/adapters';
import { localAttributionKeyFromConfig } from './local-attribution-key';
import { localClientSecretsFromConfig } from './local-client-secrets';
import { localDigestAdaptersFromConfig } from './local-digests';
import { localStreamFailuresFromConfig } from './local-stream-failures';
import { LocalMailer } from './local-mailer';
import { LocalObjectStore } from './local-object-store';
import { localScheduler } from './local-scheduler';
import { localSigningAdaptersFromConfig } from './signing';

/** Files under `.local/reports/`, `.eml` files in `.local/outbox/`, the in-process cron scheduler. */
export function localReportAdapters(): ReportAdapters {
  const cfg = config();
  return {
    kind: 'local',
    objects: new LocalObjectStore(cfg.LOCAL_STATE_DIR, publicBaseUrl),
    mailer: new LocalMailer(cfg.LOCAL_STATE_DIR, cfg.REPORTS_SENDER),
    scheduler: localScheduler(),
  };
}

/**
 * Wires the local stand-ins into the modules' ports — the local runtime's half of composition at the edge
 * (each Lambda entry uses the AWS adapters). Each set is built on first use, from the configuration then.
 */
export function installLocalAdapters(): void {
  useSigningAdapters(localSigningAdaptersFromConfig);
  useReportAdapters(localReportAdapters);
  // Password reset links go to the same outbox as report mails.
  useAuthMailer(() => new LocalMailer(config().LOCAL_STATE_DIR, config().REPORTS_SENDER));
  useAttributionKey(localAttributionKeyFromConfig);
  useDigestAdapters(localDigestAdaptersFromConfig);
  useStreamFailures(localStreamFailuresFromConfig);
  // One process serves every route, GET /metrics too: the counters go to its Prometheus registry.
  useCounterSink(() => prometheusCounterSink);
  useClientSecrets(localClientSecretsFromConfig);
}
