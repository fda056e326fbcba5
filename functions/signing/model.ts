import * as z from '#platform/zod';

/** Query of `POST /admin/keys/rotate`. */
export const RotateQuery = z.strictObject({
  /** Rotate even while the previous key's overlap window is open (cuts off its still-valid tokens). */
  force: z.optional(z.enum(['true', 'false'])),
});

// Response bodies.

/** A public signing key (RFC 7517); `kid` is its RFC 7638 thumbprint. */
export const PublicJwk = z.object({
  kty: z.literal('RSA'),
  kid: z.string(),
  alg: z.literal('RS256'),
  use: z.literal('sig'),
  n: z.string(),
  e: z.string(),
});

/** The keys that verify access tokens: the current one first, then a pending and a previous one in their overlap. */
export const Jwks = z.object({ keys: z.array(PublicJwk) }).check(
  z.meta({
    examples: [
      {
        keys: [
          {
            kty: 'RSA',
            kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
            alg: 'RS256',
            use: 'sig',
            n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
            e: 'AQAB',
          },
        ],
      },
    ],
  }),
);

/** OpenID discovery: where the keys are and how tokens are issued. */
export const OpenIdConfiguration = z.object({
  issuer: z.string(),
  jwks_uri: z.url(),
  token_endpoint: z.url(),
  grant_types_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  claims_supported: z.array(z.string()),
});
export type OpenIdConfiguration = z.infer<typeof OpenIdConfiguration>;

/**
 * The 202 body of `POST /admin/keys/rotate`: one shape locally and in AWS (docs/signing-keys.md).
 * - `status`: `rotated` when the rotation has finished (local: the steps run in-process before the answer);
 *   `rotation-started` when Secrets Manager runs them now, after the answer (AWS).
 * - `rotationId`: the rotation's ClientRequestToken, i.e. the new secret version's id and the `requestId` of the
 *   `key.rotation` audit record.
 * - `kid`: the new current key, when it is known at answer time (local only; in AWS it appears in the JWKS and on
 *   the audit trail once finishSecret has run).
 */
export const RotationAccepted = z
  .object({
    status: z.enum(['rotated', 'rotation-started']),
    rotationId: z.uuid(),
    kid: z.optional(z.string()),
  })
  .check(z.meta({ examples: [{ status: 'rotation-started', rotationId: '2d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a' }] }));
export type RotationAccepted = z.infer<typeof RotationAccepted>;
