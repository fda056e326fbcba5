import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { merkleRoot } from './merkle';
import { GENESIS_HASH } from './record';

/** One entity's chain head as a digest vouches for it. */
export interface ChainHead {
  entityType: string;
  entityId: string;
  seq: number;
  hash: string;
}

/** What is signed: everything but the signature. */
export interface DigestBody {
  digestId: string;
  createdAt: string;
  /** The previous digest's `until` (null for the first): heads changed after it are listed. */
  since: string | null;
  until: string;
  /** `hash` of the previous digest: digests form a chain of their own, so one cannot be dropped unnoticed. */
  previousDigestHash: string;
  /** Sorted by entity type, then id. */
  heads: ChainHead[];
  merkleRoot: string;
  /** The signing key (KMS key ARN, or `local:<fingerprint>`). */
  keyId: string;
  algorithm: 'ECDSA_SHA_256';
}

export interface Digest extends DigestBody {
  /** SHA-256 (hex) of the canonical JSON of the body. */
  hash: string;
  /** ECDSA P-256 over the UTF-8 of `hash` (DER, base64). */
  signature: string;
}

/** Signs digests: a KMS asymmetric key (ECC_NIST_P256) in AWS, a local key file locally. */
export interface DigestSigner {
  readonly keyId: string;
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** SPKI PEM: all an offline verifier needs. */
  publicKeyPem(): Promise<string>;
}

/** Where digests (and the monthly archives) are kept: an Object Lock bucket in AWS, `.local/digests/` locally. */
export interface DigestStore {
  put(digest: Digest): Promise<void>;
  get(digestId: string): Promise<Digest | undefined>;
  /** Digests whose `until` lies in [from, to], oldest first. */
  list(from?: string, to?: string): Promise<Digest[]>;
  latest(): Promise<Digest | undefined>;
  putFile(name: string, body: string): Promise<void>;
  hasFile(name: string): Promise<boolean>;
}

/** Sortable, file- and S3-key-safe id from the digest's `until`. */
export const digestIdOf = (until: string) => until.replace(/[:.]/g, '-');

export const leafOf = (head: ChainHead) => canonicalJson(head);

export const digestHashOf = (body: DigestBody) =>
  createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');

export function sortHeads(heads: ChainHead[]): ChainHead[] {
  return [...heads].sort((a, b) =>
    a.entityType === b.entityType
      ? a.entityId < b.entityId
        ? -1
        : a.entityId > b.entityId
          ? 1
          : 0
      : a.entityType < b.entityType
        ? -1
        : 1,
  );
}

export async function buildDigest(
  signer: DigestSigner,
  previous: Digest | undefined,
  heads: ChainHead[],
  until: string,
  createdAt = new Date().toISOString(),
): Promise<Digest> {
  const sorted = sortHeads(heads);
  const body: DigestBody = {
    digestId: digestIdOf(until),
    createdAt,
    since: previous?.until ?? null,
    until,
    previousDigestHash: previous?.hash ?? GENESIS_HASH,
    heads: sorted,
    merkleRoot: merkleRoot(sorted.map(leafOf)),
    keyId: signer.keyId,
    algorithm: 'ECDSA_SHA_256',
  };
  const hash = digestHashOf(body);
  const signature = Buffer.from(await signer.sign(Buffer.from(hash, 'utf8'))).toString('base64');
  return { ...body, hash, signature };
}

export type DigestProblem = 'hash_mismatch' | 'merkle_root_mismatch' | 'bad_signature' | 'broken_digest_chain';

/** One digest on its own: its hash, Merkle root and signature. */
export function checkDigest(digest: Digest, publicKeyPem: string): DigestProblem | undefined {
  const { hash, signature, ...body } = digest;
  if (digestHashOf(body) !== hash) return 'hash_mismatch';
  if (merkleRoot(sortHeads(body.heads).map(leafOf)) !== body.merkleRoot) return 'merkle_root_mismatch';
  const ok = verifySignature(
    'sha256',
    Buffer.from(hash, 'utf8'),
    createPublicKey(publicKeyPem),
    Buffer.from(signature, 'base64'),
  );
  return ok ? undefined : 'bad_signature';
}

/** Digests in order: each must be valid and name its predecessor's hash (the first, the genesis hash). */
export function checkDigestChain(
  digests: readonly Digest[],
  publicKeyPem: string,
): { valid: true } | { valid: false; digestId: string; problem: DigestProblem } {
  let previous = GENESIS_HASH;
  for (const digest of digests) {
    const problem = checkDigest(digest, publicKeyPem);
    if (problem) return { valid: false, digestId: digest.digestId, problem };
    if (digest.previousDigestHash !== previous) {
      return { valid: false, digestId: digest.digestId, problem: 'broken_digest_chain' };
    }
    previous = digest.hash;
  }
  return { valid: true };
}
