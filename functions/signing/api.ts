import { randomUUID } from 'node:crypto';
import { publicBaseUrl } from '#platform/http/base-url';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { config } from '#platform/config';
import { AppError } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { logger, metrics } from '#platform/powertools';
import { signingAdapters } from './adapters';
import { jwksDocument } from './key-ring';
import { secondsUntilSafeRotation, SYSTEM_ACTOR } from './rotation';
import { accessTokens } from './tokens';
import { Jwks, OpenIdConfiguration, RotateQuery, RotationAccepted } from './model';

export const routes = defineRoutes({
  'GET /.well-known/jwks.json': route({
    doc: {
      summary: 'Public keys that verify access tokens (JWKS)',
      responses: [{ status: 200, description: 'The key set', body: Jwks }],
    },
    run: async () => {
      const snapshot = await accessTokens().ring.snapshot();
      // From memory: a public route must not cost a Secrets Manager call per request.
      const createdAt = snapshot.current?.createdAt;
      if (createdAt) {
        metrics.addMetric(
          'SigningKeyAgeSeconds',
          MetricUnit.Seconds,
          Math.max(0, Math.round((Date.now() - Date.parse(createdAt)) / 1000)),
        );
      }
      return ok(jwksDocument(snapshot));
    },
  }),

  'GET /.well-known/openid-configuration': route({
    doc: {
      summary: 'OpenID discovery document',
      responses: [{ status: 200, description: 'Issuer, key set and token endpoint', body: OpenIdConfiguration }],
    },
    run: (ctx) => {
      const issuer = config().JWT_ISSUER.replace(/\/$/, '');
      // An issuer that is a URL is where clients find us; otherwise (a URN) the URL this request came in on.
      const base = /^https?:\/\//.test(issuer) ? issuer : publicBaseUrl(ctx.event);
      return ok({
        issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/auth/login`,
        grant_types_supported: ['password', 'refresh_token'],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['none'],
        claims_supported: ['iss', 'aud', 'sub', 'iat', 'nbf', 'exp', 'jti', 'type', 'roles', 'username'],
      });
    },
  }),

  'POST /admin/keys/rotate': route({
    query: RotateQuery,
    doc: {
      summary: 'Rotate the token signing key',
      description:
        "Inside the previous key's overlap window this is `CONFLICT` with `Retry-After` (its tokens are still " +
        'valid); `force=true` rotates anyway.',
      responses: [{ status: 202, description: 'Rotated, or rotation started', body: RotationAccepted }],
      errors: ['CONFLICT'],
    },
    run: async ({ query, user }) => {
      const adapters = signingAdapters();
      const wait = await secondsUntilSafeRotation(adapters, config().signingKeyOverlapSeconds);
      if (wait > 0 && query.force !== 'true') {
        throw new AppError('CONFLICT', 'The previous rotation is too recent: its key still verifies unexpired tokens', {
          details: { retryAfterSeconds: wait, override: 'POST /admin/keys/rotate?force=true' },
          headers: { 'Retry-After': String(wait) },
        });
      }
      const requestedBy = user ? { userId: user.userId, username: user.username } : SYSTEM_ACTOR;
      const token = randomUUID();
      logger.info('Signing key rotation requested', {
        actor: requestedBy.userId,
        force: query.force === 'true',
        rotationId: token,
      });
      const started = await adapters.requestRotation(token, requestedBy);
      let body: RotationAccepted = started;
      if (started.status === 'rotated') {
        // Rotated in this process: this function's own key ring sees the new key at once.
        const snapshot = await accessTokens().ring.reload();
        body = { ...started, ...(snapshot.current ? { kid: snapshot.current.kid } : {}) };
      }
      return { statusCode: 202, body };
    },
  }),
});

export const handler = httpHandler(routes);
