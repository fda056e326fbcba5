import { createHash, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LATEST_LOOKBACK_DAYS, S3DigestStore } from '#audit/aws-digests';
import { buildDigest, type Digest, digestIdOf } from '#audit/digest';
import { writeMonthlyArchive } from '#audit/digest-job';
import type { AuditRecord } from '#audit/record';
import type { AuditStore } from '#audit/store';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

let signer: LocalDigestSigner;
beforeAll(() => {
  signer = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'archive-key-')));
});

const record = (entityId: string, seq: number, at: string) =>
  ({
    auditId: `a-${entityId}-${seq}`,
    entityType: 'charge',
    entityId,
    seq,
    action: seq === 1 ? 'create' : 'update',
    actor: { userId: 'u1', username: 'ada' },
    at,
    requestId: 'r',
    reason: null,
    version: seq,
    changes: {},
    prevHash: '0'.repeat(64),
    hash: String(seq).repeat(64),
  }) as unknown as AuditRecord;

/** An audit store that answers one month's records (and records what it was asked). */
function auditStore(records: AuditRecord[]) {
  const search = vi.fn(async (_query: { from?: string; to?: string }) => ({ items: records, nextCursor: null }));
  return { store: { search } as unknown as AuditStore, search };
}

// What the store reads of a GetObject body.
const body = (text: string) => ({ Body: { transformToString: async () => text } }) as never;

describe('monthly archive to the Object Lock bucket', () => {
  it("writes last month's records as JSONL and a detached signature, both locked in compliance mode for the retention", async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'not found', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    const bucket = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'audit-digests', 7);
    const records = [record('c-2', 1, '2026-11-03T10:00:00.000Z'), record('c-1', 1, '2026-11-01T00:00:00.000Z')];
    const { store, search } = auditStore(records);
    const now = new Date('2026-12-01T00:05:00.000Z');

    expect(await writeMonthlyArchive(signer, bucket, now, store)).toBe('archives/2026-11.jsonl');
    expect(search.mock.calls[0]?.[0]).toMatchObject({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-30T23:59:59.999Z',
    });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual(['archives/2026-11.jsonl.sig.json', 'archives/2026-11.jsonl']);
    for (const put of puts) {
      expect(put).toMatchObject({
        Bucket: 'audit-digests',
        ObjectLockMode: 'COMPLIANCE',
        ChecksumAlgorithm: 'SHA256',
        IfNoneMatch: '*',
      });
      const retain = put.ObjectLockRetainUntilDate as Date;
      expect(retain.getUTCFullYear() - new Date().getUTCFullYear()).toBe(7);
    }
    const [sigPut, filePut] = puts as [(typeof puts)[number], (typeof puts)[number]];
    expect(filePut.ContentType).toBe('application/x-ndjson');

    // The content: a header line, then each record, chain by chain.
    const lines = String(filePut.Body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({
      export: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z', generatedAt: now.toISOString() },
    });
    expect(lines.slice(1).map((l) => l.entityId)).toEqual(['c-1', 'c-2']);

    // The signature: over the file's SHA-256, checkable with nothing but the public key.
    const sig = JSON.parse(String(sigPut.Body)) as Record<string, string>;
    const sha256 = createHash('sha256').update(String(filePut.Body), 'utf8').digest('hex');
    expect(sig).toMatchObject({
      file: 'archives/2026-11.jsonl',
      sha256,
      keyId: signer.keyId,
      algorithm: 'ECDSA_SHA_256',
    });
    const publicKey = await signer.publicKeyPem();
    expect(verify('sha256', Buffer.from(sha256, 'utf8'), publicKey, Buffer.from(sig.signature!, 'base64'))).toBe(true);
    // A changed file no longer matches the signed hash.
    const tampered = createHash('sha256').update(String(filePut.Body).replace('c-1', 'c-9'), 'utf8').digest('hex');
    expect(tampered).not.toBe(sha256);
  });

  it('writes nothing when the month is archived already (a second run of the first day)', async () => {
    s3.on(HeadObjectCommand).resolves({});
    const bucket = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'audit-digests', 10);
    const { store, search } = auditStore([record('c-1', 1, '2026-11-01T00:00:00.000Z')]);
    expect(await writeMonthlyArchive(signer, bucket, new Date('2026-12-01T00:20:00.000Z'), store)).toBeUndefined();
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(search).not.toHaveBeenCalled();
  });

  it('a put the bucket refuses (the object exists and is locked) fails the run instead of passing silently', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'not found', $metadata: {} }));
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
        name: 'PreconditionFailed',
      }),
    );
    const bucket = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'audit-digests', 10);
    const { store } = auditStore([]);
    await expect(writeMonthlyArchive(signer, bucket, new Date('2026-12-01T00:05:00.000Z'), store)).rejects.toThrow(
      /pre-conditions/,
    );
  });
});

describe('the newest digest is found without reading every digest', () => {
  const at = (i: number) => new Date(Date.parse('2025-01-01T00:00:00.000Z') + i * 15 * 60_000).toISOString();
  /** A bucket of `n` digests 15 minutes apart; List answers from StartAfter on, 1000 keys a page, as S3 does. */
  function bucketOf(n: number) {
    const keys = Array.from({ length: n }, (_, i) => `digests/${digestIdOf(at(i))}.json`);
    s3.on(ListObjectsV2Command).callsFake((input: { StartAfter?: string; ContinuationToken?: string }) => {
      const after = keys.filter((k) => input.StartAfter === undefined || k > input.StartAfter);
      const offset = Number(input.ContinuationToken ?? 0);
      const page = after.slice(offset, offset + 1000);
      const more = offset + 1000 < after.length;
      return {
        Contents: page.map((Key) => ({ Key })),
        IsTruncated: more,
        NextContinuationToken: more ? String(offset + 1000) : undefined,
      };
    });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const id = input.Key.slice('digests/'.length, -'.json'.length);
      return body(JSON.stringify({ digestId: id }));
    });
    return keys;
  }

  it('S3: one List and one Get for the newest of 30 000 digests (about ten months of them)', async () => {
    bucketOf(30_000);
    const store = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'b', 10);
    const latest = await store.latest(new Date(Date.parse(at(29_999)) + 60_000));
    expect(latest?.digestId).toBe(digestIdOf(at(29_999)));
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(1);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('S3: after a quiet month it widens the window step by step, and still reads one digest', async () => {
    bucketOf(3_000);
    const store = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'b', 10);
    const now = new Date(Date.parse(at(2_999)) + 40 * 86_400_000);
    expect((await store.latest(now))?.digestId).toBe(digestIdOf(at(2_999)));
    // 1 and 8 days back: nothing; 64 days back: found (its listing runs to a few pages of 1000 keys).
    expect([...new Set(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.StartAfter))]).toEqual(
      LATEST_LOOKBACK_DAYS.slice(0, 3).map(
        (days) => `digests/${digestIdOf(new Date(now.getTime() - days * 86_400_000).toISOString())}`,
      ),
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('S3: an empty bucket is no digest, after one listing of the whole prefix', async () => {
    bucketOf(0);
    const store = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'b', 10);
    expect(await store.latest()).toBeUndefined();
    expect(s3.commandCalls(ListObjectsV2Command).at(-1)?.args[0].input.StartAfter).toBeUndefined();
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('local: reads one digest file of many (the directory listing holds only names)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digests-'));
    const store = new LocalDigestStore(dir, signer);
    let previous: Digest | undefined;
    for (let i = 0; i < 50; i++) {
      previous = await buildDigest(
        signer,
        previous,
        [{ entityType: 'charge', entityId: `c${i}`, seq: 1, hash: 'a'.repeat(64) }],
        at(i),
      );
      await store.put(previous);
    }
    const reads = vi.spyOn(store, 'get');
    expect((await store.latest())?.digestId).toBe(previous?.digestId);
    expect(reads).toHaveBeenCalledTimes(1);
  });
});
