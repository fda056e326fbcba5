import { createHmac, generateKeyPairSync, type KeyObject, sign as cryptoSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { publicKeyToJwk } from '#signing/jwk';
import { AccessTokenError, type AccessTokenErrorReason } from '#signing/tokens';
import { type LocalSigning, localSigning } from '#test/support/signing';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let signing: LocalSigning;
let server: Server;
let serverHits = 0;
let serverUrl: string;

beforeAll(async () => {
  signing = await localSigning();
  server = createServer((_req, res) => {
    serverHits++;
    res.end('{"keys":[]}');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  signing.cleanup();
  await new Promise((ok) => server.close(ok));
});

afterEach(() => {
  vi.useRealTimers();
});

/** Claims as our minting would produce them, for hand-made tokens. */
function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: signing.tokens.options.issuer,
    aud: signing.tokens.options.audience,
    sub: 'user-1',
    iat: now,
    nbf: now,
    exp: now + 900,
    jti: 'jti-1',
    type: 'access',
    roles: ['viewer'],
    username: 'alice',
    ...overrides,
  };
}

/** Signs with our own AWSCURRENT key through the port: a genuine signature over whatever we put in. */
async function signWithOurKey(header: Record<string, unknown>, payload: Record<string, unknown>) {
  const snap = await signing.tokens.ring.snapshot();
  const current = snap.current!;
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: current.kid, ...header })}.${b64(payload)}`;
  const sig = await signing.adapters.keys.sign(current.keyId, Buffer.from(input));
  return `${input}.${sig.toString('base64url')}`;
}

function signWithForeignKey(privateKey: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>) {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

async function rejection(token: string): Promise<AccessTokenErrorReason> {
  try {
    await signing.tokens.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(AccessTokenError);
    return (err as AccessTokenError).reason;
  }
  throw new Error('token was accepted');
}

describe('access token verification', () => {
  it('accepts a token it minted and returns typed claims', async () => {
    // Prepare
    const minted = await signing.tokens.mint({ sub: 'user-1', username: 'alice', roles: ['operator'] });
    // Act
    const verified = await signing.tokens.verify(minted.token);
    // Assess
    expect(verified).toEqual(minted.claims);
    expect(verified.type).toBe('access');
    const header = JSON.parse(Buffer.from(minted.token.split('.')[0]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: minted.kid });
  });

  it('rejects alg "none"', async () => {
    const kid = (await signing.tokens.ring.snapshot()).current!.kid;
    const token = `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims())}.`;
    expect(await rejection(token)).toMatch(/algorithm|malformed/);
    expect(await rejection(`${b64({ alg: 'none', kid })}.${b64(claims())}`)).toBe('malformed');
  });

  it('rejects HS256 signed with our public key as the HMAC secret', async () => {
    const current = (await signing.tokens.ring.snapshot()).current!;
    const { createPublicKey } = await import('node:crypto');
    const pem = createPublicKey({ key: { ...current.jwk }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    for (const secret of [pem, JSON.stringify(current.jwk), current.jwk.n]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: current.kid })}.${b64(claims({ roles: ['admin'] }))}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(await rejection(token)).toBe('algorithm');
    }
  });

  it('rejects an unknown kid, and a kid with path characters is just unknown', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const foreignKid = publicKeyToJwk(publicKey).kid;
    expect(await rejection(signWithForeignKey(privateKey, { kid: foreignKid }, claims()))).toBe('unknown_kid');
    for (const kid of ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', `../keys/${foreignKid}`, '/dev/zero']) {
      expect(await rejection(signWithForeignKey(privateKey, { kid }, claims()))).toBe('unknown_kid');
    }
    // Without a kid there is nothing to look up.
    expect(await rejection(signWithForeignKey(privateKey, {}, claims()))).toBe('unknown_kid');
  });

  it('rejects a tampered payload and a stripped signature', async () => {
    const { token } = await signing.tokens.mint({ sub: 'user-1', username: 'alice', roles: ['viewer'] });
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${b64(claims({ roles: ['admin'] }))}.${signature}`;
    expect(await rejection(tampered)).toBe('signature');
    const [h, p] = token.split('.');
    expect(await rejection(`${h}.${p}.`)).toMatch(/signature|malformed/);
    expect(await rejection(`${h}.${p}`)).toBe('malformed');
  });

  it('rejects expired tokens beyond the 60 s clock skew, accepts them within it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { token, claims: c } = await signing.tokens.mint({ sub: 'u', username: 'alice', roles: [] });
    vi.setSystemTime((c.exp + 30) * 1000);
    await expect(signing.tokens.verify(token)).resolves.toMatchObject({ jti: c.jti });
    vi.setSystemTime((c.exp + 61) * 1000);
    expect(await rejection(token)).toBe('expired');
  });

  it('rejects tokens that are not yet valid', async () => {
    const future = Math.floor(Date.now() / 1000) + 300;
    const token = await signWithOurKey({}, claims({ iat: future, nbf: future, exp: future + 900 }));
    expect(await rejection(token)).toBe('not_yet_valid');
  });

  it('rejects a wrong issuer and a wrong audience', async () => {
    const otherIssuer = await signing
      .tokensWith({ issuer: 'https://evil.example' })
      .mint({ sub: 'u', username: 'a', roles: [] });
    expect(await rejection(otherIssuer.token)).toBe('issuer');
    const otherAudience = await signing
      .tokensWith({ audience: 'another-api' })
      .mint({ sub: 'u', username: 'a', roles: [] });
    expect(await rejection(otherAudience.token)).toBe('audience');
  });

  it('rejects tokens whose type is not "access" (a refresh or id token)', async () => {
    for (const type of ['refresh', 'id', undefined]) {
      expect(await rejection(await signWithOurKey({}, claims({ type })))).toBe('claims');
    }
  });

  it('rejects tokens missing exp, sub or jti', async () => {
    for (const missing of ['exp', 'sub', 'jti']) {
      const c: Record<string, unknown> = claims();
      delete c[missing];
      expect(await rejection(await signWithOurKey({}, c))).toBe('claims');
    }
  });

  it('never fetches jku, x5u, jwk or x5c from the header', async () => {
    // Prepare: an attacker key embedded and pointed at, plus our own valid token decorated the same way.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attackerJwk = publicKeyToJwk(publicKey);
    const hostile = {
      jku: `${serverUrl}/jwks.json`,
      x5u: `${serverUrl}/cert.pem`,
      jwk: attackerJwk,
      x5c: ['MIIB'],
    };
    // Act
    const forged = signWithForeignKey(privateKey, { ...hostile, kid: attackerJwk.kid }, claims({ roles: ['admin'] }));
    const reason = await rejection(forged);
    const ours = await signWithOurKey(hostile, claims());
    const accepted = await signing.tokens.verify(ours);
    await new Promise((ok) => setTimeout(ok, 50)); // any stray request would have landed by now
    // Assess
    expect(reason).toBe('unknown_kid');
    expect(accepted.sub).toBe('user-1');
    expect(serverHits).toBe(0);
  });

  it('reloads the key ring for unknown kids at most once per penalty period (and never for malformed kids)', async () => {
    // Prepare: a clock far from the other tests' reloads, and a spy on the ring.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_600_000);
    const reload = vi.spyOn(signing.tokens.ring, 'reload');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = signWithForeignKey(privateKey, { kid: publicKeyToJwk(publicKey).kid }, claims());
    const pathKid = signWithForeignKey(privateKey, { kid: '../../etc/passwd' }, claims());
    // Act + Assess
    expect(await rejection(pathKid)).toBe('unknown_kid');
    expect(reload).toHaveBeenCalledTimes(0);
    for (let i = 0; i < 5; i++) expect(await rejection(forged)).toBe('unknown_kid');
    expect(reload).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + (signing.tokens.options.unknownKidReloadSeconds + 1) * 1000);
    expect(await rejection(forged)).toBe('unknown_kid');
    expect(reload).toHaveBeenCalledTimes(2);
    reload.mockRestore();
  });

  it('keeps verifying with the last loaded keys when the secret store fails, retrying at most every few seconds', async () => {
    // Prepare: a token, then a store that fails and a ring that wants a reload.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 7_200_000);
    const { token } = await signing.tokens.mint({ sub: 'user-1', username: 'alice', roles: [] });
    const describe = vi.spyOn(signing.adapters.secrets, 'describe').mockRejectedValue(new Error('ServiceUnavailable'));
    const stale = vi.spyOn(signing.tokens.ring, 'stale').mockReturnValue(true);
    // Act
    for (let i = 0; i < 3; i++) await expect(signing.tokens.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
    // Assess: one failed attempt, then the back-off
    expect(describe).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + 6000);
    await signing.tokens.verify(token);
    expect(describe).toHaveBeenCalledTimes(2);
    describe.mockRestore();
    stale.mockRestore();
  });
});
