import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { AppError } from '#platform/errors';
import { tableName } from '#platform/tables';
import type { User } from '#users/model';
import type { ChangeContext, UserStore } from '#users/store';
import { looksLikeTotp, matchingTotpStep, recoveryCodeHash, TOTP_PARAMS, TOTP_WINDOW } from './totp';

/** A user who has confirmed an MFA enrolment: every password check also asks for a code. */
export const mfaEnrolled = (user: Pick<User, 'mfaSecret' | 'mfaEnrolledAt'>) =>
  user.mfaSecret !== undefined && user.mfaEnrolledAt !== undefined;

/**
 * Marks TOTP step `step` used for the user (`totp#<userId>` in auth-state): refused when that step or a later
 * one was used already, so each code works once and no code older than the newest one used works at all. The
 * item lives as long as a used step could still be accepted (the window), and an expired one counts as absent.
 */
async function claimTotpStep(userId: string, step: number, nowSeconds: number): Promise<boolean> {
  const expiresAt = (step + TOTP_WINDOW + 2) * TOTP_PARAMS.period;
  try {
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('auth-state'),
        Key: { pk: `totp#${userId}` },
        UpdateExpression: 'SET lastStep = :step, expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(pk) OR lastStep < :step OR expiresAt <= :now',
        ExpressionAttributeValues: { ':step': step, ':exp': expiresAt, ':now': nowSeconds },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/**
 * Spends one recovery code: taken off the user in a write conditional on the user's version, so two requests
 * with the same code cannot both succeed (the store re-reads and decides again on a lost race).
 */
async function spendRecoveryCode(users: UserStore, user: User, code: string, context: ChangeContext): Promise<boolean> {
  const hash = recoveryCodeHash(code);
  if (!user.recoveryCodeHashes?.includes(hash)) return false;
  const gone = new AppError('CONFLICT', 'recovery code already used');
  try {
    await users.update(
      user.userId,
      (current) => {
        const left = current.recoveryCodeHashes ?? [];
        if (!left.includes(hash)) throw gone;
        return { recoveryCodeHashes: left.filter((h) => h !== hash) };
      },
      { ...context, reason: 'recovery code used' },
    );
    return true;
  } catch (err) {
    if (err === gone) return false;
    throw err;
  }
}

/**
 * Checks a second-factor answer of an enrolled user: a six-digit TOTP code (each usable once) or one of the
 * recovery codes (each usable once). False for anything wrong, used or unshaped.
 */
export async function useSecondFactor(
  users: UserStore,
  user: User,
  answer: string,
  context: ChangeContext,
  nowMs = Date.now(),
): Promise<boolean> {
  if (!user.mfaSecret) return false;
  if (looksLikeTotp(answer)) {
    const step = matchingTotpStep(user.mfaSecret, answer.trim(), nowMs);
    return step !== undefined && claimTotpStep(user.userId, step, Math.floor(nowMs / 1000));
  }
  return spendRecoveryCode(users, user, answer, context);
}

/** A code from the pending secret, during enrolment (`POST /users/me/mfa/confirm`): also marked used. */
export async function usePendingTotp(user: User, code: string, nowMs = Date.now()): Promise<boolean> {
  if (!user.mfaPendingSecret || !looksLikeTotp(code)) return false;
  const step = matchingTotpStep(user.mfaPendingSecret, code.trim(), nowMs);
  return step !== undefined && claimTotpStep(user.userId, step, Math.floor(nowMs / 1000));
}
