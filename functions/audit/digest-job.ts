import { createHash } from 'node:crypto';
import { AuditLog } from './audit-log';
import type { AuditRecord } from './record';
import {
  buildDigest,
  type ChainHead,
  compareHeads,
  type Digest,
  type DigestSigner,
  type DigestStore,
  headsSorted,
  sortHeads,
} from './digest';
import { writeDigestIndex } from './digest-index';
import { AuditStore } from './store';
import { forEachConcurrently } from '#platform/concurrency';

/**
 * Records carry the writer's `at`, which can lie a little before the record's append (stream lag, retries): heads
 * of records up to this much older than the previous digest are listed again, so none falls between two digests.
 * A head listed twice is harmless.
 */
export const DIGEST_OVERLAP_MS = 15 * 60_000;

/** The entities with a record whose `at` lies in [from, to]: per entity type, the ids. */
async function changedEntities(store: AuditStore, from: string | undefined, to: string) {
  const entities = new Map<string, Set<string>>();
  let cursor: string | undefined;
  do {
    const page = await store.search({ from, to, limit: 1000, cursor });
    // Only the ids: a page's records (with their changes) are garbage once read.
    for (const { entityType, entityId } of page.items) {
      let ids = entities.get(entityType);
      if (!ids) entities.set(entityType, (ids = new Set()));
      ids.add(entityId);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return entities;
}

/** Head lookups in flight at once: each is one Query, so the job waits on the network, not the CPU. */
export const HEAD_LOOKUPS_IN_FLIGHT = 32;

/** The current head of each entity, in digest order (entity type, then id). */
async function headsOf(log: AuditLog, entities: Map<string, Set<string>>): Promise<ChainHead[]> {
  const heads: ChainHead[] = [];
  for (const entityType of [...entities.keys()].sort()) {
    const ids = [...(entities.get(entityType) as Set<string>)].sort();
    entities.delete(entityType);
    const found: (ChainHead | undefined)[] = new Array(ids.length);
    await forEachConcurrently(ids, HEAD_LOOKUPS_IN_FLIGHT, async (entityId, i) => {
      const head = await log.head(entityType, entityId);
      if (head) found[i] = { entityType, entityId, seq: head.seq, hash: head.hash };
    });
    for (const head of found) if (head) heads.push(head);
  }
  return heads;
}

/**
 * The heads not listed as they are by the previous digest. Both lists are in digest order (a digest's heads are
 * sorted; a list that is not gets a sorted copy), so one merge walk finds them, with no set of every previous head.
 */
function notListed(heads: readonly ChainHead[], listed: readonly ChainHead[]): ChainHead[] {
  const previous = headsSorted(listed) ? listed : sortHeads(listed);
  const changed: ChainHead[] = [];
  let j = 0;
  for (const h of heads) {
    while (j < previous.length && compareHeads(previous[j] as ChainHead, h) < 0) j++;
    const p = previous[j];
    const same = p !== undefined && compareHeads(p, h) === 0 && p.seq === h.seq && p.hash === h.hash;
    if (!same) changed.push(h);
  }
  return changed;
}

/**
 * Writes the next digest: the current head of every chain changed since the previous digest, chained to it and
 * signed, then its index files (digest-index.ts). Nothing is written when no chain changed. Answers the digest
 * written, if any.
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
  const heads = await headsOf(audit.log, await changedEntities(audit.store, from, until));
  const changed = notListed(heads, previous?.heads ?? []);
  if (changed.length === 0) return undefined;
  const digest = await buildDigest(
    signer,
    previous && { until: previous.until, hash: previous.hash },
    changed,
    until,
    now.toISOString(),
  );
  await digests.put(digest);
  await writeDigestIndex(signer, digests, digest, previous?.digestId);
  return digest;
}

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
