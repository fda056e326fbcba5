import { checkDigestChain, type Digest } from './digest';
import { type AuditRecord, computeHash } from './record';

/** The first line of an audit export: what it covers, so a verifier knows which digests must be matched. */
export interface ExportHeader {
  export: { from: string | null; to: string | null; generatedAt: string };
}

export type OfflineProblem = { entity?: string; seq?: number; digestId?: string; problem: string };

/**
 * Checks an export with nothing but the digests and the public key: every record's hash, the links between
 * consecutive records of each entity, the digests' own chain and signatures, and every head a digest (up to the
 * export's end) vouched for — present with that hash, or the export's chain stops short of it.
 */
export function verifyExport(jsonl: string, digests: Digest[], publicKeyPem: string): OfflineProblem[] {
  const problems: OfflineProblem[] = [];
  const lines = jsonl.split('\n').filter((l) => l.trim() !== '');
  const first = lines[0] ? (JSON.parse(lines[0]) as Partial<ExportHeader>) : {};
  const header = first.export;
  const records = (header ? lines.slice(1) : lines).map((l) => JSON.parse(l) as AuditRecord);
  const byEntity = new Map<string, AuditRecord[]>();
  for (const r of records) {
    const key = `${r.entityType}#${r.entityId}`;
    byEntity.set(key, [...(byEntity.get(key) ?? []), r]);
  }
  for (const [entity, chain] of byEntity) {
    chain.sort((a, b) => a.seq - b.seq);
    for (const [i, r] of chain.entries()) {
      if (computeHash(r) !== r.hash) problems.push({ entity, seq: r.seq, problem: 'hash_mismatch' });
      const prev = chain[i - 1];
      if (prev && r.seq !== prev.seq + 1) problems.push({ entity, seq: r.seq, problem: 'sequence_gap' });
      else if (prev && r.prevHash !== prev.hash) problems.push({ entity, seq: r.seq, problem: 'prev_hash_mismatch' });
    }
  }
  const ordered = [...digests].sort((a, b) => (a.digestId < b.digestId ? -1 : 1));
  const digestCheck = checkDigestChain(ordered, publicKeyPem);
  if (!digestCheck.valid) problems.push({ digestId: digestCheck.digestId, problem: digestCheck.problem });
  const end = header ? (header.to ?? header.generatedAt) : null;
  // The newest head per entity among the digests the export must reflect.
  const heads = new Map<string, { seq: number; hash: string; digestId: string }>();
  for (const digest of ordered) {
    if (end !== null && digest.until > end) continue;
    for (const h of digest.heads) heads.set(`${h.entityType}#${h.entityId}`, { ...h, digestId: digest.digestId });
  }
  const from = header?.from ?? null;
  for (const [entity, head] of heads) {
    const chain = byEntity.get(entity) ?? [];
    const atSeq = chain.find((r) => r.seq === head.seq);
    if (atSeq) {
      if (atSeq.hash !== head.hash)
        problems.push({ entity, seq: head.seq, digestId: head.digestId, problem: 'rehashed' });
      continue;
    }
    // A time-bounded export may hold none of an entity's records; one that starts at the beginning must hold them all.
    const last = chain.at(-1);
    if (from === null || (last && last.seq < head.seq)) {
      problems.push({
        entity,
        seq: head.seq,
        digestId: head.digestId,
        problem: chain.length ? 'cut_off' : 'chain_missing',
      });
    }
  }
  return problems;
}
