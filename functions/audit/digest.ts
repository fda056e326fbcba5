import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { MerkleBuilder } from './merkle';
import { GENESIS_HASH } from './record';

/** One entity's chain head as a digest vouches for it. */
export interface ChainHead {
  entityType: string;
  entityId: string;
  seq: number;
  hash: string;
}

/** What is signed: everything but the signature. */
export interface DigestBody {
  digestId: string;
  createdAt: string;
  /** The previous digest's `until` (null for the first): heads changed after it are listed. */
  since: string | null;
  until: string;
  /** `hash` of the previous digest: digests form a chain of their own, so one cannot be dropped unnoticed. */
  previousDigestHash: string;
  /** Sorted by entity type, then id. */
  heads: ChainHead[];
  merkleRoot: string;
  /** The signing key (KMS key ARN, or `local:<fingerprint>`). */
  keyId: string;
  algorithm: 'ECDSA_SHA_256';
}

export interface Digest extends DigestBody {
  /** SHA-256 (hex) of the canonical JSON of the body. */
  hash: string;
  /** ECDSA P-256 over the UTF-8 of `hash` (DER, base64). */
  signature: string;
}

/** Signs digests: a KMS asymmetric key (ECC_NIST_P256) in AWS, a local key file locally. */
export interface DigestSigner {
  readonly keyId: string;
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** SPKI PEM: all an offline verifier needs. */
  publicKeyPem(): Promise<string>;
}

/**
 * Reading digests (and the index and archive files beside them): all that `GET /audit/verify` and `GET
 * /audit/digests` need, so the API function carries no writer.
 */
export interface DigestReader {
  get(digestId: string): Promise<Digest | undefined>;
  /** Digests whose `until` lies in [from, to], oldest first. */
  list(from?: string, to?: string): Promise<Digest[]>;
  latest(): Promise<Digest | undefined>;
  /** The newest digest's id, without reading it. */
  latestId(): Promise<string | undefined>;
  hasFile(name: string): Promise<boolean>;
  getFile(name: string): Promise<string | undefined>;
}

/** Where digests (and the monthly archives) are kept: an Object Lock bucket in AWS, `.local/digests/` locally. */
export interface DigestStore extends DigestReader {
  put(digest: Digest): Promise<void>;
  putFile(name: string, body: string): Promise<void>;
}

/** Sortable, file- and S3-key-safe id from the digest's `until`. */
export const digestIdOf = (until: string) => until.replace(/[:.]/g, '-');

export const leafOf = (head: ChainHead) => canonicalJson(head);

/**
 * `leafOf` for a head with exactly the four fields, written out in canonical key order: the digest job makes one
 * per head, and the generic canonical JSON's entry arrays and sorts cost more than the rest of the job together.
 */
export const headLeaf = (h: ChainHead) =>
  Object.keys(h).length === 4 &&
  typeof h.entityId === 'string' &&
  typeof h.entityType === 'string' &&
  typeof h.hash === 'string' &&
  Number.isSafeInteger(h.seq)
    ? `{"entityId":${JSON.stringify(h.entityId)},"entityType":${JSON.stringify(h.entityType)},"hash":${JSON.stringify(h.hash)},"seq":${h.seq}}`
    : leafOf(h);

export const digestHashOf = (body: DigestBody) =>
  createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');

/**
 * The canonical JSON of a body around its `heads`: the text before the first head and after the last, so the
 * body's hash can be taken head by head without the whole string (keys sorted as canonicalJson sorts them).
 */
function canonicalAroundHeads(rest: Omit<DigestBody, 'heads'>): [string, string] {
  const keys = [...Object.keys(rest), 'heads'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = keys.indexOf('heads');
  const entry = (k: string) => `${JSON.stringify(k)}:${canonicalJson(rest[k as keyof typeof rest])}`;
  const before = keys.slice(0, at).map(entry);
  const after = keys.slice(at + 1).map(entry);
  return [`{${[...before, '"heads":['].join(',')}`, `]${after.map((e) => `,${e}`).join('')}}`];
}

/** Sorted heads → their Merkle root and the body's hash, one pass, each head's canonical JSON made once. */
function hashBody(fields: Omit<DigestBody, 'heads' | 'merkleRoot'>, heads: readonly ChainHead[]) {
  const tree = new MerkleBuilder();
  const hash = createHash('sha256');
  // `merkleRoot` sorts after `heads`: the text before the heads does not depend on it.
  const [before] = canonicalAroundHeads({ ...fields, merkleRoot: '' });
  hash.update(before, 'utf8');
  for (let i = 0; i < heads.length; i++) {
    const leaf = headLeaf(heads[i] as ChainHead);
    tree.push(leaf);
    hash.update(i === 0 ? leaf : `,${leaf}`, 'utf8');
  }
  const merkleRoot = tree.root();
  const [, after] = canonicalAroundHeads({ ...fields, merkleRoot });
  hash.update(after, 'utf8');
  return { merkleRoot, hash: hash.digest('hex') };
}

const compareHeads = (a: ChainHead, b: ChainHead) =>
  a.entityType === b.entityType
    ? a.entityId < b.entityId
      ? -1
      : a.entityId > b.entityId
        ? 1
        : 0
    : a.entityType < b.entityType
      ? -1
      : 1;

/** The digest file as one Buffer, sized first and filled chunk by chunk: no whole-file string. */
export function digestFileBuffer(digest: Digest): Buffer {
  let length = 0;
  for (const chunk of digestFileChunks(digest)) length += Buffer.byteLength(chunk, 'utf8');
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const chunk of digestFileChunks(digest)) at += out.write(chunk, at, 'utf8');
  return out;
}

/** The digest file: `JSON.stringify(digest, null, 2)` and a newline, in pieces, so no whole-file string is built. */
export function* digestFileChunks(digest: Digest): Generator<string> {
  const entries = Object.entries(digest);
  yield '{';
  for (const [i, [key, value]] of entries.entries()) {
    const comma = i < entries.length - 1 ? ',' : '';
    if (key === 'heads' && Array.isArray(value) && value.length > 0) {
      yield `\n  "heads": [`;
      for (const [j, head] of (value as ChainHead[]).entries()) {
        const text = JSON.stringify(head, null, 2).replace(/\n/g, '\n    ');
        yield `\n    ${text}${j < value.length - 1 ? ',' : ''}`;
      }
      yield `\n  ]${comma}`;
    } else {
      yield `\n  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${comma}`;
    }
  }
  yield entries.length > 0 ? '\n}\n' : '}\n';
}

export function sortHeads(heads: readonly ChainHead[]): ChainHead[] {
  return [...heads].sort(compareHeads);
}

/** Whether heads are in digest order (then they need no sorted copy). */
export function headsSorted(heads: readonly ChainHead[]): boolean {
  for (let i = 1; i < heads.length; i++)
    if (compareHeads(heads[i - 1] as ChainHead, heads[i] as ChainHead) > 0) return false;
  return true;
}

export { compareHeads };

export async function buildDigest(
  signer: DigestSigner,
  /** The previous digest (only its `until` and `hash` are used). */
  previous: Pick<Digest, 'until' | 'hash'> | undefined,
  heads: ChainHead[],
  until: string,
  createdAt = new Date().toISOString(),
): Promise<Digest> {
  const sorted = headsSorted(heads) ? heads : sortHeads(heads);
  const fields = {
    digestId: digestIdOf(until),
    createdAt,
    since: previous?.until ?? null,
    until,
    previousDigestHash: previous?.hash ?? GENESIS_HASH,
  };
  const signed = { keyId: signer.keyId, algorithm: 'ECDSA_SHA_256' as const };
  const { merkleRoot, hash } = hashBody({ ...fields, ...signed }, sorted);
  const signature = Buffer.from(await signer.sign(Buffer.from(hash, 'utf8'))).toString('base64');
  return { ...fields, heads: sorted, merkleRoot, ...signed, hash, signature };
}

export type DigestProblem = 'hash_mismatch' | 'merkle_root_mismatch' | 'bad_signature' | 'broken_digest_chain';

/** One digest on its own: its hash, Merkle root and signature. */
export function checkDigest(digest: Digest, publicKeyPem: string): DigestProblem | undefined {
  const { hash, signature, ...body } = digest;
  if (digestHashOf(body) !== hash) return 'hash_mismatch';
  const tree = new MerkleBuilder();
  for (const head of headsSorted(body.heads) ? body.heads : sortHeads(body.heads)) tree.push(leafOf(head));
  if (tree.root() !== body.merkleRoot) return 'merkle_root_mismatch';
  const ok = verifySignature(
    'sha256',
    Buffer.from(hash, 'utf8'),
    createPublicKey(publicKeyPem),
    Buffer.from(signature, 'base64'),
  );
  return ok ? undefined : 'bad_signature';
}

/** Digests in order: each must be valid and name its predecessor's hash (the first, the genesis hash). */
export function checkDigestChain(
  digests: readonly Digest[],
  publicKeyPem: string,
): { valid: true } | { valid: false; digestId: string; problem: DigestProblem } {
  let previous = GENESIS_HASH;
  for (const digest of digests) {
    const problem = checkDigest(digest, publicKeyPem);
    if (problem) return { valid: false, digestId: digest.digestId, problem };
    if (digest.previousDigestHash !== previous) {
      return { valid: false, digestId: digest.digestId, problem: 'broken_digest_chain' };
    }
    previous = digest.hash;
  }
  return { valid: true };
}
