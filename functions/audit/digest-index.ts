import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { ChainHead, Digest, DigestReader, DigestSigner, DigestStore } from './digest';

/**
 * Which digest last listed each entity, so `GET /audit/verify` reads one digest instead of all of them.
 *
 * Kept beside the digests, in the same Object Lock bucket, as files written once per digest:
 * - `index/<digestId>/<shard>.json`: for each entity whose key (`<type>#<id>`) falls in that shard (`shardOf`,
 *   256 of them), the id of the newest digest listing it; only the shards the digest touched
 *   are written, each whole (the previous version's entries carried over);
 * - `index/<digestId>/manifest.json`: the SHA-256 of every shard's current file, signed with the digest key.
 *
 * A reader starts at the newest digest's manifest, so a stale or edited index cannot pass for a current one: a
 * file that does not match its signed hash, a manifest that is missing or not signed by the digest key, or a
 * pointer to a digest that does not list the entity, and the reader falls back to reading every digest. The
 * pointer only says where to look; the digest found is checked in full (hash, Merkle root, signature) as before.
 */
export const INDEX_SHARDS = 256;

export interface IndexManifest {
  kind: 'audit-digest-index';
  /** The digest this manifest was written with (the newest when written). */
  digestId: string;
  /**
   * The oldest digest the index covers (null: every digest): an entity listed only before it is not in the index.
   * A shard's own `since` says the same for that shard (it starts again when its previous file did not check out).
   */
  indexedSince: string | null;
  /** Shard (two hex digits) → its current file, that file's SHA-256, and the oldest digest it covers. */
  shards: Record<string, { file: string; sha256: string; since: string | null }>;
  keyId: string;
  algorithm: 'ECDSA_SHA_256';
  /** ECDSA P-256 over the UTF-8 of the hex SHA-256 of this manifest's canonical JSON without `signature`. */
  signature: string;
}

export const entityKeyOf = (entityType: string, entityId: string) => `${entityType}#${entityId}`;
/**
 * FNV-1a over the key's UTF-16 code units, low byte as two hex digits. It only spreads keys over the shards (nothing
 * rests on it being hard to invert) and costs a fraction of a SHA-256 call per head.
 */
export function shardOf(entityKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < entityKey.length; i++) h = Math.imul(h ^ entityKey.charCodeAt(i), 0x01000193);
  return ((h >>> 0) & 0xff).toString(16).padStart(2, '0');
}
export const manifestFile = (digestId: string) => `index/${digestId}/manifest.json`;
const shardFile = (digestId: string, shard: string) => `index/${digestId}/${shard}.json`;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const manifestHash = ({ signature: _, ...body }: IndexManifest) => sha256(canonicalJson(body));

/** Why the index was not used (the reader then reads every digest). */
export type IndexProblem =
  'no_manifest' | 'manifest_invalid' | 'shard_missing' | 'shard_mismatch' | 'digest_missing' | 'not_listed_by_digest';

function parseManifest(text: string | undefined, digestId: string, publicKeyPem: string) {
  if (text === undefined) return { problem: 'no_manifest' as const };
  try {
    const manifest = JSON.parse(text) as IndexManifest;
    const ok =
      manifest.kind === 'audit-digest-index' &&
      manifest.digestId === digestId &&
      typeof manifest.signature === 'string' &&
      typeof manifest.shards === 'object' &&
      verifySignature(
        'sha256',
        Buffer.from(manifestHash(manifest), 'utf8'),
        createPublicKey(publicKeyPem),
        Buffer.from(manifest.signature, 'base64'),
      );
    return ok ? { manifest } : { problem: 'manifest_invalid' as const };
  } catch {
    return { problem: 'manifest_invalid' as const };
  }
}

/** A shard file, only if it is the one the manifest signed. */
async function readShard(store: DigestReader, manifest: IndexManifest, shard: string) {
  const entry = manifest.shards[shard];
  if (!entry) return { entries: {} as Record<string, string> };
  const text = await store.getFile(entry.file);
  if (text === undefined) return { problem: 'shard_missing' as const };
  if (sha256(text) !== entry.sha256) return { problem: 'shard_mismatch' as const };
  return { entries: JSON.parse(text) as Record<string, string> };
}

/**
 * Writes the index files for `digest` (just written, its heads in digest order). The previous digest's manifest is
 * checked like a reader checks it; if it is missing or does not check out, the index starts again at this digest.
 */
export async function writeDigestIndex(
  signer: DigestSigner,
  store: DigestStore,
  digest: Digest,
  previousDigestId: string | undefined,
): Promise<IndexManifest> {
  const publicKeyPem = await signer.publicKeyPem();
  const previous =
    previousDigestId === undefined
      ? undefined
      : parseManifest(await store.getFile(manifestFile(previousDigestId)), previousDigestId, publicKeyPem).manifest;
  const shards: IndexManifest['shards'] = { ...previous?.shards };
  // Heads grouped by shard, then one shard at a time: only one shard's entries are in memory.
  const byShard = new Map<string, ChainHead[]>();
  for (const head of digest.heads) {
    const shard = shardOf(entityKeyOf(head.entityType, head.entityId));
    let heads = byShard.get(shard);
    if (!heads) byShard.set(shard, (heads = []));
    heads.push(head);
  }
  // The first digest starts a complete index; after one whose manifest does not check out, it starts here.
  const indexedSince = previous ? previous.indexedSince : previousDigestId === undefined ? null : digest.digestId;
  for (const shard of [...byShard.keys()].sort()) {
    const read = previous ? await readShard(store, previous, shard) : { entries: {} };
    // A previous shard file that does not check out: that shard starts again at this digest.
    const entries: Record<string, string> = read.entries ?? {};
    const since = read.entries ? (previous?.shards[shard]?.since ?? indexedSince) : digest.digestId;
    for (const h of byShard.get(shard) as ChainHead[]) entries[entityKeyOf(h.entityType, h.entityId)] = digest.digestId;
    byShard.delete(shard);
    const text = `${JSON.stringify(entries)}\n`;
    const file = shardFile(digest.digestId, shard);
    await store.putFile(file, text);
    shards[shard] = { file, sha256: sha256(text), since };
  }
  const unsigned = {
    kind: 'audit-digest-index' as const,
    digestId: digest.digestId,
    indexedSince,
    shards,
    keyId: signer.keyId,
    algorithm: 'ECDSA_SHA_256' as const,
  };
  const hash = sha256(canonicalJson(unsigned));
  const signature = Buffer.from(await signer.sign(Buffer.from(hash, 'utf8'))).toString('base64');
  const manifest = { ...unsigned, signature };
  await store.putFile(manifestFile(digest.digestId), `${JSON.stringify(manifest)}\n`);
  return manifest;
}

/**
 * The digests that may vouch for an entity, oldest first, for verifyAnchored: through the index, the one digest that
 * last listed it (or none, when the index covers every digest and none listed it); otherwise every digest.
 * `problem` says why the index was not used.
 */
export async function digestsFor(
  store: DigestReader,
  publicKeyPem: () => Promise<string>,
  entityType: string,
  entityId: string,
): Promise<{ digests: Digest[]; problem?: IndexProblem }> {
  const everything = async (problem: IndexProblem) => ({ digests: await store.list(), problem });
  const latestId = await store.latestId();
  if (latestId === undefined) return { digests: [] };
  const { manifest, problem } = parseManifest(
    await store.getFile(manifestFile(latestId)),
    latestId,
    await publicKeyPem(),
  );
  if (!manifest) return everything(problem);
  const key = entityKeyOf(entityType, entityId);
  const shard = await readShard(store, manifest, shardOf(key));
  if (!shard.entries) return everything(shard.problem);
  const digestId = Object.hasOwn(shard.entries, key) ? shard.entries[key] : undefined;
  if (digestId === undefined) {
    const since = manifest.shards[shardOf(key)]?.since ?? manifest.indexedSince;
    if (since === null) return { digests: [] };
    // Listed, if at all, only before the index (or this shard) began.
    return { digests: (await store.list()).filter((d) => d.digestId < since) };
  }
  const digest = await store.get(digestId);
  if (!digest) return everything('digest_missing');
  if (!digest.heads.some((h) => h.entityType === entityType && h.entityId === entityId)) {
    return everything('not_listed_by_digest');
  }
  return { digests: [digest] };
}
