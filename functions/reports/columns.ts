import { type Charge, STATUSES } from '#charges/model';
import type { AuditRecord } from '#audit/record';
import {
  type Cell,
  type Column,
  type CellType,
  dateCell,
  isoDate,
  isoDateTime,
  type Lang,
} from '#reports/writers/table';

export type ReportKind = 'charges' | 'audit';

interface Field<R> {
  key: string;
  label: Record<Lang, string>;
  type: CellType;
  width: number;
  /** See Column.fit. */
  fit?: string;
  /** See Column.unbreakable. */
  unbreakable?: boolean;
  /** For `date` and `datetime` fields: the ISO text as stored; the projection makes the cell. */
  value(record: R): Cell;
}

const text = (v: unknown): Cell => (v === undefined || v === null ? null : String(v));

const LONGEST_STATUS = STATUSES.reduce((a, b) => (b.length > a.length ? b : a));

/** The columns of a charges export, in default order (the charge's fields). */
export const CHARGE_FIELDS: readonly Field<Charge>[] = [
  {
    key: 'lotNumber',
    label: { de: 'Chargennummer', en: 'Lot number' },
    type: 'text',
    width: 16,
    unbreakable: true,
    value: (c) => text(c.lotNumber),
  },
  {
    key: 'chargeId',
    label: { de: 'Charge', en: 'Batch' },
    type: 'text',
    width: 48,
    unbreakable: true,
    value: (c) => c.chargeId,
  },
  {
    key: 'articleId',
    label: { de: 'Artikel', en: 'Article' },
    type: 'text',
    width: 18,
    unbreakable: true,
    value: (c) => c.articleId,
  },
  { key: 'quantity', label: { de: 'Menge', en: 'Quantity' }, type: 'number', width: 13, value: (c) => c.quantity },
  { key: 'unit', label: { de: 'Einheit', en: 'Unit' }, type: 'text', width: 9, value: (c) => c.unit },
  {
    key: 'productionDate',
    label: { de: 'Herstelldatum', en: 'Production date' },
    type: 'date',
    width: 17,
    value: (c) => c.productionDate ?? null,
  },
  {
    key: 'expiryDate',
    label: { de: 'Verfallsdatum', en: 'Expiry date' },
    type: 'date',
    width: 17,
    value: (c) => c.expiryDate ?? null,
  },
  {
    key: 'status',
    label: { de: 'Status', en: 'Status' },
    type: 'text',
    width: 14,
    fit: LONGEST_STATUS,
    value: (c) => c.status,
  },
  { key: 'notes', label: { de: 'Bemerkungen', en: 'Notes' }, type: 'text', width: 40, value: (c) => text(c.notes) },
  { key: 'version', label: { de: 'Version', en: 'Version' }, type: 'number', width: 9, value: (c) => c.version },
  {
    key: 'createdAt',
    label: { de: 'Angelegt am', en: 'Created at' },
    type: 'datetime',
    width: 21,
    value: (c) => c.createdAt ?? null,
  },
  {
    key: 'createdBy',
    label: { de: 'Angelegt von', en: 'Created by' },
    type: 'text',
    width: 16,
    value: (c) => text(c.createdBy?.username),
  },
  {
    key: 'updatedAt',
    label: { de: 'Geändert am', en: 'Updated at' },
    type: 'datetime',
    width: 21,
    value: (c) => c.updatedAt ?? null,
  },
  {
    key: 'updatedBy',
    label: { de: 'Geändert von', en: 'Updated by' },
    type: 'text',
    width: 16,
    value: (c) => text(c.updatedBy?.username),
  },
  {
    key: 'deletedAt',
    label: { de: 'Gelöscht am', en: 'Deleted at' },
    type: 'datetime',
    width: 21,
    value: (c) => c.deletedAt ?? null,
  },
];

/** The columns of an audit export (the audit record's fields). */
export const AUDIT_FIELDS: readonly Field<AuditRecord>[] = [
  { key: 'at', label: { de: 'Zeitpunkt', en: 'Time' }, type: 'datetime', width: 20, value: (r) => r.at ?? null },
  {
    key: 'entityType',
    label: { de: 'Objektart', en: 'Entity type' },
    type: 'text',
    width: 10,
    value: (r) => r.entityType,
  },
  {
    key: 'entityId',
    label: { de: 'Objekt', en: 'Entity' },
    type: 'text',
    width: 38,
    unbreakable: true,
    value: (r) => r.entityId,
  },
  { key: 'action', label: { de: 'Aktion', en: 'Action' }, type: 'text', width: 14, value: (r) => r.action },
  {
    key: 'actor',
    label: { de: 'Benutzer', en: 'User' },
    type: 'text',
    width: 16,
    value: (r) => text(r.actor?.username),
  },
  {
    key: 'actorId',
    label: { de: 'Benutzer-ID', en: 'User id' },
    type: 'text',
    width: 38,
    value: (r) => text(r.actor?.userId),
  },
  { key: 'reason', label: { de: 'Begründung', en: 'Reason' }, type: 'text', width: 30, value: (r) => text(r.reason) },
  {
    key: 'version',
    label: { de: 'Version', en: 'Version' },
    type: 'number',
    width: 8,
    value: (r) => r.version ?? null,
  },
  {
    key: 'changes',
    label: { de: 'Änderungen', en: 'Changes' },
    type: 'text',
    width: 50,
    value: (r) => JSON.stringify(r.changes ?? {}),
  },
  {
    key: 'requestId',
    label: { de: 'Anfrage-ID', en: 'Request id' },
    type: 'text',
    width: 38,
    value: (r) => text(r.requestId),
  },
  { key: 'auditId', label: { de: 'Audit-ID', en: 'Audit id' }, type: 'text', width: 38, value: (r) => r.auditId },
  { key: 'seq', label: { de: 'Nr.', en: 'Seq' }, type: 'number', width: 6, value: (r) => r.seq },
  { key: 'hash', label: { de: 'Hash', en: 'Hash' }, type: 'text', width: 66, value: (r) => r.hash },
];

/** Columns a PDF list leaves out by default: too wide for a page and of no use on paper. */
const PDF_DEFAULT_SKIP: Record<ReportKind, ReadonlySet<string>> = {
  charges: new Set(['createdAt', 'createdBy', 'deletedAt']),
  audit: new Set(['actorId', 'requestId', 'auditId', 'hash', 'seq']),
};

/** Columns of the kind that only an export with deleted records has (by default). */
const DELETED_ONLY: Record<ReportKind, ReadonlySet<string>> = { charges: new Set(['deletedAt']), audit: new Set() };

export const FIELD_KEYS: Record<ReportKind, readonly string[]> = {
  charges: CHARGE_FIELDS.map((f) => f.key),
  audit: AUDIT_FIELDS.map((f) => f.key),
};

export interface Projection<R> {
  columns: Column[];
  row(record: R): Cell[];
}

/** A stored ISO date or date-time in the canonical form the writers would print: kept as text. */
const CANONICAL: Partial<Record<CellType, RegExp>> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  datetime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
};

/**
 * How date cells are made: `typed` as `Date` (XLSX date cells, the PDF's formatting); `text` as the ISO
 * text a CSV holds, which is what the records store already — parsing it into a Date only to print the
 * same text again was a third of a CSV export's time. Text that is not canonical goes through a Date.
 */
export type DateCells = 'typed' | 'text';

function dateValue(type: CellType, cells: DateCells, value: (record: unknown) => Cell): (record: unknown) => Cell {
  if (cells === 'typed') return (record) => dateCell(value(record) as string | null);
  const canonical = CANONICAL[type] as RegExp;
  const print = type === 'date' ? isoDate : isoDateTime;
  return (record) => {
    const text = value(record) as string | null;
    if (text === null || canonical.test(text)) return text;
    const date = dateCell(text);
    return date && print(date);
  };
}

function project<R>(fields: readonly Field<R>[], keys: readonly string[], lang: Lang, dates: DateCells): Projection<R> {
  const chosen = keys.map((k) => {
    const field = fields.find((f) => f.key === k);
    if (!field) throw new Error(`Unknown column ${k}`);
    return field;
  });
  const values = chosen.map((f) =>
    f.type === 'date' || f.type === 'datetime' ? dateValue(f.type, dates, f.value as (r: unknown) => Cell) : f.value,
  ) as ((record: R) => Cell)[];
  return {
    columns: chosen.map((f) => ({
      key: f.key,
      header: f.label[lang],
      type: f.type,
      width: f.width,
      ...(f.fit ? { fit: f.fit } : {}),
      ...(f.unbreakable ? { unbreakable: true } : {}),
    })),
    row: (record) => values.map((value) => value(record)),
  };
}

/** The chosen columns (validated by the caller against FIELD_KEYS) or the kind's defaults for the format. */
export function defaultColumns(kind: ReportKind, format: string, includeDeleted = false): string[] {
  const all = FIELD_KEYS[kind].filter((k) => includeDeleted || !DELETED_ONLY[kind].has(k));
  const chosen = format === 'pdf' ? all.filter((k) => !PDF_DEFAULT_SKIP[kind].has(k)) : [...all];
  // An export with deleted records marks them, whatever else it leaves out.
  return includeDeleted && kind === 'charges' && !chosen.includes('deletedAt') ? [...chosen, 'deletedAt'] : chosen;
}

export function chargeProjection(keys: readonly string[], lang: Lang, dates: DateCells = 'typed'): Projection<Charge> {
  return project(CHARGE_FIELDS, keys, lang, dates);
}

export function auditProjection(
  keys: readonly string[],
  lang: Lang,
  dates: DateCells = 'typed',
): Projection<AuditRecord> {
  return project(AUDIT_FIELDS, keys, lang, dates);
}
