import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import { S3DigestStore } from './aws-digests';
import type { DigestSigner, DigestStore } from './digest';
import { type DigestReadAdapters, resetDigestReadAdapters, useDigestReadAdapters } from './digest-read-adapters';
import { KmsDigestSigner } from './kms-digest-signer';
import { S3DigestReader } from './s3-digest-reader';

// Apart from the attribution key's module: the writing functions need that one, and not the S3 client. Only the
// digest job (and the local runtime) load this module; the verifying API reads through digest-read-adapters.ts.
/** Where digests are kept and what signs them. */
export interface DigestAdapters extends DigestReadAdapters {
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
      new S3DigestReader(cfg.AUDIT_DIGEST_BUCKET, cfg.AWS_REGION),
    ),
  };
}

const digestAdapterSet = adapterSet(awsDigestAdapters);
export const digestAdapters = digestAdapterSet.get;
/** Installs writing adapters; the readers (verify, the digest listing) then read through the same store. */
export const useDigestAdapters = (make: () => DigestAdapters): void => {
  digestAdapterSet.use(make);
  useDigestReadAdapters(digestAdapters);
};
export const resetDigestAdapters = (): void => {
  digestAdapterSet.reset();
  resetDigestReadAdapters();
};
