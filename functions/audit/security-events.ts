import { appendAuditRecord } from './audit-log';
import { metrics } from '#platform/powertools';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { lockouts, logins, revocations } from '#platform/observability/counters';
import { usernameKey } from '#platform/username';

/**
 * Security events on the audit trail, through the one shared audit writer. A known user's events
 * go on that user's own chain (`user/<userId>`), serialised with the changes the users stream records; events
 * about usernames that do not exist go on `login/<username>`. Only the source IP and what changed are kept —
 * never a password, hash or token.
 */
/**
 * Events that change no user item. Changes to the item itself — role change, disable, password change,
 * token revocation — reach the audit trail from the users stream (functions/audit-stream), named so.
 */
export type SecurityAction =
  | 'login.success'
  | 'login.failure'
  | 'signature.failure'
  | 'lockout'
  | 'unlock'
  | 'logout'
  | 'refresh.reuse'
  | 'password-reset.request';

export interface SecurityEventInput {
  action: SecurityAction;
  /** Whom it is about; `userId` absent for an unknown username. */
  subject: { userId?: string; username: string };
  /** Who did it; default the subject (a login is done by the one logging in). */
  actor?: { userId: string; username: string };
  requestId?: string;
  sourceIp?: string;
  reason?: string;
  details?: Record<string, { from: unknown; to: unknown }>;
}

/**
 * EMF metrics per action, named as Prometheus counts them: a refresh-token reuse revokes its whole family, so it
 * is a `Revocation` as well (Prometheus: `revocations_total{kind="refresh-reuse"}`).
 */
const METRIC_NAMES: Partial<Record<SecurityAction, readonly string[]>> = {
  'login.success': ['LoginSucceeded'],
  'login.failure': ['LoginFailed'],
  'signature.failure': ['SignatureFailed'],
  lockout: ['Lockout'],
  'refresh.reuse': ['RefreshTokenReuse', 'Revocation'],
  logout: ['Revocation'],
};

function countForPrometheus(input: SecurityEventInput): void {
  if (input.action === 'login.success') logins.inc({ outcome: 'success' });
  else if (input.action === 'login.failure') logins.inc({ outcome: 'failure' });
  else if (input.action === 'lockout') lockouts.inc({ scope: String(input.details?.scope?.to ?? 'pair') });
  else if (input.action === 'logout') revocations.inc({ kind: 'logout' });
  else if (input.action === 'refresh.reuse') revocations.inc({ kind: 'refresh-reuse' });
}

/** Token revocations that are item changes (revoke-tokens) are counted here; their audit comes from the stream. */
export function countRevocation(kind: 'revoke-tokens' | 'password-change' | 'disable' | 'role-change'): void {
  revocations.inc({ kind });
  metrics.addMetric('Revocation', MetricUnit.Count, 1);
}

export async function securityEvent(input: SecurityEventInput): Promise<void> {
  countForPrometheus(input);
  const known = input.subject.userId !== undefined;
  const actor = input.actor ?? { userId: input.subject.userId ?? 'anonymous', username: input.subject.username };
  for (const metric of METRIC_NAMES[input.action] ?? []) metrics.addMetric(metric, MetricUnit.Count, 1);
  await appendAuditRecord({
    entityType: known ? 'user' : 'login',
    entityId: known ? (input.subject.userId as string) : usernameKey(input.subject.username),
    action: input.action,
    actor,
    requestId: input.requestId,
    reason: input.reason,
    changes: {
      ...(input.sourceIp ? { sourceIp: { from: null, to: input.sourceIp } } : {}),
      ...input.details,
    },
  });
}
