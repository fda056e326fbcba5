import middy from '@middy/core';
import { digestAdapters } from './digest-adapters';
import { writeDigest, writeMonthlyArchive } from './digest-job';
import { logger, loggerContext } from '#platform/powertools';

/** EventBridge Scheduler's target every AUDIT_DIGEST_INTERVAL_SECONDS: writes the next signed digest. */
async function lambdaHandler(): Promise<{ digestId: string | null; heads: number }> {
  const { signer, store } = digestAdapters();
  const digest = await writeDigest(signer, store);
  // The first run of a month also archives the previous month (a no-op once the archive exists).
  const archive = await writeMonthlyArchive(signer, store);
  if (archive) logger.info('Audit archive', { archive });
  logger.info('Audit digest', { digestId: digest?.digestId ?? null, heads: digest?.heads.length ?? 0 });
  return { digestId: digest?.digestId ?? null, heads: digest?.heads.length ?? 0 };
}

export const handler = middy(lambdaHandler).use(loggerContext());
