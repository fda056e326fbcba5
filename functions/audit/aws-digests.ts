import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Digest, digestFileBuffer, type DigestReader, type DigestStore } from './digest';
import { DIGEST_PREFIX } from './s3-digest-reader';

export { KmsDigestSigner } from './kms-digest-signer';
export { LATEST_LOOKBACK_DAYS, S3DigestReader } from './s3-digest-reader';

/**
 * Digests in the Object Lock bucket, each object locked in compliance mode for the retention: not even the
 * account root can delete or overwrite one before then. Only the digest job writes, with the S3 SDK (Object Lock
 * headers, the SHA-256 checksum, If-None-Match); every read is the reader's (`S3DigestReader`, signed HTTP), the
 * same one the API uses.
 */
export class S3DigestStore implements DigestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly retentionYears: number,
    private readonly reader: DigestReader,
  ) {}

  private retainUntil(): Date {
    const until = new Date();
    until.setUTCFullYear(until.getUTCFullYear() + this.retentionYears);
    return until;
  }

  async put(digest: Digest): Promise<void> {
    await this.putFile(`${DIGEST_PREFIX}${digest.digestId}.json`, digestFileBuffer(digest));
  }

  async putFile(name: string, body: string | Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: name,
        Body: body,
        ContentType: name.endsWith('.json') ? 'application/json' : 'application/x-ndjson',
        // Object Lock needs an integrity checksum on every put.
        ChecksumAlgorithm: 'SHA256',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: this.retainUntil(),
        IfNoneMatch: '*',
      }),
    );
  }

  get(digestId: string): Promise<Digest | undefined> {
    return this.reader.get(digestId);
  }

  list(from?: string, to?: string): Promise<Digest[]> {
    return this.reader.list(from, to);
  }

  latest(): Promise<Digest | undefined> {
    return this.reader.latest();
  }

  latestId(): Promise<string | undefined> {
    return this.reader.latestId();
  }

  hasFile(name: string): Promise<boolean> {
    return this.reader.hasFile(name);
  }

  getFile(name: string): Promise<string | undefined> {
    return this.reader.getFile(name);
  }
}
