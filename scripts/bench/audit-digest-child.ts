/**
 * One digest run in its own process, so its peak RSS is its own (audit benchmark). Prints one JSON line:
 * {heads, leaves, indexKB, seconds, maxRssMB}.
 *
 *   tsx scripts/bench/audit-digest-child.ts <heads>
 *
 * The digest job as it runs (writeDigest: the changed entities page by page, each chain's head, the previous
 * digest's heads left out, sort, Merkle root, signature, index), fed from memory instead of DynamoDB: the audit search
 * answers one record per entity in pages of 1000 and the head lookup answers at once. The previous digest lists as
 * many heads again, a quarter of them unchanged since; the index files are written to memory and dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditLog } from '#audit/audit-log';
import { type ChainHead, type Digest, type DigestStore } from '#audit/digest';
import { writeDigest } from '#audit/digest-job';
import type { AuditRecord } from '#audit/record';
import type { AuditStore } from '#audit/store';
import { LocalDigestSigner } from '#local/adapters/local-digests';

const total = Number(process.argv[2] ?? '100000');
const hash = (i: number, seq: number) => `${i.toString(16).padStart(8, '0')}${seq}`.padEnd(64, 'a');
const head = (i: number, seq: number): ChainHead => ({
  entityType: 'charge',
  entityId: `c-${i}`,
  seq,
  hash: hash(i, seq),
});

const dir = mkdtempSync(join(tmpdir(), 'digest-bench-'));
const signer = new LocalDigestSigner(dir);
// The previous digest: every entity at seq 1; since then three quarters moved on to seq 2.
const previous = {
  digestId: 'prev',
  until: '2026-12-07T08:45:00.000Z',
  hash: 'f'.repeat(64),
  heads: Array.from({ length: total }, (_, i) => head(i, 1)),
} as unknown as Digest;
const seqNow = (i: number) => (i % 4 === 0 ? 1 : 2);

const store = {
  async search({ cursor }: { cursor?: string }) {
    const from = Number(cursor ?? 0);
    const items = Array.from({ length: Math.min(1000, total - from) }, (_, k) => ({
      entityType: 'charge',
      entityId: `c-${from + k}`,
    })) as AuditRecord[];
    return { items, nextCursor: from + 1000 < total ? String(from + 1000) : null };
  },
} as unknown as AuditStore;
const log = {
  async head(_type: string, id: string) {
    const i = Number(id.slice(2));
    return { seq: seqNow(i), hash: hash(i, seqNow(i)) };
  },
} as unknown as AuditLog;
let written: Digest | undefined;
let indexBytes = 0;
const digests = {
  latest: async () => previous,
  put: async (d: Digest) => {
    written = d;
  },
  // The index files (one per shard the digest touched, and the manifest): sized, not kept.
  getFile: async () => undefined,
  putFile: async (_name: string, body: string) => {
    indexBytes += body.length;
  },
} as unknown as DigestStore;

const started = performance.now();
await writeDigest(signer, digests, new Date('2026-12-07T09:00:00.000Z'), { store, log });
const seconds = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    heads: total,
    leaves: written?.heads.length ?? 0,
    indexKB: Math.round(indexBytes / 1024),
    seconds: Number(seconds.toFixed(2)),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
