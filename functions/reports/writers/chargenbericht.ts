import type { ChargeService, HistoryEntry } from '#charges/service';
import type { JsonValue } from '#audit/canonical-json';
import { formatDate, formatDateTime, formatNumber } from './labels';
import { PdfReport } from './pdf';
import { dateCell, type Lang } from './table';
import { chargeProjection, FIELD_KEYS } from '#reports/columns';

const LABELS = {
  de: {
    title: (article: string) => `Chargenbericht ${article}`,
    details: 'Chargendaten',
    history: 'Statusverlauf und Änderungen',
    cols: ['Version', 'Zeitpunkt', 'Aktion', 'Benutzer', 'Status', 'Begründung', 'Änderungen'],
    actions: { create: 'Angelegt', update: 'Geändert', delete: 'Gelöscht' },
    filterCharge: 'Charge',
    file: 'chargenbericht',
  },
  en: {
    title: (article: string) => `Batch report ${article}`,
    details: 'Batch details',
    history: 'Status history and changes',
    cols: ['Version', 'Time', 'Action', 'User', 'Status', 'Reason', 'Changes'],
    actions: { create: 'Created', update: 'Updated', delete: 'Deleted' },
    filterCharge: 'Batch',
    file: 'batch-report',
  },
} as const;

const show = (v: JsonValue | undefined): string => {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

function changesText(entry: HistoryEntry): string {
  return Object.entries(entry.changes)
    .filter(([field]) => field !== 'status')
    .map(([field, { from, to }]) =>
      entry.action === 'create' ? `${field}: ${show(to)}` : `${field}: ${show(from)} → ${show(to)}`,
    )
    .join('\n');
}

function statusText(entry: HistoryEntry): string {
  const change = entry.changes.status;
  if (!change) return '';
  return entry.action === 'create' || change.from === null || change.from === undefined
    ? show(change.to)
    : `${show(change.from)} → ${show(change.to)}`;
}

/**
 * The Chargenbericht: one charge's details and its whole version history — who changed what,
 * when and why, status transitions first — with the generation time and the user who asked for it.
 */
export async function chargeReportPdf(
  charges: ChargeService,
  chargeId: string,
  lang: Lang,
  generatedBy: string,
  generatedAt = new Date(),
): Promise<{ bytes: Uint8Array; filename: string }> {
  const labels = LABELS[lang];
  const charge = await charges.get(chargeId);
  const { versions } = await charges.history(chargeId);

  const report = await PdfReport.create({
    title: labels.title(charge.articleId),
    lang,
    generatedAt,
    generatedBy,
    filters: [[labels.filterCharge, charge.chargeId]],
  });

  report.heading(labels.details);
  const details = chargeProjection(FIELD_KEYS.charges, lang);
  const cells = details.row(charge);
  report.keyValues(
    details.columns.map((column, i) => {
      const cell = cells[i] ?? null;
      let value = '';
      if (cell instanceof Date) value = column.type === 'date' ? formatDate(cell, lang) : formatDateTime(cell, lang);
      else if (typeof cell === 'number') value = formatNumber(cell, lang);
      else if (cell !== null) value = cell;
      return [column.header, value] as const;
    }),
  );

  report.heading(labels.history);
  const cols = labels.cols;
  const table = report.table(
    [
      { key: 'version', header: cols[0], type: 'number', width: 7 },
      { key: 'at', header: cols[1], type: 'datetime', width: 19 },
      { key: 'action', header: cols[2], type: 'text', width: 10 },
      { key: 'user', header: cols[3], type: 'text', width: 16 },
      { key: 'status', header: cols[4], type: 'text', width: 24 },
      { key: 'reason', header: cols[5], type: 'text', width: 20 },
      { key: 'changes', header: cols[6], type: 'text', width: 30 },
    ],
    { maxCellLines: 40 },
  );
  for (const entry of versions) {
    table.addRow([
      entry.version,
      dateCell(entry.at),
      labels.actions[entry.action],
      entry.actor.username,
      statusText(entry),
      entry.reason ?? '',
      changesText(entry),
    ]);
  }
  await table.finish();
  const safeArticle = charge.articleId.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 40);
  return {
    bytes: await report.toBytes(),
    filename: `${labels.file}-${safeArticle}-${charge.chargeId.slice(0, 8)}.pdf`,
  };
}
