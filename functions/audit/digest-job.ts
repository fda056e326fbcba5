import { AuditLog } from './audit-log';
import { buildDigest, type ChainHead, type Digest, type DigestSigner, type DigestStore } from './digest';
import { AuditStore } from './store';

/**
 * Records carry the writer's `at`, which can lie a little before the record's append (stream lag, retries): heads
 * of records up to this much older than the previous digest are listed again, so none falls between two digests.
 * A head listed twice is harmless.
 */
export const DIGEST_OVERLAP_MS = 15 * 60_000;

/** The entities with a record whose `at` lies in [from, to]. */
async function changedEntities(store: AuditStore, from: string | undefined, to: string) {
  const entities = new Map<string, { entityType: string; entityId: string }>();
  let cursor: string | undefined;
  do {
    const page = await store.search({ from, to, limit: 1000, cursor });
    for (const r of page.items) entities.set(`${r.entityType}#${r.entityId}`, r);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return [...entities.values()];
}

/**
 * Writes the next digest: the current head of every chain changed since the previous digest, chained to it and
 * signed. Nothing is written when no chain changed. Answers the digest written, if any.
 */
export async function writeDigest(
  signer: DigestSigner,
  digests: DigestStore,
  now = new Date(),
  audit = { store: new AuditStore(), log: new AuditLog() },
): Promise<Digest | undefined> {
  const previous = await digests.latest();
  const until = now.toISOString();
  const from = previous ? new Date(Date.parse(previous.until) - DIGEST_OVERLAP_MS).toISOString() : undefined;
  const entities = await changedEntities(audit.store, from, until);
  const heads: ChainHead[] = [];
  for (const { entityType, entityId } of entities) {
    const head = await audit.log.head(entityType, entityId);
    if (head) heads.push({ entityType, entityId, ...head });
  }
  const changed = heads.filter((h) => !listedAlready(previous, h));
  if (changed.length === 0) return undefined;
  const digest = await buildDigest(signer, previous, changed, until, now.toISOString());
  await digests.put(digest);
  return digest;
}

function listedAlready(previous: Digest | undefined, head: ChainHead): boolean {
  return !!previous?.heads.some(
    (h) =>
      h.entityType === head.entityType && h.entityId === head.entityId && h.seq === head.seq && h.hash === head.hash,
  );
}
