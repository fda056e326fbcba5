export { appendAuditRecord, AuditLog, type AuditInput, type AppendResult } from './audit-log';
export {
  type AuditActor,
  type AuditRecord,
  type ChainCheck,
  type FieldChanges,
  computeHash,
  GENESIS_HASH,
  verifyChain,
} from './record';
export { canonicalJson } from './canonical-json';
export { isSecretField, REDACTED, redact, SECRET_FIELDS } from './redact';
export { diffFields } from './diff';
