import { checkDigest, type Digest } from './digest';
import type { ChainCheck } from './model';
import { type AuditItem, type AuditRecord, verifyChain } from './record';

export type AnchorProblem = NonNullable<ChainCheck['reason']>;

/** The newest digest listing the entity, with its head there. */
export function anchorOf(digests: readonly Digest[], entityType: string, entityId: string) {
  for (let i = digests.length - 1; i >= 0; i--) {
    const digest = digests[i] as Digest;
    const head = digest.heads.find((h) => h.entityType === entityType && h.entityId === entityId);
    if (head) return { digest, head };
  }
  return undefined;
}

/**
 * A chain checked three ways: link by link (verifyChain), against the newest digest that vouches for its head (a
 * cut-off tail, a record edited and the rest rehashed, records reordered or replayed all change what is at that
 * seq), and against the entity itself (a charge at version 5 needs the record of version 5).
 *
 * `digests` oldest first; `entityVersion` the entity's current version, if it exists.
 */
export function verifyAnchored(
  records: readonly (AuditRecord & Partial<AuditItem>)[],
  digests: readonly Digest[],
  publicKeyPem: string | undefined,
  entityType: string,
  entityId: string,
  entityVersion: number | undefined,
): ChainCheck {
  const links = verifyChain(records);
  const anchor = anchorOf(digests, entityType, entityId);
  const anchoredBy = anchor && {
    digestId: anchor.digest.digestId,
    seq: anchor.head.seq,
    hash: anchor.head.hash,
  };
  const fail = (reason: AnchorProblem): ChainCheck => ({
    ...links,
    valid: false,
    reason,
    ...(anchoredBy ? { anchoredBy } : {}),
  });
  if (!links.valid) return fail('chain_broken');
  if (anchor) {
    if (publicKeyPem === undefined || checkDigest(anchor.digest, publicKeyPem)) return fail('digest_invalid');
    if (records.length === 0) return fail('chain_missing');
    if (records.length < anchor.head.seq) return fail('cut_off');
    if (records[anchor.head.seq - 1]?.hash !== anchor.head.hash) return fail('rehashed');
  }
  if (entityVersion !== undefined) {
    if (records.length === 0) return fail('chain_missing');
    const versions = records.map((r) => r.version).filter((v): v is number => typeof v === 'number');
    if ((versions.length === 0 ? 0 : Math.max(...versions)) < entityVersion) return fail('behind_entity');
  }
  return { ...links, ...(anchoredBy ? { anchoredBy } : {}) };
}
