import type { SigningAdapters } from './adapters';
import { type PublicJwk, type SigningSecretValue, type Stage, TAG_CURRENT_SINCE } from './ports';

/** One key of the signing secret, with the stage it holds right now. */
export interface RingKey {
  stage: Stage;
  versionId: string;
  keyId: string;
  kid: string;
  jwk: PublicJwk;
  createdAt: string | undefined;
  /** Epoch ms after which the key leaves the JWKS (AWSPREVIOUS only: demotion time + overlap). */
  retiresAt?: number;
}

export interface KeyRingSnapshot {
  keys: RingKey[];
  current: RingKey | undefined;
  /** When AWSCURRENT last moved (epoch ms); undefined before the first rotation. */
  currentSince: number | undefined;
  loadedAt: number;
}

export function parseSecretValue(value: string): SigningSecretValue {
  const parsed = JSON.parse(value) as Partial<SigningSecretValue>;
  if (typeof parsed.keyId !== 'string' || parsed.keyId === '') {
    throw new Error('The signing secret value does not name a key (keyId)');
  }
  return {
    keyId: parsed.keyId,
    keyArn: typeof parsed.keyArn === 'string' ? parsed.keyArn : '',
    kid: typeof parsed.kid === 'string' ? parsed.kid : undefined,
    createdAt: typeof parsed.createdAt === 'string' ? parsed.createdAt : undefined,
  };
}

export interface KeyRingOptions {
  overlapSeconds: number;
  /** How long a snapshot is trusted before the next use reloads it (AWS; the local store is watched by revision). */
  maxAgeMs: number;
  /** Local: how often the secret file's revision is checked (a rotation in another process shows within this). */
  revisionCheckMs?: number;
}

/**
 * The signing secret's keys (pending, current, previous) and their public JWKs, held in memory.
 * Secret versions are immutable, so each version's value is read once; a reload is one DescribeSecret.
 * Time is `Date.now()` throughout, so tests move it with a fake clock.
 */
export class KeyRing {
  private snapshotValue: KeyRingSnapshot | undefined;
  private loading: Promise<KeyRingSnapshot> | undefined;
  private readonly values = new Map<string, SigningSecretValue>();
  private revisionSeen: string | undefined;
  private revisionCheckedAt = 0;

  constructor(
    private readonly adapters: SigningAdapters,
    private readonly options: KeyRingOptions,
  ) {}

  /** The in-memory snapshot without any I/O; undefined until the first load. */
  peek(): KeyRingSnapshot | undefined {
    return this.snapshotValue;
  }

  /** True when the snapshot should be reloaded before use. */
  stale(now = Date.now()): boolean {
    const snap = this.snapshotValue;
    if (!snap) return true;
    const { revision } = this.adapters;
    if (revision) {
      if (now - this.revisionCheckedAt < (this.options.revisionCheckMs ?? 500)) return false;
      this.revisionCheckedAt = now;
      return revision() !== this.revisionSeen;
    }
    return now - snap.loadedAt > this.options.maxAgeMs;
  }

  /** The snapshot, reloaded first when stale. */
  async snapshot(): Promise<KeyRingSnapshot> {
    if (!this.stale()) return this.snapshotValue as KeyRingSnapshot;
    return this.reload();
  }

  /** Reloads now; concurrent callers share one load. */
  reload(): Promise<KeyRingSnapshot> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<KeyRingSnapshot> {
    const revision = this.adapters.revision?.();
    const description = await this.adapters.secrets.describe();
    const since = description.tags[TAG_CURRENT_SINCE];
    const currentSince = since ? Date.parse(since) : undefined;
    // Versions are read in parallel: a cold start pays one round trip per kind of call, not per key.
    const loaded = await Promise.all(
      Object.entries(description.versionStages).map(async ([versionId, labels]): Promise<RingKey | undefined> => {
        const stage = (['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'] as const).find((s) => labels.includes(s));
        if (!stage) return undefined;
        let value = this.values.get(versionId);
        if (!value) {
          const version = await this.adapters.secrets.getValue({ versionId });
          // No value: RotateSecret's stub before createSecret, or deleted since describe.
          if (!version) return undefined;
          value = parseSecretValue(version.value);
          this.values.set(versionId, value);
        }
        const jwk = await this.adapters.keys.publicJwk(value.keyId);
        if (value.kid !== undefined && jwk.kid !== value.kid) {
          throw new Error(`Key ${value.keyId} has kid ${jwk.kid}, the secret says ${value.kid}`);
        }
        return { stage, versionId, keyId: value.keyId, kid: jwk.kid, jwk, createdAt: value.createdAt };
      }),
    );
    const keys = loaded.filter((k): k is RingKey => k !== undefined);
    const current = keys.find((k) => k.stage === 'AWSCURRENT');
    // Without the tag (a secret never rotated by us) the previous key's overlap counts from the current
    // key's creation: never later than the truth, so at worst it leaves early, never lingers.
    const demotedAt = currentSince ?? (current?.createdAt ? Date.parse(current.createdAt) : 0);
    for (const key of keys) {
      if (key.stage === 'AWSPREVIOUS') key.retiresAt = demotedAt + this.options.overlapSeconds * 1000;
    }
    const snap: KeyRingSnapshot = {
      keys,
      current,
      currentSince,
      loadedAt: Date.now(),
    };
    this.snapshotValue = snap;
    this.revisionSeen = revision;
    this.revisionCheckedAt = Date.now();
    return snap;
  }
}

/** The keys that verify tokens at `now`: pending, current, and previous until its overlap ends. */
export function activeKeys(snapshot: KeyRingSnapshot, now = Date.now()): RingKey[] {
  return snapshot.keys.filter((k) => k.retiresAt === undefined || now < k.retiresAt);
}

/** The public JWKS document: every key in use, each with kid, kty, alg, use, n, e. */
export function jwksDocument(snapshot: KeyRingSnapshot, now = Date.now()): { keys: PublicJwk[] } {
  const order: Record<Stage, number> = { AWSCURRENT: 0, AWSPENDING: 1, AWSPREVIOUS: 2 };
  return {
    keys: activeKeys(snapshot, now)
      .sort((a, b) => order[a.stage] - order[b.stage])
      .map((k) => ({ ...k.jwk })),
  };
}
