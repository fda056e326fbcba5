/**
 * What the audit trail needs to know of a stored definition item, apart from the store (which brings the reports
 * model and its schemas): its entity name, key, and the storage attributes the attribution MAC does not cover.
 */
export const DEFINITION_ENTITY = 'report-definition';

/** Storage attributes of a definition item the attribution MAC does not cover (derived from the definition). */
export const DEFINITION_UNSIGNED_FIELDS: ReadonlySet<string> = new Set(['pk', 'sk', 'kind', 'createdAtId']);

export const DEFINITION_SK = 'definition';

export const definitionKey = (id: string) => ({ pk: `${DEFINITION_SK}#${id}`, sk: DEFINITION_SK });
