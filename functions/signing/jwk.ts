import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { PublicJwk } from './ports';

/** RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(jwk: { e: string; kty: string; n: string }): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A public key (DER SubjectPublicKeyInfo as KMS `GetPublicKey` returns it, or a KeyObject) → our JWK. */
export function publicKeyToJwk(key: Uint8Array | KeyObject): PublicJwk {
  const keyObject =
    key instanceof Uint8Array ? createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }) : key;
  if (keyObject.asymmetricKeyType !== 'rsa') throw new Error(`Expected an RSA key, got ${keyObject.asymmetricKeyType}`);
  const { n, e } = keyObject.export({ format: 'jwk' });
  if (!n || !e) throw new Error('RSA public key without modulus or exponent');
  return { kty: 'RSA', kid: jwkThumbprint({ e, kty: 'RSA', n }), alg: 'RS256', use: 'sig', n, e };
}
