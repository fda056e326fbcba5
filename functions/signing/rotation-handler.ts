import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { appendAuditRecord } from '#audit/audit-log';
import { config, overlapWarning } from '#platform/config';
import { asError } from '#platform/errors';
import { emfMetrics, logger, loggerContext, metrics } from '#platform/powertools';
import { signingAdapters } from './adapters';
import { type RotationDeps, type RotationEvent, recordKeyAge, runRotationStep } from './rotation';
import { isKeyAgeProbe, type KeyAgeProbe } from './rotation-probe';

/**
 * The Secrets Manager rotation function of the signing secret: Secrets Manager calls it four
 * times per rotation (createSecret, setSecret, testSecret, finishSecret). Locally `npm run rotate-keys`
 * and `POST /admin/keys/rotate` call this same handler with the same events. An hourly EventBridge rule also
 * sends the key-age probe (./probe.ts), which only records the current key's age.
 */
export function rotationDeps(): RotationDeps {
  const cfg = config();
  const overlap = overlapWarning(cfg);
  if (overlap) logger.warn(overlap);
  return {
    adapters: signingAdapters(),
    overlapSeconds: cfg.signingKeyOverlapSeconds,
    issuer: cfg.JWT_ISSUER,
    audience: cfg.JWT_AUDIENCE,
    audit: appendAuditRecord,
  };
}

/** One step with its logging and metrics: the handler's body, also run in-process by the local admin route. */
export async function rotationStep(event: RotationEvent): Promise<void> {
  const deps = rotationDeps();
  // `rotation_id`, not `…token`: the ClientRequestToken is a version id, and log redaction masks `*token*` keys.
  logger.appendKeys({ rotation_step: event.Step, rotation_id: event.ClientRequestToken });
  try {
    await runRotationStep(event, deps);
    metrics.addMetric(`SigningKeyRotation_${event.Step}`, MetricUnit.Count, 1);
    if (event.Step === 'finishSecret') {
      metrics.addMetric('SigningKeyRotationSucceeded', MetricUnit.Count, 1);
    }
  } catch (err) {
    // Nothing before finishSecret touches AWSCURRENT, so signing goes on with the current key.
    logger.error('Signing key rotation step failed', { error: asError(err) });
    metrics.addMetric('SigningKeyRotationFailed', MetricUnit.Count, 1);
    throw err;
  } finally {
    await recordKeyAge(deps.adapters).catch((err: unknown) =>
      logger.warn('Could not read the signing key age', { error: asError(err) }),
    );
  }
}

/**
 * The probe: SigningKeyAgeSeconds from AWSCURRENT, nothing else. A failure throws, so the probe shows up in the
 * function's Errors alarm, and the missing data point in SigningKeyTooOld (missing data breaches).
 */
export async function keyAgeProbe(): Promise<number | undefined> {
  const ageSeconds = await recordKeyAge(signingAdapters());
  if (ageSeconds === undefined) logger.warn('Key-age probe: AWSCURRENT names no createdAt yet (no rotation has run)');
  return ageSeconds;
}

export const handler = middy<RotationEvent | KeyAgeProbe, void>()
  // logEvent false whatever POWERTOOLS_LOGGER_LOG_EVENT says: no event is ever dumped into the log.
  .use(loggerContext())
  .use(emfMetrics())
  .handler(async (event) => {
    if (isKeyAgeProbe(event)) {
      await keyAgeProbe();
      return;
    }
    await rotationStep(event);
  });
