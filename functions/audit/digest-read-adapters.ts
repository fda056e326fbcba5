import { KMSClient } from '@aws-sdk/client-kms';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import type { DigestReader, DigestSigner } from './digest';
import { KmsDigestSigner } from './kms-digest-signer';
import { S3DigestReader } from './s3-digest-reader';

// Apart from the writing adapters (digest-adapters.ts): the API function that verifies against the digests reads
// them with signed HTTP requests and never loads the S3 SDK client.
/** What reads the digests, and the public key they are checked with. */
export interface DigestReadAdapters {
  signer: Pick<DigestSigner, 'publicKeyPem'>;
  store: DigestReader;
}

/** The Object Lock bucket and the KMS signing key's public half (AUDIT_DIGEST_BUCKET, AUDIT_DIGEST_KEY_ID). */
export function awsDigestReadAdapters(): DigestReadAdapters {
  const cfg = config();
  if (!cfg.AUDIT_DIGEST_BUCKET) throw new Error('AUDIT_DIGEST_BUCKET is not set: this function has no digest bucket');
  return {
    signer: new KmsDigestSigner(new KMSClient({ region: cfg.AWS_REGION }), cfg.AUDIT_DIGEST_KEY_ID ?? ''),
    store: new S3DigestReader(cfg.AUDIT_DIGEST_BUCKET, cfg.AWS_REGION),
  };
}

const digestReadAdapterSet = adapterSet(awsDigestReadAdapters);
export const digestReadAdapters = digestReadAdapterSet.get;
export const useDigestReadAdapters = digestReadAdapterSet.use;
export const resetDigestReadAdapters = digestReadAdapterSet.reset;
