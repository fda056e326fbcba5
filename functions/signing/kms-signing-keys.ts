import { createHash } from 'node:crypto';
import {
  CreateKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { publicKeyToJwk } from './jwk';
import { type KeyRef, type PublicJwk, type SigningKeys, TAG_ROTATION_TOKEN, TAG_SIGNING_KEY } from './ports';

/**
 * SigningKeys on AWS KMS asymmetric keys (RSA_2048, SIGN_VERIFY).
 *
 * Sign uses `MessageType: DIGEST`: we hash the JWS signing input with SHA-256 here and send KMS only the
 * 32-byte digest. The signature is byte-for-byte what `RAW` would give for RSASSA_PKCS1_V1_5_SHA_256, but
 * DIGEST has no 4096-byte message limit (a token with many roles or long claims could exceed it with RAW)
 * and the token's claims (user names, roles) never travel to KMS.
 */
export class KmsSigningKeys implements SigningKeys {
  private readonly jwks = new Map<string, Promise<PublicJwk>>();

  constructor(
    private readonly kms: KMSClient,
    /** Value of the app tag; IAM lets the functions touch only keys that carry it. */
    private readonly appTag: string,
  ) {}

  async sign(keyId: string, signingInput: Buffer): Promise<Buffer> {
    const out = await this.kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: createHash('sha256').update(signingInput).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      }),
    );
    if (!out.Signature) throw new Error(`KMS returned no signature for key ${keyId}`);
    return Buffer.from(out.Signature);
  }

  publicJwk(keyId: string): Promise<PublicJwk> {
    let jwk = this.jwks.get(keyId);
    if (!jwk) {
      jwk = this.kms.send(new GetPublicKeyCommand({ KeyId: keyId })).then((out) => {
        if (!out.PublicKey) throw new Error(`KMS returned no public key for ${keyId}`);
        if (out.KeySpec !== 'RSA_2048' || out.KeyUsage !== 'SIGN_VERIFY') {
          throw new Error(`Key ${keyId} is ${out.KeySpec}/${out.KeyUsage}, expected RSA_2048/SIGN_VERIFY`);
        }
        return publicKeyToJwk(out.PublicKey);
      });
      // A failed lookup must not stay cached.
      jwk.catch(() => this.jwks.delete(keyId));
      this.jwks.set(keyId, jwk);
    }
    return jwk;
  }

  async createKey(rotationToken: string): Promise<KeyRef> {
    const out = await this.kms.send(
      new CreateKeyCommand({
        KeySpec: 'RSA_2048',
        KeyUsage: 'SIGN_VERIFY',
        Description: `${this.appTag} access-token signing key (rotation ${rotationToken})`,
        Tags: [
          { TagKey: TAG_SIGNING_KEY, TagValue: this.appTag },
          { TagKey: TAG_ROTATION_TOKEN, TagValue: rotationToken },
        ],
      }),
    );
    const meta = out.KeyMetadata;
    if (!meta?.KeyId || !meta.Arn) throw new Error('KMS CreateKey returned no key metadata');
    return { keyId: meta.KeyId, keyArn: meta.Arn };
  }

  /** Walks the account's keys once per rotation; keys we may not read (other apps', AWS-managed) are skipped. */
  async findKeyByToken(rotationToken: string): Promise<KeyRef | undefined> {
    let marker: string | undefined;
    do {
      const page = await this.kms.send(new ListKeysCommand({ Marker: marker, Limit: 1000 }));
      for (const key of page.Keys ?? []) {
        if (!key.KeyId || !key.KeyArn) continue;
        let tags: Record<string, string>;
        try {
          const out = await this.kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
          tags = Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
        } catch {
          continue;
        }
        if (tags[TAG_SIGNING_KEY] === this.appTag && tags[TAG_ROTATION_TOKEN] === rotationToken) {
          return { keyId: key.KeyId, keyArn: key.KeyArn };
        }
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    return undefined;
  }

  async scheduleDeletion(keyId: string, pendingWindowDays: number): Promise<void> {
    try {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }));
    } catch (err) {
      // Already pending deletion (a retried finishSecret) or already gone: the goal is met.
      if (err instanceof KMSInvalidStateException || err instanceof NotFoundException) return;
      throw err;
    }
  }
}
