import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyToJwk } from '#signing/jwk';
import {
  type KeyRef,
  type PublicJwk,
  type SecretDescription,
  type Secrets,
  type SecretVersion,
  type SigningKeys,
  TAG_ROTATION_TOKEN,
  TAG_SIGNING_KEY,
} from '#signing/ports';
import { ChargeRecordsError } from '#platform/errors';

/**
 * Local adapters: the stand-ins `npm start`, `npm run rotate-keys` and the tests use instead of KMS and
 * Secrets Manager. State lives in files under `<LOCAL_STATE_DIR>/keys/` (directory 0700, files 0600) so
 * separate processes share it; every write goes to a temp file and is renamed into place, so a reader
 * never sees half a file.
 */
function writePrivate(path: string, data: string) {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask may have narrowed, never widened, but be explicit
  renameSync(tmp, path);
}

function ensureDir(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

interface LocalKeyMeta {
  keyId: string;
  keyArn: string;
  createdAt: string;
  tags: Record<string, string>;
  /** Set by scheduleDeletion; a key pending deletion can no longer sign (as in KMS). */
  deletionDate?: string;
}

/** RSA-2048 keys made with node:crypto, one PEM (private, PKCS#8) and one metadata file per key. */
export class LocalSigningKeys implements SigningKeys {
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly jwks = new Map<string, PublicJwk>();

  constructor(
    readonly dir: string,
    private readonly appTag: string,
  ) {}

  private meta(keyId: string): LocalKeyMeta {
    if (!/^local-[0-9a-f-]{36}$/.test(keyId)) throw new Error(`Not a local key id: ${keyId}`);
    const path = join(this.dir, `${keyId}.json`);
    if (!existsSync(path)) throw new Error(`No such local key: ${keyId}`);
    return JSON.parse(readFileSync(path, 'utf8')) as LocalKeyMeta;
  }

  private privateKey(keyId: string): KeyObject {
    let key = this.privateKeys.get(keyId);
    if (!key) {
      key = createPrivateKey(readFileSync(join(this.dir, `${keyId}.pem`), 'utf8'));
      this.privateKeys.set(keyId, key);
    }
    return key;
  }

  async sign(keyId: string, signingInput: Buffer): Promise<Buffer> {
    const meta = this.meta(keyId);
    if (meta.deletionDate) throw new Error(`Key ${keyId} is pending deletion`);
    return sign('sha256', signingInput, this.privateKey(keyId));
  }

  async publicJwk(keyId: string): Promise<PublicJwk> {
    let jwk = this.jwks.get(keyId);
    if (!jwk) {
      this.meta(keyId);
      jwk = publicKeyToJwk(createPublicKey(this.privateKey(keyId)));
      this.jwks.set(keyId, jwk);
    }
    return jwk;
  }

  async createKey(rotationToken: string): Promise<KeyRef> {
    ensureDir(this.dir);
    const keyId = `local-${randomUUID()}`;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    writePrivate(join(this.dir, `${keyId}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const meta: LocalKeyMeta = {
      keyId,
      keyArn: `local:key/${keyId}`,
      createdAt: new Date().toISOString(),
      tags: { [TAG_SIGNING_KEY]: this.appTag, [TAG_ROTATION_TOKEN]: rotationToken },
    };
    writePrivate(join(this.dir, `${keyId}.json`), JSON.stringify(meta, null, 2));
    return { keyId, keyArn: meta.keyArn };
  }

  async scheduleDeletion(keyId: string, pendingWindowDays: number): Promise<void> {
    const meta = this.meta(keyId);
    if (meta.deletionDate) return;
    meta.deletionDate = new Date(Date.now() + pendingWindowDays * 86_400_000).toISOString();
    writePrivate(join(this.dir, `${keyId}.json`), JSON.stringify(meta, null, 2));
  }
}

/** Mirrors Secrets Manager's errors closely enough for the rotation handler's checks. */
export class LocalSecretError extends ChargeRecordsError {
  constructor(
    readonly code: 'InvalidParameterException' | 'ResourceExistsException' | 'ResourceNotFoundException',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

interface LocalSecretFile {
  rotationEnabled: boolean;
  tags: Record<string, string>;
  /** `value` is absent on the stub RotateSecret makes for a rotation's token before createSecret fills it. */
  versions: Record<string, { value?: string; stages: string[]; createdAt: string }>;
}

/**
 * One secret with Secrets Manager's stage rules, persisted as JSON:
 * - a staging label sits on at most one version; giving it to a version takes it off any other;
 * - when AWSCURRENT moves, the version it left gets AWSPREVIOUS automatically;
 * - AWSCURRENT can be moved but never just removed;
 * - putting an existing version id again is a no-op with the same value and an error with another.
 */
export class LocalSecrets implements Secrets {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'signing-secret.json');
  }

  /** Cheap change detector for caches in other processes: changes whenever the file is replaced. */
  revision(): string {
    try {
      const s = statSync(this.path);
      return `${s.mtimeMs}:${s.ino}:${s.size}`;
    } catch {
      return 'none';
    }
  }

  private read(): LocalSecretFile {
    if (!existsSync(this.path)) return { rotationEnabled: true, tags: {}, versions: {} };
    return JSON.parse(readFileSync(this.path, 'utf8')) as LocalSecretFile;
  }

  private write(state: LocalSecretFile) {
    ensureDir(join(this.path, '..'));
    writePrivate(this.path, JSON.stringify(state, null, 2));
  }

  /** Gives `stage` to `versionId` only (the AWSCURRENT → AWSPREVIOUS rule included). */
  private static label(state: LocalSecretFile, stage: string, versionId: string) {
    const from = Object.keys(state.versions).filter(
      (id) => state.versions[id]?.stages.includes(stage) && id !== versionId,
    );
    for (const id of from) {
      const v = state.versions[id];
      if (v) v.stages = v.stages.filter((s) => s !== stage);
    }
    const target = state.versions[versionId];
    if (target && !target.stages.includes(stage)) target.stages.push(stage);
    if (stage === 'AWSCURRENT') for (const id of from) LocalSecrets.label(state, 'AWSPREVIOUS', id);
  }

  async describe(): Promise<SecretDescription> {
    const state = this.read();
    const versionStages: Record<string, string[]> = {};
    for (const [id, v] of Object.entries(state.versions)) if (v.stages.length > 0) versionStages[id] = [...v.stages];
    return { rotationEnabled: state.rotationEnabled, versionStages, tags: { ...state.tags } };
  }

  async getValue(by: { stage: string } | { versionId: string }): Promise<SecretVersion | undefined> {
    const state = this.read();
    const entry = Object.entries(state.versions).find(([id, v]) =>
      'stage' in by ? v.stages.includes(by.stage) : id === by.versionId,
    );
    if (!entry || entry[1].value === undefined) return undefined;
    return { versionId: entry[0], value: entry[1].value, stages: [...entry[1].stages] };
  }

  async putValue(versionId: string, value: string, stages: string[]): Promise<void> {
    const state = this.read();
    const existing = state.versions[versionId];
    if (existing?.value !== undefined) {
      if (existing.value !== value) {
        throw new LocalSecretError('ResourceExistsException', `Version ${versionId} already exists with another value`);
      }
      return;
    }
    const labels = stages.length > 0 ? stages : ['AWSCURRENT'];
    state.versions[versionId] = { value, stages: existing?.stages ?? [], createdAt: new Date().toISOString() };
    for (const stage of labels) LocalSecrets.label(state, stage, versionId);
    this.write(state);
  }

  async updateStage(stage: string, moveToVersionId: string, removeFromVersionId?: string): Promise<void> {
    const state = this.read();
    if (!state.versions[moveToVersionId]) {
      throw new LocalSecretError('ResourceNotFoundException', `No version ${moveToVersionId}`);
    }
    const holder = Object.keys(state.versions).find((id) => state.versions[id]?.stages.includes(stage));
    if (holder && holder !== moveToVersionId && holder !== removeFromVersionId) {
      throw new LocalSecretError(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}`,
      );
    }
    LocalSecrets.label(state, stage, moveToVersionId);
    this.write(state);
  }

  /**
   * What RotateSecret does before it invokes the rotation function: a value-less version for the token,
   * labelled AWSPENDING. While an earlier rotation is unfinished (AWSPENDING on a version that is not
   * AWSCURRENT), that rotation is resumed with its own token instead, as Secrets Manager does.
   * Returns the token the steps must run with.
   */
  async beginRotation(token: string): Promise<string> {
    const state = this.read();
    if (!state.rotationEnabled) throw new LocalSecretError('InvalidParameterException', 'Rotation is not enabled');
    const pending = Object.keys(state.versions).find((id) => state.versions[id]?.stages.includes('AWSPENDING'));
    if (pending && !state.versions[pending]?.stages.includes('AWSCURRENT')) return pending;
    state.versions[token] ??= { stages: [], createdAt: new Date().toISOString() };
    LocalSecrets.label(state, 'AWSPENDING', token);
    this.write(state);
    return token;
  }

  /** Drops the AWSPENDING label of an unfinished rotation (what an operator does after a failed one). */
  async abandonPending(): Promise<void> {
    const state = this.read();
    for (const v of Object.values(state.versions)) v.stages = v.stages.filter((s) => s !== 'AWSPENDING');
    this.write(state);
  }

  async tag(tags: Record<string, string>): Promise<void> {
    const state = this.read();
    state.tags = { ...state.tags, ...tags };
    this.write(state);
  }
}
