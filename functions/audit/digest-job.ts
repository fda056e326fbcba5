import { createHash } from 'node:crypto';
import { AuditLog } from './audit-log';
import type { AuditRecord } from './record';
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
    // Only the ids: a page's records (with their changes) are garbage once read.
    for (const { entityType, entityId } of page.items)
      entities.set(`${entityType}#${entityId}`, { entityType, entityId });
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
  const listed = new Set(previous?.heads.map(headKey));
  const changed = heads.filter((h) => !listed.has(headKey(h)));
  if (changed.length === 0) return undefined;
  const digest = await buildDigest(signer, previous, changed, until, now.toISOString());
  await digests.put(digest);
  return digest;
}

/** A head as one string, for a set of the previous digest's heads (a lookup per head, not a scan). */
const headKey = (h: ChainHead) => JSON.stringify([h.entityType, h.entityId, h.seq, h.hash]);

/** `YYYY-MM` of the month before `now`'s. */
export function previousMonth(now: Date): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

/**
 * The previous month's records as one JSONL file (the export format: a header line, then every record, chain by
 * chain) with a detached signature over its SHA-256, beside the digests. Written once, by the first run of a month;
 * answers the file name when it wrote one.
 */
export async function writeMonthlyArchive(
  signer: DigestSigner,
  digests: DigestStore,
  now = new Date(),
  store = new AuditStore(),
): Promise<string | undefined> {
  const month = previousMonth(now);
  const name = `archives/${month}.jsonl`;
  if (await digests.hasFile(name)) return undefined;
  const [year, m] = month.split('-').map(Number) as [number, number];
  const from = `${month}-01T00:00:00.000Z`;
  const to = new Date(Date.UTC(year, m, 1) - 1).toISOString();
  const records: AuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ from, to, limit: 1000, cursor });
    records.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const body = exportJsonl(records, from, to, now.toISOString());
  const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  const signature = Buffer.from(await signer.sign(Buffer.from(sha256, 'utf8'))).toString('base64');
  await digests.putFile(
    `${name}.sig.json`,
    `${JSON.stringify({ file: name, sha256, keyId: signer.keyId, algorithm: 'ECDSA_SHA_256', signature }, null, 2)}\n`,
  );
  await digests.putFile(name, body);
  return name;
}

/** The export format shared by GET /reports/audit.jsonl and the archives: a header line, then records chain by chain. */
export function exportJsonl(
  records: AuditRecord[],
  from: string | null,
  to: string | null,
  generatedAt: string,
): string {
  const sorted = [...records].sort((a, b) => {
    const ka = `${a.entityType}#${a.entityId}`;
    const kb = `${b.entityType}#${b.entityId}`;
    return ka === kb ? a.seq - b.seq : ka < kb ? -1 : 1;
  });
  const header = { export: { from, to, generatedAt } };
  return `${[header, ...sorted].map((line) => JSON.stringify(line)).join('\n')}\n`;
}
