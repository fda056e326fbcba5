import { createHash } from 'node:crypto';

/**
 * A Merkle tree over the digest's chain heads: leaves and inner nodes hashed with different
 * prefixes, so a leaf can never pass for a node; an odd node at the end of a level is carried up unchanged.
 */
const sha256 = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const leafHash = (leaf: string): Buffer => sha256(Buffer.from([0]), leaf);
const nodeHash = (left: Buffer, right: Buffer) => sha256(Buffer.from([1]), left, right);

/** `sha256("")`-free empty root: 64 zeros, as no digest with no heads is ever written. */
export const EMPTY_ROOT = '0'.repeat(64);

export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return EMPTY_ROOT;
  let level = leaves.map(leafHash);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1];
      next.push(right ? nodeHash(left, right) : left);
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}

/** The sibling hashes from leaf `index` up to the root; `left` says the sibling is on the left. */
export type MerkleProof = { hash: string; left: boolean }[];

export function merkleProof(leaves: readonly string[], index: number): MerkleProof {
  if (index < 0 || index >= leaves.length) throw new RangeError(`No leaf ${index}`);
  const proof: MerkleProof = [];
  let level = leaves.map(leafHash);
  let at = index;
  while (level.length > 1) {
    const sibling = at % 2 === 0 ? at + 1 : at - 1;
    if (sibling < level.length) proof.push({ hash: (level[sibling] as Buffer).toString('hex'), left: sibling < at });
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1];
      next.push(right ? nodeHash(left, right) : left);
    }
    level = next;
    at = Math.floor(at / 2);
  }
  return proof;
}

export function verifyMerkleProof(leaf: string, proof: MerkleProof, root: string): boolean {
  let hash = leafHash(leaf);
  for (const step of proof) {
    const sibling = Buffer.from(step.hash, 'hex');
    hash = step.left ? nodeHash(sibling, hash) : nodeHash(hash, sibling);
  }
  return hash.toString('hex') === root;
}
