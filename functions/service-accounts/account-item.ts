/**
 * What the audit trail needs to know of a stored service account, apart from the model (which brings the schemas and
 * the permissions): its entity name, key, and the storage attributes the attribution MAC does not cover.
 */
export const SERVICE_ACCOUNT_ENTITY = 'service-account';
export const SERVICE_ACCOUNT_KIND = 'service-account';
export const serviceAccountPk = (id: string) => `service-account#${id}`;

/** Storage attributes the attribution MAC does not cover: the key and the byKind index attributes (`username` = name). */
export const SERVICE_ACCOUNT_UNSIGNED_FIELDS: ReadonlySet<string> = new Set(['pk', 'kind', 'username']);
