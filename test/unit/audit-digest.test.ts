import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KmsDigestSigner, S3DigestReader, S3DigestStore } from '#audit/aws-digests';
import { buildDigest, type ChainHead, checkDigest, checkDigestChain, type Digest, leafOf } from '#audit/digest';
import { merkleProof, merkleRoot, verifyMerkleProof } from '#audit/merkle';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { TEST_CREDENTIALS } from '#test/support/fake-s3';

const head = (i: number): ChainHead => ({
  entityType: 'charge',
  entityId: `c-${i}`,
  seq: i,
  hash: String(i).repeat(64).slice(0, 64),
});
let signer: LocalDigestSigner;
let publicKey: string;

beforeAll(async () => {
  signer = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'digest-key-')));
  publicKey = await signer.publicKeyPem();
});

describe('Merkle tree', () => {
  it.each([1, 2, 3, 5, 8, 13])('every leaf of %i has a proof to the root; a tampered leaf or step does not', (n) => {
    const leaves = Array.from({ length: n }, (_, i) => leafOf(head(i + 1)));
    const root = merkleRoot(leaves);
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(leaves, i);
      expect(verifyMerkleProof(leaves[i]!, proof, root)).toBe(true);
      expect(verifyMerkleProof(leafOf({ ...head(i + 1), seq: 99 }), proof, root)).toBe(false);
      if (proof.length > 0) {
        const bad = proof.map((s, k) => (k === 0 ? { ...s, hash: 'f'.repeat(64) } : s));
        expect(verifyMerkleProof(leaves[i]!, bad, root)).toBe(false);
      }
    }
  });

  it('a leaf cannot pass for an inner node (second-preimage)', () => {
    const leaves = [leafOf(head(1)), leafOf(head(2))];
    expect(merkleRoot(leaves)).not.toBe(merkleRoot([leaves.join('')]));
  });
});

describe('digests', () => {
  async function chain(): Promise<Digest[]> {
    const first = await buildDigest(signer, undefined, [head(2), head(1)], '2026-12-07T09:00:00.000Z');
    const second = await buildDigest(signer, first, [head(3)], '2026-12-07T09:15:00.000Z');
    return [first, second];
  }

  it('an intact chain of digests checks out; heads are sorted', async () => {
    const digests = await chain();
    expect(digests[0]!.heads.map((h) => h.entityId)).toEqual(['c-1', 'c-2']);
    expect(checkDigestChain(digests, publicKey)).toEqual({ valid: true });
  });

  it.each([
    [
      'a head edited',
      (d: Digest) => ({ ...d, heads: [{ ...d.heads[0]!, seq: 7 }, ...d.heads.slice(1)] }),
      'hash_mismatch',
    ],
    [
      'a head edited, hash kept but root recomputed',
      (d: Digest) => ({ ...d, merkleRoot: merkleRoot([]) }),
      'hash_mismatch',
    ],
    [
      'the signature replaced',
      (d: Digest) => ({ ...d, signature: Buffer.alloc(70).toString('base64') }),
      'bad_signature',
    ],
  ] as const)('%s: %s', async (_name, tamper, problem) => {
    const [first] = await chain();
    expect(checkDigest(tamper(first!) as Digest, publicKey)).toBe(problem);
  });

  it('a digest re-signed with another key fails against the published key', async () => {
    const other = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'other-key-')));
    const forged = await buildDigest(other, undefined, [head(1)], '2026-12-07T09:00:00.000Z');
    expect(checkDigest(forged, publicKey)).toBe('bad_signature');
  });

  it('a digest dropped from the chain, or the chain reordered, is found', async () => {
    const [first, second] = await chain();
    const third = await buildDigest(signer, second, [head(4)], '2026-12-07T09:30:00.000Z');
    expect(checkDigestChain([first!, third], publicKey)).toMatchObject({
      valid: false,
      problem: 'broken_digest_chain',
    });
    expect(checkDigestChain([second!, first!], publicKey)).toMatchObject({ valid: false, digestId: second!.digestId });
  });

  it('local store: read-only files, never overwritten, listed by time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-store-'));
    const store = new LocalDigestStore(dir, signer);
    const [first, second] = await chain();
    await store.put(first!);
    await store.put(second!);
    await expect(store.put(first!)).rejects.toThrow();
    expect((await store.latest())?.digestId).toBe(second!.digestId);
    expect((await store.list('2026-12-07T09:10:00Z')).map((d) => d.digestId)).toEqual([second!.digestId]);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, `${first!.digestId}.json`)).mode & 0o777).toBe(0o400);
  });
});

describe('AWS adapters', () => {
  const kms = mockClient(KMSClient);
  const s3 = mockClient(S3Client);
  afterEach(() => {
    kms.reset();
    s3.reset();
  });

  it('KMS signs the digest hash with ECDSA_SHA_256 (RAW); the public key comes out as PEM', async () => {
    kms.on(SignCommand).resolves({ Signature: new Uint8Array([9]) });
    kms.on(GetPublicKeyCommand).resolves({ PublicKey: new Uint8Array(91) });
    const kmsSigner = new KmsDigestSigner(new KMSClient({ region: 'eu-central-1' }), 'arn:key');
    const digest = await buildDigest(kmsSigner, undefined, [head(1)], '2026-12-07T09:00:00.000Z');
    expect(digest.signature).toBe(Buffer.from([9]).toString('base64'));
    expect(kms.commandCalls(SignCommand)[0]!.args[0].input).toMatchObject({
      KeyId: 'arn:key',
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
      Message: Buffer.from(digest.hash, 'utf8'),
    });
    expect(await kmsSigner.publicKeyPem()).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('S3 puts each digest locked in compliance mode for the retention, never over an existing key', async () => {
    s3.on(PutObjectCommand).resolves({});
    const reader = new S3DigestReader('bucket', 'eu-central-1', async () => TEST_CREDENTIALS);
    const store = new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'bucket', 10, reader);
    const digest = await buildDigest(signer, undefined, [head(1)], '2026-12-07T09:00:00.000Z');
    await store.put(digest);
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'bucket',
      Key: `digests/${digest.digestId}.json`,
      ObjectLockMode: 'COMPLIANCE',
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
    });
    const years = (input.ObjectLockRetainUntilDate as Date).getUTCFullYear() - new Date().getUTCFullYear();
    expect(years).toBe(10);
  });
});
