import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DOWNLOAD_LINK_SECONDS, type ObjectStore, type StoredObject } from './ports';

/** RFC 6266 / 5987: an ASCII fallback name plus the exact UTF-8 one. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** Report files in S3, encrypted with the reports KMS key; downloads through pre-signed GET URLs. */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly kmsKeyId: string | undefined,
  ) {}

  async putFile(key: string, path: string, contentType: string): Promise<StoredObject> {
    const { size } = await stat(path);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: contentType,
        ServerSideEncryption: 'aws:kms',
        ...(this.kmsKeyId ? { SSEKMSKeyId: this.kmsKeyId } : {}),
        BucketKeyEnabled: true,
      }),
    );
    return { key, bytes: size };
  }

  downloadUrl(key: string, filename: string, expiresInSeconds = DOWNLOAD_LINK_SECONDS): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: contentDisposition(filename) }),
      { expiresIn: expiresInSeconds },
    );
  }
}
