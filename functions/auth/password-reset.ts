import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { countRevocation, securityEvent } from '#audit/security-events';
import { config } from '#platform/config';
import { consoleLink } from '#platform/console-link';
import { documentDb } from '#platform/dynamo';
import { AppError, validationError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { tableName } from '#platform/tables';
import { usernameKey } from '#platform/username';
import { isExternal, type User } from '#users/model';
import type { UserStore } from '#users/store';
import { nowSeconds } from './clock';
import { countInWindow } from './counters';
import { addressKey } from './login-guard';
import { authMailer } from './mailer';
import { newPasswordChanges } from './new-password';

/**
 * Self-service password reset by e-mail:
 *
 * - `request(username)` answers the same (202) in the same time for every username: a local, enabled user with an
 *   e-mail address gets a one-time link `<console>/console/#/reset?token=<token>`, valid RESET_LINK_SECONDS; nobody
 *   else gets anything, and the caller cannot tell which happened. The token (256 random bits) is stored only as its
 *   SHA-256 (`pwreset#<hash>` in auth-state). Requests are limited per source address like logins (429), and at most
 *   RESET_MAILS_PER_USER links per username go out per RESET_MAIL_WINDOW_SECONDS (more are answered alike, unsent).
 * - `complete(token, newPassword)` sets the password (policy and history apply, 422 leaves the link usable), ends
 *   every session of the user and spends the link — a conditional write, so a link works once.
 *
 * The link's origin is configuration (CONSOLE_BASE_URL, else PUBLIC_BASE_URL), never the request's Host header:
 * whoever can send a request must not choose where a victim's link points.
 */
export const RESET_LINK_SECONDS = 30 * 60;
export const RESET_MAILS_PER_USER = 3;
export const RESET_MAIL_WINDOW_SECONDS = 15 * 60;
/**
 * Every request takes at least this long, whatever happened: a mail sent or not must not show in the time.
 * Longer than sending a mail takes.
 */
export const RESET_REQUEST_MIN_MS = 800;

const tokenKey = (token: string) => `pwreset#${createHash('sha256').update(token).digest('hex')}`;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const resetLink = (token: string) => consoleLink(`/reset?token=${token}`);

const invalidLink = () =>
  validationError('The reset link is not valid: it was used, has expired, or was never issued', [
    { path: 'body.token', code: 'invalid_or_expired', message: 'request a new link' },
  ]);

interface ResetItem {
  pk: string;
  userId: string;
  expiresAt: number;
  usedAt?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function limitPerAddress(prefix: string, sourceIp: string, now: number): Promise<void> {
  const window = await countInWindow(
    `${prefix}#${addressKey(sourceIp)}`,
    60,
    config().LOGIN_RATE_LIMIT_PER_MINUTE,
    now,
  );
  if (window.exceeded) {
    throw new AppError('RATE_LIMITED', 'Too many password reset attempts from this address', {
      headers: { 'Retry-After': String(Math.max(1, window.resetAt - now)) },
    });
  }
}

const mailText = (user: User, link: string) =>
  [
    `Hello ${user.displayName ?? user.username},`,
    '',
    'someone (hopefully you) asked to reset the password of your Charge Records account',
    `"${user.username}". To choose a new password, open this link within ${RESET_LINK_SECONDS / 60} minutes:`,
    '',
    link,
    '',
    'The link works once. If you did not ask for it, ignore this mail: your password stays as it is.',
  ].join('\n');

export class PasswordResetService {
  constructor(private readonly users: UserStore) {}

  async request(username: string, meta: RequestMeta): Promise<void> {
    const started = Date.now();
    const now = nowSeconds();
    await limitPerAddress('resetip', meta.sourceIp, now);
    try {
      await this.issue(username, meta, now);
    } finally {
      await pause(Math.max(0, started + RESET_REQUEST_MIN_MS - Date.now()));
    }
  }

  /** The same steps for every username (lookup, counter, token, audit record); only an eligible user's get a mail. */
  private async issue(username: string, meta: RequestMeta, now: number): Promise<void> {
    const user = await this.users.getByUsername(username);
    const perUser = await countInWindow(
      `resetuser#${usernameKey(username)}`,
      RESET_MAIL_WINDOW_SECONDS,
      RESET_MAILS_PER_USER,
      now,
    );
    const token = randomBytes(32).toString('base64url');
    const eligible = user !== undefined && !user.disabled && !isExternal(user) && user.email !== undefined;
    const why = !user
      ? 'no such user'
      : !eligible
        ? 'no local, enabled account with an e-mail address'
        : perUser.exceeded
          ? 'too many links for this user'
          : undefined;
    if (user && eligible && !perUser.exceeded) {
      await documentDb().send(
        new PutCommand({
          TableName: tableName('auth-state'),
          Item: { pk: tokenKey(token), userId: user.userId, expiresAt: now + RESET_LINK_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      await authMailer().send({
        to: [user.email as string],
        subject: 'Reset your Charge Records password',
        text: mailText(user, resetLink(token)),
      });
    }
    await securityEvent({
      action: 'password-reset.request',
      subject: { userId: user?.userId, username: user?.username ?? username },
      requestId: meta.requestId,
      sourceIp: meta.sourceIp,
      ...(why ? { reason: `no link sent: ${why}` } : { reason: 'link sent' }),
    });
  }

  async complete(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
    const now = nowSeconds();
    await limitPerAddress('resetip', meta.sourceIp, now);
    if (!TOKEN_SHAPE.test(token)) throw invalidLink();
    const out = await documentDb().send(
      new GetCommand({ TableName: tableName('auth-state'), Key: { pk: tokenKey(token) }, ConsistentRead: true }),
    );
    const item = out.Item as ResetItem | undefined;
    // Expired is absent, whether or not TTL has deleted it yet.
    if (!item || typeof item.userId !== 'string' || item.expiresAt <= now || item.usedAt !== undefined) {
      throw invalidLink();
    }
    const user = await this.users.getById(item.userId);
    if (!user || user.disabled || isExternal(user)) throw invalidLink();
    // Policy and history first: a refused password leaves the link usable for a better one.
    const changes = await newPasswordChanges(user, newPassword);
    try {
      // Spent by a conditional update (the auth function deletes nothing): of two uses, one wins.
      await documentDb().send(
        new UpdateCommand({
          TableName: tableName('auth-state'),
          Key: { pk: tokenKey(token) },
          UpdateExpression: 'SET usedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw invalidLink();
      throw err;
    }
    await this.users.update(
      user.userId,
      { ...changes, tokensValidAfter: Date.now(), tokensValidAfterExceptSession: undefined },
      {
        actor: { userId: user.userId, username: user.username },
        requestId: meta.requestId,
        correlationId: meta.correlationId,
        reason: 'password reset by e-mail link',
      },
    );
    countRevocation('password-change');
  }
}
