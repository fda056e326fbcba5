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

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
export const leafHash = (leaf: string): Buffer => sha256(LEAF, leaf);
const nodeHash = (left: Buffer, right: Buffer) => sha256(NODE, left, right);

/** `sha256("")`-free empty root: 64 zeros, as no digest with no heads is ever written. */
export const EMPTY_ROOT = '0'.repeat(64);

export function merkleRoot(leaves: readonly string[]): string {
  const tree = new MerkleBuilder();
  for (const leaf of leaves) tree.push(leaf);
  return tree.root();
}

/**
 * The same root, leaf by leaf, holding one hash per level (a binary counter of full subtrees) instead of every
 * level: pairing a level left to right and carrying its odd last node up unchanged gives the tree whose root folds
 * those full subtrees from the right.
 */
export class MerkleBuilder {
  /** `full[k]`: the root of a full subtree of 2^k leaves not yet paired, or undefined. */
  private readonly full: (Buffer | undefined)[] = [];
  private count = 0;

  push(leaf: string): void {
    let node = leafHash(leaf);
    let k = 0;
    for (; this.full[k] !== undefined; k++) {
      node = nodeHash(this.full[k] as Buffer, node);
      this.full[k] = undefined;
    }
    this.full[k] = node;
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  root(): string {
    let root: Buffer | undefined;
    for (const node of this.full) {
      if (node === undefined) continue;
      root = root === undefined ? node : nodeHash(node, root);
    }
    return root === undefined ? EMPTY_ROOT : root.toString('hex');
  }
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
