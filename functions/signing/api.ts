import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from '#platform/http/headers';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { config } from '#platform/config';
import { AppError } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { ok, route } from '#platform/http/router';
import { logger, metrics } from '#platform/powertools';
import { signingAdapters } from './adapters';
import { jwksDocument } from './key-ring';
import { secondsUntilSafeRotation, SYSTEM_ACTOR } from './rotation';
import { accessTokens } from './tokens';
import { RotateQuery } from './model';

/**
 * The 202 body of `POST /admin/keys/rotate`: one shape locally and in AWS (docs/signing-keys.md).
 * - `status`: `rotated` when the rotation has finished (local: the steps run in-process before the answer);
 *   `rotation-started` when Secrets Manager runs them now, after the answer (AWS).
 * - `rotationId`: the rotation's ClientRequestToken, i.e. the new secret version's id and the `requestId` of the
 *   `key.rotation` audit record.
 * - `kid`: the new current key, when it is known at answer time (local only; in AWS it appears in the JWKS and on
 *   the audit trail once finishSecret has run).
 */
export interface RotationAccepted {
  status: 'rotated' | 'rotation-started';
  rotationId: string;
  kid?: string;
}

/** The base URL the caller used: scheme from X-Forwarded-Proto (API Gateway sets it), host, and any stage prefix. */
function publicBaseUrl(event: APIGatewayProxyEvent): string {
  const proto = header(event.headers, 'x-forwarded-proto') ?? 'http';
  const host = header(event.headers, 'host') ?? event.requestContext.domainName ?? 'localhost';
  const fullPath = event.requestContext.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : '';
  return `${proto}://${host}${prefix}`;
}

export const handler = httpHandler({
  'GET /.well-known/jwks.json': route({
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
