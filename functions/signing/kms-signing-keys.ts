import { createHash } from 'node:crypto';
import {
  CreateKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import * as z from '#platform/zod';
import { publicKeyToJwk } from './jwk';
import { type KeyRef, type PublicJwk, type SigningKeys, TAG_ROTATION_TOKEN, TAG_SIGNING_KEY } from './ports';

const RoleArn = z.string().check(z.regex(/^arn:[a-z-]+:iam::\d{12}:role\/\S+$/, 'must be an IAM role ARN'));

/** SIGNING_KEY_ROLES (set by CDK on the rotation function): the roles each new key's policy names. */
export const SigningKeyRoles = z.strictObject({
  /** The rotation function's own role: probes, and later retires, the key. */
  rotation: RoleArn,
  /** Roles that mint tokens: kms:Sign and kms:GetPublicKey. */
  sign: z.array(RoleArn),
  /** Roles that verify tokens or serve the JWKS: kms:GetPublicKey. */
  verify: z.array(RoleArn),
});
export type SigningKeyRoles = z.infer<typeof SigningKeyRoles>;

export function parseSigningKeyRoles(json: string): SigningKeyRoles {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error('SIGNING_KEY_ROLES is not valid JSON', { cause: err });
  }
  const parsed = SigningKeyRoles.safeParse(value);
  if (!parsed.success) throw new Error(`SIGNING_KEY_ROLES is not valid: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * The key policy a new signing key is created with. IAM reaches rotated keys by their tag, but a new tag takes
 * minutes to count for authorization: until then the rotation's own probe, the JWKS (which lists the pending key)
 * and signing after promotion would be refused. Naming the roles in the key policy lets them use the key from its
 * first second. The account statement keeps the key administrable (and IAM policies effective), as KMS's default does.
 */
export function signingKeyPolicy(roles: SigningKeyRoles): string {
  const [, partition, , , account] = roles.rotation.split(':');
  const use = (sid: string, principals: string[], actions: string[]) =>
    principals.length === 0
      ? []
      : [{ Sid: sid, Effect: 'Allow', Principal: { AWS: principals }, Action: actions, Resource: '*' }];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountAdministersThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      ...use('RotationProbes', [roles.rotation], ['kms:GetPublicKey', 'kms:Sign']),
      {
        Sid: 'RotationRetiresAfterTheMinimumWindow',
        Effect: 'Allow',
        Principal: { AWS: [roles.rotation] },
        Action: 'kms:ScheduleKeyDeletion',
        Resource: '*',
        Condition: { NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 7 } },
      },
      ...use('MintersSign', roles.sign, ['kms:GetPublicKey', 'kms:Sign']),
      ...use('VerifiersReadThePublicKey', roles.verify, ['kms:GetPublicKey']),
    ],
  });
}

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
    /** The roles new keys name in their key policy; without, a new key gets KMS's default policy. */
    private readonly keyRoles?: SigningKeyRoles,
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
        Policy: this.keyRoles && signingKeyPolicy(this.keyRoles),
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
