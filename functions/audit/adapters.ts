import { KMSClient } from '@aws-sdk/client-kms';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import type { AttributionKey } from './attribution';
import { KmsAttributionKey } from './kms-attribution-key';

/** The KMS HMAC key CDK names in ATTRIBUTION_KEY_ID. */
export function awsAttributionKey(): AttributionKey {
  const cfg = config();
  if (!cfg.ATTRIBUTION_KEY_ID) throw new Error('ATTRIBUTION_KEY_ID is not set: this function has no attribution key');
  return new KmsAttributionKey(new KMSClient({ region: cfg.AWS_REGION }), cfg.ATTRIBUTION_KEY_ID);
}

const adapters = adapterSet(awsAttributionKey);

/** The process-wide attribution key. */
export const attributionKey = adapters.get;
/** Installs another (the local runtime, tests). */
export const useAttributionKey = adapters.use;
export const resetAttributionKey = adapters.reset;
