import { diffFields } from '#audit/diff';
import type { JsonValue } from '#audit/canonical-json';
import { CHARGE_METADATA_FIELDS, type ChargeState, toPublicCharge } from '#charges/model';
import { signatureOf } from '#charges/signature';
import type { ChargeStore } from '#charges/store';
import { notFound } from '#platform/errors';
import { CHARGE_FIELDS, chargeProjection, FIELD_KEYS } from '#reports/columns';
import { formatDate, formatDateTime, formatNumber, statusLabel } from './labels';
import { PdfReport } from './pdf';
import { type Cell, type Column, dateCell, type Lang } from './table';

/** The Chargenbericht prints this many of the latest versions and says how many earlier ones there are. */
export const REPORT_VERSIONS = 200;

const LABELS = {
  de: {
    title: (lot: string) => `Chargenbericht ${lot}`,
    details: 'Chargendaten',
    history: 'Statusverlauf und Änderungen',
    signatures: 'Elektronische Unterschriften',
    noSignatures: 'Keine elektronischen Unterschriften.',
    cols: ['Version', 'Zeitpunkt', 'Aktion', 'Benutzer', 'Status', 'Begründung', 'Änderungen'],
    sigCols: ['Version', 'Unterzeichnet von', 'Datum und Uhrzeit', 'Bedeutung', 'Verfahren'],
    actions: { create: 'Angelegt', update: 'Geändert', delete: 'Gelöscht', review: 'Geprüft' },
    meanings: {
      approved_for_release: 'Zur Freigabe genehmigt',
      rejected: 'Abgelehnt',
      blocked: 'Gesperrt',
      reviewed: 'Geprüft',
    },
    methods: { password: 'Passwort', 'password+totp': 'Passwort und TOTP', sso: 'SSO-Anmeldung' },
    filterCharge: 'Charge',
    filterLot: 'Chargennummer',
    earlier: (n: number, shown: number) =>
      `Gezeigt werden die letzten ${shown} Versionen; ${formatNumber(n, 'de')} frühere Versionen sind nicht abgedruckt (vollständig über GET /charges/{id}/history).`,
    deleted: (at: string, by: string) => `GELÖSCHT am ${at} von ${by}`,
    deletedLabel: 'Gelöscht am',
    none: '–',
    file: 'chargenbericht',
  },
  en: {
    title: (lot: string) => `Batch report ${lot}`,
    details: 'Batch details',
    history: 'Status history and changes',
    signatures: 'Electronic signatures',
    noSignatures: 'No electronic signatures.',
    cols: ['Version', 'Time', 'Action', 'User', 'Status', 'Reason', 'Changes'],
    sigCols: ['Version', 'Signed by', 'Date and time', 'Meaning', 'Method'],
    actions: { create: 'Created', update: 'Updated', delete: 'Deleted', review: 'Reviewed' },
    meanings: {
      approved_for_release: 'Approved for release',
      rejected: 'Rejected',
      blocked: 'Blocked',
      reviewed: 'Reviewed',
    },
    methods: { password: 'Password', 'password+totp': 'Password and TOTP', sso: 'SSO sign-in' },
    filterCharge: 'Batch',
    filterLot: 'Lot number',
    earlier: (n: number, shown: number) =>
      `Showing the latest ${shown} versions; ${formatNumber(n, 'en')} earlier versions are not printed (all of them: GET /charges/{id}/history).`,
    deleted: (at: string, by: string) => `DELETED on ${at} by ${by}`,
    deletedLabel: 'Deleted at',
    none: '–',
    file: 'batch-report',
  },
} as const;

/** What the history compares: the data, not the change's bookkeeping nor the signature (printed on its own). */
const HISTORY_IGNORED: ReadonlySet<string> = new Set([...CHARGE_METADATA_FIELDS, 'signature']);

type Action = keyof (typeof LABELS)['de']['actions'];

interface Entry {
  state: ChargeState;
  action: Action;
  changes: Record<string, { from: JsonValue; to: JsonValue }>;
  signature: ReturnType<typeof signatureOf>;
}

function entryOf(state: ChargeState, previous: ChargeState | undefined): Entry {
  const signature = signatureOf(state);
  const action: Action =
    state.version === 1
      ? 'create'
      : state.deletedAt && !previous?.deletedAt
        ? 'delete'
        : signature?.meaning === 'reviewed'
          ? 'review'
          : 'update';
  const changes = diffFields(
    previous as Record<string, unknown> | undefined,
    state as unknown as Record<string, unknown>,
    HISTORY_IGNORED,
  );
  return { state, action, changes, signature };
}

export interface ReportCaller {
  username: string;
  permissions: readonly string[];
}

/**
 * A field value as the report's reader reads it: numbers, dates and statuses in the report's language, times
 * to the second with their zone. Nothing is cut: long text wraps, and a row continues on the next page.
 */
function fieldText(field: string, value: JsonValue | undefined, lang: Lang, zone: string): string {
  if (value === null || value === undefined) return LABELS[lang].none;
  const def = CHARGE_FIELDS.find((f) => f.key === field);
  if (field === 'status' && typeof value === 'string') return statusLabel(value, lang);
  if (typeof value === 'number') return formatNumber(value, lang);
  if (typeof value === 'string') {
    if (def?.type === 'date' || /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const d = dateCell(value);
      return d ? formatDate(d, lang) : value;
    }
    if (def?.type === 'datetime' || field === 'deletedAt') {
      const d = dateCell(value);
      return d ? formatDateTime(d, lang, zone) : value;
    }
    return value;
  }
  if (typeof value === 'object' && !Array.isArray(value) && typeof value.username === 'string') return value.username;
  return JSON.stringify(value);
}

const fieldLabel = (field: string, lang: Lang) =>
  CHARGE_FIELDS.find((f) => f.key === field)?.label[lang] ??
  (field === 'deletedAt' ? LABELS[lang].deletedLabel : field);

/**
 * The Chargenbericht: one charge's details, the latest REPORT_VERSIONS versions of its history — who changed
 * what, when and why — and the electronic signatures made on it (printed name, date and time with zone,
 * meaning), with the generation time and the user who asked for it. A deleted charge's report is there for
 * those who may read the audit trail, and says at the top that the charge is deleted.
 */
export async function chargeReportPdf(
  store: Pick<ChargeStore, 'get' | 'latestVersions'>,
  chargeId: string,
  lang: Lang,
  caller: ReportCaller | string,
  generatedAt = new Date(),
  timeZone = 'UTC',
): Promise<{ bytes: Uint8Array; filename: string }> {
  const who: ReportCaller = typeof caller === 'string' ? { username: caller, permissions: [] } : caller;
  const labels = LABELS[lang];
  const state = await store.get(chargeId);
  if (!state || (state.deletedAt && !who.permissions.includes('audit:read'))) throw notFound('No such charge');
  const charge = toPublicCharge(state);
  // One more than printed: the first printed version's changes are against the one before it.
  const latest = await store.latestVersions(chargeId, REPORT_VERSIONS + 1);
  const all = latest.versions.map((v, i) => entryOf(v, latest.versions[i - 1]));
  // The first one read is complete only when it is version 1; else it is there for the next one's changes.
  const shown = (latest.earlier === 0 ? all : all.slice(1)).slice(-REPORT_VERSIONS);
  const earlier = (shown[0]?.state.version ?? 1) - 1;

  const lot = charge.lotNumber ?? charge.articleId;
  const report = await PdfReport.create({
    title: labels.title(lot),
    lang,
    generatedAt,
    generatedBy: who.username,
    timeZone,
    countRows: false,
    filters: [
      ...(charge.lotNumber ? [[labels.filterLot, charge.lotNumber] as const] : []),
      [labels.filterCharge, charge.chargeId],
    ],
    ...(state.deletedAt
      ? {
          notice: labels.deleted(
            formatDateTime(new Date(state.deletedAt), lang, timeZone),
            state.updatedBy?.username ?? '?',
          ),
        }
      : {}),
  });

  report.heading(labels.details);
  const keys = FIELD_KEYS.charges.filter((k) => k !== 'deletedAt');
  const details = chargeProjection(keys, lang);
  const cells = details.row(charge);
  const pairs = details.columns.map((column, i) => {
    const cell = cells[i] ?? null;
    let value: string = labels.none;
    if (cell instanceof Date)
      value = column.type === 'date' ? formatDate(cell, lang) : formatDateTime(cell, lang, timeZone);
    else if (typeof cell === 'number') value = formatNumber(cell, lang);
    else if (column.key === 'status' && cell !== null) value = statusLabel(cell, lang);
    else if (cell !== null) value = cell;
    return [column.header, value] as const;
  });
  if (state.deletedAt) pairs.push([labels.deletedLabel, formatDateTime(new Date(state.deletedAt), lang, timeZone)]);
  report.keyValues(pairs);

  report.heading(labels.history);
  if (earlier > 0) report.paragraph(labels.earlier(earlier, shown.length), { size: 8.5 });
  const cols = labels.cols;
  const columns: Column[] = [
    { key: 'version', header: cols[0], type: 'number', width: 7 },
    { key: 'at', header: cols[1], type: 'datetime', width: 19 },
    { key: 'action', header: cols[2], type: 'text', width: 10 },
    { key: 'user', header: cols[3], type: 'text', width: 14 },
    { key: 'status', header: cols[4], type: 'text', width: 20 },
    { key: 'reason', header: cols[5], type: 'text', width: 20 },
    { key: 'changes', header: cols[6], type: 'text', width: 34 },
  ];
  const rows: Cell[][] = [];
  for (const entry of shown) {
    const { state: v, changes } = entry;
    const status = changes.status;
    const statusText = !status
      ? ''
      : entry.action === 'create' || status.from === null || status.from === undefined
        ? fieldText('status', status.to, lang, timeZone)
        : `${fieldText('status', status.from, lang, timeZone)} → ${fieldText('status', status.to, lang, timeZone)}`;
    const changesText = Object.entries(changes)
      .filter(([field]) => field !== 'status')
      .map(([field, { from, to }]) =>
        entry.action === 'create'
          ? `${fieldLabel(field, lang)}: ${fieldText(field, to, lang, timeZone)}`
          : `${fieldLabel(field, lang)}: ${fieldText(field, from, lang, timeZone)} → ${fieldText(field, to, lang, timeZone)}`,
      )
      .join('\n');
    rows.push([
      v.version,
      dateCell(v.updatedAt),
      labels.actions[entry.action],
      v.updatedBy?.username ?? '',
      statusText,
      v.reason ?? '',
      changesText,
    ]);
  }
  // All rows first: the table sizes its number and time columns to their widest value.
  const table = report.table(columns, { rows });
  for (const row of rows) table.addRow(row);
  await table.finish();

  report.heading(labels.signatures);
  const signed = shown.filter((e) => e.signature);
  if (signed.length === 0) report.paragraph(labels.noSignatures, { size: 8.5 });
  else {
    const s = labels.sigCols;
    const sigRows: Cell[][] = [];
    for (const { state: v, signature } of signed) {
      if (!signature) continue;
      const { signer } = signature;
      sigRows.push([
        v.version,
        signer.displayName ? `${signer.displayName} (${signer.username})` : signer.username,
        dateCell(signature.at),
        labels.meanings[signature.meaning],
        labels.methods[signature.method],
      ]);
    }
    const sigTable = report.table(
      [
        { key: 'version', header: s[0], type: 'number', width: 7 },
        { key: 'signer', header: s[1], type: 'text', width: 30 },
        { key: 'at', header: s[2], type: 'datetime', width: 22 },
        { key: 'meaning', header: s[3], type: 'text', width: 22 },
        { key: 'method', header: s[4], type: 'text', width: 16 },
      ],
      { rows: sigRows },
    );
    for (const row of sigRows) sigTable.addRow(row);
    await sigTable.finish();
  }

  const safe = lot.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 40);
  return {
    bytes: await report.toBytes(),
    filename: `${labels.file}-${safe}-${charge.chargeId.slice(0, 8)}.pdf`,
  };
}
