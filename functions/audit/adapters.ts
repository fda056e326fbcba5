import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import type { AttributionKey } from './attribution';
import { KmsAttributionKey } from './kms-attribution-key';
import { KmsDigestSigner, S3DigestStore } from './aws-digests';
import type { DigestSigner, DigestStore } from './digest';

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

/** Where digests are kept and what signs them. */
export interface DigestAdapters {
  signer: DigestSigner;
  store: DigestStore;
}

/** The Object Lock bucket and the KMS signing key CDK names (AUDIT_DIGEST_BUCKET, AUDIT_DIGEST_KEY_ID). */
export function awsDigestAdapters(): DigestAdapters {
  const cfg = config();
  if (!cfg.AUDIT_DIGEST_BUCKET) throw new Error('AUDIT_DIGEST_BUCKET is not set: this function has no digest bucket');
  const signer = new KmsDigestSigner(new KMSClient({ region: cfg.AWS_REGION }), cfg.AUDIT_DIGEST_KEY_ID ?? '');
  return {
    signer,
    store: new S3DigestStore(
      new S3Client({ region: cfg.AWS_REGION }),
      cfg.AUDIT_DIGEST_BUCKET,
      cfg.AUDIT_RETENTION_YEARS,
    ),
  };
}

const digestAdapterSet = adapterSet(awsDigestAdapters);
export const digestAdapters = digestAdapterSet.get;
export const useDigestAdapters = digestAdapterSet.use;
export const resetDigestAdapters = digestAdapterSet.reset;
