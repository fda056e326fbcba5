import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Digest, digestFileBuffer, digestIdOf, type DigestSigner, type DigestStore } from './digest';

/** The digest signing key in KMS: ECC_NIST_P256, SIGN_VERIFY; only the digest function may kms:Sign. */
export class KmsDigestSigner implements DigestSigner {
  constructor(
    private readonly kms: KMSClient,
    readonly keyId: string,
  ) {}

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const out = await this.kms.send(
      new SignCommand({ KeyId: this.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    if (!out.Signature) throw new Error('KMS Sign returned no signature');
    return out.Signature;
  }

  async publicKeyPem(): Promise<string> {
    const out = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    if (!out.PublicKey) throw new Error('KMS GetPublicKey returned no key');
    const base64 = Buffer.from(out.PublicKey).toString('base64');
    return `-----BEGIN PUBLIC KEY-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
  }
}

const PREFIX = 'digests/';

/**
 * How far back `latest()` looks, one listing after the other (digest keys sort by time, and S3 lists from a key
 * on): the first window nearly always holds the newest digest, so finding it costs one List and one Get however
 * many digests the bucket holds. Only after 512 quiet days is the whole prefix listed.
 */
export const LATEST_LOOKBACK_DAYS = [1, 8, 64, 512] as const;

/**
 * Digests in the Object Lock bucket, each object locked in compliance mode for the retention: not even the
 * account root can delete or overwrite one before then. Keys sort by time (`digests/<until>.json`).
 */
export class S3DigestStore implements DigestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly retentionYears: number,
  ) {}

  private retainUntil(): Date {
    const until = new Date();
    until.setUTCFullYear(until.getUTCFullYear() + this.retentionYears);
    return until;
  }

  async put(digest: Digest): Promise<void> {
    await this.putFile(`${PREFIX}${digest.digestId}.json`, digestFileBuffer(digest));
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

  async hasFile(name: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }));
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFound') return false;
      throw err;
    }
  }

  async get(digestId: string): Promise<Digest | undefined> {
    if (!/^[0-9A-Za-z-]+$/.test(digestId)) return undefined;
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${PREFIX}${digestId}.json` }));
      return JSON.parse((await out.Body?.transformToString('utf8')) ?? 'null') as Digest;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  private async ids(startAfter?: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: PREFIX,
          ContinuationToken: token,
          ...(startAfter ? { StartAfter: startAfter } : {}),
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) ids.push(o.Key.slice(PREFIX.length, -5));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids.sort();
  }

  async list(from?: string, to?: string): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const id of await this.ids()) {
      const digest = await this.get(id);
      if (digest && (from === undefined || digest.until >= from) && (to === undefined || digest.until <= to)) {
        out.push(digest);
      }
    }
    return out;
  }

  async latest(now = new Date()): Promise<Digest | undefined> {
    const id = await this.latestId(now);
    return id === undefined ? undefined : this.get(id);
  }

  async latestId(now = new Date()): Promise<string | undefined> {
    for (const days of [...LATEST_LOOKBACK_DAYS, undefined]) {
      const from = days === undefined ? undefined : new Date(now.getTime() - days * 86_400_000).toISOString();
      const id = (await this.ids(from === undefined ? undefined : `${PREFIX}${digestIdOf(from)}`)).at(-1);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  async getFile(name: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      return (await out.Body?.transformToString('utf8')) ?? undefined;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
}
