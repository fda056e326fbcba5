import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jwksDocument } from '#signing/key-ring';
import { LocalSecrets } from '#local/adapters/local-signing-keys';
import { runRotationStep, SYSTEM_ACTOR } from '#signing/rotation';
import { rotateLocally } from '#local/adapters/signing';
import { AccessTokenError } from '#signing/tokens';
import { type LocalSigning, localSigning } from '#test/support/signing';

let signing: LocalSigning;
const T0 = Date.parse('2026-03-01T08:00:00Z');

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  signing = await localSigning();
});

afterEach(() => {
  vi.useRealTimers();
  signing.cleanup();
});

const at = (ms: number) => vi.setSystemTime(ms);
const user = { sub: 'user-1', username: 'alice', roles: ['operator'] };
const jwksKids = async () => jwksDocument(await signing.tokens.ring.snapshot()).keys.map((k) => k.kid);
const currentKid = async () => (await signing.tokens.ring.snapshot()).current!.kid;

describe('local key rotation, end to end', () => {
  it('keeps a token minted one second before a rotation valid until its own exp (zero downtime)', async () => {
    // Prepare: a token minted at R - 1 s with the first key.
    const R = T0 + 3_600_000;
    at(R - 1000);
    const before = await signing.tokens.mint(user);
    const oldKid = before.kid;

    // Act: rotate at R.
    at(R);
    await signing.rotate();
    at(R + 1000);

    // Assess: the old token verifies right after, tokens minted now carry the new kid.
    await expect(signing.tokens.verify(before.token)).resolves.toMatchObject({ jti: before.claims.jti });
    const after = await signing.tokens.mint(user);
    expect(after.kid).not.toBe(oldKid);
    expect(await jwksKids()).toEqual([after.kid, oldKid]);

    // ... and until one second before its own exp, then it expires like any token.
    at(before.claims.exp * 1000 - 1000);
    await expect(signing.tokens.verify(before.token)).resolves.toMatchObject({ jti: before.claims.jti });
    // Past exp plus the skew it is refused — by then the overlap (TTL + skew) has also retired its key.
    at((before.claims.exp + signing.tokens.options.clockSkewSeconds + 1) * 1000);
    const err = await signing.tokens.verify(before.token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessTokenError);
    expect(['expired', 'unknown_kid']).toContain((err as AccessTokenError).reason);
    await expect(signing.tokens.verify(after.token)).resolves.toMatchObject({ jti: after.claims.jti });
  });

  it('drops AWSPREVIOUS from the JWKS after the overlap window and then rejects its tokens', async () => {
    // Prepare: a long-lived token (1 h) signed by the first key, then a rotation at R.
    const overlap = signing.deps.overlapSeconds;
    expect(overlap).toBe(900 + 60);
    const longLived = await signing.tokens.mint({ ...user, ttlSeconds: 3600 });
    const R = T0 + 60_000;
    at(R);
    await signing.rotate();

    // Act + Assess: inside the window the previous key still verifies.
    at(R + (overlap - 1) * 1000);
    expect(await jwksKids()).toContain(longLived.kid);
    await expect(signing.tokens.verify(longLived.token)).resolves.toMatchObject({ sub: 'user-1' });

    // After it, the key is gone from the JWKS and its tokens are rejected although not expired.
    at(R + (overlap + 1) * 1000);
    expect(await jwksKids()).not.toContain(longLived.kid);
    expect(await jwksKids()).toHaveLength(1);
    const err = await signing.tokens.verify(longLived.token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessTokenError);
    expect((err as AccessTokenError).reason).toBe('unknown_kid');
  });

  it('lists pending, current and previous keys in the JWKS during a rotation', async () => {
    // Prepare: K1 → K2, then a third rotation that has only run createSecret.
    const k1 = await currentKid();
    at(T0 + 1000);
    await signing.rotate();
    const k2 = await currentKid();
    const secrets = signing.adapters.secrets as LocalSecrets;
    const token = await secrets.beginRotation(randomUUID());

    // Act
    await runRotationStep({ Step: 'createSecret', SecretId: 'local', ClientRequestToken: token }, signing.deps);
    at(T0 + 2000);

    // Assess: the pending key is published before it signs anything; minting still uses AWSCURRENT.
    const snap = await signing.tokens.ring.snapshot();
    const byStage = Object.fromEntries(snap.keys.map((k) => [k.stage, k.kid]));
    expect(byStage.AWSCURRENT).toBe(k2);
    expect(byStage.AWSPREVIOUS).toBe(k1);
    expect(byStage.AWSPENDING).toBeDefined();
    expect(jwksDocument(snap).keys.map((k) => k.kid)).toEqual([k2, byStage.AWSPENDING, k1]);
    expect((await signing.tokens.mint(user)).kid).toBe(k2);
    for (const jwk of jwksDocument(snap).keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    }
  });

  it('schedules the key that leaves AWSPREVIOUS for deletion; it can no longer sign', async () => {
    const secrets = signing.adapters.secrets;
    const k1 = JSON.parse((await secrets.getValue({ stage: 'AWSCURRENT' }))!.value) as { keyId: string };
    at(T0 + 1000);
    await signing.rotate();
    at(T0 + 2000_000);
    await signing.rotate();
    await expect(signing.adapters.keys.sign(k1.keyId, Buffer.from('x'))).rejects.toThrow(/pending deletion/);
    const stages = (await secrets.describe()).versionStages;
    expect(Object.values(stages).flat().sort()).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);
  });

  it('puts every promotion on the audit trail once, naming the requester or system', async () => {
    // Prepare: the first key (made by localSigning) is recorded with no previous key.
    const k1 = await currentKid();
    expect(signing.audited).toEqual([
      expect.objectContaining({
        entityType: 'signing-key',
        entityId: k1,
        action: 'key.rotation',
        actor: SYSTEM_ACTOR,
        changes: { current: { from: null, to: k1 } },
      }),
    ]);
    const caller = { userId: 'user-42', username: 'alice' };

    // Act: a rotation an API caller asked for, then every step of it again (retries with the same token).
    at(T0 + 1000);
    const token = await rotateLocally(signing.adapters, (e) => runRotationStep(e, signing.deps), randomUUID(), caller);
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await runRotationStep({ Step, SecretId: 'local', ClientRequestToken: token }, signing.deps);
    }

    // Assess
    const k2 = await currentKid();
    expect(signing.audited).toHaveLength(2);
    expect(signing.audited[1]).toMatchObject({
      entityType: 'signing-key',
      entityId: k2,
      action: 'key.rotation',
      actor: caller,
      requestId: token,
      changes: { current: { from: k1, to: k2 } },
      idempotencyKey: `key.rotation#${token}`,
    });
  });

  it('keeps key files and the secret file private (mode 0600, directory 0700)', async () => {
    await signing.rotate();
    const dir = join(signing.dir, 'keys');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.pem'))).toHaveLength(2);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('sees a rotation written by another process (another store instance on the same files)', async () => {
    // Prepare: a second, independent adapter set on the same directory, as `npm run rotate-keys` would have.
    const other = await import('#local/adapters/signing');
    const otherAdapters = other.localSigningAdapters(join(signing.dir, 'keys'));
    const before = await currentKid();
    // Act
    await rotateLocally(otherAdapters, (e) => runRotationStep(e, { ...signing.deps, adapters: otherAdapters }));
    at(Date.now() + 1000);
    // Assess
    const minted = await signing.tokens.mint(user);
    expect(minted.kid).not.toBe(before);
    expect(await jwksKids()).toEqual([minted.kid, before]);
  });
});
