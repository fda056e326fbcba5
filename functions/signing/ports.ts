/**
 * The two ports behind access-token signing. Domain code (minting,
 * verification, rotation) talks only to these; `adapters.ts` picks the AWS (KMS, Secrets Manager) or
 * the local (node:crypto keys and a file-backed secret under LOCAL_STATE_DIR) implementation.
 */

/** An RSA public key as published in the JWKS: `alg` and `use` pin it to RS256 signatures. */
export interface PublicJwk {
  kty: 'RSA';
  /** RFC 7638 thumbprint of the key: the same key always gets the same kid, whichever adapter made it. */
  kid: string;
  alg: 'RS256';
  use: 'sig';
  n: string;
  e: string;
}

/** A signing key made by `SigningKeys.createKey`: its id is what the signing secret stores. */
export interface KeyRef {
  /** KMS key id (a UUID) or the local key's id. */
  keyId: string;
  /** KMS key ARN; the local adapter makes a `local:` pseudo-ARN. */
  keyArn: string;
}

export interface SigningKeys {
  /** RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over a JWS signing input (`b64(header).b64(payload)`). */
  sign(keyId: string, signingInput: Buffer): Promise<Buffer>;
  /** The key's public half as a JWK; adapters cache it in memory (public keys never change). */
  publicJwk(keyId: string): Promise<PublicJwk>;
  /**
   * A new RSA-2048 sign/verify key, tagged as this app's signing key and with the rotation token, usable at once by
   * the roles that sign and verify (in KMS: named in its key policy, not only reached by tag-based IAM).
   */
  createKey(rotationToken: string): Promise<KeyRef>;
  /** Schedule the key's deletion; a key already pending deletion is left as it is. */
  scheduleDeletion(keyId: string, pendingWindowDays: number): Promise<void>;
}

export const STAGES = ['AWSPENDING', 'AWSCURRENT', 'AWSPREVIOUS'] as const;
export type Stage = (typeof STAGES)[number];

export interface SecretDescription {
  rotationEnabled: boolean;
  /** Version id → its staging labels (versions without labels are not listed, as in Secrets Manager). */
  versionStages: Record<string, string[]>;
  tags: Record<string, string>;
}

export interface SecretVersion {
  versionId: string;
  value: string;
  stages: string[];
}

/**
 * A secret with Secrets Manager's version-stage semantics: a staging label is on at most one version;
 * putting a value with a label moves the label there; AWSCURRENT can only be moved, never removed.
 */
export interface Secrets {
  describe(): Promise<SecretDescription>;
  /** The version carrying `stage` (or with `versionId`); undefined when there is none. */
  getValue(by: { stage: string } | { versionId: string }): Promise<SecretVersion | undefined>;
  /** Stores a new version under `versionId` (the rotation token) with the given labels; idempotent for the same value. */
  putValue(versionId: string, value: string, stages: string[]): Promise<void>;
  /** Moves `stage` to `moveToVersionId`, taking it off `removeFromVersionId` (which must hold it, if given). */
  updateStage(stage: string, moveToVersionId: string, removeFromVersionId?: string): Promise<void>;
  /** Adds or overwrites tags on the secret. */
  tag(tags: Record<string, string>): Promise<void>;
}

/** What the signing secret stores in each version: the key it names, not key material. */
export interface SigningSecretValue {
  keyId: string;
  keyArn: string;
  /**
   * Absent in the initial value CDK writes and in values rotation writes (stored before anything else is asked of
   * the new key); computed from the key on load.
   */
  kid?: string;
  createdAt?: string;
}

/** Tag keys on KMS keys and on the secret (IAM conditions in lib/constructs/signing-keys.ts use the same names). */
export const TAG_SIGNING_KEY = 'charge-records:signing-key';
export const TAG_ROTATION_TOKEN = 'charge-records:rotation-token';
/** On the secret: when AWSCURRENT last moved, i.e. when today's AWSPREVIOUS stopped signing (ISO time). */
export const TAG_CURRENT_SINCE = 'charge-records:current-since';
/**
 * On the secret: who asked for the rotation with a given token (`POST /admin/keys/rotate` sets it before
 * starting the rotation), so finishSecret can name them on the audit trail. Value `<token>/<base64url(actor JSON)>`.
 */
export const TAG_ROTATION_REQUESTED_BY = 'charge-records:rotation-requested-by';
