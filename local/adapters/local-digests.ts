import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { DigestAdapters } from '#audit/digest-adapters';
import { type Digest, digestFileChunks, type DigestSigner, type DigestStore } from '#audit/digest';
import { config } from '#platform/config';
import { PRIVATE_DIR, privateDirSync } from '#local/private-files';

/** The local digest signing key: ECDSA P-256 in `<dir>/digest-signing.pem` (0600), made on first use. */
export class LocalDigestSigner implements DigestSigner {
  readonly keyId: string;
  private readonly privatePem: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'digest-signing.pem');
    if (!existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      try {
        writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    chmodSync(file, 0o600);
    this.privatePem = readFileSync(file, 'utf8');
    const spki = createPublicKey(this.privatePem).export({ type: 'spki', format: 'der' }) as Buffer;
    this.keyId = `local:${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign('sha256', message, this.privatePem));
  }

  async publicKeyPem(): Promise<string> {
    return createPublicKey(this.privatePem).export({ type: 'spki', format: 'pem' }) as string;
  }
}

/**
 * Digests as read-only files (0400) in `<dir>`, named by id: the local stand-in for the Object Lock bucket. The
 * public key is written beside them, so the directory can be checked offline as it is.
 */
export class LocalDigestStore implements DigestStore {
  constructor(
    private readonly dir: string,
    private readonly signer?: DigestSigner,
  ) {}

  private file(name: string) {
    return join(this.dir, name);
  }

  async put(digest: Digest): Promise<void> {
    // Owner-only like the rest of the local state: the folder 0700 (narrowed if it was wider), the files 0400.
    privateDirSync(this.dir);
    if (this.signer && !existsSync(this.file('public-key.pem'))) {
      await this.putFile('public-key.pem', await this.signer.publicKeyPem());
    }
    // Chunk by chunk: a digest of many heads is never one string.
    const fd = openSync(this.file(`${digest.digestId}.json`), 'wx', 0o400);
    try {
      for (const chunk of digestFileChunks(digest)) writeSync(fd, chunk, null, 'utf8');
    } finally {
      closeSync(fd);
    }
    chmodSync(this.file(`${digest.digestId}.json`), 0o400);
  }

  async getFile(name: string): Promise<string | undefined> {
    const file = this.file(name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  async latestId(): Promise<string | undefined> {
    return this.ids().at(-1);
  }

  async hasFile(name: string): Promise<boolean> {
    return existsSync(this.file(name));
  }

  async putFile(name: string, body: string): Promise<void> {
    mkdirSync(dirname(this.file(name)), { recursive: true, mode: PRIVATE_DIR });
    // `wx`: like a locked object, an existing file is never overwritten.
    writeFileSync(this.file(name), body, { flag: 'wx', mode: 0o400 });
    chmodSync(this.file(name), 0o400);
  }

  async get(digestId: string): Promise<Digest | undefined> {
    if (!/^[0-9A-Za-z-]+$/.test(digestId)) return undefined;
    const file = this.file(`${digestId}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Digest) : undefined;
  }

  private ids(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => /^\d{4}-.*\.json$/.test(f))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  }

  async list(from?: string, to?: string): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const id of this.ids()) {
      const digest = await this.get(id);
      if (!digest) continue;
      if ((from === undefined || digest.until >= from) && (to === undefined || digest.until <= to)) out.push(digest);
    }
    return out;
  }

  async latest(): Promise<Digest | undefined> {
    const id = this.ids().at(-1);
    return id === undefined ? undefined : this.get(id);
  }
}

/** `<LOCAL_STATE_DIR>/digests/`, signed with the key under `<LOCAL_STATE_DIR>/keys/`. */
export function localDigestAdaptersFromConfig(): DigestAdapters {
  const dir = config().LOCAL_STATE_DIR;
  const signer = new LocalDigestSigner(join(dir, 'keys'));
  return { signer, store: new LocalDigestStore(join(dir, 'digests'), signer) };
}
