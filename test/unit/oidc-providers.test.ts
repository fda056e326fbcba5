import { describe, expect, it } from 'vitest';
import { parseOidcProviders } from '#auth/oidc';

/** OIDC_PROVIDERS entries that offer browser sign-in: an id to name them in URLs, unique and not a route's. */
const entry = (extra: Record<string, unknown>) => ({
  issuer: 'https://login.example.com',
  audience: 'charge-records',
  jwksUri: 'https://login.example.com/jwks',
  ...extra,
});

describe('parseOidcProviders', () => {
  it('accepts a browser sign-in provider with id, clientId, clientSecretRef and displayName', () => {
    const [provider] = parseOidcProviders(
      JSON.stringify([
        entry({ id: 'corp', clientId: 'cr', clientSecretRef: 'sso/corp', displayName: 'Corporate sign-in' }),
      ]),
    );
    expect(provider).toMatchObject({ id: 'corp', clientId: 'cr', clientSecretRef: 'sso/corp' });
  });

  it.each([
    ['a clientId without an id', [entry({ clientId: 'cr' })], /no id/],
    ['an id used twice', [entry({ id: 'corp' }), entry({ id: 'corp', issuer: 'https://other.example.com' })], /twice/],
    ['an id that is a route (callback)', [entry({ id: 'callback', clientId: 'cr' })], /callback/],
    ['an id with a slash', [entry({ id: 'a/b', clientId: 'cr' })], /lower-case/],
  ])('refuses %s', (_what, providers, message) => {
    expect(() => parseOidcProviders(JSON.stringify(providers))).toThrow(message);
  });
});
